import { describe, expect, it } from 'vitest';
import { dialects } from '../support/databases.ts';
import { useServer, type Api } from '../support/server.ts';
import { advance, at, balance, days, domainEvents, expectLedgerConsistent, listAll, minutes, newCustomer, newGrant, perUnitMeter, transactions, use } from './fixtures.ts';

/**
 * Credit purchases and auto top-up over HTTP (PRODUCT §6): an invoice with a `credit_purchase`
 * line and a paid grant linked to it, pending until the invoice is paid in full; and a top-up that
 * buys once per crossing of the threshold.
 */
describe.each(dialects)('credit purchases over HTTP on %s', (dialect) => {
  const ctx = useServer(dialect);

  async function purchase(api: Api, customer: string, body: Record<string, unknown>): Promise<{ invoice: any; grant: any }> {
    const response = await api.post(`/v1/customers/${customer}/purchases`, body);
    expect(response.status, JSON.stringify(response.body)).toBe(201);
    return response.body;
  }

  async function pay(api: Api, invoice: string, amount: number): Promise<any> {
    const response = await api.post(`/v1/invoices/${invoice}/payments`, { amount });
    expect(response.status, JSON.stringify(response.body)).toBe(201);
    return response.body.invoice;
  }

  const grant = async (api: Api, id: string) => (await api.get(`/v1/grants/${id}`)).body;
  const invoicesOf = (api: Api, customer: string) => listAll(api, `/v1/invoices?customer=${customer}`);

  it('makes an invoice with a credit_purchase line and a pending grant; the balance moves only when it is paid in full', async () => {
    const { api } = ctx;
    const customer = await newCustomer(api);
    const { invoice, grant: bought } = await purchase(api, customer.id, { credits: '500', amount: 2500 });
    expect(invoice).toMatchObject({
      customer: customer.id, kind: 'purchase', subscription: null, plan: null, currency: 'USD', status: 'open', total: 2500, amount_paid: 0,
    });
    expect(invoice.lines).toHaveLength(1);
    expect(invoice.lines[0]).toMatchObject({ type: 'credit_purchase', quantity: '500', unit_amount: '5', amount: 2500 });
    expect(bought).toMatchObject({
      customer: customer.id, credits: '500', category: 'paid', source: 'purchase', status: 'pending',
      invoice: invoice.id, invoice_line: invoice.lines[0].id, cost_basis: { amount: 2500, currency: 'USD' },
    });
    expect(await balance(api, customer.id)).toMatchObject({ available: '0', paid: '0', grants: [] });
    expect(await transactions(api, customer.id)).toEqual([]);

    expect(await pay(api, invoice.id, 1000)).toMatchObject({ status: 'open', amount_paid: 1000 });
    expect(await grant(api, bought.id)).toMatchObject({ status: 'pending' });
    expect(await balance(api, customer.id)).toMatchObject({ available: '0' });

    expect(await pay(api, invoice.id, 1500)).toMatchObject({ status: 'paid', amount_paid: 2500 });
    expect(await grant(api, bought.id)).toMatchObject({ status: 'active', remaining: '500', cost_basis: { amount: 2500, currency: 'USD' } });
    expect(await balance(api, customer.id)).toMatchObject({ available: '500', paid: '500' });
    const [issued] = await transactions(api, customer.id);
    expect(issued.refs).toMatchObject({ invoice: invoice.id, invoice_line: invoice.lines[0].id });
    expect((await domainEvents(api, customer.id, 'invoice.paid')).map((e) => e.data.invoice)).toEqual([invoice.id]);
    await expectLedgerConsistent(api);
  });

  it('shows an uneven unit price exactly and keeps the whole amount as the cost basis', async () => {
    const { api } = ctx;
    const customer = await newCustomer(api);
    const { invoice, grant: bought } = await purchase(api, customer.id, { credits: '3', amount: 1000 });
    expect(invoice.lines[0]).toMatchObject({ quantity: '3', unit_amount: '333.333333', amount: 1000 });
    expect(bought.cost_basis).toEqual({ amount: 1000, currency: 'USD' });
    await pay(api, invoice.id, 1000);
    expect(await balance(api, customer.id)).toMatchObject({ available: '3' });
  });

  it('voids the pending grant with its invoice, so the credits never arrive', async () => {
    const { api } = ctx;
    const customer = await newCustomer(api);
    const { invoice, grant: bought } = await purchase(api, customer.id, { credits: '100', amount: 900 });
    const voided = await api.post(`/v1/invoices/${invoice.id}/void`);
    expect(voided.status).toBe(200);
    expect(voided.body.status).toBe('void');
    expect(await grant(api, bought.id)).toMatchObject({ status: 'voided', credits: '100', remaining: '0', close_reason: 'invoice voided' });
    expect(await balance(api, customer.id)).toMatchObject({ available: '0', grants: [] });
    expect((await api.post(`/v1/invoices/${invoice.id}/payments`, { amount: 900 })).status).toBe(409);
    expect(await grant(api, bought.id)).toMatchObject({ status: 'voided' });
    expect(await transactions(api, customer.id)).toEqual([]);
  });

  it('refuses a purchase of zero or malformed credits, and one for an unknown customer, storing nothing', async () => {
    const { api } = ctx;
    const customer = await newCustomer(api);
    for (const body of [{ credits: '0', amount: 100 }, { credits: '1.0000001', amount: 100 }, { credits: '10', amount: 1.5 }, { credits: '10' }]) {
      const response = await api.post(`/v1/customers/${customer.id}/purchases`, body);
      expect(response.status, JSON.stringify(body)).toBe(400);
      expect(response.body.error.code).toBe('validation_failed');
    }
    expect((await api.post('/v1/customers/cus_nope/purchases', { credits: '10', amount: 100 })).status).toBe(404);
    expect(await invoicesOf(api, customer.id)).toEqual([]);
    expect(await listAll(api, `/v1/grants?customer=${customer.id}`)).toEqual([]);
  });

  it('tops up once per crossing of the threshold: one invoice however long it stays below, re-armed by paying it', async () => {
    const { api } = ctx;
    const meter = await perUnitMeter(api);
    const customer = await newCustomer(api);
    await newGrant(api, customer.id, '100');
    const configured = await api.post(`/v1/customers/${customer.id}/auto_top_up`, { auto_top_up: { threshold: '50', credits: '200', amount: 1000 } });
    expect(configured.status, JSON.stringify(configured.body)).toBe(200);
    expect(configured.body.auto_top_up).toEqual({ threshold: '50', credits: '200', amount: 1000, armed: true });

    // Above the threshold nothing is bought.
    await use(api, customer.id, meter.type, 40);
    await advance(api, customer.clock!, at(1 * minutes));
    expect(await invoicesOf(api, customer.id)).toEqual([]);

    // 60 left → 45 left: below 50, bought at the next due-work run, once.
    await use(api, customer.id, meter.type, 15);
    expect(await invoicesOf(api, customer.id)).toEqual([]);
    await advance(api, customer.clock!, at(2 * minutes));
    let invoices = await invoicesOf(api, customer.id);
    expect(invoices).toHaveLength(1);
    expect(invoices[0]).toMatchObject({ kind: 'purchase', status: 'open', total: 1000 });
    expect(invoices[0].lines[0]).toMatchObject({ type: 'credit_purchase', quantity: '200', amount: 1000 });
    expect((await api.get(`/v1/customers/${customer.id}`)).body.auto_top_up.armed).toBe(false);
    expect(await balance(api, customer.id)).toMatchObject({ available: '45' });

    // Spending further and letting time pass while the invoice is open buys nothing more.
    await use(api, customer.id, meter.type, 20);
    await advance(api, customer.clock!, at(1 * days));
    await use(api, customer.id, meter.type, 5);
    await advance(api, customer.clock!, at(3 * days));
    expect(await invoicesOf(api, customer.id)).toHaveLength(1);
    expect((await domainEvents(api, customer.id, 'credits.top_up_created')).length).toBe(1);

    // Paying it activates the pack and re-arms; above the threshold again, nothing is bought.
    await pay(api, invoices[0].id, 1000);
    expect(await balance(api, customer.id)).toMatchObject({ available: '220' });
    expect((await api.get(`/v1/customers/${customer.id}`)).body.auto_top_up.armed).toBe(true);
    await advance(api, customer.clock!, at(4 * days));
    expect(await invoicesOf(api, customer.id)).toHaveLength(1);

    // The next crossing buys again, once.
    await use(api, customer.id, meter.type, 190);
    await advance(api, customer.clock!, at(5 * days));
    await advance(api, customer.clock!, at(6 * days));
    invoices = await invoicesOf(api, customer.id);
    expect(invoices.map((i) => [i.kind, i.status, i.total])).toEqual([['purchase', 'paid', 1000], ['purchase', 'open', 1000]]);
    const topUpGrants = (await listAll(api, `/v1/grants?customer=${customer.id}`)).filter((g) => g.invoice !== null);
    expect(topUpGrants.map((g) => [g.status, g.credits, g.cost_basis])).toEqual([
      ['active', '200', { amount: 1000, currency: 'USD' }],
      ['pending', '200', { amount: 1000, currency: 'USD' }],
    ]);
    expect(await balance(api, customer.id)).toMatchObject({ available: '30' });
    await expectLedgerConsistent(api);
  });

  it('buys once per crossing when the pack is paid at once and leaves the credits below the threshold', async () => {
    const { api } = ctx;
    const meter = await perUnitMeter(api);
    const customer = await newCustomer(api);
    // A free pack (amount 0: its invoice is paid as it is issued) smaller than the threshold.
    const configured = await api.post(`/v1/customers/${customer.id}/auto_top_up`, { auto_top_up: { threshold: '1000', credits: '10', amount: 0 } });
    expect(configured.status, JSON.stringify(configured.body)).toBe(200);
    // Before, every purchase re-armed the customer with a check at once, still below: a top-up
    // bought again at the same instant until due work gave up, and the advance answered 500.
    await advance(api, customer.clock!, at(1 * minutes));
    let invoices = await invoicesOf(api, customer.id);
    expect(invoices.map((i) => [i.kind, i.status, i.total])).toEqual([['purchase', 'paid', 0]]);
    expect(await balance(api, customer.id)).toMatchObject({ available: '10' });
    expect((await api.get(`/v1/customers/${customer.id}`)).body.auto_top_up.armed).toBe(true);
    await advance(api, customer.clock!, at(1 * days));
    expect(await invoicesOf(api, customer.id)).toHaveLength(1);

    // Credits that fall again ask for the next one.
    await use(api, customer.id, meter.type, 5);
    await advance(api, customer.clock!, at(2 * days));
    invoices = await invoicesOf(api, customer.id);
    expect(invoices.map((i) => [i.kind, i.status, i.total])).toEqual([['purchase', 'paid', 0], ['purchase', 'paid', 0]]);
    expect(await balance(api, customer.id)).toMatchObject({ available: '15' });
    await expectLedgerConsistent(api);
  });

  it('buys once per crossing when the customer\'s money balance pays the pack', async () => {
    const { api } = ctx;
    const customer = await newCustomer(api);
    const note = await api.post('/v1/credit_notes', { customer: customer.id, amount: 100_000, reason: 'goodwill' });
    expect(note.status, JSON.stringify(note.body)).toBe(201);
    await api.post(`/v1/customers/${customer.id}/auto_top_up`, { auto_top_up: { threshold: '1000', credits: '10', amount: 100 } });
    // The balance covers a thousand packs; one is bought, not one per pass until due work gives up.
    const ready = await advance(api, customer.clock!, at(1 * minutes));
    expect(ready.status).toBe('ready');
    const invoices = await invoicesOf(api, customer.id);
    expect(invoices.map((i) => [i.kind, i.status, i.total])).toEqual([['purchase', 'paid', 100]]);
    expect(await balance(api, customer.id)).toMatchObject({ available: '10' });
    expect((await api.get(`/v1/customers/${customer.id}`)).body.auto_top_up.armed).toBe(true);
    await expectLedgerConsistent(api);
  });

  it('turns auto top-up off with null and refuses bad settings', async () => {
    const { api } = ctx;
    const customer = await newCustomer(api);
    for (const settings of [{ threshold: '-1', credits: '10', amount: 100 }, { threshold: '5', credits: '0', amount: 100 }, { threshold: '5', credits: '10', amount: -1 }]) {
      const response = await api.post(`/v1/customers/${customer.id}/auto_top_up`, { auto_top_up: settings });
      expect(response.status, JSON.stringify(settings)).toBe(400);
    }
    expect((await api.get(`/v1/customers/${customer.id}`)).body.auto_top_up).toBeNull();
    await api.post(`/v1/customers/${customer.id}/auto_top_up`, { auto_top_up: { threshold: '5', credits: '10', amount: 100 } });
    const off = await api.post(`/v1/customers/${customer.id}/auto_top_up`, { auto_top_up: null });
    expect(off.status).toBe(200);
    expect(off.body.auto_top_up).toBeNull();
    // Below any threshold now, but top-up is off: nothing is bought.
    await advance(api, customer.clock!, at(1 * days));
    expect(await invoicesOf(api, customer.id)).toEqual([]);
  });
});
