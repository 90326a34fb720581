import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { dialects } from '../support/databases.ts';
import { must, useEngine } from '../support/engine.ts';
import { advanceTestClock, createTestClock } from '../../src/engine/test-clocks.ts';
import { createCustomer } from '../../src/engine/customers.ts';
import { createMeter } from '../../src/engine/meters.ts';
import { createGrant } from '../../src/engine/grants.ts';
import { createHold, releaseHold } from '../../src/engine/holds.ts';
import { ingestEvents } from '../../src/engine/ingest-events.ts';
import { getBalance } from '../../src/engine/balance.ts';
import { checkLedger, reconcile } from '../../src/engine/reconcile.ts';

/**
 * Debt is paid as soon as credits can pay it (PRODUCT §2, migration 66): whatever a customer does
 * (grants that take effect now or later and expire, usage now or stamped hours back, holds taken
 * and released or left to expire), once its test clock has been advanced and the due work up to
 * that time has run, it never owes a debt while it holds credits usable then. A path that made
 * credits usable without asking a check of the debt would leave both, and fail here. The ledger
 * and the reconciliation stay clean.
 */

// Four times the other properties' runs: each is a short scenario, and a path that misses a check
// shows only in some shapes (a debt, then credits back, with no later check to mask it).
const numRuns = 4 * Number(process.env.TALLY_PROPERTY_RUNS ?? 15);
const startMs = Date.parse('2026-02-01T00:00:00Z');
const hourMs = 3_600_000;
const meter = 'prop_debt';

const step = fc.oneof(
  fc.record({ op: fc.constant('grant' as const), credits: fc.integer({ min: 1, max: 20 }), inHours: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 72 })), lifeHours: fc.option(fc.integer({ min: 1, max: 96 })) }),
  fc.record({ op: fc.constant('use' as const), n: fc.integer({ min: 1, max: 25 }), hoursBack: fc.integer({ min: 0, max: 48 }) }),
  fc.record({ op: fc.constant('hold' as const), credits: fc.integer({ min: 1, max: 20 }) }),
  fc.record({ op: fc.constant('release' as const) }),
  fc.record({ op: fc.constant('advance' as const), hours: fc.integer({ min: 1, max: 48 }) }),
);

describe.each(dialects)('debt settlement on %s', (dialect) => {
  const ctx = useEngine(dialect);
  let run = 0;
  /** Runs in which due work paid a debt down (not the grant issued in effect): the property must have seen some. */
  let settled = 0;

  it('never leaves a debt owed beside credits usable, once due work has run', async () => {
    const engine = ctx.engine;
    must(await createMeter(engine, { code: meter, event_type: meter, aggregation: 'sum', value_property: 'n', rate: { model: 'per_unit', credits_per_unit: '1' } }));
    await fc.assert(fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 14 }), async (steps) => {
      run++;
      const clock = must(await createTestClock(engine, { frozen_time: new Date(startMs).toISOString() }));
      const customer = must(await createCustomer(engine, { currency: 'USD', test_clock: clock.id }));
      let nowMs = startMs;
      let events = 0;
      const holds: string[] = [];
      const advance = async (hours: number) => {
        nowMs += hours * hourMs;
        must(await advanceTestClock(engine, clock.id, { frozen_time: new Date(nowMs).toISOString() }));
        const { balance } = must(await getBalance(engine, customer.id));
        expect({ debt: balance.debtMicro > 0n, available: balance.availableMicro > 0n }, `after ${JSON.stringify(steps)}`).not.toEqual({ debt: true, available: true });
      };
      for (const s of steps) {
        if (s.op === 'grant') {
          const effectiveMs = nowMs + s.inHours * hourMs;
          must(await createGrant(engine, {
            customer: customer.id, credits: String(s.credits), category: 'paid', source: 'adjustment',
            effective_at: new Date(effectiveMs).toISOString(),
            ...(s.lifeHours === null ? {} : { expires_at: new Date(effectiveMs + s.lifeHours * hourMs).toISOString() }),
          }));
        } else if (s.op === 'use') {
          const [result] = await ingestEvents(engine, [{
            id: `d${run}-${++events}`, customer: customer.id, type: meter, properties: { n: s.n },
            timestamp: new Date(nowMs - s.hoursBack * hourMs).toISOString(),
          }]);
          expect(result!.status).toBe('accepted');
        } else if (s.op === 'hold') {
          const hold = await createHold(engine, { customer: customer.id, credits: String(s.credits), expires_in: 6 * 3600 });
          if (hold.ok) holds.push(hold.value.id);
        } else if (s.op === 'release') {
          const id = holds.shift();
          // Gone already if it expired: releasing it then is refused, and changes nothing.
          if (id !== undefined) await releaseHold(engine, id);
        } else {
          await advance(s.hours);
        }
      }
      // Past every grant's start and every hold's expiry.
      await advance(24 * 5);
      const paid = (await engine.store.read.ledger.listTransactions(customer.id, { limit: 100 })).data.filter((t) => t.causeType === 'debt_settlement');
      if (paid.length > 0) settled++;
    }), { numRuns });
    expect(settled, 'runs in which due work paid a debt down').toBeGreaterThan(0);
    expect(await checkLedger(engine)).toEqual({ unbalanced: [], discrepancies: [] });
    expect(must(await reconcile(engine)).discrepancies).toEqual([]);
  });
});
