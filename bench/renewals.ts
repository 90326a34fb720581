import { createEngine } from '../src/engine/create-engine.ts';
import { createCustomer } from '../src/engine/customers.ts';
import { createPlan } from '../src/engine/plans.ts';
import { recordPayment } from '../src/engine/invoices.ts';
import { createSubscription } from '../src/engine/subscriptions.ts';
import { advanceTestClock, createTestClock } from '../src/engine/test-clocks.ts';
import { openTempDatabase } from './fixture.ts';
import { cpuMsSince } from './stats.ts';

export interface RenewalResult {
  subscriptions: number;
  setupMs: number;
  /** Wall time of the test clock advance that renewed every subscription once. */
  advanceMs: number;
  cpuMs: number;
  ran: number;
  perSecond: number;
  /** Resident set size of this process after the advance, in MiB. */
  rssMiB: number;
}

/**
 * Figure 7: `subscriptions` customers on one test clock, each subscribed to a monthly plan with
 * an allowance, then the clock advanced past the period end, which renews every subscription
 * (overage check, rollover, allowance grant, fee invoice), expires the old allowances, all in
 * time order. Setup runs with `synchronous=OFF` (it is not measured); the advance runs with the
 * production setting, `synchronous=FULL`.
 */
export async function runRenewals(subscriptions: number): Promise<RenewalResult> {
  const temp = openTempDatabase('renewals');
  try {
    const engine = await createEngine(temp.db);
    const setupStarted = performance.now();
    await temp.db.run('PRAGMA synchronous = OFF');
    const clock = must(await createTestClock(engine, { frozen_time: '2026-01-01T00:00:00.000Z' }));
    must(await createPlan(engine, { code: 'pro', name: 'Pro', currency: 'USD', interval: 'month', amount: 2000, included_credits: '1000', rollover: { max_credits: '100' } }));
    for (let i = 0; i < subscriptions; i++) {
      const customer = must(await createCustomer(engine, { currency: 'USD', external_id: `renew-${i}`, test_clock: clock.id, net_days: 30 }));
      const sub = must(await createSubscription(engine, { customer: customer.id, plan: 'pro' }));
      const [period] = await engine.store.read.billing.periods(sub.id);
      must(await recordPayment(engine, period!.invoiceId!, { amount: 2000 }));
    }
    await temp.db.run('PRAGMA synchronous = FULL');
    const setupMs = performance.now() - setupStarted;
    const cpu = process.cpuUsage();
    const started = performance.now();
    const advanced = must(await advanceTestClock(engine, clock.id, { frozen_time: '2026-02-01T00:00:01.000Z' }));
    const advanceMs = performance.now() - started;
    return {
      subscriptions,
      setupMs,
      advanceMs,
      cpuMs: cpuMsSince(cpu),
      ran: advanced.ran,
      perSecond: subscriptions / (advanceMs / 1000),
      rssMiB: process.memoryUsage().rss / 2 ** 20,
    };
  } finally {
    await temp.remove();
  }
}

function must<T>(outcome: { ok: true; value: T } | { ok: false; error: { code: string; message: string } }): T {
  if (!outcome.ok) throw new Error(`benchmark setup failed: ${outcome.error.code}: ${outcome.error.message}`);
  return outcome.value;
}
