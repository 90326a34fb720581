import { describe, expect, it } from 'vitest';
import { dialects } from '../support/databases.ts';
import { unique, useServer, type Api } from '../support/server.ts';
import { advance, balance, domainEvents, expectLedgerConsistent, listAll, newClock, perUnitMeter, use } from './fixtures.ts';

/**
 * A change or cancellation credits the unused time of what the fee's invoice kept (PRODUCT §7,
 * §8, §14): a refund or chargeback before it shrinks the credit and the allowance share it
 * revokes; a credit given before a refund shrinks what can still be refunded. Each customer on
 * its own test clock from 1 March (31 days); on 11 March, 21/31 of the period is left.
 */
describe.each(dialects)('proration after refunds on %s', (dialect) => {
  const ctx = useServer(dialect);

  const newPlan = async (api: Api, amount: number, included: string) => {
    const created = await api.post('/v1/plans', { code: unique('plan'), name: 'Plan', currency: 'USD', interval: 'month', amount, included_credits: included });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    return created.body;
  };
  /** A subscription to `plan` from 1 March with its fee invoice paid in full. */
  const paidSubscription = async (api: Api, plan: any) => {
    const clock = await newClock(api, '2026-03-01T00:00:00Z');
    const customer = (await api.post('/v1/customers', { external_id: unique('cust'), currency: 'USD', test_clock: clock })).body.id as string;
    const sub = (await api.post('/v1/subscriptions', { customer, plan: plan.code })).body;
    const fee = (await listAll(api, `/v1/invoices?customer=${customer}`))[0];
    expect((await api.post(`/v1/invoices/${fee.id}/payments`, { amount: fee.total })).status).toBe(201);
    return { clock, customer, sub, fee };
  };
  const linesOf = async (api: Api, customer: string, kind: string) =>
    (await listAll(api, `/v1/invoices?customer=${customer}`)).filter((i) => i.kind === kind).map((i) => i.lines.map((l: any) => [l.type, l.amount]));

  it('a fee refunded in full is credited nothing on cancellation, and its clawed-back allowance is not owed again as debt', async () => {
    const { api } = ctx;
    const s = await paidSubscription(api, await newPlan(api, 3100, '310'));
    const refund = await api.post('/v1/refunds', { invoice: s.fee.id, amount: 3100, reason: 'requested_by_customer', credit_policy: 'proportional' });
    expect(refund.status, JSON.stringify(refund.body)).toBe(201);
    expect(refund.body).toMatchObject({ credits_revoked: '310', credits_shortfall: '0' });
    await advance(api, s.clock, '2026-03-11T00:00:00Z');
    expect((await api.post(`/v1/subscriptions/${s.sub.id}/cancel`, { timing: 'immediate' })).status).toBe(200);
    // Before: a 21.00 refundable credit note on top of the 31.00 refund, and 210 credits of debt.
    expect(await linesOf(api, s.customer, 'final')).toEqual([[['proration_credit', 0]]]);
    expect(await balance(api, s.customer)).toMatchObject({ available: '0', debt: '0', money_balance: [] });
    expect((await api.get('/v1/reconciliation')).body.discrepancies).toEqual([]);
    await expectLedgerConsistent(api);
  });

  it('half refunded: a cancellation credits 21/31 of the 15.50 kept (10.50) and revokes 21/31 of the 155 credits kept (105)', async () => {
    const { api } = ctx;
    const s = await paidSubscription(api, await newPlan(api, 3100, '310'));
    const meter = await perUnitMeter(api);
    await use(api, s.customer, meter.type, 40);
    const refund = await api.post('/v1/refunds', { invoice: s.fee.id, amount: 1550, reason: 'goodwill', credit_policy: 'proportional' });
    expect(refund.body).toMatchObject({ credits_revoked: '155' });
    expect((await balance(api, s.customer)).available).toBe('115');
    await advance(api, s.clock, '2026-03-11T00:00:00Z');
    expect((await api.post(`/v1/subscriptions/${s.sub.id}/cancel`, { timing: 'immediate' })).status).toBe(200);
    // Before: 21.00 back (21/31 of the whole fee) and all 115 credits left revoked, 95 more owed as debt.
    expect(await linesOf(api, s.customer, 'final')).toEqual([[['proration_credit', -1050]]]);
    // The 155 credits kept cover 10 days as 50; 40 were used, 10 are left.
    expect(await balance(api, s.customer)).toMatchObject({ available: '10', debt: '0', money_balance: [{ currency: 'USD', amount: 1050 }] });
    expect((await api.get('/v1/reconciliation')).body.discrepancies).toEqual([]);
    await expectLedgerConsistent(api);
  });

  it('a fee charged back is not credited to the new plan on an upgrade: the upgrade charges 21/31 of 62.00 in full', async () => {
    const { api } = ctx;
    const [small, large] = [await newPlan(api, 3100, '310'), await newPlan(api, 6200, '620')];
    const s = await paidSubscription(api, small);
    const chargeback = await api.post('/v1/chargebacks', { invoice: s.fee.id, amount: 3100, reason: 'fraudulent', credit_policy: 'none' });
    expect(chargeback.status, JSON.stringify(chargeback.body)).toBe(201);
    await advance(api, s.clock, '2026-03-11T00:00:00Z');
    expect((await api.post(`/v1/subscriptions/${s.sub.id}/change`, { plan: large.code, timing: 'immediate' })).status).toBe(200);
    // Before: −21.00 for the small plan's unused time, which the card network had given back already.
    expect(await linesOf(api, s.customer, 'proration')).toEqual([[['proration_credit', 0], ['proration_charge', 4200]]]);
    // The chargeback kept the 310 credits (policy none): none of the small allowance is revoked; 420 granted.
    expect(await balance(api, s.customer)).toMatchObject({ available: '730', debt: '0' });

    // Won, the money comes back to the invoice, and the next change credits the large plan's fee in full.
    expect((await api.post(`/v1/chargebacks/${chargeback.body.id}/close`, { outcome: 'won' })).status).toBe(200);
    await advance(api, s.clock, '2026-03-21T00:00:00Z');
    expect((await api.post(`/v1/subscriptions/${s.sub.id}/cancel`, { timing: 'immediate' })).status).toBe(200);
    expect((await linesOf(api, s.customer, 'final'))[0]).toEqual([['proration_credit', -2200]]);
    expect((await api.get('/v1/reconciliation')).body.discrepancies).toEqual([]);
  });

  it('an upgrade paid partly by the old fee\'s credit: once both invoices are refunded in full, a cancellation credits nothing more', async () => {
    const { api } = ctx;
    const [small, large] = [await newPlan(api, 3100, '310'), await newPlan(api, 6200, '620')];
    const s = await paidSubscription(api, small);
    await advance(api, s.clock, '2026-03-11T00:00:00Z');
    expect((await api.post(`/v1/subscriptions/${s.sub.id}/change`, { plan: large.code, timing: 'immediate' })).status).toBe(200);
    const upgrade = (await listAll(api, `/v1/invoices?customer=${s.customer}`)).find((i) => i.kind === 'proration');
    // 21/31 of 31.00 credited against 21/31 of 62.00: 21.00 left to pay.
    expect(upgrade.lines.map((l: any) => [l.type, l.amount])).toEqual([['proration_credit', -2100], ['proration_charge', 4200]]);
    expect((await api.post(`/v1/invoices/${upgrade.id}/payments`, { amount: 2100 })).status).toBe(201);
    // Every cent paid (31.00 + 21.00) is refunded.
    for (const [invoice, amount] of [[s.fee.id, 3100], [upgrade.id, 2100]] as const) {
      const refund = await api.post('/v1/refunds', { invoice, amount, reason: 'requested_by_customer', credit_policy: 'none' });
      expect(refund.status, JSON.stringify(refund.body)).toBe(201);
    }
    await advance(api, s.clock, '2026-03-21T00:00:00Z');
    expect((await api.post(`/v1/subscriptions/${s.sub.id}/cancel`, { timing: 'immediate' })).status).toBe(200);
    // Before: 11/31 of 62.00 on the half the upgrade's own refund left, 11.00 as a refundable note:
    // 63.00 back for 52.00 paid. The other half of its charge was the small fee's credit, which that
    // fee's refund gave back.
    expect(await linesOf(api, s.customer, 'final')).toEqual([[['proration_credit', 0]]]);
    expect(await balance(api, s.customer)).toMatchObject({ debt: '0', money_balance: [] });
    expect((await api.get('/v1/reconciliation')).body.discrepancies).toEqual([]);
    await expectLedgerConsistent(api);
  });

  it('two upgrades, each paid partly by the credit before it: with everything refunded, a cancellation credits nothing more', async () => {
    const { api } = ctx;
    const [small, medium, large] = [await newPlan(api, 3100, '0'), await newPlan(api, 6200, '0'), await newPlan(api, 9300, '0')];
    const s = await paidSubscription(api, small);
    const upgrades: any[] = [];
    for (const [day, plan] of [['2026-03-11', medium], ['2026-03-21', large]] as const) {
      await advance(api, s.clock, `${day}T00:00:00Z`);
      expect((await api.post(`/v1/subscriptions/${s.sub.id}/change`, { plan: plan.code, timing: 'immediate' })).status).toBe(200);
      const invoice = (await listAll(api, `/v1/invoices?customer=${s.customer}`)).find((i) => i.kind === 'proration' && !upgrades.some((u) => u.id === i.id));
      expect((await api.post(`/v1/invoices/${invoice.id}/payments`, { amount: invoice.total })).status).toBe(201);
      upgrades.push(invoice);
    }
    // Day 10: −21.00 + 42.00; day 20: −22.00 (11/31 of 62.00) + 33.00 (11/31 of 93.00).
    expect(upgrades.map((i) => i.lines.map((l: any) => l.amount))).toEqual([[-2100, 4200], [-2200, 3300]]);
    for (const [invoice, amount] of [[s.fee.id, 3100], [upgrades[0].id, 2100], [upgrades[1].id, 1100]] as const) {
      expect((await api.post('/v1/refunds', { invoice, amount, reason: 'requested_by_customer', credit_policy: 'none' })).status).toBe(201);
    }
    await advance(api, s.clock, '2026-03-26T00:00:00Z');
    expect((await api.post(`/v1/subscriptions/${s.sub.id}/cancel`, { timing: 'immediate' })).status).toBe(200);
    // All 63.00 paid is back. Before: 6/31 of 93.00 on the 21.00 of the last charge that the
    // first upgrade's credit paid (whose own charge the first fee's credit had paid, only one step
    // back was followed): 11.45 more.
    expect(await linesOf(api, s.customer, 'final')).toEqual([[['proration_credit', 0]]]);
    expect((await balance(api, s.customer)).money_balance).toEqual([]);
    expect((await api.get('/v1/reconciliation')).body.discrepancies).toEqual([]);
  });

  it('after a cancellation credited 21.00 of a 31.00 fee as balance, at most 10.00 of that fee can be refunded', async () => {
    const { api } = ctx;
    const s = await paidSubscription(api, await newPlan(api, 3100, '310'));
    await advance(api, s.clock, '2026-03-11T00:00:00Z');
    expect((await api.post(`/v1/subscriptions/${s.sub.id}/cancel`, { timing: 'immediate' })).status).toBe(200);
    expect((await balance(api, s.customer)).money_balance).toEqual([{ currency: 'USD', amount: 2100 }]);
    // Before: the whole 31.00 could be refunded as well, 52.00 back for 31.00 paid.
    const all = await api.post('/v1/refunds', { invoice: s.fee.id, amount: 3100, reason: 'requested_by_customer', credit_policy: 'none' });
    expect([all.status, all.body.error?.code, all.body.error?.details?.returnable]).toEqual([409, 'amount_exceeds_paid', 1000]);
    const toBalance = await api.post('/v1/refunds', { invoice: s.fee.id, amount: 1001, reason: 'requested_by_customer', credit_policy: 'none', to: 'balance' });
    expect([toBalance.status, toBalance.body.error?.code]).toEqual([409, 'amount_exceeds_paid']);
    const rest = await api.post('/v1/refunds', { invoice: s.fee.id, amount: 1000, reason: 'requested_by_customer', credit_policy: 'none' });
    expect(rest.status, JSON.stringify(rest.body)).toBe(201);
    expect((await api.get(`/v1/invoices/${s.fee.id}`)).body).toMatchObject({ amount_paid: 3100, amount_refunded: 1000 });
    expect((await api.get('/v1/reconciliation')).body.discrepancies).toEqual([]);
  });

  /** Canceled on 11 March: the final invoice's 21.00 refundable note for the fee's unused time. */
  const canceledWithNote = async (api: Api, plan: any) => {
    const s = await paidSubscription(api, plan);
    await advance(api, s.clock, '2026-03-11T00:00:00Z');
    expect((await api.post(`/v1/subscriptions/${s.sub.id}/cancel`, { timing: 'immediate' })).status).toBe(200);
    const final = (await listAll(api, `/v1/invoices?customer=${s.customer}`)).find((i) => i.kind === 'final');
    expect((await api.get(`/v1/credit_notes/${final.credit_note}`)).body).toMatchObject({ amount: 2100, remaining: 2100, refundable: true });
    return { ...s, note: final.credit_note as string };
  };
  const chargeBack = async (api: Api, invoice: string, amount: number) => {
    const created = await api.post('/v1/chargebacks', { invoice, amount, reason: 'fraudulent', credit_policy: 'none' });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    return created.body;
  };

  it('a chargeback of a fee whose 21.00 of unused time a cancellation credited takes the note back; won, it gives it back', async () => {
    const { api } = ctx;
    const s = await canceledWithNote(api, await newPlan(api, 3100, '310'));
    // The fee kept 10.00 (31.00 less the 21.00 note): the chargeback's other 21.00 comes off the note.
    const chargeback = await chargeBack(api, s.fee.id, 3100);
    expect(chargeback).toMatchObject({ amount: 3100, credit_notes_reversed: 2100, credit_notes_shortfall: 0 });
    // Before: the note kept 21.00, paid out in cash on top of the 31.00 the bank gave back (52.00 for 31.00 paid).
    const note = (await api.get(`/v1/credit_notes/${s.note}`)).body;
    expect(note).toMatchObject({ amount: 2100, remaining: 0, amount_reversed: 2100, status: 'closed' });
    expect(note.uses.map((u: any) => [u.kind, u.amount, u.chargeback, u.invoice])).toEqual([['reversed', 2100, chargeback.id, s.fee.id]]);
    const payout = await api.post(`/v1/credit_notes/${s.note}/refund`, {});
    expect([payout.status, payout.body.error?.code]).toEqual([409, 'amount_exceeds_remaining']);
    expect((await balance(api, s.customer)).money_balance).toEqual([{ currency: 'USD', amount: 0 }]);
    const delivered = (await domainEvents(api, s.customer, 'chargeback.created'))[0];
    expect(delivered.data).toMatchObject({ chargeback: chargeback.id, credit_notes_reversed: 2100, credit_notes_shortfall: 0 });
    expect((await domainEvents(api, s.customer, 'credit_note.reversed')).map((e) => e.data)).toEqual([
      { credit_note: s.note, amount: 2100, currency: 'USD', chargeback: chargeback.id, invoice: s.fee.id },
    ]);
    const notes = (await api.get(`/v1/reports/credit_notes?customer=${s.customer}`)).body;
    expect(notes.totals).toEqual([{ currency: 'USD', opening_balance: 0, issued: 2100, applied: 0, paid_out: 0, reversed: 2100, closing_balance: 0 }]);
    // Revenue: 31.00 paid, 31.00 charged back, and no money owed back any more.
    expect((await api.get(`/v1/reports/revenue?customer=${s.customer}`)).body.totals).toEqual([expect.objectContaining({ paid: 3100, charged_back: 3100, credit_notes: 0, net: 0 })]);
    expect((await api.get('/v1/reconciliation')).body.discrepancies).toEqual([]);

    // Won: the 31.00 is the merchant's again, and the note is the customer's again.
    const won = await api.post(`/v1/chargebacks/${chargeback.id}/close`, { outcome: 'won' });
    expect(won.body).toMatchObject({ status: 'won', credit_notes_reversed: 2100 });
    expect((await api.get(`/v1/credit_notes/${s.note}`)).body).toMatchObject({ remaining: 2100, amount_reversed: 0, status: 'open' });
    expect((await balance(api, s.customer)).money_balance).toEqual([{ currency: 'USD', amount: 2100 }]);
    const after = (await api.get(`/v1/reports/credit_notes?customer=${s.customer}`)).body;
    expect(after.totals).toEqual([{ currency: 'USD', opening_balance: 0, issued: 2100, applied: 0, paid_out: 0, reversed: 0, closing_balance: 2100 }]);
    expect((await api.get(`/v1/reports/revenue?customer=${s.customer}`)).body.totals).toEqual([expect.objectContaining({ paid: 3100, charged_back: 0, credit_notes: 2100, net: 1000 })]);
    expect((await api.post(`/v1/credit_notes/${s.note}/refund`, {})).body).toMatchObject({ remaining: 0, amount_refunded: 2100 });
    expect((await api.get('/v1/reconciliation')).body.discrepancies).toEqual([]);
    await expectLedgerConsistent(api);
  });

  it('a note partly paid out is taken back as far as it holds, the rest is the chargeback\'s shortfall; two partial chargebacks take 5.00 and 16.00', async () => {
    const { api } = ctx;
    const plan = await newPlan(api, 3100, '310');
    const spent = await canceledWithNote(api, plan);
    expect((await api.post(`/v1/credit_notes/${spent.note}/refund`, { amount: 1500 })).status).toBe(200);
    const chargeback = await chargeBack(api, spent.fee.id, 3100);
    // Before: 6.00 left on the note, on top of 31.00 + 15.00 back. Now 6.00 taken back, 15.00 already paid out.
    expect(chargeback).toMatchObject({ credit_notes_reversed: 600, credit_notes_shortfall: 1500 });
    expect((await api.get(`/v1/credit_notes/${spent.note}`)).body).toMatchObject({ remaining: 0, amount_refunded: 1500, amount_reversed: 600 });
    expect((await api.get('/v1/reconciliation')).body.discrepancies).toEqual([]);

    // 15.00 charged back: 10.00 the fee kept, 5.00 of the note; then 16.00 more: all of it the note's.
    const split = await canceledWithNote(api, plan);
    expect(await chargeBack(api, split.fee.id, 1500)).toMatchObject({ credit_notes_reversed: 500, credit_notes_shortfall: 0 });
    expect((await api.get(`/v1/credit_notes/${split.note}`)).body).toMatchObject({ remaining: 1600 });
    expect(await chargeBack(api, split.fee.id, 1600)).toMatchObject({ credit_notes_reversed: 1600, credit_notes_shortfall: 0 });
    expect((await balance(api, split.customer)).money_balance).toEqual([{ currency: 'USD', amount: 0 }]);
    expect((await api.get('/v1/reconciliation')).body.discrepancies).toEqual([]);

    // 10.00 charged back of what the fee kept takes nothing of the note.
    const kept = await canceledWithNote(api, plan);
    expect(await chargeBack(api, kept.fee.id, 1000)).toMatchObject({ credit_notes_reversed: 0, credit_notes_shortfall: 0 });
    expect((await balance(api, kept.customer)).money_balance).toEqual([{ currency: 'USD', amount: 2100 }]);
    await expectLedgerConsistent(api);
  });

  it('a downgrade\'s 21.00 note (42.00 of unused time less 21.00 of the new plan) is taken back by a chargeback of the 62.00 fee', async () => {
    const { api } = ctx;
    const [small, large] = [await newPlan(api, 3100, '0'), await newPlan(api, 6200, '0')];
    const s = await paidSubscription(api, large);
    await advance(api, s.clock, '2026-03-11T00:00:00Z');
    expect((await api.post(`/v1/subscriptions/${s.sub.id}/change`, { plan: small.code, timing: 'immediate' })).status).toBe(200);
    const downgrade = (await listAll(api, `/v1/invoices?customer=${s.customer}`)).find((i) => i.kind === 'proration');
    expect(downgrade.lines.map((l: any) => [l.type, l.amount])).toEqual([['proration_credit', -4200], ['proration_charge', 2100]]);
    expect((await api.get(`/v1/credit_notes/${downgrade.credit_note}`)).body).toMatchObject({ amount: 2100, remaining: 2100 });
    // The fee kept 41.00 (62.00 less the 21.00 note); the credit's other 21.00 paid the new plan's charge.
    expect(await chargeBack(api, s.fee.id, 6200)).toMatchObject({ credit_notes_reversed: 2100, credit_notes_shortfall: 0 });
    expect((await api.get(`/v1/credit_notes/${downgrade.credit_note}`)).body).toMatchObject({ remaining: 0, amount_reversed: 2100 });
    expect((await balance(api, s.customer)).money_balance).toEqual([{ currency: 'USD', amount: 0 }]);
    expect((await api.get('/v1/reconciliation')).body.discrepancies).toEqual([]);
  });

  it('a cancellation crediting an upgrade\'s charge (11.00 note) is found from the upgrade\'s invoice: its chargeback takes the note back, its refund leaves it out', async () => {
    const { api } = ctx;
    const [small, large] = [await newPlan(api, 3100, '0'), await newPlan(api, 6200, '0')];
    /** 31.00 paid; upgraded on 11 March (21.00 paid); the small fee charged back in full; canceled on 21 March. */
    const upgradedThenCanceled = async () => {
      const s = await paidSubscription(api, small);
      await advance(api, s.clock, '2026-03-11T00:00:00Z');
      expect((await api.post(`/v1/subscriptions/${s.sub.id}/change`, { plan: large.code, timing: 'immediate' })).status).toBe(200);
      const upgrade = (await listAll(api, `/v1/invoices?customer=${s.customer}`)).find((i) => i.kind === 'proration');
      expect((await api.post(`/v1/invoices/${upgrade.id}/payments`, { amount: 2100 })).status).toBe(201);
      expect(await chargeBack(api, s.fee.id, 3100)).toMatchObject({ credit_notes_reversed: 0, credit_notes_shortfall: 0 });
      await advance(api, s.clock, '2026-03-21T00:00:00Z');
      expect((await api.post(`/v1/subscriptions/${s.sub.id}/cancel`, { timing: 'immediate' })).status).toBe(200);
      // The final invoice starts with the period (1 March), before the upgrade's invoice (11 March) whose charge it credits.
      const final = (await listAll(api, `/v1/invoices?customer=${s.customer}`)).find((i) => i.kind === 'final');
      expect(final.lines.map((l: any) => [l.type, l.amount, l.refs.fee_invoice])).toEqual([['proration_credit', -1100, upgrade.id]]);
      return { ...s, upgrade, note: final.credit_note as string };
    };

    // 52.00 paid, 31.00 charged back, 11.00 as a note: the upgrade kept 10.00 of its 21.00.
    const charged = await upgradedThenCanceled();
    // Before: nothing taken back, 63.00 back for 52.00 paid.
    expect(await chargeBack(api, charged.upgrade.id, 2100)).toMatchObject({ credit_notes_reversed: 1100, credit_notes_shortfall: 0 });
    expect((await api.get(`/v1/credit_notes/${charged.note}`)).body).toMatchObject({ remaining: 0, amount_reversed: 1100 });

    // Before: all 21.00 refunded in cash beside the 11.00 note.
    const refunded = await upgradedThenCanceled();
    const refund = await api.post('/v1/refunds', { invoice: refunded.upgrade.id, amount: 2100, reason: 'requested_by_customer', credit_policy: 'none' });
    expect([refund.status, refund.body.error?.code, refund.body.error?.details?.returnable]).toEqual([409, 'amount_exceeds_paid', 1000]);
    expect((await api.get('/v1/reconciliation')).body.discrepancies).toEqual([]);
  });

  it('a fee invoice whose unused time was credited cannot be voided: the credit would stand for a fee never charged', async () => {
    const { api } = ctx;
    const [small, large] = [await newPlan(api, 3100, '310'), await newPlan(api, 6200, '620')];
    const unpaid = async () => {
      const clock = await newClock(api, '2026-03-01T00:00:00Z');
      const customer = (await api.post('/v1/customers', { external_id: unique('cust'), currency: 'USD', test_clock: clock })).body.id as string;
      const sub = (await api.post('/v1/subscriptions', { customer, plan: small.code })).body;
      await advance(api, clock, '2026-03-11T00:00:00Z');
      return { customer, sub, fee: (await listAll(api, `/v1/invoices?customer=${customer}`))[0] };
    };

    // Canceled with its fee unpaid: 21.00 of unused time as a note beside the 31.00 still owed.
    const canceled = await unpaid();
    expect((await api.post(`/v1/subscriptions/${canceled.sub.id}/cancel`, { timing: 'immediate' })).status).toBe(200);
    const final = (await listAll(api, `/v1/invoices?customer=${canceled.customer}`)).find((i) => i.kind === 'final');
    expect(final.lines.map((l: any) => [l.type, l.amount, l.refs.fee_invoice])).toEqual([['proration_credit', -2100, canceled.fee.id]]);
    // Before: the void went through, and the 21.00 note was then paid out in cash for a fee never charged.
    const voided = await api.post(`/v1/invoices/${canceled.fee.id}/void`);
    expect([voided.status, voided.body.error?.code, voided.body.error?.details?.credited_by]).toEqual([409, 'invoice_not_voidable', [final.id]]);
    expect((await api.get(`/v1/invoices/${canceled.fee.id}`)).body).toMatchObject({ status: 'open', amount_remaining: 3100 });
    const payout = await api.post(`/v1/credit_notes/${final.credit_note}/refund`, {});
    expect([payout.status, payout.body.error?.code]).toEqual([409, 'customer_has_unpaid_invoices']);
    // The note pays the fee's unused time; 10.00 for the 10 days used is left to pay.
    expect((await api.post(`/v1/invoices/${canceled.fee.id}/apply_balance`)).body).toMatchObject({ balance_applied: 2100, amount_remaining: 1000 });

    // Upgraded with its fee unpaid: the new plan's charge was lowered by the old fee's credit.
    const upgraded = await unpaid();
    expect((await api.post(`/v1/subscriptions/${upgraded.sub.id}/change`, { plan: large.code, timing: 'immediate' })).status).toBe(200);
    const proration = (await listAll(api, `/v1/invoices?customer=${upgraded.customer}`)).find((i) => i.kind === 'proration');
    expect(proration.lines.map((l: any) => [l.type, l.amount])).toEqual([['proration_credit', -2100], ['proration_charge', 4200]]);
    const refused = await api.post(`/v1/invoices/${upgraded.fee.id}/void`);
    expect([refused.status, refused.body.error?.details?.credited_by]).toEqual([409, [proration.id]]);
    // Once the invoice that gave the credit is void itself, the fee can be voided as well.
    expect((await api.post(`/v1/invoices/${proration.id}/void`)).status).toBe(200);
    expect((await api.post(`/v1/invoices/${upgraded.fee.id}/void`)).status).toBe(200);
    expect((await api.get('/v1/reconciliation')).body.discrepancies).toEqual([]);
    await expectLedgerConsistent(api);
  });

  it('a fee paid by a goodwill note that is not refundable comes back as balance that is not refundable either, on a cancellation or a refund', async () => {
    const { api } = ctx;
    const plan = await newPlan(api, 3100, '310');
    const goodwillPaid = async () => {
      const clock = await newClock(api, '2026-03-01T00:00:00Z');
      const customer = (await api.post('/v1/customers', { external_id: unique('cust'), currency: 'USD', test_clock: clock })).body.id as string;
      const note = await api.post('/v1/credit_notes', { customer, amount: 3100, reason: 'welcome' });
      expect(note.body).toMatchObject({ refundable: false });
      const sub = (await api.post('/v1/subscriptions', { customer, plan: plan.code })).body;
      const fee = (await listAll(api, `/v1/invoices?customer=${customer}`))[0];
      expect(fee).toMatchObject({ status: 'paid', balance_applied: 3100, amount_due: 0 });
      return { clock, customer, sub, fee };
    };

    // Canceled with 21 of 31 days left: 21.00 back as balance for the next invoices, not as cash.
    const canceled = await goodwillPaid();
    await advance(api, canceled.clock, '2026-03-11T00:00:00Z');
    expect((await api.post(`/v1/subscriptions/${canceled.sub.id}/cancel`, { timing: 'immediate' })).status).toBe(200);
    const final = (await listAll(api, `/v1/invoices?customer=${canceled.customer}`)).find((i) => i.kind === 'final');
    // Before: a refundable note, and 21.00 of the goodwill was paid out in cash.
    expect((await api.get(`/v1/credit_notes/${final.credit_note}`)).body).toMatchObject({ amount: 2100, source: 'proration', refundable: false });
    const payout = await api.post(`/v1/credit_notes/${final.credit_note}/refund`, {});
    expect([payout.status, payout.body.error?.code]).toEqual([409, 'credit_note_not_refundable']);

    // Refunded to the balance (the only way back for what a note paid): the same.
    const refunded = await goodwillPaid();
    const refund = await api.post('/v1/refunds', { invoice: refunded.fee.id, amount: 3100, reason: 'requested_by_customer', credit_policy: 'none', to: 'balance' });
    expect(refund.status, JSON.stringify(refund.body)).toBe(201);
    // Before: a refundable note of 31.00, paid out in cash.
    expect((await api.get(`/v1/credit_notes/${refund.body.credit_note}`)).body).toMatchObject({ amount: 3100, source: 'refund', refundable: false });
    expect((await api.post(`/v1/credit_notes/${refund.body.credit_note}/refund`, {})).body.error?.code).toBe('credit_note_not_refundable');

    // Paid in money, the same cancellation's note is refundable, as is a refund to the balance of what is left.
    const cash = await paidSubscription(api, plan);
    await advance(api, cash.clock, '2026-03-11T00:00:00Z');
    expect((await api.post(`/v1/subscriptions/${cash.sub.id}/cancel`, { timing: 'immediate' })).status).toBe(200);
    const cashFinal = (await listAll(api, `/v1/invoices?customer=${cash.customer}`)).find((i) => i.kind === 'final');
    expect((await api.get(`/v1/credit_notes/${cashFinal.credit_note}`)).body).toMatchObject({ amount: 2100, refundable: true });
    const rest = await api.post('/v1/refunds', { invoice: cash.fee.id, amount: 1000, reason: 'requested_by_customer', credit_policy: 'none', to: 'balance' });
    expect((await api.get(`/v1/credit_notes/${rest.body.credit_note}`)).body).toMatchObject({ amount: 1000, refundable: true });
    expect((await api.get('/v1/reconciliation')).body.discrepancies).toEqual([]);
  });

  /**
   * 31.00 paid; upgraded on 11 March to 62.00 a month (21/31 of it, 42.00, less the old fee's
   * 21.00 of unused time: 21.00 paid); canceled on 21 March: 11/31 of 62.00, a 22.00 note.
   */
  const upgradedThenCanceledWithNote = async (api: Api) => {
    const [small, large] = [await newPlan(api, 3100, '0'), await newPlan(api, 6200, '0')];
    const s = await paidSubscription(api, small);
    await advance(api, s.clock, '2026-03-11T00:00:00Z');
    expect((await api.post(`/v1/subscriptions/${s.sub.id}/change`, { plan: large.code, timing: 'immediate' })).status).toBe(200);
    const upgrade = (await listAll(api, `/v1/invoices?customer=${s.customer}`)).find((i) => i.kind === 'proration');
    expect(upgrade.lines.map((l: any) => [l.type, l.amount])).toEqual([['proration_credit', -2100], ['proration_charge', 4200]]);
    expect((await api.post(`/v1/invoices/${upgrade.id}/payments`, { amount: 2100 })).status).toBe(201);
    await advance(api, s.clock, '2026-03-21T00:00:00Z');
    expect((await api.post(`/v1/subscriptions/${s.sub.id}/cancel`, { timing: 'immediate' })).status).toBe(200);
    const final = (await listAll(api, `/v1/invoices?customer=${s.customer}`)).find((i) => i.kind === 'final');
    expect(final.lines.map((l: any) => [l.type, l.amount, l.refs.fee_invoice])).toEqual([['proration_credit', -2200, upgrade.id]]);
    return { ...s, upgrade, note: final.credit_note as string };
  };
  const refund = (api: Api, invoice: string, amount: number) => api.post('/v1/refunds', { invoice, amount, reason: 'requested_by_customer', credit_policy: 'none' });

  it('a cancellation\'s 22.00 note on an upgrade half paid by the old fee\'s credit gives back 11.00 of each invoice: 20.00 and 10.00 are left to refund', async () => {
    const { api } = ctx;
    const s = await upgradedThenCanceledWithNote(api);
    // The upgrade's 42.00 charge was paid 21.00 by the old fee's credit and 21.00 in money: half the note each.
    const note = (await api.get(`/v1/credit_notes/${s.note}`)).body;
    expect(note).toMatchObject({ amount: 2200, refundable: true });
    expect(new Map(note.gives_back.map((g: any) => [g.invoice, g.amount]))).toEqual(new Map([[s.fee.id, 1100], [s.upgrade.id, 1100]]));
    // Before: the old fee's 31.00 could all be refunded (53.00 back for 52.00 paid) and the upgrade's nothing.
    const fee = await refund(api, s.fee.id, 3100);
    expect([fee.status, fee.body.error?.code, fee.body.error?.details?.returnable]).toEqual([409, 'amount_exceeds_paid', 2000]);
    const upgrade = await refund(api, s.upgrade.id, 2100);
    expect([upgrade.status, upgrade.body.error?.code, upgrade.body.error?.details?.returnable]).toEqual([409, 'amount_exceeds_paid', 1000]);
    expect((await refund(api, s.fee.id, 2000)).status).toBe(201);
    expect((await refund(api, s.upgrade.id, 1000)).status).toBe(201);
    expect((await api.post(`/v1/credit_notes/${s.note}/refund`, {})).body).toMatchObject({ amount_refunded: 2200, remaining: 0 });
    // 20.00 + 10.00 + 22.00 back: the 52.00 paid, no more.
    expect((await api.get(`/v1/reports/revenue?customer=${s.customer}`)).body.totals).toEqual([expect.objectContaining({ paid: 5200, refunded: 3000, credit_notes: 2200, net: 0 })]);
    expect((await api.get('/v1/reconciliation')).body.discrepancies).toEqual([]);

    // The other order: the note paid out first, then each invoice refunded as far as it can be.
    const first = await upgradedThenCanceledWithNote(api);
    expect((await api.post(`/v1/credit_notes/${first.note}/refund`, {})).status).toBe(200);
    expect((await refund(api, first.upgrade.id, 1001)).body.error?.details?.returnable).toBe(1000);
    expect((await refund(api, first.fee.id, 2001)).body.error?.details?.returnable).toBe(2000);
    await expectLedgerConsistent(api);
  });

  it('chargebacks of both invoices of an upgrade take the 22.00 note back, 11.00 each: 52.00 back for 52.00 paid', async () => {
    const { api } = ctx;
    const s = await upgradedThenCanceledWithNote(api);
    // The old fee kept 20.00 of its 31.00: 11.00 of the chargeback comes off the note.
    expect(await chargeBack(api, s.fee.id, 3100)).toMatchObject({ credit_notes_reversed: 1100, credit_notes_shortfall: 0 });
    // Before: the upgrade's chargeback took 21.00 of the note, and 1.00 of it was left to pay out (53.00 back).
    expect(await chargeBack(api, s.upgrade.id, 2100)).toMatchObject({ credit_notes_reversed: 1100, credit_notes_shortfall: 0 });
    expect((await api.get(`/v1/credit_notes/${s.note}`)).body).toMatchObject({ amount: 2200, remaining: 0, amount_reversed: 2200 });
    expect((await balance(api, s.customer)).money_balance).toEqual([{ currency: 'USD', amount: 0 }]);
    expect((await api.get('/v1/reconciliation')).body.discrepancies).toEqual([]);
  });

  it('a fee still unpaid when its 21.00 note was issued, then paid by 31.00 of goodwill: the note is no longer refundable', async () => {
    const { api } = ctx;
    const plan = await newPlan(api, 3100, '310');
    const clock = await newClock(api, '2026-03-01T00:00:00Z');
    const customer = (await api.post('/v1/customers', { external_id: unique('cust'), currency: 'USD', test_clock: clock })).body.id as string;
    const sub = (await api.post('/v1/subscriptions', { customer, plan: plan.code })).body;
    const fee = (await listAll(api, `/v1/invoices?customer=${customer}`))[0];
    expect(fee).toMatchObject({ status: 'open', amount_due: 3100 });
    await advance(api, clock, '2026-03-11T00:00:00Z');
    const goodwill = await api.post('/v1/credit_notes', { customer, amount: 3100, reason: 'welcome' });
    expect(goodwill.body).toMatchObject({ refundable: false });
    expect((await api.post(`/v1/subscriptions/${sub.id}/cancel`, { timing: 'immediate' })).status).toBe(200);
    const final = (await listAll(api, `/v1/invoices?customer=${customer}`)).find((i) => i.kind === 'final');
    // The fee was paid by nothing yet: the note for its unused time is refundable when issued.
    expect((await api.get(`/v1/credit_notes/${final.credit_note}`)).body).toMatchObject({ amount: 2100, refundable: true });
    // The balance pays the fee, oldest note first: all of it the goodwill.
    expect((await api.post(`/v1/invoices/${fee.id}/apply_balance`)).body).toMatchObject({ status: 'paid', balance_applied: 3100 });
    // Before: the note stayed refundable and 21.00 of the goodwill was paid out in cash.
    expect((await api.get(`/v1/credit_notes/${final.credit_note}`)).body).toMatchObject({ amount: 2100, remaining: 2100, refundable: false });
    const payout = await api.post(`/v1/credit_notes/${final.credit_note}/refund`, {});
    expect([payout.status, payout.body.error?.code]).toEqual([409, 'credit_note_not_refundable']);
    expect((await domainEvents(api, customer, 'credit_note.updated')).map((e) => e.data)).toEqual([
      { credit_note: final.credit_note, refundable: false, paid_invoice: fee.id },
    ]);

    expect((await api.get('/v1/reconciliation')).body.discrepancies).toEqual([]);
  });
});
