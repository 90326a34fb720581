import { describe, expect, it } from 'vitest';
import { dialects } from '../support/databases.ts';
import { unique, useServer, type Api } from '../support/server.ts';
import { advance, at, balance, days, expectLedgerConsistent, newCustomer, perUnitMeter, transactions, use } from './fixtures.ts';

/**
 * Ledger transactions as comparable facts: kind, cause type and entries. Ids of records the call
 * creates are provisional in a preview, so a grant it creates is named `grant:new`.
 */
const facts = (txns: { kind: string; cause: { type: string }; entries: { account: string; amount: string }[] }[], known: Set<string> = new Set()) =>
  txns.map((t) => ({
    kind: t.kind,
    cause: t.cause.type,
    entries: t.entries.map((e) => ({ account: e.account.startsWith('grant:') && !known.has(e.account.slice(6)) ? 'grant:new' : e.account, amount: e.amount })),
  })).sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
const grantIds = async (api: Api, customer: string) => new Set<string>((await api.get(`/v1/grants?customer=${customer}&limit=100`)).body.data.map((g: { id: string }) => g.id));
const lines = (invoices: { kind: string; total: number; lines: { type: string; amount: number; quantity: string }[] }[]) =>
  invoices.map((i) => ({ kind: i.kind, total: i.total, lines: i.lines.map((l) => [l.type, l.amount, l.quantity]) }));

async function plan(api: Api, amount: number, credits: string): Promise<string> {
  const created = await api.post('/v1/plans', { code: unique('plan'), name: 'Plan', currency: 'USD', interval: 'month', amount, included_credits: credits });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  return created.body.code as string;
}

async function writesOf(api: Api, customer: string) {
  const [txns, invoices, refunds] = await Promise.all([
    transactions(api, customer),
    api.get(`/v1/invoices?customer=${customer}`),
    api.get(`/v1/refunds?customer=${customer}`),
  ]);
  return { txns: txns.length, invoices: invoices.body.data.length, refunds: refunds.body.data.length, balance: await balance(api, customer) };
}

/** The previews compute exactly what the real call then does, and write nothing (PRODUCT §12). */
describe.each(dialects)('previews on %s', (dialect) => {
  const ctx = useServer(dialect);

  it('previews a refund: the same credits revoked and ledger entries as the refund made next; nothing stored', async () => {
    const { api } = ctx;
    const customer = await newCustomer(api);
    const meter = await perUnitMeter(api);
    const bought = await api.post(`/v1/customers/${customer.id}/purchases`, { credits: '100', amount: 1000 });
    expect((await api.post(`/v1/invoices/${bought.body.invoice.id}/payments`, { amount: 1000 })).status).toBe(201);
    await use(api, customer.id, meter.type, 30);
    const body = { invoice: bought.body.invoice.id, amount: 500, reason: 'Customer asked', credit_policy: 'proportional' };

    const before = await writesOf(api, customer.id);
    const previewed = await api.post('/v1/refunds/preview', body);
    expect(previewed.status, JSON.stringify(previewed.body)).toBe(200);
    expect(previewed.body.refund).toMatchObject({ object: 'refund', amount: 500, credits_revoked: '50', credits_shortfall: '0' });
    expect(await writesOf(api, customer.id)).toEqual(before);

    const made = await api.post('/v1/refunds', body);
    expect(made.status).toBe(201);
    const { id: _p, created_at: _pc, transaction: _pt, ...previewFields } = previewed.body.refund;
    const { id: _r, created_at: _rc, transaction: _rt, ...madeFields } = made.body;
    expect(previewFields).toEqual(madeFields);
    const posted = await api.get(`/v1/ledger/transactions/${made.body.transaction}`);
    expect(facts(previewed.body.ledger_transactions)).toEqual(facts([posted.body]));
    expect(previewed.body.events).toContain('refund.created');
    await expectLedgerConsistent(api);
  });

  it('previews a plan change now and a cancellation: the same proration invoice and credit changes as the calls made next', async () => {
    const { api } = ctx;
    const customer = await newCustomer(api);
    const [small, large] = [await plan(api, 1000, '1000'), await plan(api, 3000, '5000')];
    const sub = (await api.post('/v1/subscriptions', { customer: customer.id, plan: small })).body;
    await advance(api, customer.clock!, at(10 * days));

    const before = await writesOf(api, customer.id);
    const change = await api.post(`/v1/subscriptions/${sub.id}/change/preview`, { plan: large, timing: 'immediate' });
    expect(change.status, JSON.stringify(change.body)).toBe(200);
    expect(change.body.object).toBe('subscription_preview');
    expect(change.body.invoices.map((i: { kind: string }) => i.kind)).toEqual(['proration']);
    expect(await writesOf(api, customer.id)).toEqual(before);
    const txnsBefore = await transactions(api, customer.id);
    const known = await grantIds(api, customer.id);

    const changed = await api.post(`/v1/subscriptions/${sub.id}/change`, { plan: large, timing: 'immediate' });
    expect(changed.status).toBe(200);
    const { created_at: _a, ...previewSub } = change.body.subscription;
    const { created_at: _b, ...changedSub } = changed.body;
    expect(previewSub).toEqual(changedSub);
    const invoices = (await api.get(`/v1/invoices?subscription=${sub.id}`)).body.data.filter((i: { kind: string }) => i.kind === 'proration');
    expect(lines(change.body.invoices)).toEqual(lines(invoices));
    const newTxns = (await transactions(api, customer.id)).filter((t) => !txnsBefore.some((b) => b.id === t.id));
    expect(facts(change.body.ledger_transactions, known)).toEqual(facts(newTxns, known));

    await advance(api, customer.clock!, at(15 * days));
    const cancel = await api.post(`/v1/subscriptions/${sub.id}/cancel/preview`, { timing: 'immediate' });
    expect(cancel.status, JSON.stringify(cancel.body)).toBe(200);
    expect(cancel.body.subscription.status).not.toBe(changed.body.status);
    const beforeCancel = await transactions(api, customer.id);
    const knownAtCancel = await grantIds(api, customer.id);
    const canceled = await api.post(`/v1/subscriptions/${sub.id}/cancel`, { timing: 'immediate' });
    expect(canceled.body.status).toBe(cancel.body.subscription.status);
    const cancelTxns = (await transactions(api, customer.id)).filter((t) => !beforeCancel.some((b) => b.id === t.id));
    expect(facts(cancel.body.ledger_transactions, knownAtCancel)).toEqual(facts(cancelTxns, knownAtCancel));
    await expectLedgerConsistent(api);
  });

  it('answers a preview of bad input like the real call, storing nothing', async () => {
    const { api } = ctx;
    const bad = await api.post('/v1/refunds/preview', { invoice: 'inv_missing', amount: 100, reason: 'x', credit_policy: 'full' });
    expect(bad.status).toBe(404);
    expect(bad.body.error.code).toBe('invoice_not_found');
    const invalid = await api.post('/v1/subscriptions/sub_missing/change/preview', { plan: 'p', timing: 'soon' });
    expect(invalid.status).toBe(400);
    expect(invalid.body.error.details.fields[0].field).toBe('timing');
  });
});
