import { describe, expect, it } from 'vitest';
import { dialects } from '../support/databases.ts';
import { unique, useServer } from '../support/server.ts';
import { advance, at, balance, days, domainEvents, ingest, minutes, newCustomer, newGrant, newMeter, perUnitMeter, transactions, use } from './fixtures.ts';

/** The real-time entitlement check (PRODUCT §5): a price and a yes or no, with no side effects. */
describe.each(dialects)('authorize on %s', (dialect) => {
  const ctx = useServer(dialect);

  /** Everything an authorize call must leave untouched. */
  async function snapshot(customer: string) {
    const { api } = ctx;
    return { balance: await balance(api, customer), events: await domainEvents(api, customer), transactions: await transactions(api, customer) };
  }

  it('answers the credits form with allowed, available and cost, and changes nothing', async () => {
    const { api } = ctx;
    const customer = await newCustomer(api);
    await newGrant(api, customer.id, '100');
    const before = await snapshot(customer.id);

    const within = await api.post(`/v1/customers/${customer.id}/authorize`, { credits: '30' });
    expect(within.status).toBe(200);
    expect(within.body).toEqual({ allowed: true, available: '100', cost: '30', reason: 'within_balance' });
    const exact = await api.post(`/v1/customers/${customer.externalId}/authorize`, { credits: '100' });
    expect(exact.body).toMatchObject({ allowed: true, available: '100', cost: '100' });
    const beyond = await api.post(`/v1/customers/${customer.id}/authorize`, { credits: '100.000001' });
    expect(beyond.body).toEqual({ allowed: false, available: '100', cost: '100.000001', reason: 'insufficient_credits' });

    expect(await snapshot(customer.id)).toEqual(before);
  });

  it('allows beyond the balance when the customer has overage on', async () => {
    const { api } = ctx;
    const customer = await newCustomer(api, { overage: true });
    await newGrant(api, customer.id, '10');
    const response = await api.post(`/v1/customers/${customer.id}/authorize`, { credits: '25' });
    expect(response.body).toEqual({ allowed: true, available: '10', cost: '25', reason: 'overage_allowed' });
  });

  it('prices the event form exactly as ingestion would, on the period total so far, and changes nothing', async () => {
    const { api } = ctx;
    const customer = await newCustomer(api);
    const meter = await newMeter(api, {
      model: 'graduated',
      tiers: [{ up_to: 5, credits_per_unit: '5' }, { up_to: 10, credits_per_unit: '4' }, { up_to: null, credits_per_unit: '1' }],
    });
    await newGrant(api, customer.id, '40');
    const first = await api.post(`/v1/customers/${customer.id}/authorize`, { event: { type: meter.type, properties: { n: 6 } } });
    expect(first.body).toEqual({ allowed: true, available: '40', cost: '29', reason: 'within_balance' });

    await use(api, customer.id, meter.type, 4); // 20 credits: 20 left, 4 units in the period
    const before = await snapshot(customer.id);
    // Units 5..10 cost 5 + 5×4 = 25, more than the 20 left.
    const second = await api.post(`/v1/customers/${customer.id}/authorize`, { event: { type: meter.type, properties: { n: 6 } } });
    expect(second.body).toEqual({ allowed: false, available: '20', cost: '25', reason: 'insufficient_credits' });
    const unmetered = await api.post(`/v1/customers/${customer.id}/authorize`, { event: { type: unique('nothing'), properties: {} } });
    expect(unmetered.body).toEqual({ allowed: true, available: '20', cost: '0', reason: 'within_balance' });
    expect(await snapshot(customer.id)).toEqual(before);
    expect((await api.get('/v1/usage_events/authorize')).status).toBe(404);
  });

  it("prices the event form under the customer's plan as ingestion would: the plan's rate and its period total", async () => {
    const { api } = ctx;
    const customer = await newCustomer(api);
    const meter = await newMeter(api, { model: 'per_unit', credits_per_unit: '1' });
    const plan = await api.post('/v1/plans', {
      code: unique('plan'), name: 'Plan', currency: 'USD', interval: 'month', amount: 0, included_credits: '0',
      rates: { [meter.code]: { model: 'graduated', tiers: [{ up_to: 5, credits_per_unit: '3' }, { up_to: null, credits_per_unit: '2' }] } },
    });
    expect(plan.status, JSON.stringify(plan.body)).toBe(201);
    expect((await api.post('/v1/subscriptions', { customer: customer.id, plan: plan.body.code })).status).toBe(201);
    await newGrant(api, customer.id, '100');
    // 4 units at the plan's 3, not the meter's 1; then units 5..7 at 3 + 2 + 2 on the 4 already used.
    for (const [n, cost] of [[4, '12'], [3, '7']] as const) {
      const event = { type: meter.type, properties: { n } };
      const priced = await api.post(`/v1/customers/${customer.externalId}/authorize`, { event });
      expect(priced.status).toBe(200);
      expect(priced.body.cost).toBe(cost);
      const ingested = await api.post('/v1/events', { events: [{ id: unique('evt'), customer: customer.id, ...event }] });
      expect(ingested.body.results[0]).toMatchObject({ status: 'accepted', credits: cost });
    }
  });

  it('prices an event read by several meters (a sum, a count, unique values) as ingestion then charges it', async () => {
    const { api } = ctx;
    const customer = await newCustomer(api);
    await newGrant(api, customer.id, '1000');
    const type = unique('type');
    const meters = [
      { code: unique('meter'), event_type: type, aggregation: 'sum', value_property: 'n', rate: { model: 'graduated', tiers: [{ up_to: 10, credits_per_unit: '2' }, { up_to: null, credits_per_unit: '1' }] } },
      { code: unique('meter'), event_type: type, aggregation: 'count', rate: { model: 'per_unit', credits_per_unit: '0.5' } },
      { code: unique('meter'), event_type: type, aggregation: 'unique_count', value_property: 'user', rate: { model: 'per_unit', credits_per_unit: '3' } },
    ];
    for (const meter of meters) expect((await api.post('/v1/meters', meter)).status).toBe(201);
    // 6 units at 2 + one event + a new user; 4 at 2 and 3 at 1 + one event + a new user; 1 + one event, user seen.
    const expected = ['15.5', '14.5', '1.5'];
    const sent: [number, string][] = [[6, 'ann'], [7, 'bob'], [1, 'ann']];
    for (const [i, [n, user]] of sent.entries()) {
      const event = { type, properties: { n, user } };
      const priced = await api.post(`/v1/customers/${customer.id}/authorize`, { event });
      expect(priced.status).toBe(200);
      const ingested = await api.post('/v1/events', { events: [{ id: unique('evt'), customer: customer.id, ...event }] });
      expect(ingested.body.results[0]).toMatchObject({ status: 'accepted', credits: expected[i] });
      expect(priced.body.cost).toBe(expected[i]);
    }
  });

  it('refuses both forms at once, neither, bad amounts, unreadable events and unknown customers', async () => {
    const { api } = ctx;
    const customer = await newCustomer(api);
    const meter = await perUnitMeter(api);
    await newGrant(api, customer.id, '10');
    const before = await snapshot(customer.id);
    const cases: [unknown, number, string, string?][] = [
      [{}, 400, 'one_of_required'],
      [{ credits: '1', event: { type: meter.type, properties: { n: 1 } } }, 400, 'one_of_required'],
      [{ credits: '-1' }, 400, 'negative_not_allowed'],
      [{ credits: 'lots' }, 400, 'invalid_format'],
      [{ event: { type: meter.type, properties: {} } }, 400, 'missing_property', 'event.properties.n'],
      [{ event: { type: meter.type, properties: { n: 1 } }, extra: true }, 400, 'unknown_field', 'extra'],
    ];
    for (const [body, status, code, field] of cases) {
      const response = await api.post(`/v1/customers/${customer.id}/authorize`, body);
      expect(response.status, JSON.stringify(body)).toBe(status);
      expect(response.body.error.code).toBe('validation_failed');
      const fields = response.body.error.details.fields as { field: string; code: string }[];
      expect(fields.map((f) => f.code), JSON.stringify(body)).toContain(code);
      if (field) expect(fields.map((f) => f.field)).toContain(field);
    }
    const ghost = await api.post(`/v1/customers/${unique('ghost')}/authorize`, { credits: '1' });
    expect(ghost.status).toBe(404);
    expect(ghost.body.error.code).toBe('customer_not_found');
    expect(await snapshot(customer.id)).toEqual(before);
  });

  it('refuses an event stamped outside the window ingestion accepts, as ingestion then refuses it, on either path', async () => {
    const { api } = ctx;
    const meter = await perUnitMeter(api);
    // On a test clock at 2026-05-01 (the general path), and on the real clock (the quick path, once the meter is known).
    for (const customer of [await newCustomer(api), await newCustomer(api, { clock: null })]) {
      await newGrant(api, customer.id, '100');
      const nowMs = customer.clock === null ? Date.now() : Date.parse(at(0));
      const stamp = (offsetMs: number) => new Date(nowMs + offsetMs).toISOString();
      const inWindow = await api.post(`/v1/customers/${customer.id}/authorize`, { event: { type: meter.type, timestamp: stamp(-34 * days), properties: { n: 2 } } });
      // Priced, and decided on the grants live then: the grant made now pays none of it.
      expect(inWindow.body).toEqual({ allowed: false, available: '0', cost: '2', reason: 'insufficient_credits' });
      const cases: [string, string][] = [
        [stamp(-36 * days), 'timestamp_too_old'], ['0000-01-01T00:00:00Z', 'timestamp_too_old'],
        [stamp(6 * minutes), 'timestamp_in_future'], ['9999-12-31T23:59:59Z', 'timestamp_in_future'],
      ];
      for (const [timestamp, code] of cases) {
        // Before, authorize answered 200 {allowed: true, cost: "2"} for an event ingestion refuses.
        const [ingested] = await ingest(api, [{ id: unique('ev'), customer: customer.id, type: meter.type, timestamp, properties: { n: 2 } }]);
        expect(ingested, timestamp).toMatchObject({ status: 'rejected', error: { code } });
        for (let i = 0; i < 2; i++) {
          const response = await api.post(`/v1/customers/${customer.id}/authorize`, { event: { type: meter.type, timestamp, properties: { n: 2 } } });
          expect(response.status, `${timestamp} ${JSON.stringify(response.body)}`).toBe(400);
          expect(response.body.error.details.fields).toEqual([{ field: 'event.timestamp', code, message: ingested.error.message }]);
        }
      }
      expect(await balance(api, customer.id)).toMatchObject({ available: '100' });
    }
  });

  it('refuses an event that names another customer than the one asked, and prices one that names it', async () => {
    const { api } = ctx;
    const meter = await perUnitMeter(api);
    const other = await newCustomer(api, { clock: null });
    for (const customer of [await newCustomer(api), await newCustomer(api, { clock: null })]) {
      await newGrant(api, customer.id, '10');
      // The meter known to the quick path first.
      expect((await api.post(`/v1/customers/${customer.id}/authorize`, { event: { type: meter.type, properties: { n: 1 } } })).status).toBe(200);
      for (const named of [other.id, other.externalId, unique('ghost')]) {
        // Before: 200, priced for the customer asked whatever the event named.
        const refused = await api.post(`/v1/customers/${customer.id}/authorize`, { event: { customer: named, type: meter.type, properties: { n: 4 } } });
        expect(refused.status, JSON.stringify(refused.body)).toBe(400);
        expect(refused.body.error.details.fields).toMatchObject([{ field: 'event.customer', code: 'customer_mismatch' }]);
      }
      for (const named of [customer.id, customer.externalId]) {
        const own = await api.post(`/v1/customers/${customer.externalId}/authorize`, { event: { customer: named, type: meter.type, properties: { n: 4 } } });
        expect(own.body).toEqual({ allowed: true, available: '10', cost: '4', reason: 'within_balance' });
      }
    }
  });

  it('refuses an event ingestion would refuse as beyond the largest amount, even with overage on, on either path', async () => {
    const { api } = ctx;
    const pricey = await perUnitMeter(api, '1000000');
    for (const customer of [await newCustomer(api, { overage: true }), await newCustomer(api, { overage: true, clock: null })]) {
      // 10^12 credits is the most one event may charge: allowed with overage on, as ingestion charges it.
      const most = await api.post(`/v1/customers/${customer.id}/authorize`, { event: { type: pricey.type, properties: { n: '1000000' } } });
      expect(most.body).toEqual({ allowed: true, available: '0', cost: '1000000000000', reason: 'overage_allowed' });
      for (let i = 0; i < 2; i++) {
        // Before: 200 {allowed: true, cost: "1000000000001"}, for an event ingestion refuses.
        const beyond = await api.post(`/v1/customers/${customer.id}/authorize`, { event: { type: pricey.type, properties: { n: '1000000.000001' } } });
        expect(beyond.status, JSON.stringify(beyond.body)).toBe(400);
        expect(beyond.body.error.details.fields).toMatchObject([{ field: 'event.properties', code: 'amount_out_of_range' }]);
      }
      const [ingested] = await ingest(api, [{ id: unique('ev'), customer: customer.id, type: pricey.type, properties: { n: '1000000.000001' } }]);
      expect(ingested).toMatchObject({ status: 'rejected', error: { code: 'amount_out_of_range' } });
    }
  });

  it('decides a stamped event on the grants that would pay it at its time, as ingestion charges it', async () => {
    const { api } = ctx;
    const meter = await perUnitMeter(api);
    const customer = await newCustomer(api);
    // 50 usable from 0:00 to 2:00; at 3:00, 20 more from then on.
    await newGrant(api, customer.id, '50', { expires_at: at(120 * minutes) });
    await advance(api, customer.clock!, at(180 * minutes));
    const later = await newGrant(api, customer.id, '20');
    const ask = (timestamp: string, n: number) => api.post(`/v1/customers/${customer.id}/authorize`, { event: { type: meter.type, timestamp, properties: { n } } });
    // At 1:00 the expired 50 pay (taken back from expired); before, only the 20 of now counted: no.
    expect((await ask(at(60 * minutes), 40)).body).toEqual({ allowed: true, available: '50', cost: '40', reason: 'within_balance' });
    expect((await ask(at(60 * minutes), 60)).body).toEqual({ allowed: false, available: '50', cost: '60', reason: 'insufficient_credits' });
    // At 2:30 no grant pays; before, the 20 that start at 3:00 counted: yes, and ingestion made it debt.
    expect((await ask(at(150 * minutes), 10)).body).toEqual({ allowed: false, available: '0', cost: '10', reason: 'insufficient_credits' });
    expect((await ask(at(180 * minutes), 15)).body).toEqual({ allowed: true, available: '20', cost: '15', reason: 'within_balance' });
    const results = await ingest(api, [
      { id: unique('ev'), customer: customer.id, type: meter.type, timestamp: at(60 * minutes), properties: { n: 40 } },
      { id: unique('ev'), customer: customer.id, type: meter.type, timestamp: at(150 * minutes), properties: { n: 10 } },
    ]);
    expect(results).toMatchObject([{ status: 'accepted', credits: '40' }, { status: 'accepted', credits: '10', debt: '10' }]);
    expect(results[0].debt).toBeUndefined();
    expect(await balance(api, customer.id)).toMatchObject({ available: '20', debt: '10' });
    await advance(api, customer.clock!, at(181 * minutes));
    expect(await balance(api, customer.id)).toMatchObject({ available: '10', debt: '0', grants: [{ id: later.id, remaining: '10' }] });
  });
});
