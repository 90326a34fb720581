import { describe, expect, it } from 'vitest';
import { dialects } from '../support/databases.ts';
import { unique, useServer } from '../support/server.ts';
import { balance, domainEvents, newCustomer, newGrant, perUnitMeter, transactions } from './fixtures.ts';

/**
 * Bad input is refused with a 4xx, a stable code and the field at fault, and leaves nothing
 * behind: every test reads the state back afterwards.
 */
describe.each(dialects)('bad input on %s', (dialect) => {
  const ctx = useServer(dialect);

  const fieldsOf = (body: any): { field: string; code: string }[] =>
    (body.error.details?.fields ?? []).map((f: { field: string; code: string }) => ({ field: f.field, code: f.code }));

  /** A grant request that must fail; afterwards the customer still has no grant and no ledger entry. */
  async function expectGrantRefused(body: Record<string, unknown>, status: number, code: string, field?: { field: string; code: string }) {
    const { api } = ctx;
    const customer = await newCustomer(api);
    const response = await api.post('/v1/grants', { customer: customer.id, category: 'paid', source: 'purchase', ...body });
    expect(response.status, JSON.stringify(response.body)).toBe(status);
    expect(response.body.error.code).toBe(code);
    if (field) expect(fieldsOf(response.body)).toContainEqual(field);
    expect((await api.get(`/v1/grants?customer=${customer.id}`)).body.data).toEqual([]);
    expect(await transactions(api, customer.id)).toEqual([]);
    expect(await balance(api, customer.id)).toMatchObject({ available: '0', grants: [] });
  }

  it.each([
    ['a number instead of a string', 5, 'invalid_type'],
    ['"abc"', 'abc', 'invalid_format'],
    ['an exponent "1e5"', '1e5', 'invalid_format'],
    ['"1."', '1.', 'invalid_format'],
    ['"-5"', '-5', 'negative_not_allowed'],
    ['"0"', '0', 'must_be_positive'],
    ['too many decimals "0.0000001"', '0.0000001', 'too_many_decimals'],
    ['more than the largest amount', '1000000000000001', 'out_of_range'],
  ])('refuses grant credits given as %s', async (_name, credits, fieldCode) => {
    await expectGrantRefused({ credits }, 400, 'validation_failed', { field: 'credits', code: fieldCode });
  });

  it('refuses a grant with a wrong enum, an out-of-range priority and an unknown field, reporting every field at once', async () => {
    await expectGrantRefused({ credits: '10', category: 'free', priority: 101, colour: 'red' }, 400, 'validation_failed');
    const { api } = ctx;
    const customer = await newCustomer(api);
    const response = await api.post('/v1/grants', { customer: customer.id, credits: '10', category: 'free', source: 'purchase', priority: 101, colour: 'red' });
    const fields = fieldsOf(response.body);
    expect(fields).toContainEqual({ field: 'colour', code: 'unknown_field' });
    expect(fields).toContainEqual({ field: 'priority', code: 'out_of_range' });
    expect(fields.map((f) => f.field)).toContain('category');
  });

  it('refuses a grant whose expires_at is not after effective_at', async () => {
    await expectGrantRefused({ credits: '10', effective_at: '2026-05-02T00:00:00Z', expires_at: '2026-05-02T00:00:00Z' }, 400, 'validation_failed', { field: 'expires_at', code: 'expires_before_effective' });
  });

  it('refuses a grant with a timestamp that does not exist', async () => {
    await expectGrantRefused({ credits: '10', expires_at: '2026-02-30T00:00:00Z' }, 400, 'validation_failed', { field: 'expires_at', code: 'invalid_timestamp' });
  });

  it('refuses a grant for an unknown customer with 404 customer_not_found', async () => {
    const { api } = ctx;
    const ghost = unique('ghost');
    const response = await api.post('/v1/grants', { customer: ghost, credits: '10', category: 'paid', source: 'purchase' });
    expect(response.status).toBe(404);
    expect(response.body.error).toMatchObject({ code: 'customer_not_found', details: { id: ghost } });
    expect((await api.get(`/v1/customers/${ghost}`)).status).toBe(404);
  });

  it('refuses a customer with wrong types and unknown fields, and stores no customer', async () => {
    const { api } = ctx;
    const externalId = unique('bad');
    const response = await api.post('/v1/customers', { external_id: externalId, currency: 840, overage: 'yes', colour: 'red' });
    expect(response.status).toBe(400);
    expect(response.body.error.code).toBe('validation_failed');
    const fields = fieldsOf(response.body);
    expect(fields).toContainEqual({ field: 'currency', code: 'invalid_type' });
    expect(fields).toContainEqual({ field: 'overage', code: 'invalid_type' });
    expect(fields).toContainEqual({ field: 'colour', code: 'unknown_field' });
    expect((await api.get(`/v1/customers/${externalId}`)).status).toBe(404);
  });

  it('refuses a query parameter on a route that takes none, a read or a write, as the lists do, and stores nothing', async () => {
    const { api } = ctx;
    const unknownFoo = (response: { status: number; body: any }, what: string) =>
      expect([response.status, response.body.error?.code, response.body.error && fieldsOf(response.body)], what).toEqual([400, 'validation_failed', [{ field: 'foo', code: 'unknown_field' }]]);
    const customer = await newCustomer(api);
    unknownFoo(await api.get(`/v1/customers/${customer.id}?foo=1`), 'a read by id');
    expect((await api.get(`/v1/customers/${customer.id}`)).status).toBe(200);

    const externalId = unique('query');
    unknownFoo(await api.post(`/v1/customers?foo=1`, { external_id: externalId, currency: 'USD' }), 'a create');
    expect((await api.get(`/v1/customers/${externalId}`)).status).toBe(404);

    const grant = await newGrant(api, customer.id, '5');
    unknownFoo(await api.post(`/v1/grants/${grant.id}/void?foo=1`, { reason: 'query' }), 'an action');
    expect((await api.get(`/v1/grants/${grant.id}`)).body.status).toBe('active');
    expect(await balance(api, customer.id)).toMatchObject({ available: '5' });

    // Stripe's webhook takes the URL typed into Stripe's dashboard, query and all.
    const stripe = await api.post('/v1/integrations/stripe/webhook?foo=1', {});
    expect(stripe.body.error?.code).not.toBe('validation_failed');
  });

  it('refuses a body with fields on an action that takes none, storing nothing, and takes none or {}', async () => {
    const { api } = ctx;
    // An admin key to revoke: before, `{"reason": …}` was dropped unseen and the key revoked.
    const created = await api.post('/v1/api_keys', { name: unique('revocable'), scopes: ['read'] });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const key = created.body;
    const refused = await api.post(`/v1/api_keys/${key.id}/revoke`, { reason: 'leaked', now: true });
    expect([refused.status, refused.body.error?.code, refused.body.error && fieldsOf(refused.body)])
      .toEqual([400, 'validation_failed', [{ field: 'reason', code: 'unknown_field' }, { field: 'now', code: 'unknown_field' }]]);
    expect((await api.as(key.secret).get('/v1/customers?limit=1')).status).toBe(200);
    expect((await api.get('/v1/api_keys?limit=100')).body.data.find((k: { id: string }) => k.id === key.id).revoked_at).toBeNull();
    // A JSON value that is not an object is refused the same way.
    const notObject = await api.post(`/v1/api_keys/${key.id}/revoke`, '"now"');
    expect([notObject.status, notObject.body.error && fieldsOf(notObject.body)]).toEqual([400, [{ field: 'body', code: 'invalid_type' }]]);

    // Every action without a body, whatever its id: the fields are refused before the id is looked up.
    for (const path of ['/v1/holds/hld_x/release', '/v1/invoices/inv_x/void', '/v1/invoices/inv_x/apply_balance',
      '/v1/webhook_endpoints/whk_x/rotate_secret', '/v1/webhook_deliveries/dlv_x/retry', '/v1/promotions/prm_x/deactivate']) {
      const response = await api.post(path, { expires_in: 0 });
      expect([response.status, response.body.error?.code, response.body.error && fieldsOf(response.body)], path)
        .toEqual([400, 'validation_failed', [{ field: 'expires_in', code: 'unknown_field' }]]);
      expect((await api.post(path, {})).status, path).toBe(404);
    }

    // No bytes with the JSON content type are no body: an action takes it, a create refuses it
    // for its missing body (both were `invalid_json` before).
    const empty = { 'content-type': 'application/json' };
    const createWithout = await api.request('POST', '/v1/customers', '', empty);
    expect([createWithout.status, createWithout.body.error?.code, fieldsOf(createWithout.body)]).toEqual([400, 'validation_failed', [{ field: 'body', code: 'invalid_type' }]]);
    expect((await api.request('POST', '/v1/webhook_deliveries/dlv_x/retry', '', empty)).body.error.code).toBe('webhook_delivery_not_found');
    // `{}` (what the SDK sends) and no body at all still revoke.
    expect((await api.request('POST', `/v1/api_keys/${key.id}/revoke`, '', empty)).status).toBe(200);
    expect((await api.get('/v1/api_keys?limit=100')).body.data.find((k: { id: string }) => k.id === key.id).revoked_at).not.toBeNull();
    // Stripe's webhook takes Stripe's body.
    expect((await api.post('/v1/integrations/stripe/webhook', { id: 'evt_x' })).body.error?.code).not.toBe('validation_failed');
  });

  it('refuses a metadata key, a meter filter key or a plan rate key of more than 100 characters or none, storing nothing', async () => {
    const { api } = ctx;
    const long = 'k'.repeat(101);
    const refusedKey = (response: { status: number; body: any }, field: string, code: string) =>
      expect([response.status, response.body.error?.code, response.body.error && fieldsOf(response.body)], `${field} ${code}`).toEqual([400, 'validation_failed', [{ field, code }]]);
    // Before, a 101-character (or a 100,000-character) key and an empty key were stored as given.
    for (const [key, code] of [[long, 'too_long'], ['', 'too_short']] as const) {
      const externalId = unique('metadata-key');
      refusedKey(await api.post('/v1/customers', { external_id: externalId, currency: 'USD', metadata: { [key]: 'v' } }), 'metadata', code);
      expect((await api.get(`/v1/customers/${externalId}`)).status).toBe(404);
      const meterCode = unique('filtered');
      refusedKey(await api.post('/v1/meters', { code: meterCode, event_type: meterCode, aggregation: 'count', filter: { [key]: 'x' }, rate: { model: 'per_unit', credits_per_unit: '1' } }), 'filter', code);
      expect((await api.get(`/v1/meters/${meterCode}`)).status).toBe(404);
      const planCode = unique('rated');
      refusedKey(await api.post('/v1/plans', { code: planCode, name: 'Rated', currency: 'USD', interval: 'month', amount: 1000, included_credits: '0', rates: { [key]: { model: 'per_unit', credits_per_unit: '1' } } }), 'rates', code);
      expect((await api.get(`/v1/plans/${planCode}`)).status).toBe(404);
    }
    const message = (await api.post('/v1/customers', { currency: 'USD', metadata: { [long]: 'v' } })).body.error.message;
    expect(message).toBe('metadata: a key must NOT have more than 100 characters');
    // 100 characters is a key.
    const kept = await api.post('/v1/customers', { currency: 'USD', metadata: { ['k'.repeat(100)]: 'v' } });
    expect(kept.status, JSON.stringify(kept.body)).toBe(201);
    expect(kept.body.metadata).toEqual({ ['k'.repeat(100)]: 'v' });
  });

  it('refuses a negative or non-decimal low_balance_threshold', async () => {
    const { api } = ctx;
    for (const [threshold, code] of [['-1', 'negative_not_allowed'], ['ten', 'invalid_format']] as const) {
      const externalId = unique('bad');
      const response = await api.post('/v1/customers', { external_id: externalId, currency: 'USD', low_balance_threshold: threshold });
      expect(response.status).toBe(400);
      expect(fieldsOf(response.body)).toContainEqual({ field: 'low_balance_threshold', code });
      expect((await api.get(`/v1/customers/${externalId}`)).status).toBe(404);
    }
  });

  it('refuses a customer on an unknown test clock', async () => {
    const { api } = ctx;
    const externalId = unique('bad');
    const response = await api.post('/v1/customers', { external_id: externalId, currency: 'USD', test_clock: 'clk_nope' });
    expect(response.status).toBe(404);
    expect(response.body.error.code).toBe('test_clock_not_found');
    expect((await api.get(`/v1/customers/${externalId}`)).status).toBe(404);
  });

  it('answers malformed JSON with 400 invalid_json and stores nothing', async () => {
    const { api } = ctx;
    const externalId = unique('bad');
    const response = await api.post('/v1/customers', `{"external_id": "${externalId}", "currency": "USD"`);
    expect(response.status).toBe(400);
    expect(response.body.error.code).toBe('invalid_json');
    expect((await api.get(`/v1/customers/${externalId}`)).status).toBe(404);
  });

  it('answers a body that is not JSON with 415 unsupported_media_type', async () => {
    const { api } = ctx;
    const response = await api.post('/v1/customers', 'currency=USD', { 'content-type': 'application/x-www-form-urlencoded' });
    expect(response.status).toBe(415);
    expect(response.body.error.code).toBe('unsupported_media_type');
  });

  it('answers a missing API key with 401 missing_api_key and a wrong one with 401 invalid_api_key, storing nothing', async () => {
    const { api } = ctx;
    for (const [client, code] of [[api.as(null), 'missing_api_key'], [api.as('tly_not_a_key'), 'invalid_api_key']] as const) {
      const externalId = unique('bad');
      const response = await client.post('/v1/customers', { external_id: externalId, currency: 'USD' });
      expect(response.status).toBe(401);
      expect(response.body.error.code).toBe(code);
      expect((await api.get(`/v1/customers/${externalId}`)).status).toBe(404);
    }
  });

  it('refuses an oversize batch of 1001 events whole, with the events field at fault', async () => {
    const { api } = ctx;
    const customer = await newCustomer(api);
    const meter = await perUnitMeter(api);
    await newGrant(api, customer.id, '5000');
    const prefix = unique('big');
    const events = Array.from({ length: 1001 }, (_, i) => ({ id: `${prefix}_${i}`, customer: customer.id, type: meter.type, properties: { n: 1 } }));
    const response = await api.post('/v1/events', { events });
    expect(response.status).toBe(400);
    expect(response.body.error.code).toBe('validation_failed');
    expect(fieldsOf(response.body)).toContainEqual({ field: 'events', code: 'too_many_items' });
    expect((await api.get(`/v1/usage_events/${prefix}_0`)).status).toBe(404);
    expect((await api.get(`/v1/usage_events/${prefix}_1000`)).status).toBe(404);
    expect(await balance(api, customer.id)).toMatchObject({ available: '5000' });
    // Exactly 1000 is allowed.
    const accepted = await api.post('/v1/events', { events: events.slice(0, 1000) });
    expect(accepted.status).toBe(200);
    expect(accepted.body.results.every((r: { status: string }) => r.status === 'accepted')).toBe(true);
    expect(await balance(api, customer.id)).toMatchObject({ available: '4000' });
  });

  it('refuses an empty batch and a batch with unknown top-level fields', async () => {
    const { api } = ctx;
    const empty = await api.post('/v1/events', { events: [] });
    expect(empty.status).toBe(400);
    expect(fieldsOf(empty.body)).toContainEqual({ field: 'events', code: 'too_few_items' });
    const extra = await api.post('/v1/events', { events: [{ id: unique('e'), customer: 'x', type: 't' }], dry_run: true });
    expect(extra.status).toBe(400);
    expect(fieldsOf(extra.body)).toContainEqual({ field: 'dry_run', code: 'unknown_field' });
  });

  it('rejects badly shaped events one by one, with the field at fault, storing none of them', async () => {
    const { api } = ctx;
    const customer = await newCustomer(api);
    const meter = await perUnitMeter(api);
    await newGrant(api, customer.id, '100');
    const ids = Array.from({ length: 7 }, () => unique('ev'));
    const response = await api.post('/v1/events', {
      events: [
        { id: ids[0], customer: customer.id, type: meter.type, properties: { n: 1 }, colour: 'red' },
        { id: ids[1], customer: customer.id, type: meter.type, timestamp: 'yesterday', properties: { n: 1 } },
        { id: ids[2], customer: customer.id, type: meter.type, properties: { n: -5 } },
        { id: ids[3], customer: customer.id, type: meter.type, properties: { n: 'abc' } },
        { id: ids[4], customer: customer.id, type: meter.type, properties: { n: 2 } },
        { id: ids[5], customer: unique('ghost'), type: meter.type, properties: { n: 1 } },
        { id: ids[6], customer: customer.id, type: meter.type, properties: [1, 2] },
      ],
    });
    expect(response.status).toBe(200);
    expect(response.body.results.map((r: any) => [r.id, r.status, r.error?.code, r.error?.field])).toEqual([
      [ids[0], 'rejected', 'unknown_field', 'colour'],
      [ids[1], 'rejected', 'invalid_timestamp', 'timestamp'],
      [ids[2], 'rejected', 'negative_quantity', 'properties.n'],
      [ids[3], 'rejected', 'invalid_decimal', 'properties.n'],
      [ids[4], 'accepted', undefined, undefined],
      [ids[5], 'rejected', 'customer_not_found', 'customer'],
      [ids[6], 'rejected', 'invalid_properties', 'properties'],
    ]);
    for (const [i, id] of ids.entries()) expect((await api.get(`/v1/usage_events/${id}`)).status).toBe(i === 4 ? 200 : 404);
    expect(await balance(api, customer.id)).toMatchObject({ available: '98' });
  });

  it('rejects an event with a missing or mistyped id or customer without sinking the batch', async () => {
    const { api } = ctx;
    const customer = await newCustomer(api);
    const meter = await perUnitMeter(api);
    await newGrant(api, customer.id, '100');
    const good = unique('ev');
    const response = await api.post('/v1/events', {
      events: [
        { customer: customer.id, type: meter.type, properties: { n: 1 } },
        { id: 42, customer: customer.id, type: meter.type, properties: { n: 1 } },
        { id: unique('ev'), type: meter.type, properties: { n: 1 } },
        { id: good, customer: customer.id, type: meter.type, properties: { n: 3 } },
      ],
    });
    expect(response.status, JSON.stringify(response.body)).toBe(200);
    expect(response.body.results.map((r: any) => [r.status, r.error?.code, r.error?.field])).toEqual([
      ['rejected', 'invalid_id', 'id'],
      ['rejected', 'invalid_id', 'id'],
      ['rejected', 'invalid_customer', 'customer'],
      ['accepted', undefined, undefined],
    ]);
    expect(await balance(api, customer.id)).toMatchObject({ available: '97' });
  });

  it.each([
    ['graduated tiers that do not increase', { model: 'graduated', tiers: [{ up_to: 10, credits_per_unit: '2' }, { up_to: 5, credits_per_unit: '1' }, { up_to: null, credits_per_unit: '1' }] }, 'rate.tiers[1].up_to', 'tiers_not_increasing'],
    ['a last graduated tier that is bounded', { model: 'graduated', tiers: [{ up_to: 5, credits_per_unit: '2' }, { up_to: 10, credits_per_unit: '1' }] }, 'rate.tiers[1].up_to', 'last_tier_must_be_unbounded'],
    ['an unbounded tier before the last', { model: 'graduated', tiers: [{ up_to: null, credits_per_unit: '2' }, { up_to: null, credits_per_unit: '1' }] }, 'rate.tiers[0].up_to', 'only_last_tier_unbounded'],
    ['a non-decimal unit price', { model: 'per_unit', credits_per_unit: 'abc' }, 'rate.credits_per_unit', 'invalid_decimal'],
    ['a package of zero units', { model: 'package', package_size: 0, credits_per_package: '10' }, 'rate.package_size', 'must_be_positive'],
  ])('refuses a meter with %s and stores no meter', async (_name, rate, field, code) => {
    const { api } = ctx;
    const meterCode = unique('meter');
    const response = await api.post('/v1/meters', { code: meterCode, event_type: unique('type'), aggregation: 'sum', value_property: 'n', rate });
    expect(response.status, JSON.stringify(response.body)).toBe(400);
    expect(response.body.error.code).toBe('validation_failed');
    expect(fieldsOf(response.body)).toContainEqual({ field, code });
    expect((await api.get(`/v1/meters/${meterCode}`)).status).toBe(404);
  });

  it('refuses a sum meter without value_property and a meter whose code is taken', async () => {
    const { api } = ctx;
    const meterCode = unique('meter');
    const missing = await api.post('/v1/meters', { code: meterCode, event_type: 't', aggregation: 'sum', rate: { model: 'per_unit', credits_per_unit: '1' } });
    expect(missing.status).toBe(400);
    expect(fieldsOf(missing.body)).toContainEqual({ field: 'value_property', code: 'required' });
    expect((await api.get(`/v1/meters/${meterCode}`)).status).toBe(404);
    const meter = await perUnitMeter(api);
    const taken = await api.post('/v1/meters', { code: meter.code, event_type: unique('type'), aggregation: 'count', rate: { model: 'per_unit', credits_per_unit: '1' } });
    expect(taken.status).toBe(409);
    expect(taken.body.error.code).toBe('meter_code_taken');
    expect((await api.get(`/v1/meters/${meter.code}`)).body.event_type).toBe(meter.type);
  });

  it('refuses bad holds and stores no hold', async () => {
    const { api } = ctx;
    const customer = await newCustomer(api);
    await newGrant(api, customer.id, '100');
    const cases: [Record<string, unknown>, string, string][] = [
      [{ credits: 'abc', expires_in: 60 }, 'credits', 'invalid_format'],
      [{ credits: '-5', expires_in: 60 }, 'credits', 'negative_not_allowed'],
      [{ credits: '5', expires_in: 0 }, 'expires_in', 'out_of_range'],
      [{ credits: '5', expires_in: 1.5 }, 'expires_in', 'invalid_type'],
      [{ credits: '5' }, 'expires_in', 'required'],
    ];
    for (const [body, field, code] of cases) {
      const response = await api.post('/v1/holds', { customer: customer.id, ...body });
      expect(response.status, JSON.stringify(body)).toBe(400);
      expect(fieldsOf(response.body), JSON.stringify(body)).toContainEqual({ field, code });
    }
    expect(await balance(api, customer.id)).toMatchObject({ available: '100', held: '0' });
    expect((await domainEvents(api, customer.id, 'hold.created'))).toEqual([]);
  });

  it('refuses a test clock with a bad time and moving a clock backwards', async () => {
    const { api } = ctx;
    const bad = await api.post('/v1/test_clocks', { frozen_time: '2026-13-01T00:00:00Z' });
    expect(bad.status).toBe(400);
    expect(fieldsOf(bad.body)).toContainEqual({ field: 'frozen_time', code: 'invalid_timestamp' });
    const clock = await api.post('/v1/test_clocks', { frozen_time: '2026-05-01T00:00:00Z' });
    const back = await api.post(`/v1/test_clocks/${clock.body.id}/advance`, { frozen_time: '2026-04-30T00:00:00Z' });
    expect(back.status).toBe(409);
    expect(back.body.error.code).toBe('clock_cannot_go_back');
    expect((await api.get(`/v1/test_clocks/${clock.body.id}`)).body.frozen_time).toBe('2026-05-01T00:00:00Z');
  });

  it('answers unknown routes with 404 route_not_found', async () => {
    const response = await ctx.api.get('/v1/nothing_here');
    expect(response.status).toBe(404);
    expect(response.body.error.code).toBe('route_not_found');
  });
});
