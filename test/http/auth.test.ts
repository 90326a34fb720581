import { describe, expect, it } from 'vitest';
import { dialects } from '../support/databases.ts';
import { unique, useServer, type Api } from '../support/server.ts';
import { balance, newCustomer, newGrant, perUnitMeter, use } from './fixtures.ts';

/**
 * API keys and scopes (PRODUCT §12): admin covers everything, ingest writes usage, read only
 * reads; a portal token reads its one customer and nothing else.
 */
describe.each(dialects)('API keys and scopes on %s', (dialect) => {
  const ctx = useServer(dialect);

  async function keyFor(body: Record<string, unknown>): Promise<{ id: string; client: Api }> {
    const created = await ctx.api.post('/v1/api_keys', body);
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(created.body.secret).toMatch(/^tly_/);
    return { id: created.body.id, client: ctx.api.as(created.body.secret) };
  }

  it('needs a key, and a valid one', async () => {
    const { api } = ctx;
    const missing = await api.as(null).get('/v1/customers');
    expect(missing.status).toBe(401);
    expect(missing.body.error.code).toBe('missing_api_key');
    const wrong = await api.as('tly_wrong').get('/v1/customers');
    expect(wrong.status).toBe(401);
    expect(wrong.body.error.code).toBe('invalid_api_key');
    expect((await api.as(null).post('/v1/events', { events: [] })).body.error.code).toBe('missing_api_key');
  });

  it('lets an ingest key send usage but not grant credits (403 insufficient_scope, nothing stored)', async () => {
    const { api } = ctx;
    const customer = await newCustomer(api);
    const meter = await perUnitMeter(api);
    await newGrant(api, customer.id, '10');
    const { client } = await keyFor({ scopes: ['ingest'], name: 'ingest only' });

    const grant = await client.post('/v1/grants', { customer: customer.id, credits: '1000', category: 'paid', source: 'purchase' });
    expect(grant.status).toBe(403);
    expect(grant.body.error).toMatchObject({ code: 'insufficient_scope', details: { needed: 'admin', scopes: ['ingest'] } });
    expect((await api.get(`/v1/grants?customer=${customer.id}`)).body.data).toHaveLength(1);
    expect(await balance(api, customer.id)).toMatchObject({ available: '10' });

    expect((await client.post('/v1/customers', { currency: 'USD' })).status).toBe(403);
    expect((await client.post('/v1/api_keys', { scopes: ['admin'] })).status).toBe(403);
    const ingested = await client.post('/v1/events', { events: [{ id: unique('ev'), customer: customer.id, type: meter.type, properties: { n: 4 } }] });
    expect(ingested.status).toBe(200);
    expect(ingested.body.results[0]).toMatchObject({ status: 'accepted', credits: '4' });
    expect((await client.post(`/v1/customers/${customer.id}/authorize`, { credits: '1' })).status).toBe(200);
    expect((await client.get(`/v1/customers/${customer.id}/balance`)).body).toMatchObject({ available: '6' });
  });

  it('lets a read key read but not write (403 insufficient_scope on POST /v1/events, nothing stored)', async () => {
    const { api } = ctx;
    const customer = await newCustomer(api);
    const meter = await perUnitMeter(api);
    await newGrant(api, customer.id, '10');
    const { client } = await keyFor({ scopes: ['read'] });
    const id = unique('ev');
    const response = await client.post('/v1/events', { events: [{ id, customer: customer.id, type: meter.type, properties: { n: 4 } }] });
    expect(response.status).toBe(403);
    expect(response.body.error).toMatchObject({ code: 'insufficient_scope', details: { needed: 'ingest' } });
    expect((await api.get(`/v1/usage_events/${id}`)).status).toBe(404);
    expect(await balance(api, customer.id)).toMatchObject({ available: '10' });

    expect((await client.post('/v1/holds', { customer: customer.id, credits: '1', expires_in: 60 })).status).toBe(403);
    expect((await client.get(`/v1/customers/${customer.id}/balance`)).body).toMatchObject({ available: '10' });
    expect((await client.get('/v1/customers?limit=1')).status).toBe(200);
  });

  it('gives a portal token its own customer only: others answer 404', async () => {
    const { api } = ctx;
    const mine = await newCustomer(api);
    const other = await newCustomer(api);
    const meter = await perUnitMeter(api);
    const myGrant = await newGrant(api, mine.id, '10');
    const otherGrant = await newGrant(api, other.id, '20');
    const myEvent = (await use(api, mine.id, meter.type, 1)).id;
    const otherEvent = (await use(api, other.id, meter.type, 1)).id;
    const { client } = await keyFor({ scopes: ['read'], customer: mine.externalId });

    expect((await client.get(`/v1/customers/${mine.id}/balance`)).body).toMatchObject({ customer: mine.id, available: '9' });
    expect((await client.get(`/v1/customers/${mine.externalId}/balance`)).status).toBe(200);
    expect((await client.get(`/v1/customers/${mine.id}`)).body.id).toBe(mine.id);
    expect((await client.get(`/v1/grants/${myGrant.id}`)).status).toBe(200);
    expect((await client.get(`/v1/usage_events/${myEvent}`)).status).toBe(200);
    expect((await client.get('/v1/grants')).body.data.map((g: { id: string }) => g.id)).toEqual([myGrant.id]);

    for (const path of [
      `/v1/customers/${other.id}/balance`,
      `/v1/customers/${other.externalId}/balance`,
      `/v1/customers/${other.id}`,
      `/v1/grants/${otherGrant.id}`,
      `/v1/usage_events/${otherEvent}`,
      `/v1/grants?customer=${other.id}`,
      `/v1/domain_events?customer=${other.id}`,
      `/v1/ledger/transactions?customer=${other.id}`,
    ]) {
      const response = await client.get(path);
      expect(response.status, path).toBe(404);
    }
    const listing = await client.get('/v1/customers');
    expect(listing.status).toBe(403);
    expect(listing.body.error.code).toBe('insufficient_scope');
    expect((await client.post('/v1/events', { events: [{ id: unique('ev'), customer: mine.id, type: meter.type, properties: { n: 1 } }] })).status).toBe(403);
    expect(await balance(api, mine.id)).toMatchObject({ available: '9' });
  });

  it('refuses a portal token with more than the read scope, or for an unknown customer', async () => {
    const { api } = ctx;
    const customer = await newCustomer(api);
    const write = await api.post('/v1/api_keys', { scopes: ['read', 'ingest'], customer: customer.id });
    expect(write.status).toBe(400);
    expect(write.body.error.details.fields).toMatchObject([{ field: 'scopes', code: 'portal_read_only' }]);
    const ghost = await api.post('/v1/api_keys', { scopes: ['read'], customer: unique('ghost') });
    expect(ghost.status).toBe(404);
    const bad = await api.post('/v1/api_keys', { scopes: ['superuser'] });
    expect(bad.status).toBe(400);
    expect(bad.body.error.details.fields.map((f: { field: string }) => f.field)).toContain('scopes[0]');
  });

  it('stores keys without their secret and stops accepting a revoked key', async () => {
    const { api } = ctx;
    const { id, client } = await keyFor({ scopes: ['read'] });
    const listed = (await api.get('/v1/api_keys?limit=100')).body.data.find((k: { id: string }) => k.id === id);
    expect(listed).toMatchObject({ id, scopes: ['read'], revoked_at: null });
    expect(listed.secret).toBeUndefined();
    expect(JSON.stringify(listed)).not.toMatch(/tly_/);
    const revoked = await api.post(`/v1/api_keys/${id}/revoke`);
    expect(revoked.status).toBe(200);
    const after = await client.get('/v1/customers');
    expect(after.status).toBe(401);
    expect(after.body.error.code).toBe('invalid_api_key');
  });
});
