import { afterAll, afterEach, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { dialects } from '../support/databases.ts';
import { HoldableClock, unique, useServer, type Api } from '../support/server.ts';
import { Webhook } from 'standardwebhooks';
import { eventually, standardSignature, WebhookReceiver } from '../support/webhook-receiver.ts';
import { SecretBox } from '../../src/engine/secret-box.ts';
import { startWebhookWorker, type WebhookWorker } from '../../src/integrations/webhooks/delivery-worker.ts';
import { freePort } from '../support/ports.ts';
import { newCustomer, newGrant, perUnitMeter, use } from './fixtures.ts';

/**
 * Webhooks (PRODUCT §11) through the real server and a real receiver on a loopback port: every
 * message is verified with the `standardwebhooks` package and with an independent HMAC. The
 * delivery worker runs in the test process, as it does in the server process.
 */
describe.each(dialects)('webhooks on %s', (dialect) => {
  const box = new SecretBox('webhook-test-secret-key');
  const clock = new HoldableClock();
  const ctx = useServer(dialect, { webhooks: { box, allowPrivate: true }, clock });
  let worker: WebhookWorker;
  const receivers: WebhookReceiver[] = [];
  const endpoints: string[] = [];

  beforeAll(() => {
    worker = startWebhookWorker(ctx.engine, { box, allowPrivate: true, intervalMs: 50, timeoutMs: 10_000 });
  });
  afterEach(async () => {
    clock.release();
    for (const id of endpoints.splice(0)) await ctx.api.request('DELETE', `/v1/webhook_endpoints/${id}`);
    for (const r of receivers.splice(0)) await r.close();
  });
  afterAll(async () => {
    await worker.stop();
  });

  async function receiverWithEndpoint(api: Api, eventTypes?: string[]): Promise<{ receiver: WebhookReceiver; endpoint: any }> {
    const receiver = await WebhookReceiver.start();
    receivers.push(receiver);
    const created = await api.post('/v1/webhook_endpoints', { url: receiver.url, ...(eventTypes ? { event_types: eventTypes } : {}), description: 'test' });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    endpoints.push(created.body.id);
    receiver.secrets = [created.body.secret];
    return { receiver, endpoint: created.body };
  }

  const forCustomer = (receiver: WebhookReceiver, customer: string, type: string) =>
    receiver.ofType(type).filter((m) => (m.json.data.customer ?? m.json.data.id) === customer);

  it('manages endpoints: the secret is shown once and rests only encrypted', async () => {
    const { api } = ctx;
    const created = await api.post('/v1/webhook_endpoints', { url: 'https://example.com/hooks', event_types: ['invoice.paid', 'grant.created'], metadata: { team: 'billing' } });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    endpoints.push(created.body.id);
    expect(created.body).toMatchObject({ object: 'webhook_endpoint', url: 'https://example.com/hooks', event_types: ['invoice.paid', 'grant.created'], disabled: false, metadata: { team: 'billing' } });
    expect(created.body.id).toMatch(/^whk_/);
    expect(created.body.secret).toMatch(/^whsec_[A-Za-z0-9+/=]{40,}$/);

    const fetched = await api.get(`/v1/webhook_endpoints/${created.body.id}`);
    expect(fetched.status).toBe(200);
    expect(fetched.body.secret).toBeUndefined();
    expect((await api.get('/v1/webhook_endpoints?limit=100')).body.data.map((e: any) => e.id)).toContain(created.body.id);

    const updated = await api.post(`/v1/webhook_endpoints/${created.body.id}`, { event_types: ['*'], disabled: true, url: 'https://example.org/h' });
    expect(updated.status, JSON.stringify(updated.body)).toBe(200);
    expect(updated.body).toMatchObject({ event_types: ['*'], disabled: true, disabled_reason: 'disabled_by_user', url: 'https://example.org/h' });

    // Rotating with an Idempotency-Key: the replay returns the same secret, yet no table holds it in plaintext.
    const key = { 'idempotency-key': unique('rotate') };
    const rotated = await api.post(`/v1/webhook_endpoints/${created.body.id}/rotate_secret`, {}, key);
    expect(rotated.status).toBe(200);
    expect(rotated.body.secret).not.toBe(created.body.secret);
    expect(rotated.body.previous_secret_expires_at).not.toBeNull();
    const replayed = await api.post(`/v1/webhook_endpoints/${created.body.id}/rotate_secret`, {}, key);
    expect(replayed.body.secret).toBe(rotated.body.secret);
    for (const secret of [created.body.secret, rotated.body.secret]) {
      const bare = secret.replace('whsec_', '');
      for (const [table, column] of [['webhook_endpoints', 'secret'], ['webhook_endpoints', 'previous_secret'], ['idempotency_keys', 'response']]) {
        const rows = await ctx.database.db.query(`SELECT ${column} AS v FROM ${table}`);
        expect(rows.some((r) => String(r.v).includes(bare)), `${table}.${column} holds a secret in plaintext`).toBe(false);
      }
    }

    const deleted = await api.request('DELETE', `/v1/webhook_endpoints/${created.body.id}`);
    expect(deleted.body).toEqual({ id: created.body.id, object: 'webhook_endpoint', deleted: true });
    expect((await api.get(`/v1/webhook_endpoints/${created.body.id}`)).body.error.code).toBe('webhook_endpoint_not_found');
  });

  it('refuses bad input with the field at fault and stores nothing', async () => {
    const { api } = ctx;
    const before = (await api.get('/v1/webhook_endpoints?limit=100')).body.data.length;
    const cases: [unknown, string, string][] = [
      [{ url: 'ftp://example.com/x' }, 'url', 'invalid_url'],
      [{ url: 'not a url' }, 'url', 'invalid_url'],
      [{ url: 'https://user:pw@example.com/x' }, 'url', 'invalid_url'],
      [{ url: 'https://example.com/x', event_types: ['grant.created', 'no.such_type'] }, 'event_types[1]', 'unknown_event_type'],
      [{ url: 'https://example.com/x', event_types: ['*', 'grant.created'] }, 'event_types', 'invalid_event_types'],
    ];
    for (const [body, field, code] of cases) {
      const refused = await api.post('/v1/webhook_endpoints', body);
      expect(refused.status, JSON.stringify(body)).toBe(400);
      expect(refused.body.error.details.fields).toContainEqual(expect.objectContaining({ field, code }));
    }
    const schemaRefused = await api.post('/v1/webhook_endpoints', { url: 'https://example.com/x', event_types: [] });
    expect(schemaRefused.status).toBe(400);
    expect((await api.post('/v1/webhook_endpoints', { url: 'https://example.com/x', secret: 'mine' })).status).toBe(400);
    expect((await api.get('/v1/webhook_endpoints?limit=100')).body.data.length).toBe(before);
    expect((await api.post('/v1/webhook_endpoints/whk_missing/rotate_secret')).status).toBe(404);
    expect((await api.post('/v1/webhook_deliveries/dlv_missing/retry')).body.error.code).toBe('webhook_delivery_not_found');
    expect((await api.post('/v1/webhook_endpoints/whk_missing/replay', { since: 'yesterday' })).status).toBe(400);
  });

  it('delivers a state change signed per Standard Webhooks, with the object as the API shows it', async () => {
    const { api } = ctx;
    const { receiver } = await receiverWithEndpoint(api, ['grant.created']);
    const customer = await newCustomer(api);
    const grant = await newGrant(api, customer.id, '25');
    await receiver.waitFor(() => receiver.ofType('grant.created').some((m) => m.json.data.id === grant.id));
    const message = receiver.ofType('grant.created').find((m) => m.json.data.id === grant.id)!;
    expect(message.verifiedByLibrary).toBe(true);
    expect(message.verifiedByHmac).toBe(true);
    expect(message.id).toMatch(/^evt_/);
    expect(message.json.data).toEqual((await api.get(`/v1/grants/${grant.id}`)).body);
    expect(message.json.timestamp).toBe('2026-05-01T00:00:00Z');
    // Only the types asked for: no customer.created went to this endpoint.
    expect(receiver.received.every((m) => m.json.type === 'grant.created')).toBe(true);
    const domainEvent = (await api.get(`/v1/domain_events?customer=${customer.id}&type=grant.created`)).body.data[0];
    expect(message.id).toBe(domainEvent.id);
  });

  it('delivers money events with their objects: a credit note as the API shows it', async () => {
    const { api } = ctx;
    const { receiver } = await receiverWithEndpoint(api, ['credit_note.created']);
    const customer = await newCustomer(api);
    const note = await api.post('/v1/credit_notes', { customer: customer.id, amount: 500, reason: 'goodwill', currency: 'USD' });
    expect(note.status, JSON.stringify(note.body)).toBe(201);
    await receiver.waitFor(() => receiver.ofType('credit_note.created').some((m) => m.json.data.id === note.body.id));
    const message = receiver.ofType('credit_note.created').find((m) => m.json.data.id === note.body.id)!;
    expect(message.json.data).toMatchObject({ id: note.body.id, amount: 500, currency: 'USD' });
    expect(message.verifiedByLibrary && message.verifiedByHmac).toBe(true);
  });

  it('delivers hold.reduced with the hold as the API shows it when a void takes back credits it reserved', async () => {
    const { api } = ctx;
    const { receiver } = await receiverWithEndpoint(api, ['hold.reduced']);
    const customer = await newCustomer(api);
    const grant = await newGrant(api, customer.id, '50');
    const hold = await api.post('/v1/holds', { customer: customer.id, credits: '40', expires_in: 3600 });
    expect(hold.status, JSON.stringify(hold.body)).toBe(201);
    expect((await api.post(`/v1/grants/${grant.id}/void`, { reason: 'issued by mistake' })).status).toBe(200);
    await receiver.waitFor(() => receiver.ofType('hold.reduced').some((m) => m.json.data.id === hold.body.id));
    const message = receiver.ofType('hold.reduced').find((m) => m.json.data.id === hold.body.id)!;
    expect(message.json.data).toEqual((await api.get(`/v1/holds/${hold.body.id}`)).body);
    expect(message.json.data).toMatchObject({ object: 'hold', customer: customer.id, credits: '40', held: '0', status: 'active' });
    expect(message.verifiedByLibrary && message.verifiedByHmac).toBe(true);
  });

  it('sends credits.balance_low once per crossing and credits.depleted at zero during ingestion', async () => {
    const { api } = ctx;
    const { receiver } = await receiverWithEndpoint(api, ['credits.balance_low', 'credits.depleted']);
    const meter = await perUnitMeter(api);
    const customer = await newCustomer(api, { low_balance_threshold: '20' });
    await newGrant(api, customer.id, '100');
    await use(api, customer.externalId, meter.type, 50); // 50 left: above the threshold
    await use(api, customer.externalId, meter.type, 35); // 15 left: crosses below 20
    await use(api, customer.externalId, meter.type, 5); // 10 left: still below, no second signal
    await use(api, customer.externalId, meter.type, 10); // 0 left: depleted
    await receiver.waitFor(() => forCustomer(receiver, customer.id, 'credits.depleted').length === 1);
    await newGrant(api, customer.id, '100'); // back above: the next crossing fires again
    await use(api, customer.externalId, meter.type, 90);
    await receiver.waitFor(() => forCustomer(receiver, customer.id, 'credits.balance_low').length === 2);
    await worker.runOnce();
    const low = forCustomer(receiver, customer.id, 'credits.balance_low');
    expect(low.map((m) => m.json.data)).toEqual([
      { object: 'balance_signal', customer: customer.id, available: '15', threshold: '20' },
      { object: 'balance_signal', customer: customer.id, available: '10', threshold: '20' },
    ]);
    expect(forCustomer(receiver, customer.id, 'credits.depleted').map((m) => m.json.data.available)).toEqual(['0']);
    expect(receiver.received.every((m) => m.verifiedByLibrary && m.verifiedByHmac)).toBe(true);
  });

  it('retries an endpoint answering 500 twice: the same webhook-id three times, every attempt listed', async () => {
    const { api } = ctx;
    const { receiver, endpoint } = await receiverWithEndpoint(api, ['grant.created']);
    receiver.script.push(500, 500);
    // Time stands still in this test: the scheduled retry (5 s after a failure) never comes due on
    // its own, so every later attempt is the one "retry now" asks for, however slow the machine.
    clock.hold();
    const customer = await newCustomer(api);
    await newGrant(api, customer.id, '5');
    const listDeliveries = async () => (await api.get(`/v1/webhook_endpoints/${endpoint.id}/deliveries`)).body.data as any[];
    const afterAttempts = (n: number) => eventually(async () => {
      const [delivery] = await listDeliveries();
      return delivery && delivery.attempts.length === n ? delivery : undefined;
    }, 15_000, `${n} attempts recorded`);

    const first = await afterAttempts(1);
    expect(first).toMatchObject({ status: 'pending', attempt_count: 1, event_type: 'grant.created' });
    expect(first.attempts[0]).toMatchObject({ attempt: 1, status_code: 500, response_body: 'failing with 500' });
    // The schedule: the next attempt 5 s after the failure. "Retry now" instead of waiting.
    expect(Date.parse(first.next_attempt_at) - Date.parse(first.attempts[0].attempted_at)).toBeGreaterThanOrEqual(5000);
    expect((await api.post(`/v1/webhook_deliveries/${first.id}/retry`)).status).toBe(200);
    const second = await afterAttempts(2);
    expect(second.attempts[1]).toMatchObject({ attempt: 2, status_code: 500 });
    expect(Date.parse(second.attempts[1].next_attempt_at) - Date.parse(second.attempts[1].attempted_at)).toBeGreaterThanOrEqual(5 * 60_000);
    await api.post(`/v1/webhook_deliveries/${first.id}/retry`);
    const third = await afterAttempts(3);
    expect(third).toMatchObject({ status: 'succeeded', attempt_count: 3, next_attempt_at: null });
    expect(third.attempts.map((a: any) => a.status_code)).toEqual([500, 500, 200]);
    expect(third.attempts.every((a: any) => typeof a.duration_ms === 'number' && a.attempted_at)).toBe(true);

    expect(receiver.received.map((m) => m.answer)).toEqual([500, 500, 200]);
    expect(new Set(receiver.received.map((m) => m.id))).toEqual(new Set([third.event]));
    expect(receiver.received.every((m) => m.verifiedByLibrary && m.verifiedByHmac)).toBe(true);
    const health = (await api.get(`/v1/webhook_endpoints/${endpoint.id}`)).body;
    expect(health.failing_since).toBeNull();
  });

  it('signs with the old and the new secret for 24 hours after a rotation', async () => {
    const { api } = ctx;
    const { receiver, endpoint } = await receiverWithEndpoint(api, ['grant.created']);
    const rotated = await api.post(`/v1/webhook_endpoints/${endpoint.id}/rotate_secret`);
    const customer = await newCustomer(api);
    const grant = await newGrant(api, customer.id, '1');
    receiver.secrets = [endpoint.secret, rotated.body.secret];
    await receiver.waitFor(() => receiver.received.some((m) => m.json.data.id === grant.id));
    const message = receiver.received.find((m) => m.json.data.id === grant.id)!;
    expect(message.signature.split(' ')).toHaveLength(2);
    expect(message.matchingSignatures).toBe(2);
    // A receiver that knows only one of the two secrets verifies the message too.
    const headers = { 'webhook-id': message.id, 'webhook-timestamp': message.timestamp, 'webhook-signature': message.signature };
    for (const secret of [endpoint.secret, rotated.body.secret]) {
      expect(() => new Webhook(secret).verify(message.body, headers)).not.toThrow();
      expect(message.signature).toContain(standardSignature(secret, message.id, message.timestamp, message.body));
    }
    // The new signature first, then the old one.
    expect(message.signature.split(' ')[0]).toBe(`v1,${standardSignature(rotated.body.secret, message.id, message.timestamp, message.body)}`);

    // A second rotation within the 24 hours keeps the secret it replaces; the first stops signing.
    const again = await api.post(`/v1/webhook_endpoints/${endpoint.id}/rotate_secret`);
    const later = await newGrant(api, customer.id, '1');
    await receiver.waitFor(() => receiver.received.some((m) => m.json.data.id === later.id));
    const next = receiver.received.find((m) => m.json.data.id === later.id)!;
    expect(next.signature.split(' ')).toEqual([rotated.body.secret, again.body.secret].reverse()
      .map((secret) => `v1,${standardSignature(secret, next.id, next.timestamp, next.body)}`));
    expect(next.signature).not.toContain(standardSignature(endpoint.secret, next.id, next.timestamp, next.body));
  });

  it('keeps other endpoints flowing while one hangs and one is dead, and replays since a time', async () => {
    const { api } = ctx;
    const hanging = await receiverWithEndpoint(api, ['grant.created']);
    hanging.receiver.defaultAnswer = 'hang';
    const dead = await api.post('/v1/webhook_endpoints', { url: `http://127.0.0.1:${await freePort()}/refused`, event_types: ['grant.created'] });
    endpoints.push(dead.body.id);
    const healthy = await receiverWithEndpoint(api, ['grant.created']);
    const customer = await newCustomer(api);
    const grants: string[] = [];
    for (let i = 0; i < 5; i++) grants.push((await newGrant(api, customer.id, String(i + 1))).id);
    await healthy.receiver.waitFor(() => grants.every((g) => healthy.receiver.received.some((m) => m.json.data.id === g)), 10_000, 'the healthy endpoint');
    // In recording order.
    expect(healthy.receiver.received.filter((m) => grants.includes(m.json.data.id)).map((m) => m.json.data.id)).toEqual(grants);
    const deadDeliveries = await eventually(async () => {
      const list = (await api.get(`/v1/webhook_endpoints/${dead.body.id}/deliveries`)).body.data as any[];
      return list.some((d) => d.attempts.length > 0) ? list : undefined;
    });
    expect(deadDeliveries.find((d) => d.attempts.length > 0).attempts[0]).toMatchObject({ status_code: null, error: 'connection_refused' });
    // Newest first on request (the dashboard's order), paging towards older deliveries.
    const oldestFirst = (await api.get(`/v1/webhook_endpoints/${healthy.endpoint.id}/deliveries?limit=100`)).body.data.map((d: any) => d.id);
    const newest = (await api.get(`/v1/webhook_endpoints/${healthy.endpoint.id}/deliveries?order=desc&limit=2`)).body;
    expect(newest.data.map((d: any) => d.id)).toEqual(oldestFirst.slice().reverse().slice(0, 2));
    const older = (await api.get(`/v1/webhook_endpoints/${healthy.endpoint.id}/deliveries?order=desc&limit=2&starting_after=${newest.next_cursor}`)).body;
    expect(older.data.map((d: any) => d.id)).toEqual(oldestFirst.slice().reverse().slice(2, 4));

    const replay = await api.post(`/v1/webhook_endpoints/${healthy.endpoint.id}/replay`, { since: '2026-05-01T00:00:00Z' });
    expect(replay.status, JSON.stringify(replay.body)).toBe(200);
    expect(replay.body.deliveries).toBeGreaterThanOrEqual(5);
    await healthy.receiver.waitFor(() => grants.every((g) => healthy.receiver.received.filter((m) => m.json.data.id === g).length === 2), 10_000, 'the replay');
    hanging.receiver.defaultAnswer = 200;
  });
  it('keeps a healthy endpoint flowing while more endpoints hang than the worker serves at once', async () => {
    const { api } = ctx;
    // Every attempt in flight listens on the worker's stop signal: past Node's 10 listeners, a
    // server holding 17 attempts printed MaxListenersExceededWarning.
    const warnings: string[] = [];
    const onWarning = (warning: Error) => warnings.push(warning.name);
    process.on('warning', onWarning);
    onTestFinished(() => { process.off('warning', onWarning); });
    // 17 endpoints that never answer, two deliveries each: more than the 16 served at once.
    const hanging: WebhookReceiver[] = [];
    for (let i = 0; i < 17; i++) {
      const { receiver } = await receiverWithEndpoint(api, ['grant.created']);
      receiver.defaultAnswer = 'hang';
      hanging.push(receiver);
    }
    const customer = await newCustomer(api);
    for (let i = 0; i < 2; i++) await newGrant(api, customer.id, '1');
    // 16 of them hold an attempt open (the 17th waits for a slot).
    await eventually(async () => (hanging.filter((r) => r.received.length > 0).length >= 16 ? true : undefined), 10_000, '16 hanging attempts');
    const healthy = await receiverWithEndpoint(api, ['grant.created']);
    const grants: string[] = [];
    for (let i = 0; i < 5; i++) grants.push((await newGrant(api, customer.id, String(i + 1))).id);
    // Before: every slot was held by an endpoint that hangs, for 10 s per delivery it had due, so
    // nothing reached the healthy endpoint until they had all timed out.
    await healthy.receiver.waitFor(() => grants.every((g) => healthy.receiver.received.some((m) => m.json.data.id === g)), 8_000, 'the healthy endpoint');
    expect(healthy.receiver.received.filter((m) => grants.includes(m.json.data.id)).map((m) => m.json.data.id)).toEqual(grants);
    // The 17th is served too, from the slots of endpoints that hang.
    await eventually(async () => (hanging.every((r) => r.received.length > 0) ? true : undefined), 8_000, 'an attempt to every hanging endpoint');
    expect(warnings).toEqual([]);
  });
});

describe.each(dialects)('webhook URL safety on %s', (dialect) => {
  const ctx = useServer(dialect, { webhooks: { allowPrivate: false } });

  it('refuses loopback and private addresses with a code, storing nothing', async () => {
    const { api } = ctx;
    for (const url of ['http://127.0.0.1:8080/hook', 'https://10.1.2.3/hook', 'http://192.168.1.1/', 'http://[::1]:9000/', 'http://169.254.169.254/latest', 'http://[::ffff:127.0.0.1]/']) {
      const refused = await api.post('/v1/webhook_endpoints', { url });
      expect(refused.status, url).toBe(400);
      expect(refused.body.error.details.fields).toContainEqual(expect.objectContaining({ field: 'url', code: 'private_address' }));
    }
    const updateTarget = await api.post('/v1/webhook_endpoints', { url: 'https://93.184.215.14/hook' });
    expect(updateTarget.status, JSON.stringify(updateTarget.body)).toBe(201);
    const refusedUpdate = await api.post(`/v1/webhook_endpoints/${updateTarget.body.id}`, { url: 'http://localhost/hook' });
    expect(refusedUpdate.status).toBe(400);
    expect((await api.get(`/v1/webhook_endpoints/${updateTarget.body.id}`)).body.url).toBe('https://93.184.215.14/hook');
    expect((await api.get('/v1/webhook_endpoints')).body.data).toHaveLength(1);
  });
});
