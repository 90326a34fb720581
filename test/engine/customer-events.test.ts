import { describe, expect, it } from 'vitest';
import { dialects } from '../support/databases.ts';
import { must, useEngine } from '../support/engine.ts';
import { financeCustomer } from '../support/finance.ts';
import { reconcileBothWays } from '../support/reconcile-sliced.ts';
import { ingestEvents } from '../../src/engine/ingest-events.ts';
import { reconcile } from '../../src/engine/reconcile.ts';
import type { Reconciliation } from '../../src/core/reconciliation.ts';
import type { Engine } from '../../src/engine/context.ts';
import { usageTailMerge } from '../../src/store/migrations.ts';
import type { UsageEventRecord } from '../../src/store/records.ts';

const at = (iso: string): number => Date.parse(iso);
const minuteMs = 60_000;
const startMs = at('2025-03-01T09:00:00Z');

/**
 * A customer's usage events are found by customer on both databases; on SQLite (migration 62)
 * through two structures: the keys merged every `usageTailMerge` events, and the tail written
 * since, a chain walked back from the customer's newest event (src/store/queries/customer-events.ts).
 * Customer A's 150 events, one a minute from 09:00 and each of `n` = its minute + 1 credits of
 * overage, arrive in a shuffled order in batches of several sizes, interleaved with B's 70: on
 * SQLite A has two merges behind it and 22 events in its tail, with minutes of every hour on
 * both sides. Every reader by customer must see each event once, in position order where it
 * pages, with sums worked out from the minutes; the reconciliation is clean, and on SQLite names
 * a key or a chain that was tampered with.
 */
describe.each(dialects)('a customer\'s usage events across merged keys and the tail, on %s', (dialect) => {
  const ctx = useEngine(dialect);

  /** A shuffle that is the same every run: each step swaps with an index from a fixed LCG. */
  function shuffled<T>(items: T[]): T[] {
    const out = [...items];
    let state = 12345;
    for (let i = out.length - 1; i > 0; i--) {
      state = (state * 1103515245 + 12345) % 2147483648;
      const j = state % (i + 1);
      [out[i], out[j]] = [out[j]!, out[i]!];
    }
    return out;
  }

  async function scenario(engine: Engine) {
    const a = await financeCustomer(engine, '2025-03-01T12:00:00Z', { overage: true });
    const b = await financeCustomer(engine, '2025-03-01T12:00:00Z', { overage: true });
    const minutesA = shuffled(Array.from({ length: 150 }, (_, i) => i));
    const minutesB = shuffled(Array.from({ length: 70 }, (_, i) => i));
    const event = (c: typeof a, minute: number, prefix: string) => ({
      id: `${c.customer.id}-${prefix}${minute}`, customer: c.customer.id, type: c.meter, properties: { n: minute + 1 },
      timestamp: new Date(startMs + minute * minuteMs).toISOString(),
    });
    const sizes = [1, 7, 50, 5, 40, 30, 17];
    let takenA = 0;
    let takenB = 0;
    for (const size of sizes) {
      const batch = [
        ...minutesA.slice(takenA, takenA + size).map((m) => event(a, m, 'a')),
        ...minutesB.slice(takenB, takenB + Math.ceil(size / 2)).map((m) => event(b, m, 'b')),
      ];
      takenA += size;
      takenB += Math.ceil(size / 2);
      for (const r of await ingestEvents(engine, batch)) expect(r.status, JSON.stringify(r)).toBe('accepted');
    }
    expect(takenA).toBe(150);
    return { a, b };
  }

  let facts: Awaited<ReturnType<typeof scenario>>;
  const sumOfMinutes = (from: number, to: number) => BigInt(Array.from({ length: to - from }, (_, i) => from + i + 1).reduce((x, y) => x + y, 0)) * 1_000_000n;

  it('lists each event once in position order, both ways, a page at a time', async () => {
    const engine = ctx.engine;
    facts = await scenario(engine);
    const { a } = facts;
    const read = engine.store.read;
    const all: UsageEventRecord[] = [];
    for (let after: string | undefined; ;) {
      const page = await read.usage.listEvents(a.customer.id, { limit: 40, ...(after ? { startingAfter: after } : {}) });
      all.push(...page.data);
      if (!page.hasMore) break;
      after = page.data[page.data.length - 1]!.id;
    }
    expect(all.length).toBe(150);
    expect(new Set(all.map((e) => e.id)).size).toBe(150);
    const positions = all.map((e) => e.position);
    expect(positions).toEqual([...positions].sort());
    // The position carries the minute, so the list is in the order of the minutes.
    expect(all.map((e) => e.timestampMs)).toEqual(Array.from({ length: 150 }, (_, i) => startMs + i * minuteMs));
    const down: UsageEventRecord[] = [];
    for (let after: string | undefined; ;) {
      const page = await read.usage.listEvents(a.customer.id, { limit: 33, order: 'desc', ...(after ? { startingAfter: after } : {}) });
      down.push(...page.data);
      if (!page.hasMore) break;
      after = page.data[page.data.length - 1]!.id;
    }
    expect(down.map((e) => e.id)).toEqual(all.map((e) => e.id).reverse());
    // The customer's transactions: each event's charge once, in id order.
    const txns: string[] = [];
    for (let after: string | undefined; ;) {
      const page = await read.ledger.listTransactions(a.customer.id, { limit: 25, ...(after ? { startingAfter: after } : {}) });
      txns.push(...page.data.map((t) => t.id));
      if (!page.hasMore) break;
      after = page.data[page.data.length - 1]!.id;
    }
    expect(txns).toEqual([...new Set(txns)].sort());
    expect(all.every((e) => e.txnId !== null && txns.includes(e.txnId))).toBe(true);
  });

  it('keeps 64 a merge on SQLite: two merges and a tail of 22 for A, one and 6 for B', async () => {
    if (dialect !== 'sqlite') return;
    const c = ctx.engine.store.read.c;
    const heads = await c.query(`SELECT customer_id, tail, (SELECT COUNT(*) FROM usage_keys k WHERE k.customer_id = h.customer_id) AS keyed
      FROM usage_heads h WHERE customer_id IN (?, ?) ORDER BY customer_id = ?`, [facts.a.customer.id, facts.b.customer.id, facts.b.customer.id]);
    expect(heads.map((h) => [Number(h.keyed), Number(h.tail)])).toEqual([[2 * usageTailMerge, 150 - 2 * usageTailMerge], [usageTailMerge, 70 - usageTailMerge]]);
  });

  it('sums the overage of windows whose edges cut hours holding merged and tail events, and the usage by hour', async () => {
    const { a } = facts;
    const read = ctx.engine.store.read;
    // 09:30 to 10:45: minutes 30 to 104; each edge is inside an hour, read from the events.
    expect(await read.billing.overageConsumed(a.customer.id, startMs + 30 * minuteMs, startMs + 105 * minuteMs)).toBe(sumOfMinutes(30, 105));
    expect(await read.billing.overageConsumed(a.customer.id, startMs + 7 * minuteMs + 30_000, startMs + 149 * minuteMs + 1)).toBe(sumOfMinutes(8, 150));
    const series = await read.usage.series(a.customer.id, null, startMs, startMs + 3 * 60 * minuteMs, 60 * minuteMs);
    expect(series.map((s) => [s.bucketStartMs, s.quantityMicro])).toEqual([
      [startMs, sumOfMinutes(0, 60)], [startMs + 60 * minuteMs, sumOfMinutes(60, 120)], [startMs + 120 * minuteMs, sumOfMinutes(120, 150)],
    ]);
    const usage = await read.reports.usageSums({ fromMs: startMs + 20 * minuteMs, toMs: startMs + 140 * minuteMs, customerId: a.customer.id });
    expect(usage.reduce((s, u) => s + u.creditsMicro, 0n)).toBe(sumOfMinutes(20, 140));
    expect(await read.ledger.balanceDiscrepancies(a.customer.id)).toEqual([]);
  });

  it('reconciles clean, whole and in slices', async () => {
    const result = await reconcileBothWays(ctx.engine);
    expect(result.discrepancies).toEqual([]);
    expect(result.checks.find((c) => c.name === 'usage_events_indexed')).toEqual({ name: 'usage_events_indexed', ok: true });
  });

  it('names a key or a chain that was tampered with (SQLite)', async () => {
    if (dialect !== 'sqlite') return;
    const engine = ctx.engine;
    const c = engine.store.read.c;
    const { a, b } = facts;
    // Whole and in slices alike. (A slice reads its customers' events through their keys and
    // tails, so an event neither finds is missing from its balances too, which a whole-store read
    // sees; the structural findings are the same.)
    const found = async () => {
      const ours = (r: Reconciliation) => r.discrepancies.filter((d) => d.check === 'usage_events_indexed');
      const whole = ours(must(await reconcile(engine)));
      expect(ours(must(await reconcile(engine, {}, { customersPerSlice: 1 })))).toEqual(whole);
      return whole;
    };
    const seqOf = async (id: string) => Number((await c.query(`SELECT seq FROM usage_events WHERE id = ?`, [id]))[0]!.seq);

    // A merged key dropped: the event is found by neither its keys nor its tail.
    const [key] = await c.query<{ position: string; seq: bigint; id: string }>(`SELECT k.position, k.seq, e.id FROM usage_keys k JOIN usage_events e ON e.seq = k.seq WHERE k.customer_id = ? ORDER BY k.position LIMIT 1`, [a.customer.id]);
    await c.run(`DELETE FROM usage_keys WHERE customer_id = ? AND position = ?`, [a.customer.id, key!.position]);
    const dropped = await found();
    expect(dropped.map((d) => d.ids)).toEqual([[key!.id as string, a.customer.id]]);
    expect(dropped[0]!.message).toMatch(/are keyed/);

    // Put back, then pointed at B's event: the key names another customer's row.
    const bEvent = `${b.customer.id}-b3`;
    await c.run(`INSERT INTO usage_keys (customer_id, position, seq) VALUES (?, ?, ?)`, [a.customer.id, key!.position, await seqOf(bEvent)]);
    const stray = await found();
    expect(stray.some((d) => d.ids.includes(a.customer.id) && d.ids.includes(bEvent) && /names event \S+ of customer/.test(d.message))).toBe(true);
    await c.run(`UPDATE usage_keys SET seq = ? WHERE customer_id = ? AND position = ?`, [key!.seq, a.customer.id, key!.position]);
    expect(await found()).toEqual([]);

    // A's head chained to B's events: the tail reaches B's rows and holds another count.
    const [head] = await c.query<{ head: bigint; merged: bigint }>(`SELECT head, merged FROM usage_heads WHERE customer_id = ?`, [a.customer.id]);
    const [prev] = await c.query<{ prev: bigint }>(`SELECT prev FROM usage_chain WHERE seq = ?`, [head!.head]);
    const [bRow] = await c.query<{ seq: bigint }>(`SELECT MAX(seq) AS seq FROM usage_events WHERE customer_id = ? AND seq > ? AND seq < ?`, [b.customer.id, head!.merged, head!.head]);
    await c.run(`UPDATE usage_chain SET prev = ? WHERE seq = ?`, [bRow!.seq, head!.head]);
    const crossed = await found();
    expect(crossed.some((d) => /tail of customer \S+ reaches event \S+ of customer/.test(d.message) && d.ids.includes(b.customer.id))).toBe(true);
    expect(crossed.some((d) => /counts 22 events but its chain holds/.test(d.message))).toBe(true);
    await c.run(`UPDATE usage_chain SET prev = ? WHERE seq = ?`, [prev!.prev, head!.head]);
    expect(await found()).toEqual([]);
  });
});
