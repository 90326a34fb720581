import { describe, expect, it } from 'vitest';
import { dialects } from '../support/databases.ts';
import { useServer } from '../support/server.ts';

describe.each(dialects)('HTTP walkthrough on %s', (dialect) => {
  const ctx = useServer(dialect);

  it('creates a customer, grants credits, ingests usage and reads the balance', async () => {
    const { api } = ctx;
    const clock = await api.post('/v1/test_clocks', { frozen_time: '2026-05-01T00:00:00Z' });
    expect(clock.status).toBe(201);
    const customer = await api.post('/v1/customers', { currency: 'USD', external_id: `acme-${dialect}`, test_clock: clock.body.id });
    expect(customer.status).toBe(201);
    expect((await api.post('/v1/meters', { code: 'tokens', event_type: 'llm', aggregation: 'sum', value_property: 'tokens', rate: { model: 'per_unit', credits_per_unit: '0.002' } })).status).toBe(201);
    expect((await api.post('/v1/grants', { customer: `acme-${dialect}`, credits: '100', category: 'paid', source: 'purchase' })).status).toBe(201);
    const ingest = await api.post('/v1/events', { events: [{ id: 'e1', customer: `acme-${dialect}`, type: 'llm', properties: { tokens: 1500 } }] });
    expect(ingest.status).toBe(200);
    expect(ingest.body.results[0]).toMatchObject({ id: 'e1', status: 'accepted', credits: '3' });
    const balance = await api.get(`/v1/customers/acme-${dialect}/balance`);
    expect(balance.body).toMatchObject({ available: '97', paid: '97', overage: '0', debt: '0' });
    const explained = await api.get('/v1/usage_events/e1');
    expect(explained.body.rating).toEqual([{ meter: 'tokens', quantity: '1500', credits: '3' }]);
    expect(explained.body.transaction.entries.map((e: { amount: string }) => e.amount)).toEqual(['-3', '3']);
  });
});
