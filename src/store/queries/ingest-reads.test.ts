import { describe, expect, it } from 'vitest';
import { dialects } from '../../../test/support/databases.ts';
import { must, useEngine } from '../../../test/support/engine.ts';
import { calendarMonthAt } from '../../core/periods.ts';
import { createCustomer } from '../../engine/customers.ts';
import { createGrant } from '../../engine/grants.ts';
import { createMeter } from '../../engine/meters.ts';
import { createPlan } from '../../engine/plans.ts';
import { createSubscription } from '../../engine/subscriptions.ts';
import { ingestEvents } from '../../engine/ingest-events.ts';
import type { SqlConnection } from '../sql.ts';
import { IngestReadQueries, type IngestReadRequest } from './ingest-reads.ts';

/**
 * An ingestion step's reads after its lock: on PostgreSQL one statement for a small step, which
 * must return what the separate queries return (the form SQLite and large steps use), row for row.
 */
describe.each(dialects)('ingestReads.read on %s', (dialect) => {
  const ctx = useEngine(dialect);

  it('returns what the separate queries return: events, meters, timeline, grants, expired grants and totals', async () => {
    const { engine } = ctx;
    const suffix = `${dialect}-${Date.now()}`;
    must(await createMeter(engine, { code: `tokens_${suffix}`, event_type: `llm_${suffix}`, aggregation: 'sum', value_property: 'tokens', rate: { model: 'per_unit', credits_per_unit: '0.5' } }));
    must(await createMeter(engine, { code: `calls_${suffix}`, event_type: `llm_${suffix}`, aggregation: 'count', rate: { model: 'per_unit', credits_per_unit: '1' } }));
    const plan = must(await createPlan(engine, { code: `plan_${suffix}`, name: 'P', currency: 'USD', interval: 'month', amount: 1000, included_credits: '10' }));
    const subscribed = must(await createCustomer(engine, { currency: 'USD' }));
    must(await createSubscription(engine, { customer: subscribed.id, plan: plan.code }));
    const plain = must(await createCustomer(engine, { currency: 'USD', overage: true }));
    // A grant beyond 2^53 micro-credits: no amount may pass through a float on its way back.
    must(await createGrant(engine, { customer: plain.id, credits: '999999999999.000001', category: 'paid', source: 'purchase', priority: 5 }));
    must(await createGrant(engine, { customer: plain.id, credits: '2', category: 'promotional', source: 'promotion', priority: 1,
      expires_at: new Date(engine.clock.now() + 86_400_000).toISOString() }));
    const events = [plain.id, subscribed.id].map((customer, i) => ({ id: `ev-${suffix}-${i}`, customer, type: `llm_${suffix}`, properties: { tokens: 7 } }));
    for (const r of await ingestEvents(engine, events)) expect(r.status).toBe('accepted');

    const nowMs = engine.clock.now();
    const customerIds = [plain.id, subscribed.id, 'cus_missing'];
    const request: IngestReadRequest = {
      customerIds,
      eventIds: [...events.map((e) => e.id), 'ev-missing'],
      eventTypes: [`llm_${suffix}`, 'other'],
      expiredSince: { customerIds, sinceMs: nowMs - 86_400_000 },
      totalsIn: { customerIds, periodStartsMs: [calendarMonthAt(nowMs).startMs] },
    };
    const [inOne, separate] = await engine.store.transaction(async (tx) => {
      const separateOnly: SqlConnection = { dialect: tx.c.dialect, query: tx.c.query.bind(tx.c), run: tx.c.run.bind(tx.c) };
      return [
        await tx.ingestReads.read(request),
        await new IngestReadQueries(separateOnly, tx.usage, tx.billing, tx.ledger).read(request),
      ] as const;
    });
    expect(separate.totals).toBeNull();
    expect({ ...inOne, events: sortedById(inOne.events), totals: null }).toEqual({ ...separate, events: sortedById(separate.events) });
    expect(inOne.events.map((e) => e.id).sort()).toEqual(events.map((e) => e.id).sort());
    expect(inOne.meters).toHaveLength(2);
    expect(inOne.subscriptions).toHaveLength(1);
    expect(inOne.plans.get(plan.id)?.code).toBe(plan.code);
    expect(inOne.grants.some((g) => g.remainingMicro > 2n ** 53n)).toBe(true);
    if (dialect === 'postgres') {
      // The plain customer's totals are in the calendar month asked for; both meters counted.
      expect(inOne.totals?.filter((t) => t.customerId === plain.id).map((t) => t.quantityMicro).sort()).toEqual([1_000_000n, 7_000_000n]);
    } else {
      expect(inOne.totals).toBeNull();
    }
  });
});

function sortedById<T extends { id: string }>(rows: readonly T[]): T[] {
  return [...rows].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}
