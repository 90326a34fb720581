import { describe, expect, it } from 'vitest';
import { dialects } from '../support/databases.ts';
import { unique, useServer } from '../support/server.ts';
import { advance, balance, expectLedgerConsistent, listAll, newClock, newCustomer, perUnitMeter, transactions, use } from './fixtures.ts';

/**
 * A voided invoice bills nothing (PRODUCT §6): the overage its lines billed is owed again and the
 * next invoice bills it, once, on a line referencing its period; the customer's `overage` account
 * never goes below zero.
 */
describe.each(dialects)('voiding an invoice that billed overage on %s', (dialect) => {
  const ctx = useServer(dialect);

  it('bills the overage of an invoice voided months after its period on the next renewal, and waits for it meanwhile', async () => {
    const { api } = ctx;
    const clock = await newClock(api, '2026-03-01T00:00:00Z');
    const meter = await perUnitMeter(api);
    const plan = (await api.post('/v1/plans', {
      code: unique('plan'), name: 'Old', currency: 'USD', interval: 'month', amount: 1000, included_credits: '10', overage: { unit_amount_per_credit: '1' },
    })).body;
    const customer = await newCustomer(api, { clock, overage: true, net_days: 365 });
    await api.post('/v1/subscriptions', { customer: customer.id, plan: plan.code });
    await use(api, customer.id, meter.type, 30);
    // March's 20 credits of overage are billed on April's invoice, which stays open (365 days' terms).
    await advance(api, clock, '2026-06-15T00:00:00Z');
    const april = (await listAll(api, `/v1/invoices?customer=${customer.id}`)).find((i) => i.period_start === '2026-04-01T00:00:00Z');
    expect(april.lines.map((l: any) => [l.type, l.amount, l.period_start])).toEqual([['subscription_fee', 1000, '2026-04-01T00:00:00Z'], ['overage', 20, '2026-03-01T00:00:00Z']]);
    expect((await api.post(`/v1/invoices/${april.id}/void`, {})).status).toBe(200);
    // Owed again, and waiting for the next invoice: not a discrepancy meanwhile.
    expect((await api.get('/v1/reconciliation')).body.discrepancies).toEqual([]);

    // July's renewal reaches back to March, three periods before the one it closes.
    await advance(api, clock, '2026-07-02T00:00:00Z');
    const july = (await listAll(api, `/v1/invoices?customer=${customer.id}`)).find((i) => i.period_start === '2026-07-01T00:00:00Z');
    expect(july.lines.map((l: any) => [l.type, l.amount, l.period_start])).toEqual([['subscription_fee', 1000, '2026-07-01T00:00:00Z'], ['overage', 20, '2026-03-01T00:00:00Z']]);
    expect(await balance(api, customer.id)).toMatchObject({ overage: '0' });
    await advance(api, clock, '2026-08-02T00:00:00Z');
    const august = (await listAll(api, `/v1/invoices?customer=${customer.id}`)).find((i) => i.period_start === '2026-08-01T00:00:00Z');
    expect(august.lines.map((l: any) => l.type)).toEqual(['subscription_fee']);
    expect((await api.get('/v1/reconciliation')).body.discrepancies).toEqual([]);
    await expectLedgerConsistent(api);
  });

  it('gives the overage back to the customer and bills it on the next renewal, once', async () => {
    const { api } = ctx;
    const clock = await newClock(api, '2026-03-01T00:00:00Z');
    const meter = await perUnitMeter(api);
    const plan = await api.post('/v1/plans', {
      code: unique('plan'), name: 'V', currency: 'USD', interval: 'month', amount: 1000, included_credits: '100', overage: { unit_amount_per_credit: '5' },
    });
    expect(plan.status).toBe(201);
    const customer = await newCustomer(api, { clock, overage: true, net_days: 365 });
    const sub = await api.post('/v1/subscriptions', { customer: customer.id, plan: plan.body.code });
    expect(sub.status).toBe(201);
    // 130 credits against 100 included: 30 of overage at 5 minor units = 150.
    await use(api, customer.id, meter.type, 130);
    await advance(api, clock, '2026-04-01T00:00:00Z');
    const april = (await listAll(api, `/v1/invoices?customer=${customer.id}`)).find((i) => i.period_start === '2026-04-01T00:00:00Z');
    expect(april.lines.map((l: any) => [l.type, l.quantity, l.amount, l.period_start])).toEqual([
      ['subscription_fee', '1', 1000, '2026-04-01T00:00:00Z'], ['overage', '30', 150, '2026-03-01T00:00:00Z'],
    ]);
    expect(await balance(api, customer.id)).toMatchObject({ overage: '0' });

    const voided = await api.post(`/v1/invoices/${april.id}/void`, {});
    expect(voided.status, JSON.stringify(voided.body)).toBe(200);
    // Owed again: back in `overage`, moved by a transaction the void caused.
    expect(await balance(api, customer.id)).toMatchObject({ overage: '30' });
    const back = (await transactions(api, customer.id)).filter((t) => t.kind === 'overage_invoiced' && t.cause.type === 'invoice');
    expect(back).toHaveLength(1);
    expect(back[0]).toMatchObject({ cause: { type: 'invoice', id: april.id }, refs: { invoice: april.id, invoice_line: april.lines[1].id } });
    expect(back[0].entries.map((e: any) => [e.account, e.amount]).sort()).toEqual([['invoiced:overage', '30'], ['overage', '-30']]);
    // Not a discrepancy while it waits: the invoice that billed the period is void, so all of the
    // period's overage is for the next one.
    const waiting = (await api.get('/v1/reconciliation')).body;
    expect(waiting.discrepancies.filter((d: any) => d.ids.includes(sub.body.id) || d.ids.includes(april.id))).toEqual([]);

    await advance(api, clock, '2026-05-01T00:00:00Z');
    const may = (await listAll(api, `/v1/invoices?customer=${customer.id}`)).find((i) => i.period_start === '2026-05-01T00:00:00Z');
    expect(may.lines.map((l: any) => [l.type, l.quantity, l.amount, l.period_start])).toEqual([
      ['subscription_fee', '1', 1000, '2026-05-01T00:00:00Z'], ['overage', '30', 150, '2026-03-01T00:00:00Z'],
    ]);
    expect(may.total).toBe(1150);
    expect(await balance(api, customer.id)).toMatchObject({ overage: '0' });
    const reconciliation = (await api.get('/v1/reconciliation')).body;
    expect(reconciliation.discrepancies.filter((d: any) => d.ids.includes(sub.body.id))).toEqual([]);
    await expectLedgerConsistent(api);
  });

  it('voiding a renewal keeps due what an earlier invoice billed of a period: no discrepancy while the rest waits for the next renewal', async () => {
    const { api } = ctx;
    const clock = await newClock(api, '2026-03-01T00:00:00Z');
    const meter = await perUnitMeter(api);
    const plan = await api.post('/v1/plans', {
      code: unique('plan'), name: 'V', currency: 'USD', interval: 'month', amount: 1000, included_credits: '100', overage: { unit_amount_per_credit: '5' },
    });
    const subscriber = async () => {
      const customer = await newCustomer(api, { clock, overage: true, net_days: 365 });
      const sub = (await api.post('/v1/subscriptions', { customer: customer.id, plan: plan.body.code })).body;
      // 30 credits of March overage, billed by the April renewal.
      await use(api, customer.id, meter.type, 130);
      return { customer, sub };
    };
    const invoiceOf = async (customer: string, periodStart: string) => (await listAll(api, `/v1/invoices?customer=${customer}`)).find((i) => i.period_start === periodStart);
    const discrepanciesOf = async (sub: string) => (await api.get('/v1/reconciliation')).body.discrepancies.filter((d: any) => d.ids.includes(sub));
    const quiet = await subscriber();
    const late = await subscriber();
    await advance(api, clock, '2026-04-01T00:00:00Z');
    // 10 more stamped in March but sent after the April renewal: the May renewal bills them.
    const event = await api.post('/v1/events', { events: [{ id: unique('ev'), customer: late.customer.id, type: meter.type, timestamp: '2026-03-31T12:00:00Z', properties: { n: 10 } }] });
    expect(event.body.results[0].status).toBe('accepted');
    await advance(api, clock, '2026-05-01T00:00:00Z');
    expect((await invoiceOf(quiet.customer.id, '2026-04-01T00:00:00Z')).lines.map((l: any) => [l.type, l.quantity])).toEqual([['subscription_fee', '1'], ['overage', '30']]);
    const quietMay = await invoiceOf(quiet.customer.id, '2026-05-01T00:00:00Z');
    expect(quietMay.lines.map((l: any) => l.type)).toEqual(['subscription_fee']);
    const lateMay = await invoiceOf(late.customer.id, '2026-05-01T00:00:00Z');
    expect(lateMay.lines.map((l: any) => [l.type, l.quantity, l.period_start])).toEqual([['subscription_fee', '1', '2026-05-01T00:00:00Z'], ['overage', '10', '2026-03-01T00:00:00Z']]);

    // May's renewal billed none of March: voided, March's 30 stay billed by April's invoice.
    expect((await api.post(`/v1/invoices/${quietMay.id}/void`, {})).status).toBe(200);
    expect(await balance(api, quiet.customer.id)).toMatchObject({ overage: '0' });
    expect(await discrepanciesOf(quiet.sub.id)).toEqual([]);
    // May's renewal billed 10 of March: voided, they are owed again and wait for the next invoice,
    // while April's 30 stay due and billed.
    expect((await api.post(`/v1/invoices/${lateMay.id}/void`, {})).status).toBe(200);
    expect(await balance(api, late.customer.id)).toMatchObject({ overage: '10' });
    expect(await discrepanciesOf(late.sub.id)).toEqual([]);
    await advance(api, clock, '2026-06-01T00:00:00Z');
    const lateJune = await invoiceOf(late.customer.id, '2026-06-01T00:00:00Z');
    expect(lateJune.lines.map((l: any) => [l.type, l.quantity, l.period_start])).toEqual([['subscription_fee', '1', '2026-06-01T00:00:00Z'], ['overage', '10', '2026-03-01T00:00:00Z']]);
    expect(await balance(api, late.customer.id)).toMatchObject({ overage: '0' });
    expect(await discrepanciesOf(late.sub.id)).toEqual([]);
    expect(await discrepanciesOf(quiet.sub.id)).toEqual([]);
    await expectLedgerConsistent(api);
  });

  it('names a void invoice whose overage was not given back', async () => {
    const { api, database } = ctx;
    const clock = await newClock(api, '2026-03-01T00:00:00Z');
    const meter = await perUnitMeter(api);
    const plan = await api.post('/v1/plans', {
      code: unique('plan'), name: 'V', currency: 'USD', interval: 'month', amount: 1000, included_credits: '100', overage: { unit_amount_per_credit: '5' },
    });
    const customer = await newCustomer(api, { clock, overage: true, net_days: 365 });
    expect((await api.post('/v1/subscriptions', { customer: customer.id, plan: plan.body.code })).status).toBe(201);
    await use(api, customer.id, meter.type, 112);
    await advance(api, clock, '2026-04-01T00:00:00Z');
    const april = (await listAll(api, `/v1/invoices?customer=${customer.id}`)).find((i) => i.period_start === '2026-04-01T00:00:00Z');
    expect((await api.post(`/v1/invoices/${april.id}/void`, {})).status).toBe(200);
    expect((await api.get('/v1/reconciliation')).body.discrepancies.filter((d: any) => d.ids.includes(april.id))).toEqual([]);

    // As releases before migration 60 left a void: the void's transaction gone, its balances with it.
    const db = database.db;
    const [given] = await db.query(`SELECT id FROM ledger_transactions WHERE cause_id = ? AND kind = 'overage_invoiced'`, [april.id]);
    for (const e of await db.query(`SELECT customer_id, account, amount FROM ledger_entries WHERE txn_id = ?`, [given!.id as string])) {
      await db.run(`UPDATE accounts SET balance = balance - ? WHERE customer_id = ? AND code = ?`, [BigInt(e.amount as bigint), e.customer_id as string, e.account as string]);
    }
    await db.run(`DELETE FROM ledger_entries WHERE txn_id = ?`, [given!.id as string]);
    await db.run(`DELETE FROM ledger_transactions WHERE id = ?`, [given!.id as string]);
    await expectLedgerConsistent(api);
    const named = (await api.get('/v1/reconciliation')).body.discrepancies.filter((d: any) => d.ids.includes(april.id));
    expect(named).toEqual([{
      check: 'overage_invoiced', ids: [april.id, customer.id, april.subscription],
      message: `Void invoice ${april.id}'s overage lines and its void together move 12 credits out of overage; a void gives them all back.`,
    }]);
  });
});
