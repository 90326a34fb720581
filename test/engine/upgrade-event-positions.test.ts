import { describe, expect, it } from 'vitest';
import { dialects, freshDatabase } from '../support/databases.ts';
import { migrations } from '../../src/store/migrations.ts';
import type { SqlDatabase } from '../../src/store/sql.ts';
import { createEngine } from '../../src/engine/create-engine.ts';
import { checkLedger } from '../../src/engine/reconcile.ts';
import { idFloor, usageIdTime } from '../../src/core/id-time.ts';

/** Applies the migrations before `version`, as a release that ended there did. */
async function migrateBefore(db: SqlDatabase, version: number): Promise<void> {
  await db.transaction(async (c) => {
    await c.run(`CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)`);
  });
  for (const m of migrations.filter((m) => m.version < version)) {
    await db.transaction(async (c) => {
      for (const statement of m.byDialect?.[c.dialect] ?? m.statements) await c.run(statement);
      await c.run(`INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`, [m.version, m.name, 0]);
    });
  }
}

const at = (iso: string): number => Date.parse(iso);

/**
 * Migration 58 keys `usage_events` by customer and position. Events written before it get their
 * position from what they have: a charged event its charge's transaction id, an event charged
 * nothing the minute of its timestamp and its id. (The release fixtures hold charged events only.)
 * Their charges stay in the ledger's tables, the ledger check stays clean, and a customer's events
 * list in the order their positions give.
 */
describe.each(dialects)('migration 58 on events written before it, on %s', (dialect) => {
  it('gives each event a position from its charge or its timestamp, and lists them in that order', async () => {
    const database = await freshDatabase(dialect);
    try {
      const db = database.db;
      await migrateBefore(db, 58);
      const rating = '[{"meter":"tokens","quantity":"1","credits":"0"}]';
      const event = (id: string, timestamp: number, credits: bigint, txnId: string | null) => db.run(
        `INSERT INTO usage_events (customer_id, id, type, timestamp, properties, body_hash, credits, txn_id, rating, recorded_at)
          VALUES ('cus_old', ?, 'llm', ?, '{}', 'hash', ?, ?, ?, ?)`, [id, timestamp, credits, txnId, rating, timestamp]);
      // A charged event as migrations 56 and 57 wrote it: its charge in the ledger's tables, found
      // by id, its entries out of the account index; the balances it moved.
      const txnId = `${idFloor('txn', usageIdTime(at('2025-03-01T10:05:30Z')))}0000000000000001`;
      await event('b-charged', at('2025-03-01T10:05:30Z'), 2_000_000n, txnId);
      await db.run(`INSERT INTO ledger_transactions (id, customer_id, kind, cause_type, cause_id, refs, effective_at, created_at, effective_indexed)
          VALUES (?, 'cus_old', 'usage', 'usage_event', 'b-charged', '{}', ?, ?, 0)`, [txnId, at('2025-03-01T10:05:30Z'), at('2025-03-01T10:05:30Z')]);
      await db.run(`INSERT INTO ledger_entries (txn_id, seq, customer_id, account, amount, account_indexed) VALUES
          (?, 0, 'cus_old', 'overage', -2000000, 0), (?, 1, 'cus_old', 'consumed:tokens', 2000000, 0)`, [txnId, txnId]);
      await db.run(`INSERT INTO accounts (customer_id, code, balance) VALUES ('cus_old', 'overage', -2000000), ('cus_old', 'consumed:tokens', 2000000)`);
      await db.run(`INSERT INTO overage_hours (customer_id, hour_start, credits) VALUES ('cus_old', ?, 2000000)`, [at('2025-03-01T10:00:00Z')]);
      await db.run(`INSERT INTO overage_days (customer_id, day_start, credits) VALUES ('cus_old', ?, 2000000)`, [at('2025-03-01T00:00:00Z')]);
      // Two events charged nothing, one a minute before the charged one and one a minute after,
      // their ids against their time order.
      await event('z-free-early', at('2025-03-01T10:04:10Z'), 0n, null);
      await event('a-free-late', at('2025-03-01T10:06:50Z'), 0n, null);

      const engine = await createEngine(db);
      const rows = await db.query<{ id: string; position: string; entries: string | null }>(`SELECT id, position, entries FROM usage_events ORDER BY id`);
      expect(rows).toEqual([
        { id: 'a-free-late', position: `${idFloor('txn', at('2025-03-01T10:06:00Z'))}~a-free-late`, entries: null },
        { id: 'b-charged', position: txnId, entries: null },
        { id: 'z-free-early', position: `${idFloor('txn', at('2025-03-01T10:04:00Z'))}~z-free-early`, entries: null },
      ]);
      const listed = await engine.store.read.usage.listEvents('cus_old', { limit: 10 });
      expect(listed.data.map((e) => e.id)).toEqual(['z-free-early', 'b-charged', 'a-free-late']);
      const newestFirst = await engine.store.read.usage.listEvents('cus_old', { limit: 1, order: 'desc', startingAfter: 'a-free-late' });
      expect([newestFirst.data.map((e) => e.id), newestFirst.hasMore]).toEqual([['b-charged'], true]);
      // The old charge is still its event's one charge, read from the ledger's tables.
      const [charge] = await engine.store.read.ledger.transactionsForCause('b-charged');
      expect(charge).toMatchObject({ id: txnId, kind: 'usage', entries: [{ account: 'overage', amountMicro: -2_000_000n }, { account: 'consumed:tokens', amountMicro: 2_000_000n }] });
      expect(await checkLedger(engine)).toEqual({ unbalanced: [], discrepancies: [] });
    } finally {
      await database.drop();
    }
  });
});
