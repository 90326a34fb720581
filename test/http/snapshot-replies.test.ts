import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { dialects } from '../support/databases.ts';
import { must } from '../support/engine.ts';
import { unique, useServer } from '../support/server.ts';
import { newCustomer, newGrant } from './fixtures.ts';
import type { Engine } from '../../src/engine/context.ts';
import { createEngine } from '../../src/engine/create-engine.ts';
import { recordPayment } from '../../src/engine/invoices.ts';
import { refundCreditNote } from '../../src/engine/credit-notes.ts';
import { changeSubscription } from '../../src/engine/subscriptions.ts';
import { createHold } from '../../src/engine/holds.ts';
import { purchaseCredits } from '../../src/engine/purchases.ts';
import { closeChargeback } from '../../src/engine/refunds.ts';
import { openDatabase } from '../../src/store/open-database.ts';
import { BillingQueries } from '../../src/store/queries/billing.ts';
import { CreditNoteQueries } from '../../src/store/queries/credit-notes.ts';
import { GrantQueries } from '../../src/store/queries/grants.ts';
import { ReportQueries } from '../../src/store/queries/reports.ts';
import { ReturnQueries } from '../../src/store/queries/returns.ts';

/**
 * Replies made of several reads of the store read them in one snapshot (`Store.readsInOneSnapshot`).
 * Each test commits a change, through a second engine on a connection of its own, between the
 * reply's first read and the next, and checks that the reply shows none of the change (and the
 * next request all of it). Without the snapshot the reply shows a record beside a later state of
 * its children, on either database.
 */
describe.each(dialects)('replies read in one snapshot on %s', (dialect) => {
  const ctx = useServer(dialect);
  let other: Engine;

  beforeAll(async () => {
    other = await createEngine(await openDatabase(ctx.database.url));
  });
  afterAll(async () => {
    await other?.store.close();
  });

  /**
   * Runs `write` once, in the call of `prototype[method]` whose arguments `matches` accepts: before
   * the call reads, or after it has read. The method is put back first, so the write's own reads
   * go through as usual; `fired` tells whether it has run.
   */
  function interpose<P extends object>(
    prototype: P, method: keyof P & string, matches: (args: unknown[]) => boolean, when: 'before' | 'after', write: () => Promise<void>,
  ): { fired: () => boolean; restore: () => void } {
    const original = prototype[method] as (...args: unknown[]) => Promise<unknown>;
    let fired = false;
    const spy = vi.spyOn(prototype as Record<string, (...args: unknown[]) => Promise<unknown>>, method).mockImplementation(async function (this: unknown, ...args: unknown[]) {
      if (fired || !matches(args)) return original.apply(this, args);
      fired = true;
      spy.mockRestore();
      if (when === 'before') await write();
      const result = await original.apply(this, args);
      if (when === 'after') await write();
      return result;
    });
    return { fired: () => fired, restore: () => spy.mockRestore() };
  }

  it('an invoice with its payments: a payment committed between the reads is in neither', async () => {
    const { api } = ctx;
    const customer = await newCustomer(api, { clock: null });
    const invoice = (await api.post(`/v1/customers/${customer.id}/purchases`, { credits: '100', amount: 2000 })).body.invoice;
    expect(invoice).toMatchObject({ status: 'open', amount_paid: 0 });

    const hook = interpose(BillingQueries.prototype, 'invoice', ([id]) => id === invoice.id, 'after', async () => {
      must(await recordPayment(other, invoice.id, { amount: 2000 }));
    });
    try {
      const reply = await api.get(`/v1/invoices/${invoice.id}`);
      expect(hook.fired()).toBe(true);
      expect(reply.status).toBe(200);
      expect({ status: reply.body.status, amount_paid: reply.body.amount_paid, payments: reply.body.payments }).toEqual({ status: 'open', amount_paid: 0, payments: [] });
    } finally {
      hook.restore();
    }
    const after = (await api.get(`/v1/invoices/${invoice.id}`)).body;
    expect(after).toMatchObject({ status: 'paid', amount_paid: 2000, payments: [{ amount: 2000 }] });
  });

  it('a credit note with its uses: a payout committed between the reads is in neither', async () => {
    const { api } = ctx;
    const customer = await newCustomer(api, { clock: null });
    const note = (await api.post('/v1/credit_notes', { customer: customer.id, amount: 500, currency: 'USD', reason: 'apology', refundable: true })).body;
    expect(note).toMatchObject({ remaining: 500, amount_refunded: 0 });

    const hook = interpose(CreditNoteQueries.prototype, 'get', ([id]) => id === note.id, 'after', async () => {
      must(await refundCreditNote(other, note.id, { amount: 200 }));
    });
    try {
      const reply = await api.get(`/v1/credit_notes/${note.id}`);
      expect(hook.fired()).toBe(true);
      expect(reply.status).toBe(200);
      expect({ remaining: reply.body.remaining, amount_refunded: reply.body.amount_refunded, uses: reply.body.uses }).toEqual({ remaining: 500, amount_refunded: 0, uses: [] });
    } finally {
      hook.restore();
    }
    const after = (await api.get(`/v1/credit_notes/${note.id}`)).body;
    expect(after).toMatchObject({ remaining: 300, amount_refunded: 200, uses: [{ kind: 'refunded', amount: 200 }] });
  });

  it('a subscription with its timeline: a plan change committed between the reads is in neither', async () => {
    const { api } = ctx;
    const plan = async (amount: number) => (await api.post('/v1/plans', { code: unique('plan'), name: 'Plan', currency: 'USD', interval: 'month', amount, included_credits: '100' })).body;
    const [small, big] = [await plan(1000), await plan(3000)];
    const customer = await newCustomer(api, { clock: null });
    const sub = (await api.post('/v1/subscriptions', { customer: customer.id, plan: small.code })).body;
    expect(sub).toMatchObject({ object: 'subscription', plan: small.id });

    const hook = interpose(BillingQueries.prototype, 'subscription', ([id]) => id === sub.id, 'after', async () => {
      must(await changeSubscription(other, sub.id, { plan: big.code, timing: 'immediate' }));
    });
    try {
      const reply = await api.get(`/v1/subscriptions/${sub.id}`);
      expect(hook.fired()).toBe(true);
      expect(reply.status).toBe(200);
      expect({ plan: reply.body.plan, timeline: reply.body.timeline.map((p: any) => [p.plan, p.end_at]) }).toEqual({ plan: small.id, timeline: [[small.id, null]] });
    } finally {
      hook.restore();
    }
    const after = (await api.get(`/v1/subscriptions/${sub.id}`)).body;
    expect(after.plan).toBe(big.id);
    expect(after.timeline.map((p: any) => p.plan)).toEqual([small.id, big.id]);
  });

  it('a balance: a hold committed between reading the accounts and the grants is in neither', async () => {
    const { api } = ctx;
    const customer = await newCustomer(api, { clock: null });
    await newGrant(api, customer.id, '100');

    // The grants and the accounts are read side by side: the hold commits before the grants' read,
    // after the customer's.
    const hook = interpose(GrantQueries.prototype, 'activeFor', ([ids]) => (ids as string[]).includes(customer.id), 'before', async () => {
      must(await createHold(other, { customer: customer.id, credits: '40', expires_in: 600 }));
    });
    try {
      const reply = await api.get(`/v1/customers/${customer.id}/balance`);
      expect(hook.fired()).toBe(true);
      expect(reply.status).toBe(200);
      expect({ available: reply.body.available, held: reply.body.held, grants: reply.body.grants.map((g: any) => g.remaining) }).toEqual({ available: '100', held: '0', grants: ['100'] });
    } finally {
      hook.restore();
    }
    expect((await api.get(`/v1/customers/${customer.id}/balance`)).body).toMatchObject({ available: '60', held: '40' });
  });

  it('a chargeback with its claw-backs: closing it as lost between the reads is in neither', async () => {
    const { api } = ctx;
    const [referrer, referred] = [await newCustomer(api, { clock: null }), await newCustomer(api, { clock: null })];
    expect((await api.post('/v1/referrals', { referrer: referrer.id, referred: referred.id, reward_credits: '20' })).status).toBe(201);
    const invoice = (await api.post(`/v1/customers/${referred.id}/purchases`, { credits: '100', amount: 2000 })).body.invoice;
    expect((await api.post(`/v1/invoices/${invoice.id}/payments`, { amount: 2000 })).status).toBe(201);
    const chargeback = (await api.post('/v1/chargebacks', { invoice: invoice.id, amount: 2000, reason: 'fraudulent', credit_policy: 'none' })).body;
    expect(chargeback).toMatchObject({ status: 'open', referral_claw_backs: [] });

    const hook = interpose(ReturnQueries.prototype, 'get', ([id]) => id === chargeback.id, 'after', async () => {
      must(await closeChargeback(other, chargeback.id, 'lost'));
    });
    try {
      const reply = await api.get(`/v1/chargebacks/${chargeback.id}`);
      expect(hook.fired()).toBe(true);
      expect(reply.status).toBe(200);
      expect({ status: reply.body.status, claw_backs: reply.body.referral_claw_backs }).toEqual({ status: 'open', claw_backs: [] });
    } finally {
      hook.restore();
    }
    const after = (await api.get(`/v1/chargebacks/${chargeback.id}`)).body;
    expect({ status: after.status, claw_backs: after.referral_claw_backs.map((c: any) => [c.customer, c.credits]) }).toEqual({ status: 'lost', claw_backs: [[referrer.id, '20']] });
  });

  it('the revenue report: an invoice committed between summing the invoices and their lines is in neither', async () => {
    const { api } = ctx;
    const customer = await newCustomer(api, { clock: null });
    expect((await api.post(`/v1/customers/${customer.id}/purchases`, { credits: '100', amount: 2000 })).status).toBe(201);

    // The purchase commits once the invoices are summed and before their lines are, however the
    // two reads are issued (side by side, or one after the other).
    let invoicesRead!: () => void;
    const invoicesSummed = new Promise<void>((resolve) => { invoicesRead = resolve; });
    const ofCustomer = ([f]: unknown[]) => (f as { customerId: string | null }).customerId === customer.id;
    const invoicedHook = interpose(ReportQueries.prototype, 'invoicedSums', ofCustomer, 'after', async () => invoicesRead());
    const linesHook = interpose(ReportQueries.prototype, 'lineSums', ofCustomer, 'before', async () => {
      await invoicesSummed;
      must(await purchaseCredits(other, customer.id, { credits: '300', amount: 3000 }));
    });
    try {
      const reply = await api.get(`/v1/reports/revenue?customer=${customer.id}`);
      expect(linesHook.fired()).toBe(true);
      expect(reply.status).toBe(200);
      expect(reply.body.rows.map((r: any) => ({ invoices: r.invoices, invoiced: r.invoiced, purchased: r.lines.credit_purchase })))
        .toEqual([{ invoices: 1, invoiced: 2000, purchased: 2000 }]);
    } finally {
      invoicedHook.restore();
      linesHook.restore();
    }
    const after = (await api.get(`/v1/reports/revenue?customer=${customer.id}`)).body;
    expect(after.rows.map((r: any) => ({ invoices: r.invoices, invoiced: r.invoiced, purchased: r.lines.credit_purchase })))
      .toEqual([{ invoices: 2, invoiced: 5000, purchased: 5000 }]);
  });
});
