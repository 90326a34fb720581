import { describe, expect, it } from 'vitest';
import { must, useEngine } from '../support/engine.ts';
import { createEngine } from '../../src/engine/create-engine.ts';
import { createMeter } from '../../src/engine/meters.ts';
import { createGrant, voidGrant } from '../../src/engine/grants.ts';
import { createHold, releaseHold } from '../../src/engine/holds.ts';
import { grantExpiry, holdExpiry, runDue } from '../../src/engine/due-work.ts';
import { autoTopUp, purchaseCredits } from '../../src/engine/purchases.ts';
import { recordPayment, voidInvoice } from '../../src/engine/invoices.ts';
import { applyBalanceToInvoice, createCreditNote, refundCreditNote } from '../../src/engine/credit-notes.ts';
import { subscriptionRenewal } from '../../src/engine/renew-subscription.ts';
import { subscriptionClosing } from '../../src/engine/close-subscription.ts';
import { dunningRetry, invoicePastDue, recordPaymentAttempt } from '../../src/engine/dunning.ts';
import { createReferral } from '../../src/engine/referrals.ts';
import { applyStripeEvent } from '../../src/engine/stripe-events.ts';
import { createPromotion } from '../../src/engine/promotions.ts';
import { redeemPromotion } from '../../src/engine/redeem-promotion.ts';
import { createPlan } from '../../src/engine/plans.ts';
import { cancelSubscription, changeSubscription, createSubscription } from '../../src/engine/subscriptions.ts';
import { closeChargeback, createReturn } from '../../src/engine/refunds.ts';
import { claimStripePushes, linkStripeCustomer, noteStripeInvoice, queueStripePushes, recordStripePush } from '../../src/engine/stripe-pushes.ts';
import { createCustomer, getCustomer, setAutoTopUp, updateCustomer } from '../../src/engine/customers.ts';
import { ingestEvents, type IngestResult } from '../../src/engine/ingest-events.ts';
import { getBalance } from '../../src/engine/balance.ts';
import { checkLedger, reconcile } from '../../src/engine/reconcile.ts';
import { hotStateCounts, hotStateOf } from '../../src/engine/hot-state.ts';
import { formatCredits } from '../../src/core/decimal.ts';
import { openSqliteDatabase, scopedChangesMax, writesOutsideWriteOrder } from '../../src/store/sqlite/sqlite-database.ts';
import { dialects, freshDatabase } from '../support/databases.ts';
import type { StoreTx } from '../../src/store/store.ts';

/**
 * Ingestion's hot state (engine/hot-state.ts): on SQLite a batch takes the customers, grants and
 * running totals the previous ingestion transaction left in memory, and reads them again after
 * any other write, another connection's commit or a batch that failed. Each case is a worked
 * example whose answer differs between what the database holds and what a stale memory would say.
 */
describe.each(dialects)('ingestion hot state, on %s', (dialect) => {
  const ctx = useEngine(dialect);
  let seq = 0;

  /** A customer with grant `first` (3 credits, spent first) and `second` (100), and the two meters. */
  async function setUp() {
    const { engine } = ctx;
    if (!(await engine.store.read.usage.meterByCode(`work_${dialect}`))) {
      must(await createMeter(engine, { code: `work_${dialect}`, event_type: `work_${dialect}`, aggregation: 'sum', value_property: 'n', rate: { model: 'per_unit', credits_per_unit: '1' } }));
      must(await createMeter(engine, {
        code: `calls_${dialect}`, event_type: `calls_${dialect}`, aggregation: 'count',
        rate: { model: 'graduated', tiers: [{ up_to: 2, credits_per_unit: '1' }, { up_to: null, credits_per_unit: '0.5' }] },
      }));
    }
    const customer = must(await createCustomer(engine, { currency: 'USD' })).id;
    const first = must(await createGrant(engine, { customer, credits: '3', category: 'paid', source: 'adjustment', priority: 10 })).id;
    const second = must(await createGrant(engine, { customer, credits: '100', category: 'paid', source: 'adjustment', priority: 20 })).id;
    return { customer, first, second };
  }
  const work = async (customer: string, n: number, id = `hot-${dialect}-${++seq}`): Promise<IngestResult> =>
    (await ingestEvents(ctx.engine, [{ id, customer, type: `work_${dialect}`, properties: { n } }]))[0]!;
  const call = async (customer: string, id = `hot-${dialect}-${++seq}`): Promise<IngestResult> =>
    (await ingestEvents(ctx.engine, [{ id, customer, type: `calls_${dialect}`, properties: {} }]))[0]!;
  const counts = () => hotStateCounts(ctx.engine.store.db);
  const available = async (customer: string) => formatCredits(must(await getBalance(ctx.engine, customer)).balance.availableMicro);
  async function expectClean() {
    expect(await checkLedger(ctx.engine)).toEqual({ unbalanced: [], discrepancies: [] });
    expect(must(await reconcile(ctx.engine)).discrepancies).toEqual([]);
  }

  it('takes a customer from memory at its next batch and pays from what the last batch left', async () => {
    const { customer, first, second } = await setUp();
    expect((await work(customer, 2)).paid_by).toEqual([{ grant: first, credits: '2' }]);
    const before = counts();
    // The first grant has 1 left: a stale 3 would pay all 2.5 from it.
    expect((await work(customer, 2.5)).paid_by).toEqual([{ grant: first, credits: '1' }, { grant: second, credits: '1.5' }]);
    if (dialect === 'sqlite') expect(counts()).toEqual({ memory: before.memory + 1, database: before.database });
    else expect(counts()).toEqual({ memory: 0, database: 0 });
    expect(await available(customer)).toBe('98.5');
    await expectClean();
  });

  it('reads again after a write of anything else', async () => {
    const { customer, first } = await setUp();
    expect((await work(customer, 1)).paid_by).toEqual([{ grant: first, credits: '1' }]);
    const sooner = must(await createGrant(ctx.engine, { customer, credits: '1', category: 'paid', source: 'adjustment', priority: 1 })).id;
    const before = counts();
    expect((await work(customer, 1.5)).paid_by).toEqual([{ grant: sooner, credits: '1' }, { grant: first, credits: '0.5' }]);
    if (dialect === 'sqlite') expect(counts().database).toBe(before.database + 1);
    await expectClean();
  });

  it('reads again after a write outside any transaction', async () => {
    if (dialect !== 'sqlite') return;
    const { customer, first, second } = await setUp();
    expect((await work(customer, 1)).paid_by).toEqual([{ grant: first, credits: '1' }]);
    // The second grant now burns first: a stale memory would still pay from the first.
    expect(await ctx.engine.store.db.run(`UPDATE grants SET priority = 1 WHERE id = ?`, [second])).toBe(1);
    expect((await work(customer, 1)).paid_by).toEqual([{ grant: second, credits: '1' }]);
    await expectClean();
  });

  it('keeps it across a transaction that only read, as the webhook fan-out does when nothing is pending', async () => {
    if (dialect !== 'sqlite') return;
    const { customer, first } = await setUp();
    expect((await work(customer, 1)).paid_by).toEqual([{ grant: first, credits: '1' }]);
    await ctx.engine.store.transaction(async (tx) => tx.c.query(`SELECT COUNT(*) AS n FROM domain_events`));
    const before = counts();
    expect((await work(customer, 1)).paid_by).toEqual([{ grant: first, credits: '1' }]);
    expect(counts()).toEqual({ memory: before.memory + 1, database: before.database });
    await expectClean();
  });

  it('keeps it across a batch that wrote nothing: every event a duplicate, as a sender retrying a batch sends, or every customer unknown', async () => {
    if (dialect !== 'sqlite') return;
    const a = await setUp();
    const b = await setUp();
    const sent = [{ id: `hot-${dialect}-${++seq}`, customer: a.customer, type: `work_${dialect}`, properties: { n: 1 } }, { id: `hot-${dialect}-${++seq}`, customer: b.customer, type: `work_${dialect}`, properties: { n: 1 } }];
    await ingestEvents(ctx.engine, sent);
    // Sent again: answered as duplicates from what is stored, nothing written.
    let before = counts();
    expect((await ingestEvents(ctx.engine, sent)).map((r) => r.status)).toEqual(['duplicate', 'duplicate']);
    expect(counts()).toEqual({ memory: before.memory + 2, database: before.database });
    await step([[a.customer, 1], [b.customer, 1]], [[paid(a.first, '1')], [paid(b.first, '1')]], { memory: 2, database: 0 });
    before = counts();
    expect((await ingestEvents(ctx.engine, [{ id: `hot-${dialect}-${++seq}`, customer: `cus_unknown_${seq}`, type: `work_${dialect}`, properties: { n: 1 } }]))[0]!.status).toBe('rejected');
    await step([[a.customer, 1], [b.customer, 1]], [[paid(a.first, '1')], [paid(b.first, '1')]], { memory: 2, database: 0 });
    // The adapter's rule: a transaction that committed without writing is followed while nothing
    // writes after it; one that failed without writing is not (an ingestion may have changed what
    // is kept in memory before it failed).
    const orderOf = (fail: boolean) => ctx.engine.store.transaction(async (tx) => {
      await tx.c.query(`SELECT 1`);
      if (fail) throw new Error(`${tx.c.writeOrder!.number}`);
      return tx.c.writeOrder!.number;
    });
    const follows = (n: number) => ctx.engine.store.transaction(async (tx) => tx.c.writeOrder!.follows(n));
    const readOnly = await orderOf(false);
    expect(await follows(readOnly)).toBe(true);
    const failed = Number(((await orderOf(true).catch((e: Error) => e)) as Error).message);
    expect(await follows(failed)).toBe(false);
    await ctx.engine.store.transaction((tx) => tx.c.run(`UPDATE grants SET priority = priority WHERE id = ?`, [a.second]));
    expect(await follows(readOnly)).toBe(false);
    await step([[a.customer, 1], [b.customer, 1]], [[paid(a.second, '1')], [paid(b.second, '1')]], { memory: 0, database: 2 });
    await expectClean();
  });

  it('keeps it across writes to tables no kept state reads: an Idempotency-Key claimed and completed, a webhook fan-out', async () => {
    if (dialect !== 'sqlite') return;
    const { customer, first, second } = await setUp();
    expect((await work(customer, 1)).paid_by).toEqual([{ grant: first, credits: '1' }]);
    // What the server does around a POST carrying an Idempotency-Key (outside any transaction),
    // and what the webhook worker records in a transaction of its own.
    const access = ctx.engine.store.read.access;
    expect(await access.claimIdempotent('scope', `key-${seq}`, 'hash', Date.now(), 86_400_000)).toBe(true);
    await access.completeIdempotent('scope', `key-${seq}`, 200, '{}');
    await ctx.engine.store.transaction(async (tx) => tx.c.run(`UPDATE domain_events SET webhooks_at = ? WHERE webhooks_at IS NULL`, [Date.now()]));
    let before = counts();
    expect((await work(customer, 1)).paid_by).toEqual([{ grant: first, credits: '1' }]);
    expect(counts()).toEqual({ memory: before.memory + 1, database: before.database });
    // A transaction that also writes a table the state keeps is the last write, as before.
    await ctx.engine.store.transaction(async (tx) => {
      await tx.c.run(`UPDATE domain_events SET webhooks_at = ? WHERE webhooks_at IS NULL`, [Date.now()]);
      await tx.c.run(`UPDATE grants SET priority = 1 WHERE id = ?`, [second]);
    });
    before = counts();
    expect((await work(customer, 1)).paid_by).toEqual([{ grant: second, credits: '1' }]);
    expect(counts()).toEqual({ memory: before.memory, database: before.database + 1 });
    await expectClean();
  });

  /** One batch with an event of `work` for each customer, their results in that order. */
  const works = async (...pairs: [customer: string, n: number][]): Promise<IngestResult[]> => {
    const results = await ingestEvents(ctx.engine, pairs.map(([customer, n]) => ({ id: `hot-${dialect}-${++seq}`, customer, type: `work_${dialect}`, properties: { n } })));
    return pairs.map((_, i) => results[i]!);
  };
  type Paid = IngestResult['paid_by'];
  /**
   * One batch (`works`): what paid each event, and how many of its customers came from memory and
   * how many from the database. Returns the results.
   */
  async function step(pairs: [customer: string, n: number][], paidBy: (Paid | undefined)[], from: { memory: number; database: number }): Promise<IngestResult[]> {
    const before = counts();
    const results = await works(...pairs);
    results.forEach((r, i) => {
      if (paidBy[i] !== undefined) expect(r.paid_by, `event ${i}`).toEqual(paidBy[i]);
    });
    expect(counts()).toEqual({ memory: before.memory + from.memory, database: before.database + from.database });
    return results;
  }
  const paid = (grant: string, credits: string) => ({ grant, credits });
  /** Two customers (`setUp`), both kept after a first batch that spent 1 credit of each one's first grant. */
  async function twoKept() {
    const a = await setUp();
    const b = await setUp();
    await works([a.customer, 1], [b.customer, 1]);
    return { a, b };
  }

  it('forgets only the customer a write scoped to it changed (a grant made or voided, a hold taken or released, the customer updated), and keeps every other', async () => {
    if (dialect !== 'sqlite') return;
    const a = await setUp();
    const b = await setUp();
    await step([[a.customer, 1], [b.customer, 1]], [[paid(a.first, '1')], [paid(b.first, '1')]], { memory: 0, database: 2 });
    // A grant for a that burns first: a stale memory of a would pay from its first grant.
    const sooner = must(await createGrant(ctx.engine, { customer: a.customer, credits: '1', category: 'paid', source: 'adjustment', priority: 1 })).id;
    await step([[a.customer, 1.5], [b.customer, 1]], [[paid(sooner, '1'), paid(a.first, '0.5')], [paid(b.first, '1')]], { memory: 1, database: 1 });
    // A hold on b takes the 1 left of its first grant: a stale memory of b would pay from it.
    const hold = must(await createHold(ctx.engine, { customer: b.customer, credits: '1', expires_in: 600 }));
    await step([[a.customer, 0.5], [b.customer, 1]], [[paid(a.first, '0.5')], [paid(b.second, '1')]], { memory: 1, database: 1 });
    // Released, the credit goes back to b's first grant, which burns first again.
    must(await releaseHold(ctx.engine, hold.id));
    await step([[b.customer, 1]], [[paid(b.first, '1')]], { memory: 0, database: 1 });
    // a's first grant voided (1.5 left on it): a stale memory would still pay from it.
    must(await voidGrant(ctx.engine, a.first, 'test'));
    await step([[a.customer, 1], [b.customer, 1]], [[paid(a.second, '1')], [paid(b.second, '1')]], { memory: 1, database: 1 });
    // b's row changed (its overage turned on): read again, a kept.
    must(await updateCustomer(ctx.engine, b.customer, { overage: true }));
    await step([[a.customer, 1], [b.customer, 1]], [], { memory: 1, database: 1 });
    // A new customer changes nothing kept.
    must(await createCustomer(ctx.engine, { currency: 'USD' }));
    await step([[a.customer, 1], [b.customer, 1]], [], { memory: 2, database: 0 });
    expect(await available(a.customer)).toBe('97');
    expect(await available(b.customer)).toBe('96');
    await expectClean();
  });

  it('forgets only the customers whose due work ran on the real clock (a hold expired, an auto top-up bought), and on a test clock everything', async () => {
    if (dialect !== 'sqlite') return;
    const { a, b } = await twoKept();
    // A hold on a takes the 2 left of its first grant; expired, they go back to it, which burns first again.
    must(await createHold(ctx.engine, { customer: a.customer, credits: '2', expires_in: 1 }));
    await works([a.customer, 1], [b.customer, 1]);
    expect(await runDue(ctx.engine, null, Date.now() + 2_000, { kinds: [holdExpiry, grantExpiry] })).toBe(1);
    await step([[a.customer, 1], [b.customer, 1]], [[paid(a.first, '1')], [paid(b.first, '1')]], { memory: 1, database: 1 });
    // The same work with `beforeEach` (a test clock's advance moves its time there): not scoped.
    must(await createHold(ctx.engine, { customer: a.customer, credits: '1', expires_in: 1 }));
    await works([b.customer, 0.5]);
    expect(await runDue(ctx.engine, null, Date.now() + 2_000, { kinds: [holdExpiry], beforeEach: async () => undefined })).toBe(1);
    await step([[a.customer, 1], [b.customer, 0.5]], [[paid(a.first, '1')], [paid(b.second, '0.5')]], { memory: 0, database: 2 });
    // An auto top-up armed for a, its threshold above what a holds: due now, it buys credits on an
    // invoice and disarms a's row, which a stale memory would still hold armed.
    must(await setAutoTopUp(ctx.engine, a.customer, { threshold: '500', credits: '10', amount: 500 }));
    await works([a.customer, 1], [b.customer, 0.5]);
    expect(await runDue(ctx.engine, null, Date.now() + 1_000, { kinds: [autoTopUp] })).toBe(1);
    await step([[a.customer, 1], [b.customer, 0.5]], [[paid(a.second, '1')], [paid(b.second, '0.5')]], { memory: 1, database: 1 });
    expect(must(await getCustomer(ctx.engine, a.customer)).topUpArmed).toBe(false);
    await expectClean();
  });

  it("forgets only the customer whose subscription's due work ran on the real clock: a renewal, its invoice past due, a dunning retry, the closing", async () => {
    if (dialect !== 'sqlite') return;
    const plan = async (code: string, perUnit: string, included: string) => must(await createPlan(ctx.engine, {
      code: `${code}-${dialect}-${++seq}`, name: code, currency: 'USD', interval: 'month', amount: 1000, included_credits: included,
      rates: { [`work_${dialect}`]: { model: 'per_unit', credits_per_unit: perUnit } },
    })).id;
    const b = await setUp();
    const double = await plan('double', '2', '0');
    const triple = await plan('triple', '3', '10');
    // Its invoices due 30 days after they are issued.
    const c = must(await createCustomer(ctx.engine, { currency: 'USD', net_days: 30 })).id;
    const own = must(await createGrant(ctx.engine, { customer: c, credits: '100', category: 'paid', source: 'adjustment', priority: 90 })).id;
    // Started 32 days ago, its first month has ended: its renewal is due, onto the plan it moves to.
    const sub = must(await createSubscription(ctx.engine, { customer: c, plan: double, start_at: new Date(Date.now() - 32 * 86_400_000).toISOString() }));
    must(await changeSubscription(ctx.engine, sub.id, { plan: triple, timing: 'period_end' }));
    let [forC] = await step([[c, 1], [b.customer, 1]], [[paid(own, '2')], [paid(b.first, '1')]], { memory: 0, database: 2 });
    expect(forC!.credits).toBe('2');
    // Renewed: priced at 3, paid from the new allowance (10 credits, burning before c's own grant).
    // A stale memory of c would price it at 2 and pay from its own grant.
    // (Due work runs for every customer of the file's database: each kind's effect is read from c's rows.)
    const invoices = () => ctx.engine.store.db.query<{ status: string; past_due_at: unknown }>(`SELECT status, past_due_at FROM invoices WHERE customer_id = ? ORDER BY id`, [c]);
    await runDue(ctx.engine, null, Date.now(), { kinds: [subscriptionRenewal] });
    expect((await ctx.engine.store.read.billing.subscription(sub.id))!.periodIndex).toBe(1);
    [forC] = await step([[c, 1], [b.customer, 1]], [undefined, [paid(b.first, '1')]], { memory: 1, database: 1 });
    expect(forC!.credits).toBe('3');
    expect(forC!.paid_by).toHaveLength(1);
    const allowance = forC!.paid_by![0]!.grant;
    expect(allowance).not.toBe(own);
    expect(forC!.paid_by![0]!.credits).toBe('3');
    // Both invoices go past due, the first two days ago, the renewal's in four weeks, each retried
    // at once (the allowance would freeze a week after its due date). c read again, b kept.
    const strict = { ...ctx.engine, settings: { ...ctx.engine.settings, dunningRetryDays: [0] } };
    const monthOn = Date.now() + 31 * 86_400_000;
    await runDue(strict, null, monthOn, { kinds: [invoicePastDue] });
    expect((await invoices()).map((i) => [i.status, i.past_due_at !== null])).toEqual([['open', true], ['open', true]]);
    await step([[c, 1], [b.customer, 1]], [[paid(allowance, '3')], [paid(b.first, '1')]], { memory: 1, database: 1 });
    // The retries fail, the last there is: both invoices uncollectible, the 4 credits left of the
    // allowance revoked. A stale memory of c would pay from it.
    await runDue(strict, null, monthOn, { kinds: [dunningRetry] });
    expect((await invoices()).map((i) => i.status)).toEqual(['uncollectible', 'uncollectible']);
    await step([[c, 1], [b.customer, 1]], [[paid(own, '3')], [paid(b.second, '1')]], { memory: 1, database: 1 });
    // Canceled, its closing correction falls due once no late event can come (35 days on).
    must(await cancelSubscription(ctx.engine, sub.id, { timing: 'immediate' }));
    [forC] = await step([[c, 1], [b.customer, 1]], [[paid(own, '1')], [paid(b.second, '1')]], { memory: 1, database: 1 });
    expect((await ctx.engine.store.read.billing.subscription(sub.id))!.closingDueAtMs).not.toBeNull();
    await runDue(ctx.engine, null, Date.now() + 36 * 86_400_000, { kinds: [subscriptionClosing] });
    expect((await ctx.engine.store.read.billing.subscription(sub.id))!.closingDueAtMs).toBeNull();
    await step([[c, 1], [b.customer, 1]], [[paid(own, '1')], [paid(b.second, '1')]], { memory: 1, database: 1 });
    await expectClean();
  });

  /**
   * Customers a and b (`setUp`), and a referrer of a holding 1 credit, spent by the first batch
   * (all three read from the database): a stale memory of the referrer would owe its next event
   * as debt. Then a buys 10 credits on an open invoice of 500, burning first once paid.
   */
  async function referredPurchase() {
    const a = await setUp();
    const b = await setUp();
    const referrer = must(await createCustomer(ctx.engine, { currency: 'USD' })).id;
    const own = must(await createGrant(ctx.engine, { customer: referrer, credits: '1', category: 'paid', source: 'adjustment' })).id;
    must(await createReferral(ctx.engine, { referrer, referred: a.customer, reward_credits: '5' }));
    await step([[a.customer, 1], [b.customer, 1], [referrer, 1]], [[paid(a.first, '1')], [paid(b.first, '1')], [paid(own, '1')]], { memory: 0, database: 3 });
    const { invoice, grant: bought } = must(await purchaseCredits(ctx.engine, a.customer, { credits: '10', amount: 500, priority: 1 }));
    return { a, b, referrer, own, invoice, bought };
  }

  it('forgets, for a purchase paid, its customer and the referrer its first payment rewards, and keeps every other', async () => {
    if (dialect !== 'sqlite') return;
    const { a, b, referrer, own, invoice, bought } = await referredPurchase();
    // Pending until paid: a pays from its first grant still.
    await step([[a.customer, 1], [b.customer, 1]], [[paid(a.first, '1')], [paid(b.first, '1')]], { memory: 1, database: 1 });
    must(await recordPayment(ctx.engine, invoice.id, { amount: 500 }));
    const [, , forReferrer] = await step([[a.customer, 1], [b.customer, 1], [referrer, 2]], [[paid(bought.id, '1')], [paid(b.first, '1')]], { memory: 1, database: 2 });
    expect(forReferrer!.paid_by).toHaveLength(1);
    expect(forReferrer!.paid_by![0]!.credits).toBe('2');
    expect(forReferrer!.paid_by![0]!.grant).not.toBe(own);
    expect(forReferrer!.debt).toBeUndefined();
    await expectClean();
  });

  it("forgets, for a Stripe payment and a refund, the invoice's customer and the referrer they reward and claw back, and keeps every other", async () => {
    if (dialect !== 'sqlite') return;
    const { a, b, referrer, own, invoice, bought } = await referredPurchase();
    await works([a.customer, 0.5], [b.customer, 0.5]);
    // Paid through Stripe: a's credits become active and the referrer is rewarded 5.
    const event = await applyStripeEvent(ctx.engine, {
      id: `evt_hot_${++seq}`, type: 'invoice.paid', objectId: `in_hot_${seq}`, payload: {},
      action: { kind: 'invoice_paid', stripeInvoiceId: `in_hot_${seq}`, tallyInvoiceId: invoice.id, amountPaid: 500, currency: 'usd', paymentRef: `pi_hot_${seq}` },
    }, { creditPolicy: 'full', shortfall: 'debt' });
    expect(event.status).toBe('processed');
    const [, , rewarded] = await step([[a.customer, 1], [b.customer, 1], [referrer, 2]], [[paid(bought.id, '1')], [paid(b.first, '1')]], { memory: 1, database: 2 });
    expect(rewarded!.paid_by).toHaveLength(1);
    expect(rewarded!.paid_by![0]!.grant).not.toBe(own);
    // Refunded in full: the 9 credits left of a's purchase are revoked, and the 3 left of the
    // referrer's reward. A stale memory would pay a from the purchase and the referrer from its reward.
    must(await createReturn(ctx.engine, 'refund', { invoice: invoice.id, amount: 500, reason: 'requested', credit_policy: 'full', shortfall: 'debt' }));
    const [, , clawed] = await step([[a.customer, 1], [b.customer, 1], [referrer, 1]], [[paid(a.first, '1')], [paid(b.first, '0.5'), paid(b.second, '0.5')]], { memory: 1, database: 2 });
    expect(clawed!.paid_by ?? []).toEqual([]);
    expect(clawed!.debt).toBe('1');
    await expectClean();
  });

  it("forgets, for an invoice's payment attempt, a chargeback closed, a credit note made, applied or refunded, an invoice voided, that customer alone", async () => {
    if (dialect !== 'sqlite') return;
    const a = await setUp();
    const b = await setUp();
    const buy = async (amount: number, priority: number) => must(await purchaseCredits(ctx.engine, a.customer, { credits: '10', amount, priority }));
    const bought = await buy(500, 2);
    await works([a.customer, 1], [b.customer, 1]);
    // A succeeded attempt pays the invoice: the purchase burns first. A stale memory of a would pay from its first grant.
    must(await recordPaymentAttempt(ctx.engine, bought.invoice.id, { outcome: 'succeeded' }));
    await step([[a.customer, 1], [b.customer, 1]], [[paid(bought.grant.id, '1')], [paid(b.first, '1')]], { memory: 1, database: 1 });
    // Charged back, the 9 credits left of it are revoked (a scoped write already); the dispute
    // won, they come back. A stale memory of a would pay from its first grant.
    const chargeback = must(await createReturn(ctx.engine, 'chargeback', { invoice: bought.invoice.id, amount: 500, reason: 'disputed', credit_policy: 'full', shortfall: 'debt' }));
    await step([[a.customer, 1], [b.customer, 0.5]], [[paid(a.first, '1')], [paid(b.first, '0.5')]], { memory: 1, database: 1 });
    must(await closeChargeback(ctx.engine, chargeback.id, 'won'));
    await step([[a.customer, 1], [b.customer, 0.5]], [[paid(bought.grant.id, '1')], [paid(b.first, '0.5')]], { memory: 1, database: 1 });
    // A second purchase, paid from a goodwill credit note's balance: it burns first then.
    const second = await buy(300, 1);
    await works([a.customer, 1], [b.customer, 1]);
    must(await createCreditNote(ctx.engine, { customer: a.customer, amount: 300, reason: 'goodwill' }));
    await step([[a.customer, 1], [b.customer, 1]], [[paid(bought.grant.id, '1')], [paid(b.second, '1')]], { memory: 1, database: 1 });
    must(await applyBalanceToInvoice(ctx.engine, second.invoice.id));
    await step([[a.customer, 1], [b.customer, 1]], [[paid(second.grant.id, '1')], [paid(b.second, '1')]], { memory: 1, database: 1 });
    // A refundable note refunded; a third purchase's invoice voided, its pending credits with it.
    const refundable = must(await createCreditNote(ctx.engine, { customer: a.customer, amount: 100, reason: 'goodwill', refundable: true }));
    await works([a.customer, 1], [b.customer, 1]);
    must(await refundCreditNote(ctx.engine, refundable.id, {}));
    await step([[a.customer, 1], [b.customer, 1]], [[paid(second.grant.id, '1')], [paid(b.second, '1')]], { memory: 1, database: 1 });
    const third = await buy(200, 0);
    await works([a.customer, 1], [b.customer, 1]);
    must(await voidInvoice(ctx.engine, third.invoice.id));
    await step([[a.customer, 1], [b.customer, 1]], [[paid(second.grant.id, '1')], [paid(b.second, '1')]], { memory: 1, database: 1 });
    await expectClean();
  });

  it('forgets, for a promotion code redeemed, that customer alone', async () => {
    if (dialect !== 'sqlite') return;
    const code = `HOT${dialect.toUpperCase()}${++seq}`;
    must(await createPromotion(ctx.engine, { code, credits: '5', priority: 1 }));
    const { a, b } = await twoKept();
    // The campaign's grant burns first: a stale memory of a would pay from its first grant.
    const { grant } = must(await redeemPromotion(ctx.engine, { code, customer: a.customer }));
    await step([[a.customer, 1], [b.customer, 1]], [[paid(grant.id, '1')], [paid(b.first, '1')]], { memory: 1, database: 1 });
    await expectClean();
  });

  it('forgets, for a subscription made, changed or canceled, that customer alone', async () => {
    if (dialect !== 'sqlite') return;
    const rated = async (code: string, perUnit: string) => must(await createPlan(ctx.engine, {
      code: `${code}-${dialect}-${++seq}`, name: code, currency: 'USD', interval: 'month', amount: 0, included_credits: '0',
      rates: { [`work_${dialect}`]: { model: 'per_unit', credits_per_unit: perUnit } },
    })).id;
    const double = await rated('double', '2');
    const triple = await rated('triple', '3');
    const { a, b } = await twoKept();
    // The plan prices a's work at 2 a unit: a stale memory of a would price it at the meter's 1.
    const sub = must(await createSubscription(ctx.engine, { customer: a.customer, plan: double }));
    let [forA] = await step([[a.customer, 1], [b.customer, 1]], [undefined, [paid(b.first, '1')]], { memory: 1, database: 1 });
    expect(forA!.credits).toBe('2');
    must(await changeSubscription(ctx.engine, sub.id, { plan: triple, timing: 'immediate' }));
    [forA] = await step([[a.customer, 1], [b.customer, 1]], [undefined, [paid(b.first, '1')]], { memory: 1, database: 1 });
    expect(forA!.credits).toBe('3');
    must(await cancelSubscription(ctx.engine, sub.id, { timing: 'immediate' }));
    [forA] = await step([[a.customer, 1], [b.customer, 1]], [undefined, [paid(b.second, '1')]], { memory: 1, database: 1 });
    expect(forA!.credits).toBe('1');
    await expectClean();
  });

  it("keeps it across the Stripe push worker's bookkeeping (its jobs, its cursor, an invoice's Stripe id), and forgets a customer linked to Stripe alone", async () => {
    if (dialect !== 'sqlite') return;
    const { a, b, invoice, bought } = await referredPurchase();
    const stripeCustomer = `cus_push_${dialect}_${++seq}`;
    await works([a.customer, 1], [b.customer, 1]);
    // A pass of the worker: the purchase's `invoice.finalized` becomes a job, claimed, pushed.
    expect(await queueStripePushes(ctx.engine)).toBeGreaterThan(0);
    const jobs = await claimStripePushes(ctx.engine, 1000, 60_000);
    expect(jobs.map((j) => j.invoiceId)).toContain(invoice.id);
    await noteStripeInvoice(ctx.engine, invoice.id, `in_push_${seq}`);
    await recordStripePush(ctx.engine, invoice.id, `in_push_${seq}`);
    await step([[a.customer, 0.5], [b.customer, 0.5]], [[paid(a.first, '0.5')], [paid(b.first, '0.5')]], { memory: 2, database: 0 });
    // Linked to Stripe, a's row changes: a read again, b kept.
    expect(await linkStripeCustomer(ctx.engine, a.customer, stripeCustomer)).toBe(stripeCustomer);
    await step([[a.customer, 0.5], [b.customer, 0.5]], [[paid(a.first, '0.5')], [paid(b.first, '0.5')]], { memory: 1, database: 1 });
    expect(must(await getCustomer(ctx.engine, a.customer)).providerCustomerId).toBe(stripeCustomer);
    // Once its cursor has passed every event, each later pass finds nothing and writes nothing
    // (a server with Stripe makes one every second).
    const [latest] = await ctx.engine.store.db.query<{ id: string }>(`SELECT MAX(id) AS id FROM domain_events`);
    await ctx.engine.store.transaction((tx) => tx.stripe.advanceCursor('stripe_push', latest!.id));
    await works([a.customer, 0.5], [b.customer, 1]);
    const transactionNumber = () => ctx.engine.store.transaction(async (tx) => tx.c.writeOrder!.number);
    const before = await transactionNumber();
    for (let pass = 0; pass < 3; pass++) expect(await queueStripePushes(ctx.engine)).toBe(0);
    expect(await transactionNumber()).toBe(before + 1);
    await step([[a.customer, 0.5], [b.customer, 1]], [[paid(a.second, '0.5')], [paid(b.second, '1')]], { memory: 2, database: 0 });
    // Paid, the purchase burns first: the payment is scoped to a.
    must(await recordPayment(ctx.engine, invoice.id, { amount: 500 }));
    await step([[a.customer, 1], [b.customer, 1]], [[paid(bought.id, '1')], [paid(b.second, '1')]], { memory: 1, database: 1 });
    await expectClean();
  });

  it('forgets a customer under every reference a batch named it by', async () => {
    if (dialect !== 'sqlite') return;
    const externalId = `hot-ext-${dialect}-${++seq}`;
    const customer = must(await createCustomer(ctx.engine, { currency: 'USD', external_id: externalId })).id;
    const first = must(await createGrant(ctx.engine, { customer, credits: '2', category: 'paid', source: 'adjustment', priority: 10 })).id;
    await step([[externalId, 0.5], [customer, 0.5]], [[paid(first, '0.5')], [paid(first, '0.5')]], { memory: 0, database: 1 });
    // Overage turned on, by the external id: what the grant cannot pay is overage, not debt. A
    // record kept stale under the external id would still say off.
    must(await updateCustomer(ctx.engine, externalId, { overage: true }));
    const [late] = await step([[externalId, 2]], [[paid(first, '1')]], { memory: 0, database: 1 });
    expect(late!.overage).toBe('1');
    const balance = must(await getBalance(ctx.engine, customer)).balance;
    expect([formatCredits(balance.availableMicro), formatCredits(balance.debtMicro)]).toEqual(['0', '0']);
    await expectClean();
  });

  it('empties everything after a scoped transaction that wrote before it was scoped, or failed after writing', async () => {
    if (dialect !== 'sqlite') return;
    const { a, b } = await twoKept();
    const reprioritize = (grant: string, priority: number) => async (tx: StoreTx) => tx.c.run(`UPDATE grants SET priority = ? WHERE id = ?`, [priority, grant]);
    // Scoped to a after its first write (to b's grant): a write like any other.
    await ctx.engine.store.transaction(async (tx) => {
      await reprioritize(b.second, 1)(tx);
      tx.scopeWritesTo([a.customer]);
    });
    await step([[a.customer, 1], [b.customer, 1]], [[paid(a.first, '1')], [paid(b.second, '1')]], { memory: 0, database: 2 });
    // Scoped to a, wrote, then failed: nothing of it stays, and nothing kept is trusted either.
    await expect(ctx.engine.store.transaction(async (tx) => {
      tx.scopeWritesTo([a.customer]);
      await reprioritize(a.second, 1)(tx);
      throw new Error('failed after writing');
    })).rejects.toThrow('failed after writing');
    await step([[a.customer, 1], [b.customer, 1]], [[paid(a.first, '1')], [paid(b.second, '1')]], { memory: 0, database: 2 });
    // Scoped, then any other write after it: everything read again.
    await ctx.engine.store.transaction(async (tx) => {
      tx.scopeWritesTo([a.customer]);
      await reprioritize(a.second, 1)(tx);
    });
    await ctx.engine.store.db.run(`UPDATE grants SET priority = 30 WHERE id = ?`, [b.second]);
    await step([[a.customer, 1], [b.customer, 1]], [[paid(a.second, '1')], [paid(b.first, '1')]], { memory: 0, database: 2 });
    await expectClean();
  });

  it(`keeps at most ${scopedChangesMax} customers named by scoped writes between two ingestions, past which it empties everything`, async () => {
    if (dialect !== 'sqlite') return;
    const { a, b } = await twoKept();
    const scopedWrites = async (count: number) => {
      for (let i = 0; i < count; i++) {
        // Each names a customer of its own, none of them kept, and writes its row (there is none: a write all the same).
        await ctx.engine.store.transaction(async (tx) => {
          tx.scopeWritesTo([`cus_unkept_${i}`]);
          await tx.c.run(`UPDATE customers SET name = ? WHERE id = ?`, ['unkept', `cus_unkept_${i}`]);
        });
      }
    };
    await scopedWrites(scopedChangesMax);
    await step([[a.customer, 1], [b.customer, 1]], [[paid(a.first, '1')], [paid(b.first, '1')]], { memory: 2, database: 0 });
    await scopedWrites(scopedChangesMax + 1);
    await step([[a.customer, 1], [b.customer, 1]], [[paid(a.first, '1')], [paid(b.first, '1')]], { memory: 0, database: 2 });
    await expectClean();
  });

  it('counts a write as outside the write order only for a statement writing one of those tables first, which no trigger writes beyond', async () => {
    if (dialect !== 'sqlite') return;
    expect(writesOutsideWriteOrder(`INSERT INTO idempotency_keys (scope, key) VALUES (?, ?)`)).toBe(true);
    expect(writesOutsideWriteOrder(`  UPDATE webhook_deliveries SET status = ? WHERE id = ?`)).toBe(true);
    expect(writesOutsideWriteOrder(`INSERT OR FAIL INTO webhook_attempts (delivery_id) VALUES (?)`)).toBe(true);
    expect(writesOutsideWriteOrder(`DELETE FROM idempotency_keys WHERE created_at < ?`)).toBe(true);
    expect(writesOutsideWriteOrder(`UPDATE stripe_events SET status = ?, invoice_id = ?, outcome = ? WHERE id = ?`)).toBe(true);
    expect(writesOutsideWriteOrder(`INSERT INTO integration_cursors (name, position) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET position = excluded.position`)).toBe(true);
    expect(writesOutsideWriteOrder(`UPDATE stripe_pushes SET status = 'pushed' WHERE invoice_id = ?`)).toBe(true);
    expect(writesOutsideWriteOrder(`UPDATE invoices SET provider = 'stripe', provider_invoice_id = ? WHERE id = ?`)).toBe(true);
    expect(writesOutsideWriteOrder(`INSERT INTO invoice_lines (id) VALUES (?)`)).toBe(false);
    expect(writesOutsideWriteOrder(`UPDATE domain_events SET webhooks_at = ? WHERE id IN (SELECT id FROM grants)`)).toBe(true);
    expect(writesOutsideWriteOrder(`INSERT INTO grants (id) SELECT id FROM idempotency_keys`)).toBe(false);
    expect(writesOutsideWriteOrder(`UPDATE idempotency_keys_old SET x = 1`)).toBe(false);
    expect(writesOutsideWriteOrder(`WITH k AS (SELECT 1) INSERT INTO idempotency_keys SELECT * FROM k`)).toBe(false);
    expect(writesOutsideWriteOrder(`UPDATE customers SET name = ? WHERE id = ?`)).toBe(false);
    // A trigger on one of them could write a table the state keeps: none may exist.
    const triggers = await ctx.engine.store.db.query<{ tbl_name: string }>(`SELECT tbl_name FROM sqlite_master WHERE type = 'trigger'`);
    for (const t of triggers) expect(writesOutsideWriteOrder(`UPDATE ${t.tbl_name} SET x = 1`), t.tbl_name).toBe(false);
    expect(triggers.length).toBeGreaterThan(0);
  });

  it('reads again after a batch that failed, whose running totals and grants it had changed in memory', async () => {
    if (dialect !== 'sqlite') return;
    const { customer, first, second } = await setUp();
    const db = ctx.engine.store.db;
    await db.run(`CREATE TRIGGER hot_refuse_event BEFORE INSERT ON usage_events WHEN NEW.id = 'hot-refused-event' BEGIN SELECT RAISE(ABORT, 'refused by the test'); END`);
    await db.run(`CREATE TRIGGER hot_refuse_charge BEFORE INSERT ON usage_events WHEN NEW.id = 'hot-refused-charge' BEGIN SELECT RAISE(ABORT, 'refused by the test'); END`);
    try {
      // Running totals: one call counted; a failed batch counts a second in memory only.
      expect((await call(customer)).credits).toBe('1');
      await expect(call(customer, 'hot-refused-event')).rejects.toThrow('refused by the test');
      // The second call of the period is still in the first tier: a stale count would price it at 0.5.
      expect((await call(customer)).credits).toBe('1');
      // Grants: the first has 3 − 1 − 1 = 1 left; a batch fails at posting after paying 0.5 from it in memory.
      await expect(work(customer, 0.5, 'hot-refused-charge')).rejects.toThrow('refused by the test');
      expect((await work(customer, 1)).paid_by).toEqual([{ grant: first, credits: '1' }]);
      expect((await work(customer, 1)).paid_by).toEqual([{ grant: second, credits: '1' }]);
    } finally {
      await db.run(`DROP TRIGGER hot_refuse_event`);
      await db.run(`DROP TRIGGER hot_refuse_charge`);
    }
    await expectClean();
  });

  it("reads again after another connection's commit", async () => {
    if (dialect !== 'sqlite') return;
    const { customer, first } = await setUp();
    expect((await work(customer, 1)).paid_by).toEqual([{ grant: first, credits: '1' }]);
    // Another process on the same file, as `tally` commands run beside a server.
    const other = openSqliteDatabase(ctx.database.url.slice('sqlite:'.length));
    let sooner: string;
    try {
      sooner = must(await createGrant(await createEngine(other), { customer, credits: '1', category: 'paid', source: 'adjustment', priority: 1 })).id;
    } finally {
      await other.close();
    }
    expect((await work(customer, 1.5)).paid_by).toEqual([{ grant: sooner, credits: '1' }, { grant: first, credits: '0.5' }]);
    await expectClean();
  });

  it.each([1, 0])('keeps at most the customers its settings allow (hotCustomers %i) and four running totals for each, reads the others every batch and pays each exactly', async (kept) => {
    if (dialect !== 'sqlite') return;
    const fresh = await freshDatabase('sqlite');
    try {
      const engine = await createEngine(fresh.db, { settings: { hotCustomers: kept } });
      must(await createMeter(engine, { code: 'units', event_type: 'units', aggregation: 'sum', value_property: 'n', rate: { model: 'per_unit', credits_per_unit: '0.5' } }));
      // A count at a graduated rate: a running total read stale or lost would price the third call as the first.
      must(await createMeter(engine, {
        code: 'unit_calls', event_type: 'units', aggregation: 'count',
        rate: { model: 'graduated', tiers: [{ up_to: 2, credits_per_unit: '1' }, { up_to: null, credits_per_unit: '0.25' }] },
      }));
      const customers: string[] = [];
      for (let i = 0; i < 3; i++) {
        const customer = must(await createCustomer(engine, { currency: 'USD' })).id;
        must(await createGrant(engine, { customer, credits: '10', category: i === 1 ? 'promotional' : 'paid', source: 'adjustment' }));
        customers.push(customer);
      }
      const batch = (round: number) => ingestEvents(engine, customers.map((customer, i) => ({ id: `kept-${round}-${i}`, customer, type: 'units', properties: { n: i + 1 } })));
      await batch(1);
      expect(hotStateCounts(engine.store.db)).toEqual({ memory: 0, database: 3 });
      expect(hotStateOf(engine.store.db)!.state.size).toBe(kept);
      await batch(2);
      await batch(3);
      // After the first batch, the kept customer is found in memory and the others are read again.
      expect(hotStateCounts(engine.store.db)).toEqual({ memory: 2 * kept, database: 3 + 2 * (3 - kept) });
      // Room for four running totals a kept customer (none with 0): six were counted into, so the
      // kept totals started again on the way (or were never kept).
      expect(hotStateOf(engine.store.db)!.totalsKept).toBeLessThanOrEqual(4 * kept);
      // Each customer spent 0.5 × (i + 1) three times, and calls at 1, 1 and 0.25, from its 10 credits.
      for (const [i, customer] of customers.entries()) {
        expect(formatCredits(must(await getBalance(engine, customer)).balance.availableMicro)).toBe(formatCredits(10_000_000n - 1_500_000n * BigInt(i + 1) - 2_250_000n));
      }
      expect(await checkLedger(engine)).toEqual({ unbalanced: [], discrepancies: [] });
      expect(must(await reconcile(engine)).discrepancies).toEqual([]);
    } finally {
      await fresh.drop();
    }
  });

  it('checks what it kept against the database when TALLY_CHECK_HOT_STATE=1, as the test suite runs', async () => {
    if (dialect !== 'sqlite') return;
    expect(process.env.TALLY_CHECK_HOT_STATE).toBe('1');
    const { customer } = await setUp();
    await work(customer, 1);
    const kept = hotStateOf(ctx.engine.store.db)!.state.get(customer)!.grants[0]!;
    kept.remainingMicro += 1n;
    await expect(work(customer, 1)).rejects.toThrow(/hot state differs from the database in grants/);
    // The failed batch emptied it: the next one reads the database.
    await work(customer, 1);
    expect(await available(customer)).toBe('101');
    await expectClean();
  });
});
