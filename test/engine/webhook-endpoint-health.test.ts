import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/engine/clock.ts';
import type { Engine } from '../../src/engine/context.ts';
import { createEngine } from '../../src/engine/create-engine.ts';
import { createCustomer } from '../../src/engine/customers.ts';
import { createGrant } from '../../src/engine/grants.ts';
import { SecretBox } from '../../src/engine/secret-box.ts';
import { createWebhookEndpoint } from '../../src/engine/webhook-endpoints.ts';
import { startWebhookWorker, type WebhookWorker } from '../../src/integrations/webhooks/delivery-worker.ts';
import { webhookUrlCheck } from '../../src/integrations/webhooks/url-safety.ts';
import { dialects, freshDatabase, type FreshDatabase } from '../support/databases.ts';
import { must } from '../support/engine.ts';
import { WebhookReceiver } from '../support/webhook-receiver.ts';

/**
 * The retry schedule and endpoint health over days, on the engine's clock (a manual clock the
 * test sets; the receivers are real HTTP servers): a delivery is retried on schedule and fails
 * after 3 days; an endpoint failing for 5 days is disabled with `webhook_endpoint.disabled`,
 * which the other endpoints receive.
 */
describe.each(dialects)('webhook endpoint health on %s', (dialect) => {
  const hour = 3600_000;
  const day = 24 * hour;
  const box = new SecretBox('health-test-key');
  const deps = { box, checkUrl: webhookUrlCheck({ allowPrivate: true }) };
  let database: FreshDatabase;
  let engine: Engine;
  let clock: ManualClock;
  let worker: WebhookWorker;
  const receivers: WebhookReceiver[] = [];

  beforeAll(async () => {
    database = await freshDatabase(dialect);
    clock = new ManualClock(Date.parse('2026-03-01T00:00:00Z'));
    engine = await createEngine(database.db, { clock });
    // A long interval: the test drives every pass itself with runOnce.
    worker = startWebhookWorker(engine, { box, allowPrivate: true, intervalMs: 3_600_000, timeoutMs: 10_000 });
  });
  afterEach(async () => {
    for (const r of receivers.splice(0)) await r.close();
  });
  afterAll(async () => {
    await worker.stop();
    await database.drop();
  });

  async function endpointFor(eventTypes: string[]) {
    const receiver = await WebhookReceiver.start();
    receivers.push(receiver);
    const { endpoint, secret } = must(await createWebhookEndpoint(engine, deps, { url: receiver.url, event_types: eventTypes }));
    receiver.secrets = [secret];
    return { receiver, endpoint };
  }

  it('retries on schedule, fails the delivery after 3 days, disables the endpoint after 5 days of failures', async () => {
    const failing = await endpointFor(['grant.created']);
    failing.receiver.defaultAnswer = 503;
    const watcher = await endpointFor(['webhook_endpoint.disabled']);
    const customer = must(await createCustomer(engine, { currency: 'USD' }));
    const startMs = clock.now();
    must(await createGrant(engine, { customer: customer.id, credits: '1', category: 'paid', source: 'purchase' }));

    // Attempt k fails; move the clock to the moment attempt k+1 is due and run the worker.
    const attemptTimes: number[] = [];
    for (let pass = 0; pass < 20; pass++) {
      await worker.runOnce();
      const [delivery] = (await engine.store.read.webhooks.listDeliveries(failing.endpoint.id, { limit: 10 })).data;
      if (!delivery || delivery.status !== 'pending') break;
      attemptTimes.push(clock.now() - startMs);
      clock.set(delivery.nextAttemptAtMs!);
    }
    const [delivery] = (await engine.store.read.webhooks.listDeliveries(failing.endpoint.id, { limit: 10 })).data;
    expect(delivery!.status).toBe('failed');
    expect(delivery!.attempts).toBe(12);
    const gaps = attemptTimes.slice(1).map((t, i) => t - attemptTimes[i]!);
    expect(gaps.slice(0, 6)).toEqual([5_000, 300_000, 1_800_000, 2 * hour, 5 * hour, 10 * hour]);
    expect(failing.receiver.received).toHaveLength(12);
    expect(new Set(failing.receiver.received.map((m) => m.id)).size).toBe(1);
    // Failed after 3 days, but the endpoint is not yet 5 days into failing: still enabled.
    expect((await engine.store.read.webhooks.endpoint(failing.endpoint.id))!.disabled).toBe(false);

    // Day 5: another event, another failure: now the endpoint is disabled, and the watcher hears of it.
    clock.set(startMs + 5 * day);
    must(await createGrant(engine, { customer: customer.id, credits: '1', category: 'paid', source: 'purchase' }));
    await worker.runOnce();
    await worker.runOnce();
    const disabled = (await engine.store.read.webhooks.endpoint(failing.endpoint.id))!;
    expect(disabled).toMatchObject({ disabled: true, disabledReason: 'failing', failingSinceMs: startMs });
    const notices = watcher.receiver.ofType('webhook_endpoint.disabled');
    expect(notices).toHaveLength(1);
    expect(notices[0]!.json.data).toMatchObject({ id: failing.endpoint.id, object: 'webhook_endpoint', disabled: true, disabled_reason: 'failing' });
    expect(notices[0]!.verifiedByHmac).toBe(true);

    // A disabled endpoint gets nothing more.
    const before = failing.receiver.received.length;
    must(await createGrant(engine, { customer: customer.id, credits: '1', category: 'paid', source: 'purchase' }));
    await worker.runOnce();
    expect(failing.receiver.received.length).toBe(before);
  });
});
