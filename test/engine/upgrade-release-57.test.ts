import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { dialects } from '../support/databases.ts';
import { releaseOn, rowCounts } from '../support/release-database.ts';
import { must } from '../support/engine.ts';
import { migrations } from '../../src/store/migrations.ts';
import type { SqlDatabase } from '../../src/store/sql.ts';
import { createEngine } from '../../src/engine/create-engine.ts';
import { checkLedger, reconcile } from '../../src/engine/reconcile.ts';
import { ingestEvents } from '../../src/engine/ingest-events.ts';
import { advanceTestClock } from '../../src/engine/test-clocks.ts';
import { explainEvent } from '../../src/engine/explain-event.ts';

/**
 * A database written by the release whose schema ends at migration 57 (test/fixtures/
 * release-57.db, made by scripts/make-release-fixture.ts from that release's own use cases, its
 * own reconciliation clean), where every usage charge is a row of the ledger's tables, is upgraded
 * in place to usage charges posted on their event's row (migration 58): every row kept, each event
 * positioned by its charge, reconciliation and the ledger check clean, and the engine goes on,
 * its new charges on their rows beside the old ones in the tables. On PostgreSQL the same rows are
 * loaded into a database built by migrations 1–57 before upgrading.
 */
const fixture = fileURLToPath(new URL('../fixtures/release-57.db', import.meta.url));


/** The usage events as the release wrote them (its columns only), as text, sorted. */
async function events(db: SqlDatabase): Promise<string[]> {
  const rows = await db.query(`SELECT customer_id, id, type, timestamp, properties, body_hash, credits, txn_id, rating, recorded_at FROM usage_events`);
  return rows.map((r) => JSON.stringify(r, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))).sort();
}

describe.each(dialects)('upgrading a database the release of migration 57 wrote, on %s', (dialect) => {
  const opened: { drop(): Promise<void> }[] = [];
  afterAll(async () => {
    for (const d of opened) await d.drop();
  });

  it('keeps every row, positions each event by its charge, reconciles clean, and posts new charges on their rows', { timeout: 60_000 }, async () => {
    const release = await releaseOn(dialect, fixture, 57);
    opened.push(release);
    const db = release.db;
    expect((await db.query(`SELECT MAX(version) AS v FROM schema_migrations`)).map((r) => Number(r.v))).toEqual([57]);
    const before = await rowCounts(db);
    const eventsBefore = await events(db);
    expect(before.usage_events).toBeGreaterThan(20);
    expect(before.ledger_transactions).toBeGreaterThan(before.usage_events!);

    const engine = await createEngine(db);
    expect((await db.query(`SELECT version FROM schema_migrations ORDER BY version`)).map((r) => Number(r.version))).toEqual(migrations.map((m) => m.version));
    expect(await rowCounts(db)).toEqual(before);
    expect(await events(db)).toEqual(eventsBefore);
    // Every event keeps its charge in the ledger's tables and is positioned by it.
    const positions = await db.query(`SELECT id, txn_id, position, entries FROM usage_events`);
    for (const e of positions) expect([e.position, e.entries]).toEqual([e.txn_id ?? `${String(e.position).split('~')[0]}~${e.id as string}`, null]);
    expect(must(await reconcile(engine)).discrepancies).toEqual([]);
    expect(await checkLedger(engine)).toEqual({ unbalanced: [], discrepancies: [] });

    // An old charge still walks to its cause and back.
    const explained = must(await explainEvent(engine, 'rel-ev-1'));
    expect(explained.transaction).toMatchObject({ id: explained.event.txnId, kind: 'usage', causeId: 'rel-ev-1' });

    // The engine goes on: a repeat of an old event is a duplicate, new ones are posted on their rows.
    const customer = (await engine.store.read.customers.find('release-clock-0'))!;
    const results = await ingestEvents(engine, [
      { id: 'rel-ev-1', customer: customer.id, type: 'llm', properties: { tokens: 500 } },
      { id: 'after-58-1', customer: customer.id, type: 'llm', properties: { tokens: 700 } },
      { id: 'after-58-2', customer: customer.id, type: 'llm', properties: { tokens: 90_000 } },
    ]);
    expect(results.map((r) => r.status)).toEqual(['duplicate', 'accepted', 'accepted']);
    const fresh = await db.query(`SELECT id, txn_id, position, entries FROM usage_events WHERE id IN ('after-58-1', 'after-58-2') ORDER BY id`);
    for (const e of fresh) expect([e.position, e.entries === null]).toEqual([e.txn_id, false]);
    expect(Number((await db.query<{ n: bigint }>(`SELECT COUNT(*) AS n FROM ledger_transactions WHERE cause_id IN ('after-58-1', 'after-58-2')`))[0]!.n)).toBe(0);
    // The customer's ledger lists old and new charges together, in id order.
    const listed = (await engine.store.read.ledger.listTransactions(customer.id, { limit: 100 })).data;
    expect(listed.filter((t) => t.kind === 'usage').map((t) => t.causeId)).toEqual(expect.arrayContaining(['rel-ev-1', 'after-58-1', 'after-58-2']));
    expect(listed.map((t) => t.id)).toEqual(listed.map((t) => t.id).sort());

    must(await advanceTestClock(engine, customer.testClockId!, { frozen_time: '2026-04-02T00:00:00Z' }));
    expect(must(await reconcile(engine)).discrepancies).toEqual([]);
    expect(await checkLedger(engine)).toEqual({ unbalanced: [], discrepancies: [] });
  });
});
