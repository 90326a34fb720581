import { describe, expect, it } from 'vitest';
import { dialects } from '../support/databases.ts';
import { unique, useServer } from '../support/server.ts';
import {
  at, balance, days, domainEvents, expectLedgerConsistent, ingest, minutes, newCustomer, newGrant, perUnitMeter, seconds, transactions, use,
} from './fixtures.ts';

/**
 * Usage ingestion over HTTP (PRODUCT §5): per-event results in request order, a bad event that
 * sinks only itself, idempotency by event id, overage or debt beyond grants, and the explanation
 * of a charge. Every customer lives on a test clock frozen at `t0`.
 */
describe.each(dialects)('usage ingestion on %s', (dialect) => {
  const ctx = useServer(dialect);

  it('answers per event, in request order; bad events sink only themselves and leave nothing stored', async () => {
    const { api } = ctx;
    const customer = await newCustomer(api);
    const meter = await perUnitMeter(api, '2');
    // Effective since before the oldest event: usage is paid by grants live at its timestamp (§5).
    await newGrant(api, customer.id, '100', { effective_at: at(-36 * days) });
    const id = (name: string) => `${name}_${unique('ev')}`;
    const events = [
      { id: id('good1'), customer: customer.id, type: meter.type, properties: { n: 1 } },
      { id: id('noprops'), customer: customer.id, type: meter.type },
      { id: id('good2'), customer: customer.externalId, type: meter.type, timestamp: at(5 * minutes), properties: { n: 2 } },
      { id: id('future'), customer: customer.id, type: meter.type, timestamp: at(5 * minutes + 1 * seconds), properties: { n: 4 } },
      { id: id('old'), customer: customer.id, type: meter.type, timestamp: at(-35 * days - 1 * seconds), properties: { n: 8 } },
      { id: id('good3'), customer: customer.id, type: meter.type, timestamp: at(-35 * days), properties: { n: 16 } },
      { id: id('ghost'), customer: unique('ghost'), type: meter.type, properties: { n: 32 } },
      { id: id('unmetered'), customer: customer.id, type: unique('nobody_meters_this'), properties: { n: 64 } },
    ];
    const results = await ingest(api, events);
    expect(results.map((r) => [r.id, r.status, r.credits, r.error?.code, r.error?.field])).toEqual([
      [events[0]!.id, 'accepted', '2', undefined, undefined],
      [events[1]!.id, 'rejected', undefined, 'missing_property', 'properties.n'],
      [events[2]!.id, 'accepted', '4', undefined, undefined],
      [events[3]!.id, 'rejected', undefined, 'timestamp_in_future', 'timestamp'],
      [events[4]!.id, 'rejected', undefined, 'timestamp_too_old', 'timestamp'],
      [events[5]!.id, 'accepted', '32', undefined, undefined],
      [events[6]!.id, 'rejected', undefined, 'customer_not_found', 'customer'],
      [events[7]!.id, 'accepted', '0', undefined, undefined],
    ]);
    for (const [i, event] of events.entries()) {
      const accepted = results[i].status === 'accepted';
      expect((await api.get(`/v1/usage_events/${event.id}`)).status, event.id).toBe(accepted ? 200 : 404);
    }
    expect(await balance(api, customer.id)).toMatchObject({ available: '62', paid: '62', overage: '0', debt: '0' });
    // One grant transaction and three usage charges; the free event has no transaction.
    const kinds = (await transactions(api, customer.id)).map((t) => t.kind).sort();
    expect(kinds).toEqual(['grant', 'usage', 'usage', 'usage']);
    expect(await domainEvents(api, customer.id, 'usage.recorded')).toHaveLength(3);
  });

  it('answers a repeated event as duplicate with its first charge, and changes nothing', async () => {
    const { api } = ctx;
    const customer = await newCustomer(api);
    const meter = await perUnitMeter(api, '3');
    const grant = await newGrant(api, customer.id, '100', { effective_at: at(-1 * days) });
    const event = { id: unique('ev'), customer: customer.id, type: meter.type, timestamp: at(-1 * minutes), properties: { n: 5, model: 'm1' } };
    const [first] = await ingest(api, [event]);
    expect(first).toMatchObject({ status: 'accepted', credits: '15', paid_by: [{ grant: grant.id, credits: '15' }] });
    const txnsBefore = await transactions(api, customer.id);

    // The same body, with the properties spelled in another key order, in a later request and twice in one batch.
    const again = await ingest(api, [{ ...event, properties: { model: 'm1', n: 5 } }, event]);
    expect(again).toEqual([{ id: event.id, status: 'duplicate', credits: '15' }, { id: event.id, status: 'duplicate', credits: '15' }]);
    expect(await balance(api, customer.id)).toMatchObject({ available: '85' });
    expect(await transactions(api, customer.id)).toEqual(txnsBefore);
    expect(await domainEvents(api, customer.id, 'usage.recorded')).toHaveLength(1);
  });

  it('reports an in-batch repeat of a new event as duplicate and charges once', async () => {
    const { api } = ctx;
    const customer = await newCustomer(api);
    const meter = await perUnitMeter(api, '1');
    await newGrant(api, customer.id, '100');
    const event = { id: unique('ev'), customer: customer.id, type: meter.type, properties: { n: 7 } };
    const results = await ingest(api, [event, event, event]);
    expect(results.map((r) => [r.status, r.credits])).toEqual([['accepted', '7'], ['duplicate', '7'], ['duplicate', '7']]);
    expect(await balance(api, customer.id)).toMatchObject({ available: '93' });
  });

  it('rejects the same event id with a different body as idempotency_conflict, and keeps the first', async () => {
    const { api } = ctx;
    const customer = await newCustomer(api);
    const meter = await perUnitMeter(api, '1');
    await newGrant(api, customer.id, '100');
    const id = unique('ev');
    await use(api, customer.id, meter.type, 10, id);
    const [conflict] = await ingest(api, [{ id, customer: customer.id, type: meter.type, properties: { n: 11 } }]);
    expect(conflict).toMatchObject({ id, status: 'rejected', error: { code: 'idempotency_conflict', field: 'id' } });
    expect(conflict.credits).toBeUndefined();
    expect(await balance(api, customer.id)).toMatchObject({ available: '90' });
    const stored = await api.get(`/v1/usage_events/${id}`);
    expect(stored.body).toMatchObject({ properties: { n: 10 }, credits: '10' });

    // Within one batch the first occurrence wins and a differing repeat is refused.
    const other = unique('ev');
    const batch = await ingest(api, [
      { id: other, customer: customer.id, type: meter.type, properties: { n: 1 } },
      { id: other, customer: customer.id, type: meter.type, properties: { n: 2 } },
    ]);
    expect(batch.map((r) => [r.status, r.error?.code])).toEqual([['accepted', undefined], ['rejected', 'idempotency_conflict']]);
    expect(await balance(api, customer.id)).toMatchObject({ available: '89' });
  });

  it('sends consumption beyond grants to overage when the customer has overage on', async () => {
    const { api } = ctx;
    const customer = await newCustomer(api, { overage: true });
    const meter = await perUnitMeter(api, '1');
    const grant = await newGrant(api, customer.id, '10');
    const result = await use(api, customer.id, meter.type, 15);
    expect(result).toMatchObject({ credits: '15', paid_by: [{ grant: grant.id, credits: '10' }], overage: '5' });
    expect(result.debt).toBeUndefined();
    expect(await balance(api, customer.id)).toMatchObject({ available: '0', overage: '5', debt: '0' });
    expect((await api.get(`/v1/usage_events/${result.id}`)).body).toMatchObject({ credits: '15', paid_by: [{ grant: grant.id, credits: '10' }], overage: '5', debt: '0' });
    const more = await use(api, customer.id, meter.type, 2);
    expect(more).toMatchObject({ credits: '2', paid_by: [], overage: '2' });
    expect(await balance(api, customer.id)).toMatchObject({ available: '0', overage: '7', debt: '0' });

    // Overage is billed at period end, not paid down by the next grant.
    await newGrant(api, customer.id, '20');
    expect(await balance(api, customer.id)).toMatchObject({ available: '20', overage: '7', debt: '0' });
    await expectLedgerConsistent(api);
  });

  it('sends consumption beyond grants to debt when overage is off, and the next grant pays the debt first', async () => {
    const { api } = ctx;
    const customer = await newCustomer(api, { overage: false });
    const meter = await perUnitMeter(api, '1');
    await newGrant(api, customer.id, '10');
    const result = await use(api, customer.id, meter.type, 15);
    expect(result).toMatchObject({ credits: '15', debt: '5' });
    expect(result.overage).toBeUndefined();
    expect(await balance(api, customer.id)).toMatchObject({ available: '0', overage: '0', debt: '5' });
    expect((await api.get(`/v1/usage_events/${result.id}`)).body).toMatchObject({ credits: '15', overage: '0', debt: '5' });

    const second = await newGrant(api, customer.id, '20');
    expect(await balance(api, customer.id)).toMatchObject({
      available: '15',
      paid: '15',
      debt: '0',
      overage: '0',
      grants: [{ id: second.id, remaining: '15' }],
    });
    expect((await api.get(`/v1/grants/${second.id}`)).body).toMatchObject({ credits: '20', remaining: '15' });
    const paydown = (await transactions(api, customer.id)).find((t) => t.kind === 'debt_paydown');
    expect(paydown).toMatchObject({ cause: { type: 'grant', id: second.id } });
    expect(paydown.entries).toEqual(expect.arrayContaining([
      { account: `grant:${second.id}`, amount: '-5' },
      { account: 'debt', amount: '5' },
    ]));
    expect(await domainEvents(api, customer.id, 'debt.paid_down')).toMatchObject([{ data: { grants: [second.id], credits: '5' } }]);

    // A grant smaller than the debt pays what it can and leaves the rest owed.
    await use(api, customer.id, meter.type, 40);
    expect(await balance(api, customer.id)).toMatchObject({ available: '0', debt: '25' });
    await newGrant(api, customer.id, '10');
    expect(await balance(api, customer.id)).toMatchObject({ available: '0', debt: '15' });
    await expectLedgerConsistent(api);
  });

  it('explains a charge: the rating per meter, the ledger transaction and the grants that paid', async () => {
    const { api } = ctx;
    const customer = await newCustomer(api);
    const type = unique('type');
    const tokens = unique('tokens');
    const calls = unique('calls');
    for (const [code, body] of [
      [tokens, { aggregation: 'sum', value_property: 'tokens', rate: { model: 'per_unit', credits_per_unit: '0.002' } }],
      [calls, { aggregation: 'count', rate: { model: 'per_unit', credits_per_unit: '1' } }],
    ] as const) {
      expect((await api.post('/v1/meters', { code, event_type: type, ...body })).status).toBe(201);
    }
    const small = await newGrant(api, customer.id, '2', { category: 'promotional', source: 'promotion', effective_at: at(-1 * days) });
    const big = await newGrant(api, customer.id, '100', { effective_at: at(-1 * days) });
    const id = unique('ev');
    const [result] = await ingest(api, [{ id, customer: customer.id, type, timestamp: at(-30 * seconds), properties: { tokens: 1500, model: 'gpt' } }]);
    expect(result).toEqual({ id, status: 'accepted', credits: '4', paid_by: [{ grant: small.id, credits: '2' }, { grant: big.id, credits: '2' }] });

    const explained = await api.get(`/v1/usage_events/${id}`);
    expect(explained.status).toBe(200);
    expect(explained.body).toMatchObject({
      id,
      object: 'usage_event',
      customer: customer.id,
      type,
      timestamp: at(-30 * seconds).replace('.000Z', 'Z'),
      properties: { tokens: 1500, model: 'gpt' },
      credits: '4',
      paid_by: [{ grant: small.id, credits: '2' }, { grant: big.id, credits: '2' }],
      overage: '0',
      debt: '0',
    });
    expect([...explained.body.rating].sort((a: any, b: any) => a.meter.localeCompare(b.meter))).toEqual(
      [{ meter: tokens, quantity: '1500', credits: '3' }, { meter: calls, quantity: '1', credits: '1' }].sort((a, b) => a.meter.localeCompare(b.meter)),
    );
    const txn = explained.body.transaction;
    expect(txn).toMatchObject({ object: 'ledger_transaction', kind: 'usage', customer: customer.id, cause: { type: 'usage_event', id } });
    expect([...txn.entries].sort((a: any, b: any) => a.account.localeCompare(b.account))).toEqual([
      { account: `consumed:${calls}`, amount: '1' },
      { account: `consumed:${tokens}`, amount: '3' },
      { account: `grant:${big.id}`, amount: '-2' },
      { account: `grant:${small.id}`, amount: '-2' },
    ].sort((a, b) => a.account.localeCompare(b.account)));
    // The transaction walks back to the event.
    const byId = await api.get(`/v1/ledger/transactions/${txn.id}`);
    expect(byId.body).toMatchObject({ id: txn.id, cause: { type: 'usage_event', id } });
    expect((await api.get(`/v1/usage_events/${unique('nope')}`)).body.error.code).toBe('usage_event_not_found');
  });

  it('charges an event once when the same batch is retried concurrently', async () => {
    const { api } = ctx;
    const customer = await newCustomer(api);
    const meter = await perUnitMeter(api, '1');
    await newGrant(api, customer.id, '100');
    const events = [1, 2, 3].map((n) => ({ id: unique('ev'), customer: customer.id, type: meter.type, properties: { n } }));
    const responses = await Promise.all(Array.from({ length: 6 }, () => api.post('/v1/events', { events })));
    for (const [i] of events.entries()) {
      const statuses = responses.map((r) => r.body.results[i].status).sort();
      expect(statuses).toEqual(['accepted', 'duplicate', 'duplicate', 'duplicate', 'duplicate', 'duplicate']);
    }
    expect(await balance(api, customer.id)).toMatchObject({ available: '94' });
    expect(await domainEvents(api, customer.id, 'usage.recorded')).toHaveLength(3);
    await expectLedgerConsistent(api);
  });

  it('feeds several meters from one event type through property filters', async () => {
    const { api } = ctx;
    const customer = await newCustomer(api);
    const type = unique('type');
    const big = unique('big');
    const small = unique('small');
    for (const [code, model, price] of [[big, 'large', '0.01'], [small, 'mini', '0.001']] as const) {
      const created = await api.post('/v1/meters', { code, event_type: type, filter: { model }, aggregation: 'sum', value_property: 'tokens', rate: { model: 'per_unit', credits_per_unit: price } });
      expect(created.status).toBe(201);
    }
    await newGrant(api, customer.id, '100');
    const results = await ingest(api, [
      { id: unique('ev'), customer: customer.id, type, properties: { model: 'large', tokens: 1000 } },
      { id: unique('ev'), customer: customer.id, type, properties: { model: 'mini', tokens: 1000 } },
      { id: unique('ev'), customer: customer.id, type, properties: { model: 'other', tokens: 1000 } },
    ]);
    expect(results.map((r) => r.credits)).toEqual(['10', '1', '0']);
    const explained = await api.get(`/v1/usage_events/${results[0].id}`);
    expect(explained.body.rating).toEqual([{ meter: big, quantity: '1000', credits: '10' }]);
    expect(await balance(api, customer.id)).toMatchObject({ available: '89' });
  });

  it('keeps many customers apart within one batch', async () => {
    const { api } = ctx;
    const meter = await perUnitMeter(api, '1');
    const a = await newCustomer(api);
    const b = await newCustomer(api, { clock: a.clock });
    await newGrant(api, a.id, '10');
    await newGrant(api, b.id, '10');
    const results = await ingest(api, [
      { id: unique('ev'), customer: a.id, type: meter.type, properties: { n: 3 } },
      { id: unique('ev'), customer: b.id, type: meter.type, properties: { n: 4 } },
      { id: unique('ev'), customer: a.externalId, type: meter.type, properties: { n: 5 } },
    ]);
    expect(results.map((r) => r.status)).toEqual(['accepted', 'accepted', 'accepted']);
    expect(await balance(api, a.id)).toMatchObject({ available: '2' });
    expect(await balance(api, b.id)).toMatchObject({ available: '6' });
    await expectLedgerConsistent(api);
  });
});
