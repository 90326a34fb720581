import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Engine } from '../../src/engine/context.ts';
import { createEngine } from '../../src/engine/create-engine.ts';
import { createCustomer } from '../../src/engine/customers.ts';
import { createGrant } from '../../src/engine/grants.ts';
import { SecretBox } from '../../src/engine/secret-box.ts';
import { createWebhookEndpoint } from '../../src/engine/webhook-endpoints.ts';
import { fanOutAll } from '../../src/integrations/webhooks/fan-out.ts';
import { webhookUrlCheck } from '../../src/integrations/webhooks/url-safety.ts';
import { dialects, freshDatabase, type FreshDatabase } from '../support/databases.ts';
import { must } from '../support/engine.ts';

/** The outbox's fan-out with no endpoint: events are marked handled and never delivered later. */
describe.each(dialects)('webhook fan-out on %s', (dialect) => {
  let database: FreshDatabase;
  let engine: Engine;

  beforeAll(async () => {
    database = await freshDatabase(dialect);
    engine = await createEngine(database.db);
  });
  afterAll(async () => {
    await database.drop();
  });

  it('marks events recorded while no endpoint exists, and an endpoint added later gets only the events after it', async () => {
    const customer = must(await createCustomer(engine, { currency: 'USD' }));
    const early = must(await createGrant(engine, { customer: customer.id, credits: '3', category: 'paid', source: 'purchase' }));
    expect((await engine.store.read.webhooks.pendingEvents(100)).length).toBeGreaterThanOrEqual(2);

    const marked = await fanOutAll(engine);
    expect(marked).toBeGreaterThanOrEqual(2);
    expect(await engine.store.read.webhooks.pendingEvents(100)).toEqual([]);
    expect(await fanOutAll(engine)).toBe(0);

    const deps = { box: new SecretBox('fan-out-test'), checkUrl: webhookUrlCheck({ allowPrivate: true }) };
    const { endpoint } = must(await createWebhookEndpoint(engine, deps, { url: 'http://127.0.0.1:1/unused', event_types: ['grant.created'] }));
    const late = must(await createGrant(engine, { customer: customer.id, credits: '4', category: 'paid', source: 'purchase' }));
    await fanOutAll(engine);

    const deliveries = (await engine.store.read.webhooks.listDeliveries(endpoint.id, { limit: 10 })).data;
    expect(deliveries.map((d) => d.eventType)).toEqual(['grant.created']);
    expect(deliveries[0]!.body).toContain(late.id);
    expect(deliveries[0]!.body).not.toContain(early.id);
  });
});
