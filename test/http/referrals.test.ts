import { describe, expect, it } from 'vitest';
import { dialects } from '../support/databases.ts';
import { unique, useServer, type Api } from '../support/server.ts';
import { advance, at, balance, days, newClock, newCustomer, perUnitMeter, use } from './fixtures.ts';

/** Referrals over HTTP (PRODUCT §15, issue 13): rewards on the first paid invoice, clawed back with its money. */
describe.each(dialects)('referrals on %s', (dialect) => {
  const ctx = useServer(dialect);

  /** A plan of 29.00 a month and an open first invoice for `customer`. */
  async function firstInvoice(api: Api, customer: string): Promise<any> {
    const plan = unique('plan');
    expect((await api.post('/v1/plans', { code: plan, name: 'Team', currency: 'USD', interval: 'month', amount: 2900, included_credits: '100' })).status).toBe(201);
    const sub = await api.post('/v1/subscriptions', { customer, plan });
    expect(sub.status, JSON.stringify(sub.body)).toBe(201);
    const invoices = (await api.get(`/v1/invoices?customer=${customer}`)).body.data;
    expect(invoices).toHaveLength(1);
    return invoices[0];
  }
  const referralGrant = (b: any, referral: string) => b.grants.find((g: any) => g.id === referral);

  it('A refers B (20 and 10); B pays 29.00: rewards; A spends 15; a full refund on day 20 takes back A\'s unspent 5 and B\'s 10', async () => {
    const api = ctx.api;
    const clock = await newClock(api);
    const [a, b] = [await newCustomer(api, { clock }), await newCustomer(api, { clock })];
    const created = await api.post('/v1/referrals', { referrer: a.externalId, referred: b.id, reward_credits: '20', referred_credits: '10' });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const referral = created.body;
    expect(referral).toMatchObject({ object: 'referral', referrer: a.id, referred: b.id, reward_credits: '20', referred_credits: '10', status: 'pending', invoice: null });

    const invoice = await firstInvoice(api, b.id);
    expect((await balance(api, a.id)).available).toBe('0');
    const paid = await api.post(`/v1/invoices/${invoice.id}/payments`, { amount: 2900 });
    expect(paid.status, JSON.stringify(paid.body)).toBe(201);
    const rewarded = (await api.get(`/v1/referrals/${referral.id}`)).body;
    expect(rewarded).toMatchObject({ status: 'rewarded', invoice: invoice.id, rewarded_at: '2026-05-01T00:00:00Z' });
    const aGrant = (await api.get(`/v1/grants/${rewarded.referrer_grant}`)).body;
    const bGrant = (await api.get(`/v1/grants/${rewarded.referred_grant}`)).body;
    expect(aGrant).toMatchObject({ customer: a.id, credits: '20', category: 'promotional', source: 'referral', metadata: { referral: referral.id, invoice: invoice.id } });
    expect(bGrant).toMatchObject({ customer: b.id, credits: '10', category: 'promotional', source: 'referral', metadata: { referral: referral.id, invoice: invoice.id } });
    expect((await balance(api, a.id)).available).toBe('20');
    expect((await balance(api, b.id)).available).toBe('110');

    const meter = await perUnitMeter(api);
    await use(api, a.id, meter.type, 15);
    expect((await balance(api, a.id)).available).toBe('5');

    await advance(api, clock, at(20 * days));
    const refund = await api.post('/v1/refunds', { invoice: invoice.id, amount: 2900, reason: 'requested_by_customer', credit_policy: 'unused_only' });
    expect(refund.status, JSON.stringify(refund.body)).toBe(201);
    const clawBacks = refund.body.referral_claw_backs;
    expect(clawBacks.map((c: any) => [c.customer, c.grant, c.credits])).toEqual([[a.id, aGrant.id, '5'], [b.id, bGrant.id, '10']]);
    for (const c of clawBacks) {
      expect(c).toMatchObject({ referral: referral.id, return: refund.body.id, transaction: expect.stringMatching(/^txn_/) });
      const txn = (await api.get(`/v1/ledger/transactions/${c.transaction}`)).body;
      expect(txn).toMatchObject({ kind: 'revoke', customer: c.customer, cause: { type: 'referral_claw_back', id: c.id }, refs: { refund: refund.body.id, invoice: invoice.id, referral: referral.id } });
    }
    expect((await api.get(`/v1/refunds/${refund.body.id}`)).body.referral_claw_backs).toEqual(clawBacks);
    expect((await balance(api, a.id)).available).toBe('0');
    expect(referralGrant(await balance(api, b.id), bGrant.id)?.remaining ?? '0').toBe('0');
    expect((await api.get(`/v1/referrals/${referral.id}`)).body.claw_backs).toEqual(clawBacks);

    const report = (await api.get(`/v1/reports/promotions?customer=${a.id}`)).body;
    expect(report.rows).toEqual([expect.objectContaining({
      kind: 'referrer', referrer: a.id, redemptions: 1, grants: 1, credits_granted: '20', credits_consumed: '15', credits_revoked: '5', credits_unspent: '0',
    })]);
    const all = (await api.get('/v1/reports/promotions')).body.rows.find((r: any) => r.referrer === a.id);
    expect(all).toMatchObject({ customers: 1, grants: 2, credits_granted: '30', credits_consumed: '15', credits_revoked: '15', revenue_after: { USD: 2900 } });
    const reconciliation = (await api.get('/v1/reconciliation')).body;
    expect(reconciliation.ok, JSON.stringify(reconciliation.discrepancies)).toBe(true);
    const events = (await api.get(`/v1/domain_events?customer=${a.id}`)).body.data.map((e: any) => e.type);
    expect(events).toEqual(expect.arrayContaining(['referral.created', 'referral.rewarded', 'referral.clawed_back']));
  });

  it('rewards only the first paid invoice; claws back on a lost chargeback, not after 60 days', async () => {
    const api = ctx.api;
    const clock = await newClock(api);
    const [a, b, c] = [await newCustomer(api, { clock }), await newCustomer(api, { clock }), await newCustomer(api, { clock })];
    const toB = (await api.post('/v1/referrals', { referrer: a.id, referred: b.id, reward_credits: '20' })).body;
    const toC = (await api.post('/v1/referrals', { referrer: a.id, referred: c.id, reward_credits: '7', referred_credits: '3' })).body;
    const invoiceB = await firstInvoice(api, b.id);
    const invoiceC = await firstInvoice(api, c.id);
    await api.post(`/v1/invoices/${invoiceB.id}/payments`, { amount: 2900 });
    await api.post(`/v1/invoices/${invoiceC.id}/payments`, { amount: 2900 });
    expect((await api.get(`/v1/referrals/${toB.id}`)).body).toMatchObject({ status: 'rewarded', referred_grant: null });
    expect((await balance(api, a.id)).available).toBe('27');

    // A second month's invoice for B is paid: no second reward.
    await advance(api, clock, '2026-06-01T00:00:00Z');
    const second = (await api.get(`/v1/invoices?customer=${b.id}`)).body.data.find((i: any) => i.id !== invoiceB.id);
    expect((await api.post(`/v1/invoices/${second.id}/payments`, { amount: 2900 })).status).toBe(201);
    expect((await balance(api, a.id)).available).toBe('27');

    // C's chargeback: nothing while open, the rewards go when it is lost.
    const chargeback = await api.post('/v1/chargebacks', { invoice: invoiceC.id, amount: 2900, reason: 'fraudulent', credit_policy: 'none' });
    expect(chargeback.body.referral_claw_backs).toEqual([]);
    const lost = await api.post(`/v1/chargebacks/${chargeback.body.id}/close`, { outcome: 'lost' });
    expect(lost.status, JSON.stringify(lost.body)).toBe(200);
    expect(lost.body.referral_claw_backs.map((x: any) => [x.customer, x.credits])).toEqual([[a.id, '7'], [c.id, '3']]);
    expect((await balance(api, a.id)).available).toBe('20');

    // More than 60 days after B's reward, a refund of its invoice leaves the reward alone.
    await advance(api, clock, at(61 * days));
    const refund = await api.post('/v1/refunds', { invoice: invoiceB.id, amount: 2900, reason: 'late', credit_policy: 'none' });
    expect(refund.status, JSON.stringify(refund.body)).toBe(201);
    expect(refund.body.referral_claw_backs).toEqual([]);
    expect((await balance(api, a.id)).available).toBe('20');
    expect((await api.get('/v1/reconciliation')).body.ok).toBe(true);
  });

  it('an invoice the balance paid in full rewards nothing: not from goodwill, nor from the credit of a fee never paid; the first paid in money does', async () => {
    const api = ctx.api;
    const clock = await newClock(api);
    const [a, b, c] = [await newCustomer(api, { clock }), await newCustomer(api, { clock }), await newCustomer(api, { clock })];
    const toB = (await api.post('/v1/referrals', { referrer: a.id, referred: b.id, reward_credits: '20' })).body;
    const toC = (await api.post('/v1/referrals', { referrer: a.id, referred: c.id, reward_credits: '7' })).body;

    // B's 29.00 first invoice is paid by a goodwill note: B has paid nothing.
    expect((await api.post('/v1/credit_notes', { customer: b.id, amount: 2900, reason: 'welcome' })).status).toBe(201);
    const first = await firstInvoice(api, b.id);
    expect(first).toMatchObject({ status: 'paid', balance_applied: 2900, amount_due: 0 });
    // Before: rewarded, 20 credits to A for a customer who had paid nothing.
    expect((await api.get(`/v1/referrals/${toB.id}`)).body).toMatchObject({ status: 'pending', invoice: null });
    expect((await balance(api, a.id)).available).toBe('0');
    // June's invoice, paid in money, is the first payment: it rewards.
    await advance(api, clock, '2026-06-01T00:00:00Z');
    const june = (await api.get(`/v1/invoices?customer=${b.id}`)).body.data.find((i: any) => i.id !== first.id);
    expect((await api.post(`/v1/invoices/${june.id}/payments`, { amount: 2900 })).status).toBe(201);
    expect((await api.get(`/v1/referrals/${toC.id}`)).body.status).toBe('pending');
    expect((await api.get(`/v1/referrals/${toB.id}`)).body).toMatchObject({ status: 'rewarded', invoice: june.id });
    expect((await balance(api, a.id)).available).toBe('20');

    // C cancels 29.00 unpaid on 1 June with the period almost whole left, and its credit pays a new plan's invoice.
    const open = await firstInvoice(api, c.id);
    expect(open.status).toBe('open');
    const cSub = (await api.get(`/v1/subscriptions?customer=${c.id}`)).body.data[0];
    expect((await api.post(`/v1/subscriptions/${cSub.id}/cancel`, { timing: 'immediate' })).status).toBe(200);
    expect((await balance(api, c.id)).money_balance).toEqual([{ currency: 'USD', amount: 2900 }]);
    const small = unique('plan');
    expect((await api.post('/v1/plans', { code: small, name: 'Solo', currency: 'USD', interval: 'month', amount: 900, included_credits: '10' })).status).toBe(201);
    expect((await api.post('/v1/subscriptions', { customer: c.id, plan: small })).status).toBe(201);
    const solo = (await api.get(`/v1/invoices?customer=${c.id}`)).body.data.find((i: any) => i.kind !== 'final' && i.total === 900);
    expect(solo).toMatchObject({ status: 'paid', balance_applied: 900 });
    // Before: rewarded by an invoice paid from the credit of a fee C never paid.
    expect((await api.get(`/v1/referrals/${toC.id}`)).body.status).toBe('pending');
    expect((await balance(api, a.id)).available).toBe('20');

    // D's only invoice was paid by goodwill: D has paid no money, so it can still be referred.
    const d = await newCustomer(api, { clock });
    expect((await api.post('/v1/credit_notes', { customer: d.id, amount: 500, reason: 'welcome' })).status).toBe(201);
    const bought = await api.post(`/v1/customers/${d.id}/purchases`, { credits: '5', amount: 500 });
    expect(bought.body.invoice).toMatchObject({ status: 'paid', balance_applied: 500 });
    // Before: 409 referral_not_eligible, as if D had paid.
    const toD = await api.post('/v1/referrals', { referrer: a.id, referred: d.id, reward_credits: '3' });
    expect(toD.status, JSON.stringify(toD.body)).toBe(201);
    expect((await api.get('/v1/reconciliation')).body.discrepancies).toEqual([]);
  });

  it('refuses a self-referral, a customer referred twice, negative credits, unknown customers, a customer who has paid; nothing is stored', async () => {
    const api = ctx.api;
    const [a, b, c] = [await newCustomer(api), await newCustomer(api), await newCustomer(api)];
    const count = async () => (await api.get('/v1/referrals?limit=100')).body.data.length;
    const before = await count();
    const self = await api.post('/v1/referrals', { referrer: a.id, referred: a.externalId, reward_credits: '5' });
    expect(self.status).toBe(400);
    expect(self.body.error).toMatchObject({ code: 'referral_to_self', details: { fields: [{ field: 'referred', code: 'referral_to_self' }] } });
    const negative = await api.post('/v1/referrals', { referrer: a.id, referred: b.id, reward_credits: '-5', referred_credits: '0' });
    expect(negative.status).toBe(400);
    expect(negative.body.error.details.fields.map((f: any) => [f.field, f.code])).toEqual([['reward_credits', 'negative_not_allowed'], ['referred_credits', 'must_be_positive']]);
    const unknown = await api.post('/v1/referrals', { referrer: 'nobody', referred: b.id, reward_credits: '5' });
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.details.fields).toEqual([expect.objectContaining({ field: 'referrer', code: 'customer_not_found' })]);
    expect(await count()).toBe(before);

    expect((await api.post('/v1/referrals', { referrer: a.id, referred: b.id, reward_credits: '5' })).status).toBe(201);
    const twice = await api.post('/v1/referrals', { referrer: c.id, referred: b.id, reward_credits: '5' });
    expect(twice.status).toBe(409);
    expect(twice.body.error.code).toBe('customer_already_referred');

    const buy = await api.post(`/v1/customers/${c.id}/purchases`, { credits: '1', amount: 100 });
    await api.post(`/v1/invoices/${buy.body.invoice.id}/payments`, { amount: 100 });
    const paidBefore = await api.post('/v1/referrals', { referrer: a.id, referred: c.id, reward_credits: '5' });
    expect(paidBefore.status).toBe(409);
    expect(paidBefore.body.error.code).toBe('referral_not_eligible');
    expect(await count()).toBe(before + 1);
    const listed = (await api.get(`/v1/referrals?referrer=${a.id}`)).body.data;
    expect(listed.map((r: any) => r.referred)).toEqual([b.id]);
  });
});
