import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { releaseOnSqlite, rowCounts } from '../support/release-database.ts';
import { must } from '../support/engine.ts';
import { migrations, usageTailMerge } from '../../src/store/migrations.ts';
import { createEngine } from '../../src/engine/create-engine.ts';
import { checkLedger, reconcile } from '../../src/engine/reconcile.ts';
import { ingestEvents } from '../../src/engine/ingest-events.ts';

/**
 * A database written by the release whose schema ends at migration 62 (test/fixtures/
 * release-62.db, made by scripts/make-release-fixture.ts from that release's own use cases, its
 * own reconciliation clean), where each usage event's link to its customer's event before it is a
 * column of its row (`prev`) and some customers have tails, is upgraded in place to the links in
 * their own table (migration 63): every row kept, every link moved, the column gone, each
 * customer's events listed in the order of their positions, reconciliation and the ledger check
 * clean; then new events are linked and merged. Its subscriptions, invoices, grants and holds take
 * their customers' clocks (migration 64). SQLite only: PostgreSQL keeps its key and has no links.
 */
const fixture = fileURLToPath(new URL('../fixtures/release-62.db', import.meta.url));

describe('upgrading a database the release of migration 62 wrote, on sqlite', () => {
  const opened: { drop(): Promise<void> }[] = [];
  afterAll(async () => {
    for (const d of opened) await d.drop();
  });

  it('moves every link to usage_chain, lists and reconciles as before, and goes on linking and merging', { timeout: 60_000 }, async () => {
    const release = releaseOnSqlite(fixture);
    opened.push(release);
    const db = release.db;
    expect((await db.query(`SELECT MAX(version) AS v FROM schema_migrations`)).map((r) => Number(r.v))).toEqual([62]);
    const before = await rowCounts(db);
    const links = await db.query<{ seq: bigint; prev: bigint }>(`SELECT seq, prev FROM usage_events WHERE prev IS NOT NULL ORDER BY seq`);
    const tails = await db.query<{ customer_id: string; tail: bigint }>(`SELECT customer_id, tail FROM usage_heads WHERE tail > 0 ORDER BY customer_id`);
    expect(tails.length, 'customers with a tail').toBeGreaterThan(0);
    const customers = (await db.query<{ customer_id: string }>(`SELECT DISTINCT customer_id FROM usage_events ORDER BY customer_id`)).map((r) => r.customer_id);
    const order = new Map<string, string[]>();
    for (const c of customers) order.set(c, (await db.query<{ id: string }>(`SELECT id FROM usage_events WHERE customer_id = ? ORDER BY position`, [c])).map((r) => r.id));
    const [long] = await db.query<{ id: string }>(`SELECT id FROM customers WHERE external_id = 'release-long-history'`);
    const longTail = Number(tails.find((t) => t.customer_id === long!.id)?.tail ?? 0n);

    const engine = await createEngine(db);
    expect((await db.query(`SELECT version FROM schema_migrations ORDER BY version`)).map((r) => Number(r.version))).toEqual(migrations.map((m) => m.version));
    expect(await rowCounts(db)).toEqual(before);
    expect(await db.query(`SELECT seq, prev FROM usage_chain ORDER BY seq`)).toEqual(links);
    expect((await db.query<{ name: string }>(`PRAGMA table_info(usage_events)`)).map((c) => c.name)).not.toContain('prev');
    expect(await db.query(`SELECT customer_id, tail FROM usage_heads WHERE tail > 0 ORDER BY customer_id`)).toEqual(tails);
    for (const c of customers) {
      const listed: string[] = [];
      for (let after: string | undefined; ;) {
        const page = await engine.store.read.usage.listEvents(c, { limit: 40, ...(after ? { startingAfter: after } : {}) });
        listed.push(...page.data.map((e) => e.id));
        if (!page.hasMore) break;
        after = listed[listed.length - 1];
      }
      expect(listed).toEqual(order.get(c));
    }
    expect(must(await reconcile(engine)).discrepancies).toEqual([]);
    expect(await checkLedger(engine)).toEqual({ unbalanced: [], discrepancies: [] });
    // Migration 64: every row that falls due took its customer's clock, on a test clock or not.
    for (const table of ['subscriptions', 'invoices', 'grants', 'holds']) {
      const rows = await db.query<{ mine: string | null; customers: string | null }>(
        `SELECT x.test_clock_id AS mine, c.test_clock_id AS customers FROM ${table} x JOIN customers c ON c.id = x.customer_id`);
      expect(rows.filter((r) => r.customers !== null).length, `${table} on a test clock`).toBeGreaterThan(0);
      expect(rows.filter((r) => r.mine !== r.customers), table).toEqual([]);
    }

    const more = Array.from({ length: 80 }, (_, k) => ({ id: `after-63-${k}`, customer: long!.id, type: 'llm', properties: { tokens: 10 + k } }));
    for (const r of await ingestEvents(engine, more)) expect(r.status, JSON.stringify(r)).toBe('accepted');
    const [head] = await db.query<{ tail: bigint }>(`SELECT tail FROM usage_heads WHERE customer_id = ?`, [long!.id]);
    expect(Number(head!.tail)).toBe((longTail + 80) % usageTailMerge);
    expect((await engine.store.read.usage.listEvents(long!.id, { limit: 100, order: 'desc' })).data.slice(0, 80).map((e) => e.id).sort())
      .toEqual(more.map((e) => e.id).sort());
    expect(must(await reconcile(engine)).discrepancies).toEqual([]);
  });
});
