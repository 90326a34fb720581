import { createServer, type Server } from 'node:http';
import { Webhook } from 'standardwebhooks';
import { createEngine } from '../src/engine/create-engine.ts';
import { createCustomer } from '../src/engine/customers.ts';
import { createGrant } from '../src/engine/grants.ts';
import { ingestEvents } from '../src/engine/ingest-events.ts';
import { SecretBox } from '../src/engine/secret-box.ts';
import { createWebhookEndpoint } from '../src/engine/webhook-endpoints.ts';
import { startWebhookWorker } from '../src/integrations/webhooks/delivery-worker.ts';
import { webhookUrlCheck } from '../src/integrations/webhooks/url-safety.ts';
import { EventSource } from './events.ts';
import { must, openFixture, openTempDatabase } from './fixture.ts';

/**
 * Part 7 (PRODUCT §11, issue 9): webhook delivery throughput, and what a dead endpoint
 * (connection refused) and a hanging one (accepts, never answers) cost ingestion.
 */
export interface WebhookBenchOptions {
  deliveries: number;
  ingest: { customers: number; batchSize: number; batchesPerPhase: number; rounds: number };
}

const box = new SecretBox('bench-webhooks');
const deps = { box, checkUrl: webhookUrlCheck({ allowPrivate: true }) };

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  return `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/hook`;
}

/** N domain events (grant.created) recorded first, then delivered by the worker to a local receiver. */
async function deliveryThroughput(count: number): Promise<{ seconds: number; verified: boolean }> {
  const temp = openTempDatabase('webhooks');
  const engine = await createEngine(temp.db);
  let received = 0;
  let first: { body: string; headers: Record<string, string> } | null = null;
  let done: () => void = () => {};
  const all = new Promise<void>((resolve) => (done = resolve));
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      first ??= { body: Buffer.concat(chunks).toString('utf8'), headers: req.headers as Record<string, string> };
      res.writeHead(204).end();
      if (++received === count) done();
    });
  });
  server.keepAliveTimeout = 30_000;
  const url = await listen(server);
  try {
    const { secret } = must(await createWebhookEndpoint(engine, deps, { url, event_types: ['grant.created'] }));
    const customer = must(await createCustomer(engine, { currency: 'USD' }));
    for (let i = 0; i < count; i++) must(await createGrant(engine, { customer: customer.id, credits: '1', category: 'paid', source: 'purchase' }));
    const started = performance.now();
    const worker = startWebhookWorker(engine, { box, allowPrivate: true, intervalMs: 20 });
    await all;
    const seconds = (performance.now() - started) / 1000;
    await worker.stop();
    let verified = false;
    try {
      new Webhook(secret).verify(first!.body, first!.headers);
      verified = true;
    } catch {
      verified = false;
    }
    return { seconds, verified };
  } finally {
    server.closeAllConnections();
    server.close();
    await temp.remove();
  }
}

/**
 * Ingestion in batches with the delivery worker off, on with no endpoint, and on with a dead and
 * a hanging endpoint subscribed to everything, phases interleaved round by round so that all
 * three meet the same machine. Grants made before each timed phase give the worker deliveries to
 * attempt (and fail) while ingestion runs.
 */
async function ingestionUnderWebhooks(o: WebhookBenchOptions['ingest']) {
  const fixture = await openFixture('webhooks-ingest', o.customers);
  const hanging = createServer(() => { /* accepts and never answers */ });
  const hangUrl = await listen(hanging);
  const dead = createServer();
  const deadUrl = await listen(dead);
  await new Promise<void>((resolve) => dead.close(() => resolve())); // now refuses connections
  const source = new EventSource('wh', fixture.customerIds, 11);
  const phases = ['worker off', 'worker on, no endpoints', 'dead + hanging endpoints'] as const;
  const totals = new Map<string, { events: number; ms: number }>(phases.map((p) => [p, { events: 0, ms: 0 }]));
  const engine = fixture.engine;
  let endpoints: string[] = [];
  try {
    for (let round = 0; round < o.rounds; round++) {
      for (const phase of phases) {
        const worker = phase === 'worker off' ? null : startWebhookWorker(engine, { box, allowPrivate: true });
        if (phase === 'dead + hanging endpoints') {
          endpoints = [
            must(await createWebhookEndpoint(engine, deps, { url: deadUrl, event_types: ['*'] })).endpoint.id,
            must(await createWebhookEndpoint(engine, deps, { url: hangUrl, event_types: ['*'] })).endpoint.id,
          ];
          for (let i = 0; i < 50; i++) must(await createGrant(engine, { customer: fixture.customerIds[i % fixture.customerIds.length]!, credits: '1', category: 'paid', source: 'purchase' }));
        }
        const t = totals.get(phase)!;
        for (let b = 0; b < o.batchesPerPhase; b++) {
          const batch = source.batch(o.batchSize);
          const t0 = performance.now();
          await ingestEvents(engine, batch);
          t.ms += performance.now() - t0;
          t.events += batch.length;
        }
        await worker?.stop();
        for (const id of endpoints) await engine.store.transaction((tx) => tx.webhooks.deleteEndpoint(id));
        endpoints = [];
      }
    }
  } finally {
    hanging.closeAllConnections();
    hanging.close();
    await fixture.close();
  }
  return phases.map((phase) => ({ phase, rate: totals.get(phase)!.events / (totals.get(phase)!.ms / 1000) }));
}

export async function runWebhooksBench(options: WebhookBenchOptions): Promise<string[]> {
  const lines: string[] = [];
  const delivery = await deliveryThroughput(options.deliveries);
  lines.push(`   ${options.deliveries} domain events (grant.created) delivered to a local receiver: ${delivery.seconds.toFixed(2)} s (${Math.round(options.deliveries / delivery.seconds)} deliveries/s; signature verified with standardwebhooks: ${delivery.verified}); target ≤ 5 s: ${delivery.seconds <= 5 ? 'met' : 'NOT met'}`);
  const ingest = await ingestionUnderWebhooks(options.ingest);
  const base = ingest[0]!.rate;
  for (const r of ingest) lines.push(`   ingest, ${r.phase.padEnd(26)} ${Math.round(r.rate).toLocaleString('en-US').padStart(8)} events/s  (${((r.rate / base) * 100).toFixed(1)}% of worker off)`);
  return lines;
}
