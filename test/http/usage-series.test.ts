import { describe, expect, it } from 'vitest';
import { dialects } from '../support/databases.ts';
import { unique, useServer } from '../support/server.ts';
import { advance, at, days, ingest, minutes, newCustomer, newGrant, newMeter, perUnitMeter, t0 } from './fixtures.ts';

const hours = 60 * minutes;

/**
 * GET /v1/customers/{id}/usage_series (PRODUCT §12, the dashboard's consumption chart): per meter
 * and per UTC hour or day, summed in SQL, exact decimal strings, every bucket of the window.
 */
describe.each(dialects)('the usage series on %s', (dialect) => {
  const ctx = useServer(dialect);

  async function customerWithUsage() {
    const { api } = ctx;
    const customer = await newCustomer(api);
    await newGrant(api, customer.id, '1000000');
    const tokens = await perUnitMeter(api, '0.001');
    const requests = await newMeter(api, { model: 'per_unit', credits_per_unit: '0.1' }, { aggregation: 'count' });
    await advance(api, customer.clock!, at(6 * days));
    const event = (type: string, offsetMs: number, n?: string) => ({ id: unique('ev'), customer: customer.id, type, timestamp: at(offsetMs), properties: n === undefined ? {} : { n } });
    const results = await ingest(api, [
      event(tokens.type, 1 * hours, '1500.5'),
      event(tokens.type, 1 * hours + 20 * minutes, '0.25'),
      event(tokens.type, 26 * hours, '300'),
      event(requests.type, 2 * hours),
      event(requests.type, 2 * hours + 5 * minutes),
      event(requests.type, 2 * hours + 10 * minutes),
      event(tokens.type, 5 * days, '7'), // after the window asked for below
    ]);
    expect(results.map((r) => r.status)).toEqual(['accepted', 'accepted', 'accepted', 'accepted', 'accepted', 'accepted', 'accepted']);
    return { customer, tokens, requests };
  }

  it('sums quantity and credits per meter and per day, exactly, with every bucket of the window', async () => {
    const { api } = ctx;
    const { customer, tokens, requests } = await customerWithUsage();
    const reply = await api.get(`/v1/customers/${customer.externalId}/usage_series?from=${t0}&to=${at(3 * days)}&interval=day`);
    expect(reply.status, JSON.stringify(reply.body)).toBe(200);
    expect(reply.body).toMatchObject({ object: 'usage_series', customer: customer.id, meter: null, interval: 'day', from: t0, to: '2026-05-04T00:00:00Z' });
    const byMeter = Object.fromEntries(reply.body.series.map((s: any) => [s.meter, s]));
    expect(Object.keys(byMeter).sort()).toEqual([requests.code, tokens.code].sort());
    // 1500.5 + 0.25 units at 0.001 each: 1.50075 credits, a sum a float would not keep exact.
    expect(byMeter[tokens.code].data).toEqual([
      { start: '2026-05-01T00:00:00Z', quantity: '1500.75', credits: '1.50075' },
      { start: '2026-05-02T00:00:00Z', quantity: '300', credits: '0.3' },
      { start: '2026-05-03T00:00:00Z', quantity: '0', credits: '0' },
    ]);
    expect(byMeter[tokens.code]).toMatchObject({ quantity: '1800.75', credits: '1.80075' });
    expect(byMeter[requests.code]).toMatchObject({ quantity: '3', credits: '0.3' });
    expect(byMeter[requests.code].data.map((p: any) => p.credits)).toEqual(['0.3', '0', '0']);
    // The totals are the sums of the points, and the whole equals what the events were charged.
    const events = (await api.get(`/v1/usage_events?customer=${customer.id}&limit=100`)).body.data
      .filter((e: any) => e.timestamp < '2026-05-04');
    const charged = events.reduce((total: bigint, e: any) => total + micro(e.credits), 0n);
    expect(micro(reply.body.credits)).toBe(charged);
    for (const s of reply.body.series) {
      expect(micro(s.credits)).toBe(s.data.reduce((total: bigint, p: any) => total + micro(p.credits), 0n));
      expect(micro(s.quantity)).toBe(s.data.reduce((total: bigint, p: any) => total + micro(p.quantity), 0n));
    }
  });

  it('buckets by the hour, filters one meter, rounds the window outwards, and defaults to the customer\'s now', async () => {
    const { api } = ctx;
    const { customer, tokens, requests } = await customerWithUsage();
    const hourly = await api.get(`/v1/customers/${customer.id}/usage_series?meter=${requests.code}&from=${at(90 * minutes)}&to=${at(150 * minutes)}&interval=hour`);
    expect(hourly.status, JSON.stringify(hourly.body)).toBe(200);
    expect(hourly.body).toMatchObject({ meter: requests.code, from: '2026-05-01T01:00:00Z', to: '2026-05-01T03:00:00Z', credits: '0.3' });
    expect(hourly.body.series).toEqual([{
      meter: requests.code, quantity: '3', credits: '0.3',
      data: [{ start: '2026-05-01T01:00:00Z', quantity: '0', credits: '0' }, { start: '2026-05-01T02:00:00Z', quantity: '3', credits: '0.3' }],
    }]);
    // A meter with no usage in the window still shows, as zeros.
    const quiet = await api.get(`/v1/customers/${customer.id}/usage_series?meter=${tokens.code}&from=${at(2 * days)}&to=${at(3 * days)}`);
    expect(quiet.body.series).toEqual([{ meter: tokens.code, quantity: '0', credits: '0', data: [{ start: '2026-05-03T00:00:00Z', quantity: '0', credits: '0' }] }]);
    // No window: the 30 days up to the customer's test clock (2026-05-07), not the real clock.
    const recent = await api.get(`/v1/customers/${customer.id}/usage_series`);
    expect(recent.status).toBe(200);
    expect(recent.body).toMatchObject({ interval: 'day', from: '2026-04-07T00:00:00Z', to: '2026-05-07T00:00:00Z', credits: '2.10775' });
    expect(recent.body.series.find((s: any) => s.meter === tokens.code).data).toHaveLength(30);
  });

  it('refuses bad input with a code and the field, and bounds the number of buckets', async () => {
    const { api } = ctx;
    const { customer } = await customerWithUsage();
    const fieldOf = async (query: string) => {
      const reply = await api.get(`/v1/customers/${customer.id}/usage_series?${query}`);
      expect(reply.status, query).toBe(400);
      expect(reply.body.error.code).toBe('validation_failed');
      return reply.body.error.details.fields.map((f: any) => `${f.field}:${f.code}`);
    };
    expect(await fieldOf('interval=week')).toContain('interval:invalid_value');
    expect(await fieldOf('from=yesterday&to=2026-05-02')).toEqual(['from:invalid_timestamp', 'to:invalid_timestamp']);
    expect(await fieldOf(`from=${at(2 * days)}&to=${at(1 * days)}`)).toEqual(['to:invalid_window']);
    expect(await fieldOf('from=2026-01-01T00:00:00Z&to=2026-03-01T00:00:00Z&interval=hour')).toEqual(['from:too_many_buckets']);
    expect(await fieldOf('bogus=1')).toContain('bogus:unknown_field');
    // 1000 buckets is the limit, inclusive.
    expect((await api.get(`/v1/customers/${customer.id}/usage_series?from=2026-01-01T00:00:00Z&to=${new Date(Date.parse('2026-01-01T00:00:00Z') + 1000 * hours).toISOString()}&interval=hour`)).status).toBe(200);
    const unknownMeter = await api.get(`/v1/customers/${customer.id}/usage_series?meter=${unique('nope')}`);
    expect(unknownMeter.status).toBe(404);
    expect(unknownMeter.body.error.code).toBe('meter_not_found');
    expect((await api.get(`/v1/customers/${unique('nobody')}/usage_series`)).status).toBe(404);
  });

  it('confines a portal token to its own customer', async () => {
    const { api } = ctx;
    const { customer } = await customerWithUsage();
    const other = await newCustomer(api, { clock: null });
    const portal = (await api.post('/v1/api_keys', { scopes: ['read'], customer: customer.id })).body.secret;
    expect((await api.as(portal).get(`/v1/customers/${customer.id}/usage_series?from=${t0}&to=${at(1 * days)}`)).status).toBe(200);
    const hidden = await api.as(portal).get(`/v1/customers/${other.id}/usage_series`);
    expect(hidden.status).toBe(404);
    expect(hidden.body.error.code).toBe('customer_not_found');
  });

  it('is described in the OpenAPI document with its operation, query and reply component', async () => {
    const doc = (await ctx.api.get('/openapi.json')).body;
    const operation = doc.paths['/v1/customers/{id}/usage_series'].get;
    expect(operation.operationId).toBe('getUsageSeries');
    expect(operation.parameters.map((p: { name: string }) => p.name).sort()).toEqual(['from', 'id', 'interval', 'meter', 'to']);
    expect(JSON.stringify(operation.responses['200'])).toContain('#/components/schemas/UsageSeries');
    expect(doc.components.schemas.UsageSeries.properties.series.items.properties.data.items.properties.credits.type).toBe('string');
  });
});

/** Decimal strings to micro-units, exactly, for comparing sums in the test. */
function micro(text: string): bigint {
  const negative = text.startsWith('-');
  const [whole, fraction = ''] = text.replace('-', '').split('.');
  const value = BigInt(whole!) * 1_000_000n + BigInt(fraction.padEnd(6, '0'));
  return negative ? -value : value;
}
