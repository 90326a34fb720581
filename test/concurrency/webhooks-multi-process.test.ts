import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dialects, freshDatabase, type FreshDatabase } from '../support/databases.ts';
import { Api } from '../support/server.ts';
import { freePort, ServerProcess } from '../support/server-processes.ts';
import { eventually, WebhookReceiver } from '../support/webhook-receiver.ts';

/**
 * Three real `tally serve` processes on one PostgreSQL database, each running its delivery
 * worker (PRODUCT §11): every domain event reaches every endpoint, and no attempt is sent twice
 * by two instances. One receiver answers every message at once; the other answers 500 to the
 * first message of each webhook-id, so each is retried once (after 5 s) by whichever instance
 * claims the retry.
 */
const skip = !dialects.includes('postgres');
const adminKey = 'webhooks-multi-process-admin-key';
const customerCount = 12;

describe.skipIf(skip)('webhook delivery from three server processes on PostgreSQL', () => {
  let database: FreshDatabase;
  let servers: ServerProcess[] = [];
  let apis: Api[] = [];
  let steady: WebhookReceiver;
  let flaky: WebhookReceiver;

  beforeAll(async () => {
    database = await freshDatabase('postgres');
    const ports = new Set<number>();
    while (ports.size < 3) ports.add(await freePort());
    // One after another: three processes compiling at once on a loaded 2-core machine can take
    // longer than the start-up deadline (the start-up race is covered by multi-process.test.ts).
    for (const port of ports) {
      servers.push(await ServerProcess.start({ port, databaseUrl: database.url, adminKey, env: { TALLY_WEBHOOK_ALLOW_PRIVATE: '1' } }));
    }
    apis = servers.map((s) => new Api(s.baseUrl, adminKey));
    steady = await WebhookReceiver.start();
    flaky = await WebhookReceiver.start();
  }, 120_000);

  afterAll(async () => {
    await Promise.all(servers.map((s) => s.kill()));
    await steady?.close();
    await flaky?.close();
    await database?.drop();
  });

  it('delivers every event to every endpoint, each attempt once', async () => {
    const api = apis[0]!;
    for (const receiver of [steady, flaky]) {
      const created = await api.post('/v1/webhook_endpoints', { url: receiver.url, event_types: ['grant.created', 'credits.balance_low'] });
      expect(created.status, JSON.stringify(created.body)).toBe(201);
      receiver.secrets = [created.body.secret];
    }
    // The flaky receiver fails the first message of every webhook-id.
    flaky.answerFor = (id) => (flaky.received.some((m) => m.id === id) ? 200 : 500);

    // Customers and grants, created through all three servers at once.
    await Promise.all(Array.from({ length: customerCount }, async (_, i) => {
      const server = apis[i % apis.length]!;
      const customer = await server.post('/v1/customers', { currency: 'USD', low_balance_threshold: '1000' });
      expect(customer.status).toBe(201);
      for (let g = 0; g < 3; g++) {
        const grant = await apis[(i + g) % apis.length]!.post('/v1/grants', { customer: customer.body.id, credits: '10', category: 'paid', source: 'purchase' });
        expect(grant.status).toBe(201);
      }
    }));
    const expected = await database.db.query(`SELECT id FROM domain_events WHERE type IN ('grant.created', 'credits.balance_low')`);
    const ids = new Set(expected.map((r) => r.id as string));
    expect(ids.size).toBeGreaterThanOrEqual(customerCount * 3);

    await steady.waitFor(() => new Set(steady.received.map((m) => m.id)).size === ids.size, 30_000, 'the steady receiver');
    await flaky.waitFor(() => flaky.received.filter((m) => m.answer === 200).length === ids.size, 30_000, 'the flaky receiver');

    const countById = (list: { id: string }[]) => list.reduce((m, x) => m.set(x.id, (m.get(x.id) ?? 0) + 1), new Map<string, number>());
    expect(new Set(steady.received.map((m) => m.id))).toEqual(ids);
    expect([...countById(steady.received).values()].every((n) => n === 1)).toBe(true);
    expect([...countById(flaky.received).values()].every((n) => n === 2)).toBe(true);
    expect([...steady.received, ...flaky.received].every((m) => m.verifiedByLibrary && m.verifiedByHmac)).toBe(true);

    // The receivers have answered; the attempts are recorded once each batch's transaction commits.
    const deliveries = await eventually(async () => {
      const rows = await database.db.query(`SELECT endpoint_id, event_id, COUNT(*) AS n, MIN(status) AS status FROM webhook_deliveries GROUP BY endpoint_id, event_id`);
      return rows.every((d) => d.status === 'succeeded') ? rows : undefined;
    }, 20_000, 'every delivery recorded as succeeded');
    const attempts = await database.db.query(`SELECT delivery_id, COUNT(*) AS n FROM webhook_attempts GROUP BY delivery_id`);
    expect(deliveries.length).toBe(ids.size * 2);
    expect(deliveries.every((d) => Number(d.n) === 1 && d.status === 'succeeded')).toBe(true);
    expect(attempts.reduce((sum, a) => sum + Number(a.n), 0)).toBe(ids.size * 3);
  }, 90_000);
});
