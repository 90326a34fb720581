import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { dialects } from '../support/databases.ts';
import { unique, useServer } from '../support/server.ts';
import { balance, newCustomer, newGrant, perUnitMeter, transactions } from './fixtures.ts';

/**
 * `Idempotency-Key` on every POST (PRODUCT §12): a replay returns the first response and creates
 * nothing; the same key with another body is 409 idempotency_key_reused.
 */
describe.each(dialects)('Idempotency-Key on %s', (dialect) => {
  const ctx = useServer(dialect);

  it('replays a grant: same response, same id, one grant and one ledger transaction', async () => {
    const { api } = ctx;
    const customer = await newCustomer(api);
    const key = { 'idempotency-key': unique('key') };
    const body = { customer: customer.id, credits: '25', category: 'paid', source: 'purchase' };
    const first = await api.post('/v1/grants', body, key);
    expect(first.status).toBe(201);
    expect(first.headers.get('idempotent-replayed')).toBeNull();
    const second = await api.post('/v1/grants', { source: 'purchase', category: 'paid', credits: '25', customer: customer.id }, key);
    expect(second.status).toBe(201);
    expect(second.headers.get('idempotent-replayed')).toBe('true');
    expect(second.body).toEqual(first.body);

    expect((await api.get(`/v1/grants?customer=${customer.id}`)).body.data.map((g: { id: string }) => g.id)).toEqual([first.body.id]);
    expect(await balance(api, customer.id)).toMatchObject({ available: '25' });
    expect(await transactions(api, customer.id)).toHaveLength(1);
  });

  it('refuses the same key with a different body as 409 idempotency_key_reused, creating nothing', async () => {
    const { api } = ctx;
    const customer = await newCustomer(api);
    const key = { 'idempotency-key': unique('key') };
    const first = await api.post('/v1/grants', { customer: customer.id, credits: '25', category: 'paid', source: 'purchase' }, key);
    expect(first.status).toBe(201);
    const other = await api.post('/v1/grants', { customer: customer.id, credits: '26', category: 'paid', source: 'purchase' }, key);
    expect(other.status).toBe(409);
    expect(other.body.error.code).toBe('idempotency_key_reused');
    // The same key on another endpoint is another request too.
    const elsewhere = await api.post('/v1/customers', { currency: 'USD' }, key);
    expect(elsewhere.status).toBe(409);
    expect(elsewhere.body.error.code).toBe('idempotency_key_reused');
    expect(await balance(api, customer.id)).toMatchObject({ available: '25' });
    expect((await api.get(`/v1/grants?customer=${customer.id}`)).body.data).toHaveLength(1);
  });

  it('takes no body, an empty body and {} for one request: a retry with any of them replays the first answer', async () => {
    const { api, engine } = ctx;
    const customer = await newCustomer(api);
    await newGrant(api, customer.id, '100');
    const sends = {
      none: (path: string, key: Record<string, string>) => api.request('POST', path, undefined, key),
      empty: (path: string, key: Record<string, string>) => api.request('POST', path, '', { ...key, 'content-type': 'application/json' }),
      object: (path: string, key: Record<string, string>) => api.request('POST', path, {}, key),
    };
    for (const [first, retry] of [['none', 'object'], ['object', 'none'], ['empty', 'object'], ['object', 'empty']] as const) {
      const hold = (await api.post('/v1/holds', { customer: customer.id, credits: '10', expires_in: 600 })).body;
      const key = { 'idempotency-key': unique('key') };
      const released = await sends[first](`/v1/holds/${hold.id}/release`, key);
      expect(released.status, JSON.stringify(released.body)).toBe(200);
      // Before: 409 idempotency_key_reused between no body and {}.
      const again = await sends[retry](`/v1/holds/${hold.id}/release`, key);
      expect([first, retry, again.status, again.headers.get('idempotent-replayed')]).toEqual([first, retry, 200, 'true']);
      expect(again.body).toEqual(released.body);
      const withField = await api.post(`/v1/holds/${hold.id}/release`, { reason: 'x' }, key);
      expect(withField.status).toBe(400);
      expect(withField.body.error.details.fields).toMatchObject([{ field: 'reason', code: 'unknown_field' }]);
    }
    // A record claimed with no body before both fingerprinted alike still matches a retry with {}.
    const hold = (await api.post('/v1/holds', { customer: customer.id, credits: '10', expires_in: 600 })).body;
    const path = `/v1/holds/${hold.id}/release`;
    const key = unique('key');
    const oldHash = createHash('sha256').update(`POST ${path}\u0000null`).digest('hex');
    expect(await engine.store.read.access.claimIdempotent('admin', key, oldHash, Date.now(), 86_400_000)).toBe(true);
    await engine.store.read.access.completeIdempotent('admin', key, 200, JSON.stringify({ replayed: true }));
    const replayed = await api.post(path, {}, { 'idempotency-key': key });
    expect([replayed.status, replayed.body]).toEqual([200, { replayed: true }]);
    expect((await api.get(`/v1/holds/${hold.id}`)).body).toMatchObject({ status: 'active' });
  });

  it('replays a customer creation without creating a second customer', async () => {
    const { api } = ctx;
    const key = { 'idempotency-key': unique('key') };
    const name = unique('name');
    const first = await api.post('/v1/customers', { currency: 'EUR', name }, key);
    const second = await api.post('/v1/customers', { currency: 'EUR', name }, key);
    expect(first.status).toBe(201);
    expect(second.status).toBe(201);
    expect(second.body.id).toBe(first.body.id);
    const all = [];
    let cursor: string | null = null;
    do {
      const page: any = await api.get(`/v1/customers?limit=100${cursor ? `&starting_after=${cursor}` : ''}`);
      all.push(...page.body.data);
      cursor = page.body.next_cursor;
    } while (cursor);
    expect(all.filter((c: { name: string }) => c.name === name)).toHaveLength(1);
  });

  it('replays an ingest request: the first results come back and nothing is charged twice', async () => {
    const { api } = ctx;
    const customer = await newCustomer(api);
    const meter = await perUnitMeter(api, '2');
    await newGrant(api, customer.id, '100');
    const key = { 'idempotency-key': unique('key') };
    const body = { events: [{ id: unique('ev'), customer: customer.id, type: meter.type, properties: { n: 3 } }] };
    const first = await api.post('/v1/events', body, key);
    const second = await api.post('/v1/events', body, key);
    expect(first.body.results[0]).toMatchObject({ status: 'accepted', credits: '6' });
    // A replay of the request, not a re-ingest: it says accepted, as the first time did.
    expect(second.body).toEqual(first.body);
    expect(second.headers.get('idempotent-replayed')).toBe('true');
    expect(await balance(api, customer.id)).toMatchObject({ available: '94' });
  });

  it('replays a failed request as it failed, and separates keys by caller', async () => {
    const { api } = ctx;
    const key = { 'idempotency-key': unique('key') };
    const ghost = unique('ghost');
    const body = { customer: ghost, credits: '1', category: 'paid', source: 'purchase' };
    const first = await api.post('/v1/grants', body, key);
    expect(first.status).toBe(404);
    const second = await api.post('/v1/grants', body, key);
    expect(second.status).toBe(404);
    expect(second.body).toEqual(first.body);

    // Another API key using the same Idempotency-Key does not see the first caller's response.
    const created = await api.post('/v1/api_keys', { scopes: ['admin'] });
    const customer = await newCustomer(api);
    const mine = await api.as(created.body.secret).post('/v1/grants', { ...body, customer: customer.id }, key);
    expect(mine.status).toBe(201);
    expect(await balance(api, customer.id)).toMatchObject({ available: '1' });
  });

  it('creates one grant when the same key arrives many times at once', async () => {
    const { api } = ctx;
    const customer = await newCustomer(api);
    const key = { 'idempotency-key': unique('key') };
    const body = { customer: customer.id, credits: '5', category: 'paid', source: 'purchase' };
    const responses = await Promise.all(Array.from({ length: 8 }, () => api.post('/v1/grants', body, key)));
    // Each retry either replays the first response or is told the first is still running.
    for (const r of responses) expect([201, 409]).toContain(r.status);
    const created = responses.filter((r) => r.status === 201);
    expect(new Set(created.map((r) => r.body.id)).size).toBe(1);
    for (const r of responses.filter((r) => r.status === 409)) expect(r.body.error.code).toBe('idempotency_key_in_use');
    expect(await balance(api, customer.id)).toMatchObject({ available: '5' });
  });

  it('refuses an over-long Idempotency-Key', async () => {
    const { api } = ctx;
    const customer = await newCustomer(api);
    const response = await api.post('/v1/grants', { customer: customer.id, credits: '1', category: 'paid', source: 'purchase' }, { 'idempotency-key': 'k'.repeat(256) });
    expect(response.status).toBe(400);
    expect(response.body.error.code).toBe('invalid_idempotency_key');
    expect(await balance(api, customer.id)).toMatchObject({ available: '0' });
  });

  it('without a key, two identical grant requests make two grants', async () => {
    const { api } = ctx;
    const customer = await newCustomer(api);
    await newGrant(api, customer.id, '5');
    await newGrant(api, customer.id, '5');
    expect(await balance(api, customer.id)).toMatchObject({ available: '10' });
  });
});
