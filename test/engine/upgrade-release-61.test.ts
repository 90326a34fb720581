import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { dialects } from '../support/databases.ts';
import { releaseOn, rowCounts } from '../support/release-database.ts';
import { must } from '../support/engine.ts';
import { migrations, usageTailMerge } from '../../src/store/migrations.ts';
import type { SqlDatabase } from '../../src/store/sql.ts';
import { createEngine } from '../../src/engine/create-engine.ts';
import type { Engine } from '../../src/engine/context.ts';
import { checkLedger, reconcile } from '../../src/engine/reconcile.ts';
import { ingestEvents } from '../../src/engine/ingest-events.ts';

/**
 * A database written by the release whose schema ends at migration 61 (test/fixtures/
 * release-61.db, made by scripts/make-release-fixture.ts from that release's own use cases, its
 * own reconciliation clean; one customer has 150 events) is upgraded in place to usage events
 * found by customer through merged keys and a chained tail (migration 62): every row kept, every
 * event keyed, each customer's events listed as the release listed them, reconciliation and the
 * ledger check clean; then new events go to the tail and merge past `usageTailMerge`. On
 * PostgreSQL (which keeps its key) the same rows are loaded into a database built by migrations
 * 1–61 before upgrading.
 */
const fixture = fileURLToPath(new URL('../fixtures/release-61.db', import.meta.url));


/** The usage events as the release wrote them (its columns), as text, sorted. */
async function events(db: SqlDatabase): Promise<string[]> {
  const rows = await db.query(`SELECT customer_id, id, type, timestamp, properties, body_hash, credits, txn_id, rating, recorded_at, position, entries FROM usage_events`);
  return rows.map((r) => JSON.stringify(r, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))).sort();
}

/** Every event id of a customer as the engine lists them, a page of 40 at a time. */
async function listed(engine: Engine, customerId: string): Promise<string[]> {
  const out: string[] = [];
  for (let after: string | undefined; ;) {
    const page = await engine.store.read.usage.listEvents(customerId, { limit: 40, ...(after ? { startingAfter: after } : {}) });
    out.push(...page.data.map((e) => e.id));
    if (!page.hasMore) return out;
    after = out[out.length - 1];
  }
}

describe.each(dialects)('upgrading a database the release of migration 61 wrote, on %s', (dialect) => {
  const opened: { drop(): Promise<void> }[] = [];
  afterAll(async () => {
    for (const d of opened) await d.drop();
  });

  it('keeps every row, keys every event, lists each customer\'s events as before, reconciles clean, and chains new events', { timeout: 60_000 }, async () => {
    const release = await releaseOn(dialect, fixture, 61);
    opened.push(release);
    const db = release.db;
    expect((await db.query(`SELECT MAX(version) AS v FROM schema_migrations`)).map((r) => Number(r.v))).toEqual([61]);
    const before = await rowCounts(db);
    const eventsBefore = await events(db);
    const customers = (await db.query<{ customer_id: string }>(`SELECT DISTINCT customer_id FROM usage_events ORDER BY customer_id`)).map((r) => r.customer_id);
    // Each customer's events in the order the release listed them: by position.
    const orderBefore = new Map<string, string[]>();
    for (const c of customers) {
      orderBefore.set(c, (await db.query<{ id: string }>(`SELECT id FROM usage_events WHERE customer_id = ? ORDER BY position`, [c])).map((r) => r.id));
    }
    const [long] = await db.query<{ id: string }>(`SELECT id FROM customers WHERE external_id = 'release-long-history'`);
    expect(orderBefore.get(long!.id)).toHaveLength(150);

    const engine = await createEngine(db);
    expect((await db.query(`SELECT version FROM schema_migrations ORDER BY version`)).map((r) => Number(r.version))).toEqual(migrations.map((m) => m.version));
    expect(await rowCounts(db)).toEqual(before);
    expect(await events(db)).toEqual(eventsBefore);
    for (const c of customers) expect(await listed(engine, c)).toEqual(orderBefore.get(c));
    if (dialect === 'sqlite') {
      // Every event merged: keyed by its customer and position, each customer's head at its newest.
      expect(Number((await db.query<{ n: bigint }>(`SELECT COUNT(*) AS n FROM usage_keys k JOIN usage_events e ON e.seq = k.seq
        AND e.customer_id = k.customer_id AND e.position = k.position`))[0]!.n)).toBe(before.usage_events);
      expect(await db.query(`SELECT customer_id FROM usage_heads WHERE head <> merged OR tail <> 0 OR head <> (SELECT MAX(seq) FROM usage_events e WHERE e.customer_id = usage_heads.customer_id)`)).toEqual([]);
      expect(Number((await db.query<{ n: bigint }>(`SELECT COUNT(*) AS n FROM usage_heads`))[0]!.n)).toBe(customers.length);
    }
    const clean = must(await reconcile(engine));
    expect(clean.discrepancies).toEqual([]);
    expect(await checkLedger(engine)).toEqual({ unbalanced: [], discrepancies: [] });

    // 80 more for the long customer: one merge (64) and a tail of 16 after it, listed in order.
    const startMs = Date.now() - 60 * 60_000;
    const more = Array.from({ length: 80 }, (_, k) => ({
      id: `after-62-${k}`, customer: long!.id, type: 'llm', properties: { tokens: 10 + k }, timestamp: new Date(startMs + (k % 40) * 60_000 + k).toISOString(),
    }));
    for (const r of await ingestEvents(engine, more)) expect(r.status, JSON.stringify(r)).toBe('accepted');
    const after = await listed(engine, long!.id);
    expect(after).toHaveLength(230);
    expect(new Set(after).size).toBe(230);
    const stored = await engine.store.read.usage.eventsById(after);
    const position = new Map(stored.map((e) => [e.id, e.position]));
    expect(after.map((id) => position.get(id))).toEqual(after.map((id) => position.get(id)!).sort());
    if (dialect === 'sqlite') {
      const [head] = await db.query<{ tail: bigint }>(`SELECT tail FROM usage_heads WHERE customer_id = ?`, [long!.id]);
      expect(Number(head!.tail)).toBe(80 - usageTailMerge);
    }
    expect(must(await reconcile(engine)).discrepancies).toEqual([]);
  });
});
