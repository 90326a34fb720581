import { endpointWants } from '../../core/webhook-event-types.ts';
import type { Engine } from '../../engine/context.ts';
import type { DomainEventRecord, WebhookDeliveryRecord, WebhookEndpointRecord } from '../../store/records.ts';
import type { StoreTx } from '../../store/store.ts';
import { webhookBody } from './event-data.ts';

/** Domain events taken from the outbox per transaction. */
export const fanOutBatchMax = 500;
/** Events a replay re-sends at most per call; the reply says whether more remain. */
export const replayEventsMax = 10_000;

/**
 * Deliveries for `events` to every endpoint that wants them, each due now. The body is built
 * once per event and is the same on every attempt.
 */
async function deliveriesFor(engine: Engine, tx: StoreTx, events: readonly DomainEventRecord[], endpoints: readonly WebhookEndpointRecord[], nowMs: number): Promise<WebhookDeliveryRecord[]> {
  const out: WebhookDeliveryRecord[] = [];
  for (const event of events) {
    const wanting = endpoints.filter((e) => endpointWants(e.eventTypes, event.type));
    if (wanting.length === 0) continue;
    const body = await webhookBody(tx, event);
    for (const endpoint of wanting) {
      out.push({
        id: engine.ids.next('dlv'), endpointId: endpoint.id, eventId: event.id, eventType: event.type, body, status: 'pending', attempts: 0,
        firstAttemptAtMs: null, nextAttemptAtMs: nowMs, claimedUntilMs: null, createdAtMs: nowMs, updatedAtMs: nowMs,
      });
    }
  }
  return out;
}

/**
 * Moves one batch of domain events from the outbox to deliveries, in one transaction: the
 * deliveries are written and the events marked fanned out together, so an event is fanned out
 * once (PostgreSQL instances take disjoint batches; SQLite transactions are serial). Returns the
 * number of events taken.
 */
export async function fanOutOnce(engine: Engine): Promise<number> {
  return engine.store.transaction(async (tx) => {
    const events = await tx.webhooks.pendingEvents(fanOutBatchMax);
    if (events.length === 0) return 0;
    const nowMs = engine.clock.now();
    const endpoints = await tx.webhooks.enabledEndpoints();
    await tx.webhooks.insertDeliveries(await deliveriesFor(engine, tx, events, endpoints, nowMs));
    await tx.webhooks.markEventsFannedOut(events.map((e) => e.id), nowMs);
    return events.length;
  });
}

/** Everything the outbox holds, in batches. */
export async function fanOutAll(engine: Engine): Promise<number> {
  let total = 0;
  for (;;) {
    const taken = await fanOutOnce(engine);
    total += taken;
    if (taken < fanOutBatchMax) return total;
  }
}

/**
 * New deliveries to one endpoint for every domain event it wants recorded at or after `sinceMs`
 * (recording time on the event's clock), in recording order. Events already delivered are sent
 * again with the same `webhook-id`, so receivers that deduplicate on it stay correct.
 */
export async function replayEvents(engine: Engine, endpoint: WebhookEndpointRecord, sinceMs: number): Promise<{ deliveries: number; truncated: boolean }> {
  let deliveries = 0;
  let seen = 0;
  let afterId: string | null = null;
  while (seen < replayEventsMax) {
    const taken = await engine.store.transaction(async (tx) => {
      const events = await tx.webhooks.eventsSince(sinceMs, afterId, Math.min(fanOutBatchMax, replayEventsMax - seen));
      const rows = await deliveriesFor(engine, tx, events, [endpoint], engine.clock.now());
      await tx.webhooks.insertDeliveries(rows);
      deliveries += rows.length;
      afterId = events.at(-1)?.id ?? afterId;
      return events.length;
    });
    seen += taken;
    if (taken < fanOutBatchMax) return { deliveries, truncated: false };
  }
  return { deliveries, truncated: true };
}
