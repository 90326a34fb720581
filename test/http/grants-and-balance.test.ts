import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { dialects } from '../support/databases.ts';
import { useServer } from '../support/server.ts';
import {
  advance, at, balance, days, domainEvents, expectLedgerConsistent, newCustomer, newGrant, perUnitMeter, transactions, use,
} from './fixtures.ts';

/** Grants over time (PRODUCT §4): expiry, void, future grants, and the low-balance signals. */
describe.each(dialects)('grants and balance on %s', (dialect) => {
  const ctx = useServer(dialect);

  it('moves the remainder of a grant to expired when the test clock passes expires_at', async () => {
    const { api } = ctx;
    const customer = await newCustomer(api);
    const meter = await perUnitMeter(api);
    const expiring = await newGrant(api, customer.id, '30', { expires_at: at(1 * days) });
    const lasting = await newGrant(api, customer.id, '5');
    await use(api, customer.id, meter.type, 10);
    expect(await balance(api, customer.id)).toMatchObject({ available: '25' });

    await advance(api, customer.clock!, at(2 * days));
    expect((await api.get(`/v1/grants/${expiring.id}`)).body).toMatchObject({ status: 'expired', closed_at: at(1 * days).replace('.000Z', 'Z') });
    const after = await balance(api, customer.id);
    expect(after).toMatchObject({ available: '5', paid: '5', as_of: at(2 * days).replace('.000Z', 'Z') });
    expect(after.grants.map((g: { id: string }) => g.id)).toEqual([lasting.id]);
    const expiry = (await transactions(api, customer.id)).find((t) => t.kind === 'expiry');
    expect(expiry).toMatchObject({ cause: { type: 'grant_expiry', id: expiring.id }, effective_at: at(1 * days).replace('.000Z', 'Z') });
    expect(expiry.entries).toEqual(expect.arrayContaining([{ account: `grant:${expiring.id}`, amount: '-20' }, { account: 'expired', amount: '20' }]));
    expect(await domainEvents(api, customer.id, 'grant.expired')).toMatchObject([{ data: { grant: expiring.id, credits: '20' } }]);

    // Advancing again runs nothing twice.
    await advance(api, customer.clock!, at(3 * days));
    expect(await domainEvents(api, customer.id, 'grant.expired')).toHaveLength(1);
    await expectLedgerConsistent(api);
  });

  it('never counts a grant past expires_at, even before any expiry job has run', async () => {
    const { api } = ctx;
    // On the real clock: the test server runs no scheduler, so only the read can leave the grant out.
    const customer = await newCustomer(api, { clock: null });
    const meter = await perUnitMeter(api);
    const expiresAt = new Date(Date.now() + 2000).toISOString();
    const soon = await newGrant(api, customer.id, '40', { expires_at: expiresAt });
    const lasting = await newGrant(api, customer.id, '3');
    expect(await balance(api, customer.id)).toMatchObject({ available: '43' });

    await sleep(Math.max(0, Date.parse(expiresAt) - Date.now()) + 50);
    expect((await api.get(`/v1/grants/${soon.id}`)).body.status).toBe('active');
    const after = await balance(api, customer.id);
    expect(after).toMatchObject({ available: '3', paid: '3' });
    expect(after.grants.map((g: { id: string }) => g.id)).toEqual([lasting.id]);
    const check = await api.post(`/v1/customers/${customer.id}/authorize`, { credits: '10' });
    expect(check.body).toMatchObject({ allowed: false, available: '3', cost: '10' });
    // Usage cannot spend it either: what the lasting grant does not cover becomes debt.
    const result = await use(api, customer.id, meter.type, 5);
    expect(result).toMatchObject({ credits: '5', paid_by: [{ grant: lasting.id, credits: '3' }], debt: '2' });
  });

  it('voids a grant: what is left moves to revoked, once', async () => {
    const { api } = ctx;
    const customer = await newCustomer(api);
    const meter = await perUnitMeter(api);
    const grant = await newGrant(api, customer.id, '50');
    await use(api, customer.id, meter.type, 20);

    const voided = await api.post(`/v1/grants/${grant.id}/void`, { reason: 'fraud' });
    expect(voided.status).toBe(200);
    expect(voided.body).toMatchObject({ id: grant.id, status: 'voided', close_reason: 'fraud' });
    expect(await balance(api, customer.id)).toMatchObject({ available: '0', paid: '0', grants: [] });
    const revoke = (await transactions(api, customer.id)).find((t) => t.kind === 'void');
    expect(revoke).toMatchObject({ cause: { type: 'grant_void', id: grant.id } });
    expect(revoke.entries).toEqual(expect.arrayContaining([{ account: `grant:${grant.id}`, amount: '-30' }, { account: 'revoked', amount: '30' }]));
    expect(await domainEvents(api, customer.id, 'grant.voided')).toMatchObject([{ data: { grant: grant.id, credits: '30', reason: 'fraud' } }]);

    const again = await api.post(`/v1/grants/${grant.id}/void`, { reason: 'again' });
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('grant_not_active');
    expect((await api.post(`/v1/grants/grt_nope/void`, { reason: 'x' })).status).toBe(404);
    expect((await api.post(`/v1/grants/${grant.id}/void`, {})).status).toBe(400);
    await expectLedgerConsistent(api);
  });

  it('counts a grant with a future effective_at only from then on', async () => {
    const { api } = ctx;
    const customer = await newCustomer(api);
    const grant = await newGrant(api, customer.id, '25', { effective_at: at(1 * days) });
    expect(await balance(api, customer.id)).toMatchObject({ available: '0', grants: [] });
    await advance(api, customer.clock!, at(1 * days));
    expect(await balance(api, customer.id)).toMatchObject({ available: '25', grants: [{ id: grant.id, remaining: '25' }] });
  });

  it('fires credits.balance_low once per crossing of the threshold and credits.depleted once per reaching zero', async () => {
    const { api } = ctx;
    const customer = await newCustomer(api, { low_balance_threshold: '10' });
    const meter = await perUnitMeter(api);
    const low = () => domainEvents(api, customer.id, 'credits.balance_low');
    const depleted = () => domainEvents(api, customer.id, 'credits.depleted');
    await newGrant(api, customer.id, '25');
    expect(await low()).toHaveLength(0);
    expect(await depleted()).toHaveLength(0);

    await use(api, customer.id, meter.type, 10); // 15 left
    expect(await low()).toHaveLength(0);
    await use(api, customer.id, meter.type, 10); // 5 left: crosses 10
    expect(await low()).toMatchObject([{ type: 'credits.balance_low', customer: customer.id, data: { available: '5', threshold: '10' } }]);
    await use(api, customer.id, meter.type, 2); // 3 left: still below, no new event
    expect(await low()).toHaveLength(1);
    expect(await depleted()).toHaveLength(0);
    await use(api, customer.id, meter.type, 3); // 0 left
    expect(await depleted()).toHaveLength(1);
    await use(api, customer.id, meter.type, 1); // debt; still depleted, no new event
    expect(await depleted()).toHaveLength(1);
    expect(await low()).toHaveLength(1);

    // A top-up re-arms both signals (50 less the debt of 1 = 49), and the next crossings fire again.
    await newGrant(api, customer.id, '50');
    expect(await balance(api, customer.id)).toMatchObject({ available: '49', debt: '0' });
    await use(api, customer.id, meter.type, 45); // 4 left
    expect(await low()).toHaveLength(2);
    await use(api, customer.id, meter.type, 4); // 0 left
    expect(await depleted()).toHaveLength(2);
    expect(await low()).toHaveLength(2);
  });

  it('does not report a first grant below the threshold as a crossing: a new customer starts low and depleted', async () => {
    const { api } = ctx;
    const customer = await newCustomer(api, { low_balance_threshold: '10' });
    const meter = await perUnitMeter(api);
    await newGrant(api, customer.id, '4');
    expect(await domainEvents(api, customer.id, 'credits.balance_low')).toEqual([]);
    expect(await domainEvents(api, customer.id, 'credits.depleted')).toEqual([]);
    await use(api, customer.id, meter.type, 4);
    expect(await domainEvents(api, customer.id, 'credits.depleted')).toHaveLength(1);
    expect(await domainEvents(api, customer.id, 'credits.balance_low')).toEqual([]);
    await newGrant(api, customer.id, '30');
    await use(api, customer.id, meter.type, 25);
    expect(await domainEvents(api, customer.id, 'credits.balance_low')).toMatchObject([{ data: { available: '5' } }]);
  });

  it('fires credits.balance_low when a void or an expiry takes the balance below the threshold', async () => {
    const { api } = ctx;
    const customer = await newCustomer(api, { low_balance_threshold: '10' });
    // The largest grant comes first so the balance never sits below the threshold until the void and the expiry.
    const expiring = await newGrant(api, customer.id, '30', { expires_at: at(1 * days) });
    const voided = await newGrant(api, customer.id, '20');
    const kept = await newGrant(api, customer.id, '4');
    await api.post(`/v1/grants/${voided.id}/void`, { reason: 'test' });
    expect(await domainEvents(api, customer.id, 'credits.balance_low')).toHaveLength(0); // 34 left
    await advance(api, customer.clock!, at(2 * days));
    expect(await balance(api, customer.id)).toMatchObject({ available: '4', grants: [{ id: kept.id }] });
    expect(await domainEvents(api, customer.id, 'credits.balance_low')).toMatchObject([{ data: { available: '4' } }]);
    expect((await api.get(`/v1/grants/${expiring.id}`)).body.status).toBe('expired');
  });

  it('lists grants of a customer and reads one', async () => {
    const { api } = ctx;
    const customer = await newCustomer(api);
    const one = await newGrant(api, customer.id, '1.5', { category: 'promotional', source: 'referral', priority: 7, metadata: { campaign: 'spring' } });
    const two = await newGrant(api, customer.id, '2', { cost_basis: { amount: 200, currency: 'USD' } });
    const list = await api.get(`/v1/grants?customer=${customer.externalId}`);
    expect(list.body.data.map((g: { id: string }) => g.id)).toEqual([one.id, two.id]);
    expect((await api.get(`/v1/grants/${one.id}`)).body).toMatchObject({
      customer: customer.id, credits: '1.5', remaining: '1.5', category: 'promotional', source: 'referral', priority: 7, metadata: { campaign: 'spring' }, status: 'active',
    });
    expect((await api.get(`/v1/grants/${two.id}`)).body).toMatchObject({ cost_basis: { amount: 200, currency: 'USD' }, priority: 50 });
    expect(await balance(api, customer.id)).toMatchObject({ available: '3.5', paid: '2', promotional: '1.5' });
  });

  it('links a grant only to an invoice of its customer, and reconciles a purchase recorded from outside', async () => {
    const { api } = ctx;
    const customer = await newCustomer(api);
    const other = await newCustomer(api);
    const bought = await api.post(`/v1/customers/${customer.id}/purchases`, { credits: '10', amount: 100 });
    expect(bought.status).toBe(201);
    const theirs = await api.post(`/v1/customers/${other.id}/purchases`, { credits: '10', amount: 100 });
    const before = (await api.get(`/v1/grants?customer=${customer.id}`)).body.data.length;
    for (const invoice of ['inv_nope', theirs.body.invoice.id]) {
      const refused = await api.post('/v1/grants', { customer: customer.id, credits: '5', category: 'paid', source: 'purchase', invoice });
      expect([refused.status, refused.body.error.code]).toEqual([404, 'invoice_not_found']);
    }
    expect((await api.get(`/v1/grants?customer=${customer.id}`)).body.data.length).toBe(before);

    // Paid credits bought elsewhere, recorded with their cost: nothing for the purchase-link check.
    const outside = await newGrant(api, customer.id, '7', { cost_basis: { amount: 70, currency: 'USD' } });
    // Credits claimed on an invoice that sold credits, without its line: named.
    const claimed = await newGrant(api, customer.id, '3', { invoice: bought.body.invoice.id });
    const reconciliation = await api.get('/v1/reconciliation');
    const named = reconciliation.body.discrepancies.filter((d: { ids: string[] }) => d.ids.includes(customer.id));
    expect(named).toEqual([expect.objectContaining({ check: 'purchase_grants_linked', ids: expect.arrayContaining([claimed.id, bought.body.invoice.id]) })]);
    expect(named[0].ids).not.toContain(outside.id);
  });

  it('takes a grant\'s cost basis only in its customer\'s currency, as the deferred revenue report counts it', async () => {
    const { api } = ctx;
    const customer = await newCustomer(api);
    // A USD customer's 100 credits bought for 10.000 KWD: before, kept, and the deferred revenue
    // report counted a KWD row for a customer whose invoices are all in USD.
    const refused = await api.post('/v1/grants', { customer: customer.id, credits: '100', category: 'paid', source: 'purchase', cost_basis: { amount: 10000, currency: 'KWD' } });
    expect([refused.status, refused.body.error.details.fields]).toEqual([400, [
      { field: 'cost_basis.currency', code: 'currency_mismatch', message: 'cost_basis must be in USD, the customer\'s currency.' },
    ]]);
    expect((await api.get(`/v1/grants?customer=${customer.id}`)).body.data).toEqual([]);
    await newGrant(api, customer.id, '100', { cost_basis: { amount: 2500, currency: 'USD' } });
    const report = await api.get(`/v1/reports/deferred_revenue?customer=${customer.id}`);
    expect(report.body.totals).toEqual([expect.objectContaining({ currency: 'USD', purchased: 2500, closing_deferred: 2500 })]);
  });
});
