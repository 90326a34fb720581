import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { dialects } from '../support/databases.ts';
import { adminKey, Api, useServer, unique } from '../support/server.ts';
import { buildServer, type ServerOptions } from '../../src/server/app.ts';
import type { SqlDatabase } from '../../src/store/sql.ts';
import { createEngine } from '../../src/engine/create-engine.ts';
import { authCacheTtlMs } from '../../src/server/auth.ts';
import { purgeIdempotencyRecords } from '../../src/engine/idempotency-retention.ts';
import { limits } from '../../src/engine/limits.ts';
import { at, days, newCustomer } from './fixtures.ts';

/** A second server instance on the same database, as another process would be. */
async function secondInstance(ctx: { database: { db: SqlDatabase } }, options: ServerOptions = {}): Promise<{ app: FastifyInstance; api: Api }> {
  const app = await buildServer(await createEngine(ctx.database.db), { adminKey, ...options });
  return { app, api: new Api(await app.listen({ port: 0, host: '127.0.0.1' })) };
}

/** Secrets, keys and limits (PRODUCT §12): nothing secret at rest, revocation everywhere within 1 s. */
describe.each(dialects)('keys and limits on %s', (dialect) => {
  const ctx = useServer(dialect);

  it('never stores an API key secret in plaintext for idempotency: the replay record is sealed', async () => {
    const { api, engine } = ctx;
    const key = unique('idem');
    const first = await api.post('/v1/api_keys', { scopes: ['read'] }, { 'idempotency-key': key });
    expect(first.status).toBe(201);
    expect(first.body.secret).toMatch(/^tly_/);
    const replay = await api.post('/v1/api_keys', { scopes: ['read'] }, { 'idempotency-key': key });
    expect(replay.status).toBe(201);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(replay.body).toMatchObject({ id: first.body.id, secret: first.body.secret });
    const stored = await engine.store.read.c.query<{ response: string }>('SELECT response FROM idempotency_keys');
    expect(stored.some((r) => r.response.includes(first.body.secret))).toBe(false);
    // The key itself still works.
    expect((await api.as(first.body.secret).get('/v1/customers')).status).toBe(200);
  });

  it('refuses an empty string where an id is expected', async () => {
    const { api } = ctx;
    const portal = await api.post('/v1/api_keys', { scopes: ['read'], customer: '' });
    expect(portal.status).toBe(400);
    expect(portal.body.error.details.fields).toEqual([expect.objectContaining({ field: 'customer', code: 'too_short' })]);
    expect((await api.post('/v1/grants', { customer: '', credits: '1', category: 'paid', source: 'purchase' })).status).toBe(400);
    expect((await api.get('/v1/usage_events?customer=')).status).toBe(400);
    expect((await api.post('/v1/customers', { currency: 'USD', test_clock: '' })).status).toBe(400);
    expect((await api.get('/v1/customers/')).status).toBe(400);
  });

  it('refuses a revoked key on every instance within 1 s', async () => {
    const { api } = ctx;
    const other = await secondInstance(ctx);
    try {
      const created = await api.post('/v1/api_keys', { scopes: ['read'] });
      const secret = created.body.secret as string;
      // Both instances have the key in their caches.
      expect((await api.as(secret).get('/v1/customers')).status).toBe(200);
      expect((await other.api.as(secret).get('/v1/customers')).status).toBe(200);
      expect((await api.post(`/v1/api_keys/${created.body.id}/revoke`)).status).toBe(200);
      expect(authCacheTtlMs).toBeLessThanOrEqual(1000);
      // Once the cache lifetime has passed (the bound, not an ordering guess), both refuse it.
      await sleep(authCacheTtlMs + 20);
      expect((await other.api.as(secret).get('/v1/customers')).status).toBe(401);
      expect((await api.as(secret).get('/v1/customers')).status).toBe(401);
    } finally {
      await other.app.close();
    }
  });

  it('limits requests per API key with 429, Retry-After and the API error shape', async () => {
    const { api } = ctx;
    const limited = await secondInstance(ctx, { rateLimit: { max: 3, windowMs: 60_000 } });
    try {
      const a = (await api.post('/v1/api_keys', { scopes: ['read'] })).body.secret as string;
      const b = (await api.post('/v1/api_keys', { scopes: ['read'] })).body.secret as string;
      for (let i = 0; i < 3; i++) expect((await limited.api.as(a).get('/v1/customers')).status).toBe(200);
      const refused = await limited.api.as(a).get('/v1/customers');
      expect(refused.status).toBe(429);
      expect(refused.body).toEqual({ error: expect.objectContaining({ code: 'rate_limited', message: expect.any(String) }) });
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(refused.headers.get('x-request-id')).toBeTruthy();
      // Another key has its own allowance.
      expect((await limited.api.as(b).get('/v1/customers')).status).toBe(200);
    } finally {
      await limited.app.close();
    }
  });

  it('serves /metrics to the admin only, unless TALLY_METRICS_PUBLIC opens it', async () => {
    const { api } = ctx;
    expect((await api.as(null).get('/metrics')).status).toBe(401);
    const reader = (await api.post('/v1/api_keys', { scopes: ['read'] })).body.secret as string;
    expect((await api.as(reader).get('/metrics')).status).toBe(403);
    const admin = await api.get('/metrics');
    expect(admin.status).toBe(200);
    expect(String(admin.body)).toContain('tally_due_work_total');
    expect(String(admin.body)).toContain('# TYPE tally_due_work_failures_total counter');
    const open = await secondInstance(ctx, { metricsPublic: true });
    try {
      expect((await open.api.as(null).get('/metrics')).status).toBe(200);
      // Each group commit's size: one request of three events is one group of three.
      const customer = (await open.api.post('/v1/customers', { currency: 'USD' })).body.id as string;
      const events = [1, 2, 3].map(() => ({ id: unique('grouped'), customer, type: 'grouped' }));
      expect((await open.api.post('/v1/events', { events })).status).toBe(200);
      const text = String((await open.api.as(null).get('/metrics')).body);
      expect(text).toMatch(/^tally_ingest_group_events_sum 3$/m);
      expect(text).toMatch(/^tally_ingest_group_events_count 1$/m);
      // Where ingestion found its customer: on SQLite, from memory at its next batch (nothing else
      // wrote in between); PostgreSQL keeps nothing.
      const reads = (text: string) => ['database', 'memory'].map((source) =>
        Number(new RegExp(`^tally_ingest_customer_reads_total\\{source="${source}"\\} (\\d+)$`, 'm').exec(text)?.[1] ?? 0));
      const before = reads(text);
      expect((await open.api.post('/v1/events', { events: [{ id: unique('grouped'), customer, type: 'grouped' }] })).status).toBe(200);
      const after = reads(String((await open.api.as(null).get('/metrics')).body));
      expect([after[0]! - before[0]!, after[1]! - before[1]!]).toEqual(dialect === 'sqlite' ? [0, 1] : [0, 0]);
      if (dialect === 'sqlite') expect(before[0]).toBeGreaterThanOrEqual(1);
      // Events by outcome: four accepted so far (three, then one); then one accepted, one duplicate and two rejected in one request.
      const outcomes = (text: string) => ['accepted', 'duplicate', 'rejected'].map((status) =>
        Number(new RegExp(`^tally_usage_events_total\\{status="${status}"\\} (\\d+)$`, 'm').exec(text)?.[1] ?? 0));
      expect(outcomes(String((await open.api.as(null).get('/metrics')).body))).toEqual([4, 0, 0]);
      const mixed = [{ id: unique('grouped'), customer, type: 'grouped' }, events[0], { id: unique('grouped'), customer: 'cus_nobody', type: 'grouped' }, { id: '', customer, type: 'grouped' }];
      expect((await open.api.post('/v1/events', { events: mixed })).body.results.map((r: { status: string }) => r.status)).toEqual(['accepted', 'duplicate', 'rejected', 'rejected']);
      expect(outcomes(String((await open.api.as(null).get('/metrics')).body))).toEqual([5, 1, 2]);
    } finally {
      await open.app.close();
    }
  });

  it('deletes idempotency records after 7 days; a key past retention runs again', async () => {
    const { api, engine } = ctx;
    const key = unique('idem');
    const first = await api.post('/v1/customers', { currency: 'USD' }, { 'idempotency-key': key });
    expect(first.status).toBe(201);
    const nowMs = Date.now();
    // Age the record past the retention, as 7 days of waiting would.
    await engine.store.read.c.run('UPDATE idempotency_keys SET created_at = ? WHERE key = ?', [nowMs - limits.idempotencyRetentionMs - 1, key]);
    const again = await api.post('/v1/customers', { currency: 'USD' }, { 'idempotency-key': key });
    expect(again.status).toBe(201);
    expect(again.body.id).not.toBe(first.body.id);
    await engine.store.read.c.run('UPDATE idempotency_keys SET created_at = ? WHERE key = ?', [nowMs - limits.idempotencyRetentionMs - 1, key]);
    expect(await purgeIdempotencyRecords(engine, nowMs)).toBeGreaterThanOrEqual(1);
    expect(await engine.store.read.c.query('SELECT key FROM idempotency_keys WHERE key = ?', [key])).toEqual([]);
  });

  it('refuses a purchase that would expire before it starts, as /v1/grants does', async () => {
    const { api } = ctx;
    const customer = await newCustomer(api);
    const past = at(-1 * days);
    const purchase = await api.post(`/v1/customers/${customer.id}/purchases`, { credits: '10', amount: 100, expires_at: past });
    const grant = await api.post('/v1/grants', { customer: customer.id, credits: '10', category: 'paid', source: 'purchase', expires_at: past });
    for (const refused of [purchase, grant]) {
      expect(refused.status).toBe(400);
      expect(refused.body.error.details.fields).toEqual([expect.objectContaining({ field: 'expires_at', code: 'expires_before_effective' })]);
    }
    expect((await api.get(`/v1/invoices?customer=${customer.id}`)).body.data).toEqual([]);
  });
});
