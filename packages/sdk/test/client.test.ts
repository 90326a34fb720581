import { createHmac } from 'node:crypto';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { createTally, TallyError, verifyWebhook, WebhookVerificationError, type Schemas } from '@tally/sdk';
import { adminKey, unique, useServer } from '../../../test/support/server.ts';
import { dialects } from '../../../test/support/databases.ts';

/** The SDK against the real server on a loopback port, on every dialect. */
describe.each(dialects)('the SDK on %s', (dialect) => {
  const ctx = useServer(dialect);
  const tally = () => createTally({ baseUrl: ctx.api.baseUrl, apiKey: adminKey, retryDelayMs: 1 });

  it('has a method per operation, typed from the document: the balance is strings', async () => {
    const client = tally();
    const customer = await client.createCustomer({ body: { currency: 'USD', external_id: unique('sdk') } });
    await client.createGrant({ body: { customer: customer.id, credits: '12.5', category: 'paid', source: 'adjustment' } });
    const balance = await client.getBalance({ id: customer.external_id! });
    expectTypeOf(balance.available).toEqualTypeOf<string>();
    expectTypeOf(balance).toEqualTypeOf<Schemas['Balance']>();
    expect(balance).toMatchObject({ object: 'balance', customer: customer.id, available: '12.5', paid: '12.5' });
  });

  it('throws typed errors carrying the server code and the fields at fault; nothing is stored', async () => {
    const client = tally();
    const customer = await client.createCustomer({ body: { currency: 'USD' } });
    const error = await client.createGrant({ body: { customer: customer.id, credits: 'ten', category: 'paid', source: 'adjustment' } }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TallyError);
    expect(error).toMatchObject({ status: 400, code: 'validation_failed' });
    expect((error as TallyError).fields.map((f) => f.field)).toContain('credits');
    const missing = await client.getCustomer({ id: 'cus_missing' }).catch((e: unknown) => e);
    expect(missing).toMatchObject({ status: 404, code: 'customer_not_found' });
    const grants = await client.listGrants({ query: { customer: customer.id } });
    expect(grants.data).toEqual([]);
  });

  it('retries a POST lost on the way back with the same Idempotency-Key: one grant, not two', async () => {
    const keys: string[] = [];
    let dropped = false;
    const client = createTally({
      baseUrl: ctx.api.baseUrl, apiKey: adminKey, retryDelayMs: 1,
      fetch: async (input, init) => {
        keys.push(new Headers(init?.headers).get('idempotency-key') ?? '');
        const response = await fetch(input, init);
        if (!dropped && init?.method === 'POST' && String(input).endsWith('/v1/grants')) {
          dropped = true;
          await response.text();
          throw new TypeError('fetch failed: the connection was reset');
        }
        return response;
      },
    });
    const customer = await client.createCustomer({ body: { currency: 'USD' } });
    keys.length = 0;
    const grant = await client.createGrant({ body: { customer: customer.id, credits: '5', category: 'promotional', source: 'promotion' } });
    expect(keys).toHaveLength(2);
    expect(keys[0]).toMatch(/^[0-9a-f-]{36}$/);
    expect(keys[1]).toBe(keys[0]);
    const grants = await client.listGrants({ query: { customer: customer.id } });
    expect(grants.data.map((g) => g.id)).toEqual([grant.id]);
  });

  it('retries a POST whose first attempt is still running (409 idempotency_key_in_use) and returns its reply: one grant', async () => {
    const answers: number[] = [];
    let attempt = 0;
    const client = createTally({
      baseUrl: ctx.api.baseUrl, apiKey: adminKey, retryDelayMs: 1,
      fetch: async (input, init) => {
        if (init?.method !== 'POST' || !String(input).endsWith('/v1/grants')) return fetch(input, init);
        attempt += 1;
        // The first attempt reaches the server, and its reply is lost on the way back; the
        // second finds it still running, as a slow request would be.
        if (attempt === 1) {
          answers.push((await fetch(input, init)).status);
          throw new TypeError('fetch failed: the connection was reset');
        }
        if (attempt === 2) {
          answers.push(409);
          return new Response(JSON.stringify({ error: { code: 'idempotency_key_in_use', message: 'A request with this Idempotency-Key is still running.' } }), { status: 409 });
        }
        const response = await fetch(input, init);
        answers.push(response.status);
        return response;
      },
    });
    const customer = await client.createCustomer({ body: { currency: 'USD' } });
    const grant = await client.createGrant({ body: { customer: customer.id, credits: '5', category: 'promotional', source: 'promotion' } });
    expect(answers).toEqual([201, 409, 201]);
    expect((await client.listGrants({ query: { customer: customer.id } })).data.map((g) => g.id)).toEqual([grant.id]);
    // Another conflict is the caller's to see, at once.
    await expect(client.createCustomer({ body: { currency: 'USD' } }, { idempotencyKey: customer.id })).resolves.toBeDefined();
    await expect(client.createCustomer({ body: { currency: 'EUR' } }, { idempotencyKey: customer.id })).rejects.toMatchObject({ status: 409, code: 'idempotency_key_reused' });
  });

  it('retries a 5xx, and gives up with the error after its retries', async () => {
    let failures = 1;
    const flaky = createTally({
      baseUrl: ctx.api.baseUrl, apiKey: adminKey, retryDelayMs: 1,
      fetch: async (input, init) => (failures-- > 0
        ? new Response(JSON.stringify({ error: { code: 'service_unavailable', message: 'Try again.' } }), { status: 503 })
        : fetch(input, init)),
    });
    expect((await flaky.listMeters()).object).toBe('list');
    const down = createTally({ baseUrl: ctx.api.baseUrl, apiKey: adminKey, retryDelayMs: 1, maxRetries: 1, fetch: async () => new Response('{"error":{"code":"internal_error","message":"x"}}', { status: 500 }) });
    await expect(down.listMeters()).rejects.toMatchObject({ status: 500, code: 'internal_error' });
  });

  it('iterates a paginated list across pages', async () => {
    const client = tally();
    const customer = await client.createCustomer({ body: { currency: 'USD' } });
    const made: string[] = [];
    for (let i = 0; i < 5; i += 1) made.push((await client.createGrant({ body: { customer: customer.id, credits: String(i + 1), category: 'paid', source: 'adjustment' } })).id);
    const seen: string[] = [];
    for await (const grant of client.paginate('listGrants', { query: { customer: customer.id, limit: '2' } })) {
      expectTypeOf(grant).toEqualTypeOf<Schemas['Grant']>();
      seen.push(grant.id);
    }
    expect(seen.sort()).toEqual(made.sort());
  });
});

describe('verifyWebhook', () => {
  const secret = `whsec_${Buffer.from('a secret of thirty-two bytes!!!!').toString('base64')}`;
  const body = JSON.stringify({ type: 'grant.created', timestamp: '2026-05-01T00:00:00Z', data: { id: 'grt_1' } });
  const now = 1_780_000_000;
  // The signature as the Standard Webhooks spec defines it, computed independently with node:crypto.
  const sign = (id: string, ts: number, payload: string) =>
    `v1,${createHmac('sha256', Buffer.from(secret.slice(6), 'base64')).update(`${id}.${ts}.${payload}`).digest('base64')}`;

  it('accepts a message signed with the secret, also among several signatures (rotation)', async () => {
    const headers = { 'webhook-id': 'evt_1', 'webhook-timestamp': String(now), 'webhook-signature': `v1,bm90IGl0 ${sign('evt_1', now, body)}` };
    const message = await verifyWebhook<{ id: string }>(body, headers, secret, now);
    expect(message).toEqual({ type: 'grant.created', timestamp: '2026-05-01T00:00:00Z', data: { id: 'grt_1' } });
    expect(await verifyWebhook(body, new Headers(headers), secret, now + 60)).toMatchObject({ type: 'grant.created' });
  });

  it('refuses a changed body, another secret, an old timestamp and missing headers', async () => {
    const headers = { 'webhook-id': 'evt_1', 'webhook-timestamp': String(now), 'webhook-signature': sign('evt_1', now, body) };
    await expect(verifyWebhook(body.replace('grt_1', 'grt_2'), headers, secret, now)).rejects.toBeInstanceOf(WebhookVerificationError);
    await expect(verifyWebhook(body, headers, `whsec_${Buffer.from('another').toString('base64')}`, now)).rejects.toBeInstanceOf(WebhookVerificationError);
    await expect(verifyWebhook(body, headers, secret, now + 301)).rejects.toThrow(/too old/);
    await expect(verifyWebhook(body, { 'webhook-id': 'evt_1' }, secret, now)).rejects.toThrow(/Missing/);
  });
});
