import { describe, expect, it } from 'vitest';
import { dialects, freshDatabase } from '../support/databases.ts';
import { must, useEngine } from '../support/engine.ts';
import { financeCustomer, invoicesOf, uniqueCode } from '../support/finance.ts';
import { ManualClock } from '../../src/engine/clock.ts';
import { createEngine } from '../../src/engine/create-engine.ts';
import type { Engine } from '../../src/engine/context.ts';
import { createCustomer } from '../../src/engine/customers.ts';
import { createMeter } from '../../src/engine/meters.ts';
import { createPlan } from '../../src/engine/plans.ts';
import { cancelSubscription, createSubscription } from '../../src/engine/subscriptions.ts';
import { ingestEvents } from '../../src/engine/ingest-events.ts';
import { getBalance } from '../../src/engine/balance.ts';
import { reconcile } from '../../src/engine/reconcile.ts';
import { runDue } from '../../src/engine/due-work.ts';
import { DueBatch } from '../../src/engine/due-batch.ts';
import { subscriptionClosing } from '../../src/engine/close-subscription.ts';
import { allDueWork } from '../../src/engine/scheduled-work.ts';
import { advanceTestClock } from '../../src/engine/test-clocks.ts';
import { formatCredits } from '../../src/core/decimal.ts';
import { closingSlackMs } from '../../src/core/reconciliation.ts';
import { endOfTimeMs } from '../../src/core/time.ts';
import type { InvoiceRecord } from '../../src/store/records.ts';

/**
 * The closing correction of an ended subscription (PRODUCT §5 "usage is never lost", §6
 * "corrections go on a later one, referencing the period"): late overage that reaches its periods
 * after the final invoice is billed once, by one `correction` invoice, as soon as no more of it can
 * arrive (35 days and a millisecond after the end, or after the five minutes a subscription canceled
 * mid-period owns after it); reconciliation counts it as pending until then.
 */

const iso = (ms: number): string => new Date(ms).toISOString();
const dayMs = 24 * 3600 * 1000;

/** An invoice's lines as [type, quantity, unit amount, amount, period start, period end]. */
const linesOf = (invoice: InvoiceRecord) =>
  invoice.lines.map((l) => [l.type, l.quantity, l.unitAmount, l.amountMinor, iso(l.periodStartMs), iso(l.periodEndMs)]);

/** A subscriber since January 1 to 100 included credits a month at 10.00, overage at 5 minor units a credit. */
async function subscriber(engine: Engine) {
  const c = await financeCustomer(engine, '2025-01-01T00:00:00Z');
  const plan = must(await createPlan(engine, {
    code: uniqueCode('metered'), name: 'Metered', currency: 'USD', interval: 'month', amount: 1000, included_credits: '100', overage: { unit_amount_per_credit: '5' },
  }));
  return { ...c, sub: must(await createSubscription(engine, { customer: c.customer.id, plan: plan.code })) };
}

const overageOf = async (engine: Engine, customerId: string) => formatCredits(must(await getBalance(engine, customerId)).balance.overageMicro);
const correctionsOf = async (engine: Engine, customerId: string) => (await invoicesOf(engine, customerId)).filter((i) => i.kind === 'correction');
const problemsOf = async (engine: Engine, subscriptionId: string) =>
  must(await reconcile(engine)).discrepancies.filter((d) => d.ids.includes(subscriptionId)).map((d) => `${d.check}: ${d.message}`);
const finalizedKinds = async (engine: Engine, customerId: string) =>
  (await engine.store.read.ledger.listDomainEvents({ customerId, type: 'invoice.finalized' }, { limit: 100 })).data.map((e) => [e.payload.kind, e.payload.invoice, e.payload.total]);
const closingDueOf = async (engine: Engine, subscriptionId: string) => (await engine.store.read.billing.subscription(subscriptionId))!.closingDueAtMs;

describe.each(dialects)('the closing correction of an ended subscription, on %s', (dialect) => {
  const ctx = useEngine(dialect);

  it('bills late overage after an immediate cancellation once, 35 days after the five minutes it owns after its end, referencing the period (the worked example)', async () => {
    const { engine } = ctx;
    const c = await subscriber(engine);
    // January 10: 130 credits, 30 of them overage. January 15: canceled at once; the final invoice
    // credits the unused 17 of 31 days (548 of the fee) and bills the 30 credits: 150.
    await c.advance('2025-01-10T00:00:00Z');
    await c.use(130);
    await c.advance('2025-01-15T00:00:00Z');
    must(await cancelSubscription(engine, c.sub.id, { timing: 'immediate' }));
    const final = (await invoicesOf(engine, c.customer.id)).find((i) => i.kind === 'final')!;
    expect(linesOf(final)).toEqual([
      ['proration_credit', '1', '-548', -548n, '2025-01-15T00:00:00.000Z', '2025-02-01T00:00:00.000Z'],
      ['overage', '30', '5', 150n, '2025-01-01T00:00:00.000Z', '2025-02-01T00:00:00.000Z'],
    ]);
    expect(final.totalMinor).toBe(-398n);
    // 35 days after the last instant the subscription owns, five minutes after its end (events may be stamped that far ahead).
    expect(await closingDueOf(engine, c.sub.id)).toBe(Date.parse('2025-02-19T00:05:00.001Z'));
    expect(await overageOf(engine, c.customer.id)).toBe('0');

    // January 20: an event of January 14 for 12 credits arrives, all overage (the allowance was
    // spent): the customer owes it, and reconciliation waits for the correction.
    await c.advance('2025-01-20T00:00:00Z');
    await c.use(12, '2025-01-14T00:00:00Z');
    expect(await overageOf(engine, c.customer.id)).toBe('12');
    expect(await problemsOf(engine, c.sub.id)).toEqual([]);

    // The last millisecond an event of the last instant the subscription owns (five minutes after
    // its cancellation) can arrive: 1 credit more. On the way, January's fee (due February 15 on
    // 45 days' terms) went past due, and its first retry on February 16 took the final invoice's
    // money balance of 398 (−548 + 150) first.
    await c.advance('2025-02-19T00:05:00.000Z');
    const fee = (await invoicesOf(engine, c.customer.id)).find((i) => i.kind === 'subscription')!;
    expect(fee).toMatchObject({ status: 'open', totalMinor: 1000n, balanceAppliedMinor: 398n, amountPaidMinor: 398n });
    expect(await correctionsOf(engine, c.customer.id)).toEqual([]);
    await c.use(1, '2025-01-15T00:05:00.000Z');
    expect(await overageOf(engine, c.customer.id)).toBe('13');
    expect(await problemsOf(engine, c.sub.id)).toEqual([]);

    // A millisecond on, the window has closed: one correction of 13 credits × 5 = 65, referencing
    // January up to the cancellation, finalized through the outbox, and `overage` back to zero. No
    // balance is left to pay it: it is open.
    await c.advance('2025-02-19T00:05:00.001Z');
    const corrections = await correctionsOf(engine, c.customer.id);
    expect(corrections).toHaveLength(1);
    const [correction] = corrections;
    expect(linesOf(correction!)).toEqual([['overage', '13', '5', 65n, '2025-01-01T00:00:00.000Z', '2025-01-15T00:00:00.000Z']]);
    expect(correction).toMatchObject({
      subscriptionId: c.sub.id, status: 'open', totalMinor: 65n, balanceAppliedMinor: 0n, createdAtMs: Date.parse('2025-02-19T00:05:00.001Z'),
      periodStartMs: Date.parse('2025-01-01T00:00:00Z'), periodEndMs: Date.parse('2025-01-15T00:00:00Z'),
    });
    expect(correction!.lines[0]!.refs).toMatchObject({ subscription: c.sub.id });
    expect(await finalizedKinds(engine, c.customer.id)).toContainEqual(['correction', correction!.id, 65]);
    const [posting] = await engine.store.read.ledger.transactionsForCause(correction!.lines[0]!.id);
    expect(posting).toMatchObject({ kind: 'overage_invoiced' });
    expect(await overageOf(engine, c.customer.id)).toBe('0');
    expect(await closingDueOf(engine, c.sub.id)).toBeNull();
    expect(must(await reconcile(engine))).toEqual(expect.objectContaining({ ok: true, discrepancies: [] }));

    // Nothing more, however far the clock goes.
    await c.advance('2025-06-01T00:00:00Z');
    expect((await correctionsOf(engine, c.customer.id)).map((i) => i.id)).toEqual([correction!.id]);
    expect(await problemsOf(engine, c.sub.id)).toEqual([]);
  });

  it('bills late overage after a cancellation at period end (the renewal\'s final invoice)', async () => {
    const { engine } = ctx;
    const c = await subscriber(engine);
    await c.advance('2025-01-10T00:00:00Z');
    await c.use(130);
    must(await cancelSubscription(engine, c.sub.id, { timing: 'period_end' }));
    await c.advance('2025-02-01T00:00:00Z');
    const final = (await invoicesOf(engine, c.customer.id)).find((i) => i.kind === 'final')!;
    expect(linesOf(final)).toEqual([['overage', '30', '5', 150n, '2025-01-01T00:00:00.000Z', '2025-02-01T00:00:00.000Z']]);
    // February 10: an event of January 25 for 7 credits.
    await c.advance('2025-02-10T00:00:00Z');
    await c.use(7, '2025-01-25T00:00:00Z');
    expect(await problemsOf(engine, c.sub.id)).toEqual([]);
    await c.advance('2025-03-08T00:05:00.000Z');
    expect(await correctionsOf(engine, c.customer.id)).toEqual([]);
    await c.advance('2025-03-09T00:00:00Z');
    const corrections = await correctionsOf(engine, c.customer.id);
    expect(corrections.map(linesOf)).toEqual([[['overage', '7', '5', 35n, '2025-01-01T00:00:00.000Z', '2025-02-01T00:00:00.000Z']]]);
    expect(corrections[0]!.createdAtMs).toBe(Date.parse('2025-03-08T00:05:00.001Z'));
    expect(await overageOf(engine, c.customer.id)).toBe('0');
    expect(await problemsOf(engine, c.sub.id)).toEqual([]);
  });

  it('issues nothing when no late usage came, and still closes the subscription', async () => {
    const { engine } = ctx;
    const c = await subscriber(engine);
    await c.advance('2025-01-10T00:00:00Z');
    await c.use(130);
    must(await cancelSubscription(engine, c.sub.id, { timing: 'immediate' }));
    const before = (await invoicesOf(engine, c.customer.id)).map((i) => i.kind);
    const advanced = await c.advance('2025-03-01T00:00:00Z');
    expect((await invoicesOf(engine, c.customer.id)).map((i) => i.kind)).toEqual(before);
    expect(advanced.ran).toBeGreaterThan(0);
    expect(await closingDueOf(engine, c.sub.id)).toBeNull();
    expect(await problemsOf(engine, c.sub.id)).toEqual([]);
  });

  it('bills once however often the due work runs: two runs at once, a retry, and an item listed by two servers', async () => {
    const { engine } = ctx;
    const c = await subscriber(engine);
    await c.advance('2025-01-10T00:00:00Z');
    await c.use(130);
    must(await cancelSubscription(engine, c.sub.id, { timing: 'immediate' }));
    await c.use(4, '2025-01-09T00:00:00Z');
    const dueAtMs = (await closingDueOf(engine, c.sub.id))!;
    // Both servers list the item before either runs it; then each runs it in a transaction of its own.
    const listed = (await subscriptionClosing.due(engine.store.read, c.clock.id, dueAtMs, 10)).filter((i) => i.id === c.sub.id);
    expect(listed).toHaveLength(1);
    const runListed = () => engine.store.transaction(async (tx) => {
      const batch = new DueBatch(engine, tx, listed);
      await batch.enter(listed[0]!);
      await subscriptionClosing.run(engine, tx, listed[0]!, batch);
      await batch.finish();
    });
    // Two runs at once (two servers' schedulers), then a retry.
    await Promise.all([0, 1].map(() => runDue(engine, c.clock.id, dueAtMs, { kinds: [subscriptionClosing] })));
    expect(await runDue(engine, c.clock.id, dueAtMs + dayMs, { kinds: [subscriptionClosing] })).toBe(0);
    // 2 credits more of January (the test clock still reads January 10, so they are accepted),
    // then the item as listed before it ran: the closing is claimed, nothing is billed again.
    await c.use(2, '2025-01-08T00:00:00Z');
    await runListed();
    const corrections = await correctionsOf(engine, c.customer.id);
    expect(corrections.map(linesOf)).toEqual([[['overage', '4', '5', 20n, '2025-01-01T00:00:00.000Z', '2025-01-10T00:00:00.000Z']]]);
    // The claim itself: a second claim of one due time takes nothing.
    expect(await engine.store.transaction((tx) => tx.billing.claimClosing(c.sub.id, dueAtMs))).toBe(false);
  });

  it('names a correction that bills too little or too much, and a correction that never came', async () => {
    const { engine } = ctx;
    const run = (sql: string, params: (string | number)[]) => engine.store.read.c.run(sql, params);
    const period0 = (id: string) => `overage_invoiced: Period 0 of subscription ${id}`;
    const lateCancellation = async () => {
      const c = await subscriber(engine);
      await c.advance('2025-01-10T00:00:00Z');
      await c.use(130);
      must(await cancelSubscription(engine, c.sub.id, { timing: 'immediate' }));
      await c.advance('2025-01-20T00:00:00Z');
      await c.use(12, '2025-01-09T00:00:00Z');
      return c;
    };

    for (const [quantity, amount] of [['11', 55], ['13', 65]] as const) {
      const c = await lateCancellation();
      await c.advance('2025-03-01T00:00:00Z');
      const [correction] = await correctionsOf(engine, c.customer.id);
      await run(`UPDATE invoice_lines SET quantity = ?, amount = ? WHERE id = ?`, [quantity, amount, correction!.lines[0]!.id]);
      expect((await problemsOf(engine, c.sub.id)).filter((m) => m.includes('Period'))).toEqual([
        `${period0(c.sub.id)} consumed 42 credits of overage but its overage lines bill ${Number(quantity) + 30}.`,
      ]);
    }

    // The clock passes the window with the closing left out: pending for a day of slack, then named.
    const missed = await lateCancellation();
    const dueAtMs = (await closingDueOf(engine, missed.sub.id))!;
    const withoutClosing = allDueWork.filter((k) => k !== subscriptionClosing);
    must(await advanceTestClock(engine, missed.clock.id, { frozen_time: iso(dueAtMs + closingSlackMs - 1) }, withoutClosing));
    expect(await problemsOf(engine, missed.sub.id)).toEqual([]);
    must(await advanceTestClock(engine, missed.clock.id, { frozen_time: iso(dueAtMs + closingSlackMs) }, withoutClosing));
    expect(await problemsOf(engine, missed.sub.id)).toEqual([`${period0(missed.sub.id)} consumed 42 credits of overage but its overage lines bill 30.`]);

    // Marked closed without its correction: named at once.
    const dropped = await lateCancellation();
    await run(`UPDATE subscriptions SET closing_due_at = NULL WHERE id = ?`, [dropped.sub.id]);
    expect(await problemsOf(engine, dropped.sub.id)).toEqual([`${period0(dropped.sub.id)} consumed 42 credits of overage but its overage lines bill 30.`]);
  });
});

describe.each(dialects)('the closing correction on the real clock, on %s', (dialect) => {
  it('is run by the scheduler\'s due work for customers on no test clock, and awaited by reconciliation until then', async () => {
    const database = await freshDatabase(dialect);
    try {
      const startMs = Date.parse('2025-01-01T00:00:00Z');
      const clock = new ManualClock(startMs);
      const engine = await createEngine(database.db, { clock });
      const customer = must(await createCustomer(engine, { currency: 'USD', net_days: 45 }));
      const meter = uniqueCode('tokens');
      must(await createMeter(engine, { code: meter, event_type: meter, aggregation: 'sum', value_property: 'n', rate: { model: 'per_unit', credits_per_unit: '1' } }));
      const plan = must(await createPlan(engine, {
        code: uniqueCode('metered'), name: 'Metered', currency: 'USD', interval: 'month', amount: 1000, included_credits: '100', overage: { unit_amount_per_credit: '5' },
      }));
      const sub = must(await createSubscription(engine, { customer: customer.id, plan: plan.code }));
      const use = async (n: number, timestamp: string) => {
        const [result] = await ingestEvents(engine, [{ id: uniqueCode('ev'), customer: customer.id, type: meter, properties: { n }, timestamp }]);
        expect(result!.status, JSON.stringify(result)).toBe('accepted');
      };
      await use(130, '2025-01-01T00:00:00Z');
      clock.set(Date.parse('2025-01-10T00:00:00Z'));
      must(await cancelSubscription(engine, sub.id, { timing: 'immediate' }));
      clock.set(Date.parse('2025-01-12T00:00:00Z'));
      await use(9, '2025-01-05T00:00:00Z');
      expect(await problemsOf(engine, sub.id)).toEqual([]);

      const dueAtMs = Date.parse('2025-02-14T00:05:00.001Z');
      clock.set(dueAtMs - 1);
      await runDue(engine, null, clock.now(), { kinds: allDueWork });
      expect(await correctionsOf(engine, customer.id)).toEqual([]);
      clock.set(dueAtMs);
      expect(await runDue(engine, null, clock.now(), { kinds: allDueWork })).toBe(1);
      const corrections = await correctionsOf(engine, customer.id);
      expect(corrections.map(linesOf)).toEqual([[['overage', '9', '5', 45n, '2025-01-01T00:00:00.000Z', '2025-01-10T00:00:00.000Z']]]);
      expect(await overageOf(engine, customer.id)).toBe('0');
      expect(await runDue(engine, null, clock.now() + dayMs, { kinds: [subscriptionClosing] })).toBe(0);
      await runDue(engine, null, clock.now() + 60 * dayMs, { kinds: allDueWork });
      expect((await correctionsOf(engine, customer.id)).map((i) => i.id)).toEqual([corrections[0]!.id]);
      expect(must(await reconcile(engine))).toEqual(expect.objectContaining({ ok: true, discrepancies: [] }));
      const periods = await engine.store.read.reconciliation.closedPeriods({ fromMs: 0, toMs: endOfTimeMs }, engine.settings.pastToleranceMs, { nowMs: clock.now(), slackMs: closingSlackMs });
      expect(periods.filter((p) => p.subscriptionId === sub.id).map((p) => [formatCredits(p.consumedMicro), formatCredits(p.pendingMicro), p.latestInvoiceId])).toEqual([['39', '0', null]]);
    } finally {
      await database.drop();
    }
  });
});
