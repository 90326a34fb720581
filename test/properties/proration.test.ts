import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { dialects } from '../support/databases.ts';
import { must, useEngine } from '../support/engine.ts';
import type { Engine } from '../../src/engine/context.ts';
import { advanceTestClock, createTestClock } from '../../src/engine/test-clocks.ts';
import { createCustomer } from '../../src/engine/customers.ts';
import { createPlan } from '../../src/engine/plans.ts';
import { changeSubscription, createSubscription } from '../../src/engine/subscriptions.ts';
import { getBalance } from '../../src/engine/balance.ts';
import { formatCredits } from '../../src/core/decimal.ts';
import { accounts } from '../../src/core/ledger.ts';
import { prorate, type Fraction } from '../../src/core/proration.ts';
import { formatTimestamp } from '../../src/core/time.ts';
import type { PlanRecord } from '../../src/store/queries/billing.ts';

/**
 * Property tests for mid-cycle changes (PRODUCT §7): random sequences of immediate plan changes at
 * random instants, with renewals in between as the test clock moves, among three random plans.
 *  (a) each change prorates money and credits by the one fraction it records;
 *  (b) no sequence yields more allowance in a period than the plans' time-weighted sum;
 *  (c) the ledger reconciles.
 * No usage is ingested, so a revoke is never capped by what was already spent.
 */

const secondMs = 1000;
const dayMs = 86_400_000;
/** Raise with TALLY_PROPERTY_RUNS for a longer hunt; the default keeps the file quick. */
const numRuns = Number(process.env.TALLY_PROPERTY_RUNS ?? 12);
const yearStartMs = Date.parse('2026-01-01T00:00:00Z');

interface PlanShape {
  amountMinor: number;
  includedMicro: bigint;
}

interface Step {
  /** Whole seconds the clock moves before the change; renewals on the way run first. */
  waitSeconds: number;
  plan: number;
}

interface Scenario {
  plans: PlanShape[];
  anchorOffsetSeconds: number;
  steps: Step[];
}

const planShape: fc.Arbitrary<PlanShape> = fc.record({
  amountMinor: fc.oneof(fc.constantFrom(0, 999, 1000, 2000), fc.integer({ min: 0, max: 100_000 })),
  includedMicro: fc.oneof(fc.constantFrom(0n, 1n, 1_000_000_000n), fc.bigInt({ min: 0n, max: 5_000_000_000n })),
});

const step: fc.Arbitrary<Step> = fc.record({
  waitSeconds: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 3600 }), fc.integer({ min: 1, max: 45 * 86_400 })),
  plan: fc.integer({ min: 0, max: 2 }),
});

const scenario: fc.Arbitrary<Scenario> = fc.record({
  plans: fc.array(planShape, { minLength: 3, maxLength: 3 }),
  anchorOffsetSeconds: fc.integer({ min: 0, max: 365 * 86_400 }),
  steps: fc.array(step, { minLength: 1, maxLength: 6 }),
});

let runSeq = 0;

function parseFraction(text: unknown): Fraction {
  const match = /^(\d+)\/(\d+)$/.exec(String(text));
  expect(match, `fraction ${String(text)}`).not.toBeNull();
  return { numerator: BigInt(match![1]!), denominator: BigInt(match![2]!) };
}

const seconds = (ms: number): bigint => BigInt(Math.floor(ms / secondMs));

async function runScenario(engine: Engine, s: Scenario): Promise<void> {
  const run = ++runSeq;
  const anchorMs = yearStartMs + s.anchorOffsetSeconds * secondMs;
  const clock = must(await createTestClock(engine, { frozen_time: formatTimestamp(anchorMs) }));
  // A year's payment terms: the property is about proration, not collection.
  const customer = must(await createCustomer(engine, { currency: 'USD', test_clock: clock.id, net_days: 365 }));
  const plans: PlanRecord[] = [];
  for (const [i, shape] of s.plans.entries()) {
    plans.push(must(await createPlan(engine, {
      code: `prop_${run}_${i}`, name: `P${i}`, currency: 'USD', interval: 'month', amount: shape.amountMinor, included_credits: formatCredits(shape.includedMicro),
    })));
  }
  const sub = must(await createSubscription(engine, { customer: customer.id, plan: plans[0]!.code }));

  const changedAtMs: number[] = [];
  let nowMs = anchorMs;
  for (const { waitSeconds, plan } of s.steps) {
    if (waitSeconds > 0) {
      nowMs += waitSeconds * secondMs;
      must(await advanceTestClock(engine, clock.id, { frozen_time: formatTimestamp(nowMs) }));
    }
    must(await changeSubscription(engine, sub.id, { plan: plans[plan]!.code, timing: 'immediate' }));
    changedAtMs.push(nowMs);
  }

  const read = engine.store.read;
  const planById = new Map(plans.map((p) => [p.id, p]));
  const periods = await read.billing.periods(sub.id);
  const events = (await read.ledger.listDomainEvents({ customerId: customer.id, type: 'subscription.changed' }, { limit: 100 })).data;
  expect(events).toHaveLength(s.steps.length);

  // (a) One fraction per change, read from its event, prices both lines and sizes both credit moves.
  const netByPeriod = new Map<number, { netMicro: bigint; changes: number }>();
  for (const [i, event] of events.entries()) {
    const fraction = parseFraction(event.payload.fraction);
    const from = planById.get(String(event.payload.from_plan))!;
    const to = planById.get(String(event.payload.to_plan))!;
    expect(event.createdAtMs).toBe(changedAtMs[i]);
    const invoice = (await read.billing.invoice(String(event.payload.invoice)))!;
    const period = periods.find((p) => p.periodStartMs <= changedAtMs[i]! && changedAtMs[i]! < p.periodEndMs)!;
    expect(invoice.periodEndMs).toBe(period.periodEndMs);
    expect(fraction).toEqual({ numerator: seconds(period.periodEndMs) - seconds(changedAtMs[i]!), denominator: seconds(period.periodEndMs) - seconds(period.periodStartMs) });

    const [creditLine, chargeLine] = invoice.lines;
    expect(invoice.lines.map((l) => l.type)).toEqual(['proration_credit', 'proration_charge']);
    expect(creditLine!.amountMinor).toBe(-prorate(from.amountMinor, fraction));
    expect(chargeLine!.amountMinor).toBe(prorate(to.amountMinor, fraction));

    const grantedMicro = prorate(to.includedCreditsMicro, fraction);
    const grants = (await read.grants.forInvoice(invoice.id)).filter((g) => g.source === 'plan_allowance');
    expect(grants.map((g) => [g.creditsMicro, g.invoiceLineId, g.periodStartMs])).toEqual(grantedMicro > 0n ? [[grantedMicro, chargeLine!.id, period.periodStartMs]] : []);

    const revokedMicro = prorate(from.includedCreditsMicro, fraction);
    const revokes = (await read.ledger.transactionsForCause(creditLine!.id)).filter((t) => t.kind === 'revoke');
    const revokedEntries = revokes.flatMap((t) => t.entries.filter((e) => e.account === accounts.revoked).map((e) => e.amountMicro));
    expect(revokedEntries).toEqual(revokedMicro > 0n ? [revokedMicro] : []);

    const net = netByPeriod.get(period.periodStartMs) ?? { netMicro: 0n, changes: 0 };
    netByPeriod.set(period.periodStartMs, { netMicro: net.netMicro + grantedMicro - revokedMicro, changes: net.changes + 1 });
  }

  // (b) Per period: allowance granted minus revoked against Σ included × phase seconds / period seconds.
  const phases = await read.billing.phases([sub.id]);
  let currentNetMicro = 0n;
  for (const period of periods) {
    const renewalGrants = (await read.grants.forPeriod(sub.id, period.periodStartMs)).filter((g) => g.source === 'plan_allowance' && g.invoiceId === period.invoiceId);
    const changes = netByPeriod.get(period.periodStartMs) ?? { netMicro: 0n, changes: 0 };
    const netMicro = renewalGrants.reduce((sum, g) => sum + g.creditsMicro, 0n) + changes.netMicro;
    const periodSeconds = seconds(period.periodEndMs) - seconds(period.periodStartMs);
    let weighted = 0n;
    for (const phase of phases) {
      const startMs = Math.max(phase.startAtMs, period.periodStartMs);
      const endMs = Math.min(phase.endAtMs ?? Number.MAX_SAFE_INTEGER, period.periodEndMs);
      if (endMs > startMs) weighted += planById.get(phase.planId)!.includedCreditsMicro * (seconds(endMs) - seconds(startMs));
    }
    const slack = BigInt(changes.changes) * periodSeconds;
    const label = `period ${formatTimestamp(period.periodStartMs)}: net ${netMicro} µ vs ${weighted}/${periodSeconds}`;
    expect(netMicro * periodSeconds <= weighted + slack, label).toBe(true);
    // Without usage no revoke is capped, so the allowance is also not short by more than the rounding.
    expect(netMicro * periodSeconds >= weighted - slack, label).toBe(true);
    if (period.periodStartMs <= nowMs && nowMs < period.periodEndMs) currentNetMicro = netMicro;
  }
  // Older periods' allowances have expired: what is available is the current period's net allowance.
  expect(must(await getBalance(engine, customer.id)).balance.availableMicro).toBe(currentNetMicro);
}

describe.each(dialects)('proration properties on %s', (dialect) => {
  const ctx = useEngine(dialect);

  it('prorate money and credits by one fraction and never grant more than the time-weighted allowance', async () => {
    await fc.assert(fc.asyncProperty(scenario, async (s) => runScenario(ctx.engine, s)), { numRuns });
    // (c) The whole database reconciles.
    expect(await ctx.engine.store.read.ledger.unbalancedTransactions()).toEqual([]);
    expect(await ctx.engine.store.read.ledger.balanceDiscrepancies()).toEqual([]);
  }, 20_000 + numRuns * 1_500);

  it('holds for the worked example: 10.00/1000 credits to 20.00/3000 credits exactly halfway', async () => {
    await runScenario(ctx.engine, {
      plans: [{ amountMinor: 1000, includedMicro: 1_000_000_000n }, { amountMinor: 2000, includedMicro: 3_000_000_000n }, { amountMinor: 0, includedMicro: 0n }],
      anchorOffsetSeconds: (Date.parse('2026-04-01T00:00:00Z') - yearStartMs) / secondMs,
      steps: [{ waitSeconds: 15 * dayMs / secondMs, plan: 1 }],
    });
  });
});
