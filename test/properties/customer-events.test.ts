import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { dialects } from '../support/databases.ts';
import { must, useEngine } from '../support/engine.ts';
import { createTestClock } from '../../src/engine/test-clocks.ts';
import { createCustomer } from '../../src/engine/customers.ts';
import { createMeter } from '../../src/engine/meters.ts';
import { ingestEvents } from '../../src/engine/ingest-events.ts';
import type { Engine } from '../../src/engine/context.ts';
import { usageTailMerge } from '../../src/store/migrations.ts';

/**
 * A customer's usage events are found by customer, each exactly once (migration 62: on SQLite
 * through keys merged every `usageTailMerge` events and a chained tail,
 * src/store/queries/customer-events.ts; on PostgreSQL by its key). Whatever the batches (their
 * sizes, how they mix three customers, timestamps out of order and duplicates resent), each
 * customer's listing, read a page at a time either way, holds exactly its accepted events in
 * position order; its usage series adds up to their quantities; on SQLite its tail holds its count
 * modulo the merge size; and the structure checks of the reconciliation find nothing.
 */

const numRuns = Number(process.env.TALLY_PROPERTY_RUNS ?? 15);
const frozenMs = Date.parse('2025-06-01T12:00:00Z');
const meter = 'prop_chain';

/** One event: which of the run's three customers, its minute (of the 6 hours before the clock), its quantity. */
const eventShape = fc.record({ customer: fc.integer({ min: 0, max: 2 }), minute: fc.integer({ min: 0, max: 359 }), n: fc.integer({ min: 1, max: 1000 }) });
const batches = fc.array(fc.array(eventShape, { minLength: 1, maxLength: 120, size: 'max' }), { minLength: 1, maxLength: 6, size: 'max' });

async function listed(engine: Engine, customerId: string, limit: number, order: 'asc' | 'desc'): Promise<{ id: string; position: string }[]> {
  const out: { id: string; position: string }[] = [];
  for (let after: string | undefined; ;) {
    const page = await engine.store.read.usage.listEvents(customerId, { limit, order, ...(after ? { startingAfter: after } : {}) });
    out.push(...page.data.map((e) => ({ id: e.id, position: e.position })));
    if (!page.hasMore) return out;
    after = out[out.length - 1]!.id;
  }
}

describe.each(dialects)('usage events found by customer on %s', (dialect) => {
  const ctx = useEngine(dialect);
  let run = 0;
  /** Customers whose events passed a merge, over all runs: the property must have seen some. */
  let merged = 0;

  it('each accepted event once, in position order, whatever the batches', async () => {
    const engine = ctx.engine;
    must(await createMeter(engine, { code: meter, event_type: meter, aggregation: 'sum', value_property: 'n', rate: { model: 'per_unit', credits_per_unit: '0.001' } }));
    await fc.assert(fc.asyncProperty(batches, fc.integer({ min: 1, max: 50 }), async (sent, limit) => {
      run++;
      const clock = must(await createTestClock(engine, { frozen_time: new Date(frozenMs).toISOString() }));
      const customers: { id: string }[] = [];
      for (let i = 0; i < 3; i++) customers.push(must(await createCustomer(engine, { currency: 'USD', test_clock: clock.id, overage: true })));
      const accepted = new Map<string, { customer: number; n: number }>();
      let k = 0;
      for (const batch of sent) {
        const events = batch.map((e) => ({
          id: `r${run}-${k++}`, customer: customers[e.customer]!.id, type: meter, properties: { n: e.n },
          timestamp: new Date(frozenMs - 6 * 3_600_000 + e.minute * 60_000).toISOString(),
        }));
        // Resend the batch's first event too: it must come back a duplicate, stored once.
        const results = await ingestEvents(engine, [...events, events[0]!]);
        for (const [i, r] of results.entries()) {
          if (i === events.length) expect(r.status).toBe('duplicate');
          else {
            expect(r.status).toBe('accepted');
            accepted.set(events[i]!.id, { customer: batch[i]!.customer, n: batch[i]!.n });
          }
        }
      }
      for (const [index, customer] of customers.entries()) {
        const own = [...accepted].filter(([, e]) => e.customer === index);
        if (own.length >= usageTailMerge) merged++;
        const up = await listed(engine, customer.id, limit, 'asc');
        expect(up.map((e) => e.id).sort()).toEqual(own.map(([id]) => id).sort());
        expect(up.map((e) => e.position)).toEqual(up.map((e) => e.position).sort());
        expect((await listed(engine, customer.id, limit, 'desc')).map((e) => e.id)).toEqual(up.map((e) => e.id).reverse());
        const series = await engine.store.read.usage.series(customer.id, meter, frozenMs - 7 * 3_600_000, frozenMs, 3_600_000);
        expect(series.reduce((s, b) => s + b.quantityMicro, 0n)).toBe(own.reduce((s, [, e]) => s + BigInt(e.n), 0n) * 1_000_000n);
        if (dialect === 'sqlite') {
          const [head] = await engine.store.read.c.query<{ tail: bigint }>(`SELECT tail FROM usage_heads WHERE customer_id = ?`, [customer.id]);
          expect(Number(head?.tail ?? 0)).toBe(own.length % usageTailMerge);
        }
      }
      expect(await engine.store.read.reconciliation.misplacedUsageEvents()).toEqual([]);
      const counts = await engine.store.read.reconciliation.usageEventCounts();
      if (counts !== null) expect(counts.events).toBe(counts.keyed + counts.tails);
    }), { numRuns });
    expect(merged, 'customers with a merge behind them').toBeGreaterThan(0);
  });
});
