import { describe, expect, it } from 'vitest';
import { must, useEngine } from '../support/engine.ts';
import { createMeter } from '../../src/engine/meters.ts';
import { createPlan } from '../../src/engine/plans.ts';
import { createCustomer } from '../../src/engine/customers.ts';
import { createSubscription } from '../../src/engine/subscriptions.ts';
import { runDue } from '../../src/engine/due-work.ts';
import { dunningRetry, invoicePastDue } from '../../src/engine/dunning.ts';
import { ingestEvents } from '../../src/engine/ingest-events.ts';
import { checkLedger, reconcile } from '../../src/engine/reconcile.ts';
import { dialects } from '../support/databases.ts';

/**
 * Due work on the real clock runs when the scheduler gets to it, which may be after its time (a
 * tick later, or a server down for an hour). Usage keeps being paid meanwhile; what the work
 * decides now must not be dated before that usage.
 */
describe.each(dialects)('due work run after its time, on %s', (dialect) => {
  const ctx = useEngine(dialect);

  it('the last dunning retry revokes the credits when it runs: usage they paid while it waited stays before the revocation, and reconciliation is clean', async () => {
    // One retry, at once: the first retry is the last.
    const engine = { ...ctx.engine, settings: { ...ctx.engine.settings, dunningRetryDays: [0] } };
    must(await createMeter(engine, { code: 'late_work', event_type: 'late_work', aggregation: 'sum', value_property: 'n', rate: { model: 'per_unit', credits_per_unit: '1' } }));
    const plan = must(await createPlan(engine, { code: 'late-plan', name: 'Late', currency: 'USD', interval: 'month', amount: 1000, included_credits: '10' })).id;
    const customer = must(await createCustomer(engine, { currency: 'USD' })).id;
    // Started a minute ago, its first invoice was due then (net 0 days), unpaid.
    const sub = must(await createSubscription(engine, { customer, plan, start_at: new Date(Date.now() - 60_000).toISOString() }));
    await runDue(engine, null, Date.now(), { kinds: [invoicePastDue] });
    const [invoice] = await engine.store.db.query<{ id: string; next_attempt_at: unknown }>(`SELECT id, next_attempt_at FROM invoices WHERE subscription_id = ?`, [sub.id]);
    expect(Number(invoice!.next_attempt_at)).toBeLessThan(Date.now());
    // The retry is due; before the scheduler runs it, usage is paid from the allowance.
    const [used] = await ingestEvents(engine, [{ id: `late-${dialect}-1`, customer, type: 'late_work', properties: { n: 4 } }]);
    expect(used!.paid_by).toHaveLength(1);
    expect(used!.paid_by![0]!.credits).toBe('4');
    const allowance = used!.paid_by![0]!.grant;
    const usedAtMs = Date.now();
    // The scheduler's run comes at a later millisecond than the usage was stamped at.
    while (Date.now() <= usedAtMs) await new Promise((resolve) => setImmediate(resolve));
    await runDue(engine, null, Date.now(), { kinds: [dunningRetry] });
    const [after] = await engine.store.db.query<{ status: string; uncollectible_at: unknown }>(`SELECT status, uncollectible_at FROM invoices WHERE id = ?`, [invoice!.id]);
    expect(after!.status).toBe('uncollectible');
    expect(Number(after!.uncollectible_at)).toBeGreaterThan(usedAtMs);
    const [grant] = await engine.store.db.query<{ status: string; closed_at: unknown }>(`SELECT status, closed_at FROM grants WHERE id = ?`, [allowance]);
    expect(grant!.status).toBe('voided');
    expect(Number(grant!.closed_at)).toBeGreaterThan(usedAtMs);
    expect(must(await reconcile(engine)).discrepancies).toEqual([]);
    expect(await checkLedger(engine)).toEqual({ unbalanced: [], discrepancies: [] });
  });
});
