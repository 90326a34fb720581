import { randomUUID } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { isWebhookSuccess, nextWebhookAttemptAt, shouldDisableEndpoint, webhookAttemptTimeoutMs } from '../../core/webhook-retries.ts';
import { Changes, type Engine } from '../../engine/context.ts';
import type { SecretBox } from '../../engine/secret-box.ts';
import type { WebhookDeliveryRecord, WebhookEndpointRecord } from '../../store/records.ts';
import type { AttemptOutcome } from '../../store/queries/webhooks.ts';
import { fanOutAll } from './fan-out.ts';
import { postWebhook, type SendResult } from './send.ts';
import { webhookHeaders } from './signing.ts';
import { webhookUrlCheck } from './url-safety.ts';

export interface WebhookWorkerOptions {
  box: SecretBox;
  allowPrivate: boolean;
  /** How often the outbox and the due deliveries are looked at. */
  intervalMs?: number;
  /**
   * Endpoints served at once by this process whose attempts answer (16); each endpoint gets one
   * attempt in flight at a time.
   */
  endpointsInFlightMax?: number;
  /**
   * Endpoints served at once whose attempt went unanswered for `slowAttemptMs` (64): they no
   * longer count against `endpointsInFlightMax`, so endpoints that hang hold these slots and not
   * those of the endpoints that answer.
   */
  slowEndpointsMax?: number;
  /** How long an attempt may wait for its answer before its endpoint counts as slow (2 s). */
  slowAttemptMs?: number;
  /** Attempts claimed at once for one endpoint. */
  batchSize?: number;
  timeoutMs?: number;
}

/**
 * How long a claim (an endpoint's lease, and each claimed attempt) lasts. A worker stops
 * starting new attempts of a batch once `leaseMs − timeoutMs − leaseMarginMs` has passed, so
 * every attempt it sends is finished and recorded while its claim still holds; a claim outlives
 * its worker only when that process died, and then another instance takes it over.
 */
const leaseMs = 60_000;
const leaseMarginMs = 10_000;

/**
 * The delivery worker, one per server process (PRODUCT §11). Every `intervalMs` it fans the
 * outbox out into deliveries, then serves each endpoint with deliveries due, several endpoints
 * at once, each in its own task: a slow or dead endpoint holds only its own task, never the
 * others, and never ingestion (which only writes the domain events).
 *
 * Two pools of tasks: up to `endpointsInFlightMax` endpoints whose attempts answer, and up to
 * `slowEndpointsMax` whose attempt has gone unanswered for `slowAttemptMs` (it hangs until its
 * timeout, or answers slowly). An endpoint moves to the slow pool when an attempt passes that
 * mark, if the pool has room, and stays there until its task ends, so an endpoint that hangs
 * holds a prompt slot for at most `slowAttemptMs` and healthy endpoints keep flowing however
 * many hang (up to `slowEndpointsMax`, past which a hanging endpoint keeps its prompt slot).
 *
 * Per endpoint: the endpoint is leased to one process, attempts are claimed in delivery order
 * (compare-and-set on `attempts`), sent one at a time, and recorded together in one transaction.
 * A crash after sending and before recording leaves the claims to expire: those attempts are
 * sent again (at-least-once; never more than one resend per crash).
 */
export function startWebhookWorker(engine: Engine, options: WebhookWorkerOptions) {
  const intervalMs = options.intervalMs ?? 500;
  const endpointsInFlightMax = options.endpointsInFlightMax ?? 16;
  const slowEndpointsMax = options.slowEndpointsMax ?? 64;
  const slowAttemptMs = options.slowAttemptMs ?? 2_000;
  const batchSize = options.batchSize ?? 100;
  const timeoutMs = options.timeoutMs ?? webhookAttemptTimeoutMs;
  const owner = randomUUID();
  const checkUrl = webhookUrlCheck({ allowPrivate: options.allowPrivate });
  const stop = new AbortController();
  // Every attempt in flight listens on the one stop signal: up to both pools' worth at once, past
  // Node's default warning at 10 listeners.
  setMaxListeners(endpointsInFlightMax + slowEndpointsMax + 1, stop.signal);
  const busy = new Map<string, Promise<void>>();
  /** The endpoints of `busy` in the slow pool. */
  const slow = new Set<string>();
  const promptBusy = (): number => busy.size - slow.size;
  let ticking: Promise<void> = Promise.resolve();
  let stopped = false;

  const serveEndpoint = async (endpointId: string): Promise<void> => {
    while (!stopped) {
      const nowMs = engine.clock.now();
      if (!(await engine.store.read.webhooks.leaseEndpoint(endpointId, owner, nowMs, nowMs + leaseMs))) return;
      const batch = await engine.store.transaction((tx) => tx.webhooks.claimDueAttempts(endpointId, nowMs, nowMs + leaseMs, batchSize));
      if (batch.length === 0) {
        await engine.store.read.webhooks.releaseEndpoint(endpointId, owner);
        return;
      }
      const endpoint = await engine.store.read.webhooks.endpoint(endpointId);
      if (!endpoint) return;
      const outcomes = await sendBatch(endpoint, batch, nowMs);
      await recordOutcomes(engine, endpointId, outcomes);
    }
  };

  const sendBatch = async (endpoint: WebhookEndpointRecord, batch: WebhookDeliveryRecord[], startedAtMs: number): Promise<AttemptOutcome[]> => {
    const secrets = signingSecrets(endpoint, options.box, startedAtMs);
    const urlProblem = await checkUrl('url', endpoint.url);
    const outcomes: AttemptOutcome[] = [];
    for (const delivery of batch) {
      const nowMs = engine.clock.now();
      // Stop early (giving the rest back) when a claim could expire mid-send, when the server is
      // stopping, or after a failure: a failing endpoint gets its retries on the schedule.
      const lastFailed = outcomes.length > 0 && outcomes.at(-1)!.status !== 'succeeded';
      if (stopped || lastFailed || nowMs - startedAtMs > leaseMs - timeoutMs - leaseMarginMs) {
        await engine.store.read.webhooks.unclaim(delivery.id, delivery.attempts);
        continue;
      }
      const result: SendResult = urlProblem
        ? { statusCode: null, error: `${urlProblem.code}: ${urlProblem.message}`, responseBody: null, durationMs: 0 }
        : secrets.length === 0
          ? { statusCode: null, error: 'secret_unreadable: the signing secret was sealed under another TALLY_SECRET_KEY; rotate it', responseBody: null, durationMs: 0 }
          : await sendMarkingSlow(endpoint, () => postWebhook(endpoint.url, webhookHeaders(secrets, delivery.eventId, nowMs, delivery.body), delivery.body, timeoutMs, stop.signal, { allowPrivate: options.allowPrivate }));
      outcomes.push(outcomeOf(delivery, nowMs, engine.clock.now(), result));
    }
    return outcomes;
  };

  /** Sends one attempt; if it is still unanswered after `slowAttemptMs`, its endpoint moves to the slow pool (room permitting). */
  const sendMarkingSlow = async (endpoint: WebhookEndpointRecord, send: () => Promise<SendResult>): Promise<SendResult> => {
    if (slow.has(endpoint.id)) return send();
    const timer = setTimeout(() => {
      if (slow.size < slowEndpointsMax && busy.has(endpoint.id)) slow.add(endpoint.id);
    }, slowAttemptMs);
    try {
      return await send();
    } finally {
      clearTimeout(timer);
    }
  };

  const tick = async (): Promise<void> => {
    try {
      await fanOutAll(engine);
      const free = endpointsInFlightMax - promptBusy();
      if (free <= 0) return;
      // Endpoints served already are leased, so none of them is listed.
      const due = await engine.store.read.webhooks.endpointsWithDueDeliveries(engine.clock.now(), free);
      for (const id of due) {
        if (busy.has(id) || promptBusy() >= endpointsInFlightMax) continue;
        const task = serveEndpoint(id)
          .catch(async (error) => {
            console.error(`webhook delivery to ${id} failed:`, error instanceof Error ? error.message : error);
            await engine.store.read.webhooks.releaseEndpoint(id, owner).catch(() => {});
          })
          .finally(() => {
            busy.delete(id);
            slow.delete(id);
          });
        busy.set(id, task);
      }
    } catch (error) {
      console.error('webhook worker tick failed:', error instanceof Error ? error.message : error);
    }
  };

  const timer = setInterval(() => {
    if (!stopped) ticking = ticking.then(tick);
  }, intervalMs);
  timer.unref();

  return {
    /** Runs one pass now (fan-out and the start of due deliveries) and waits for the endpoints it started. */
    async runOnce(): Promise<void> {
      ticking = ticking.then(tick);
      await ticking;
      await Promise.all(busy.values());
    },
    /** Stops: in-flight attempts are cut short and recorded as failed, to be retried on schedule. */
    async stop(): Promise<void> {
      stopped = true;
      clearInterval(timer);
      stop.abort();
      await ticking;
      await Promise.all(busy.values());
    },
  };
}

export type WebhookWorker = ReturnType<typeof startWebhookWorker>;

/** The secrets that sign now: the current one, and the previous one during its 24 h overlap. */
function signingSecrets(endpoint: WebhookEndpointRecord, box: SecretBox, nowMs: number): string[] {
  const secrets = [box.open(endpoint.secretSealed)];
  if (endpoint.previousSecretSealed && endpoint.previousSecretUntilMs !== null && nowMs < endpoint.previousSecretUntilMs) {
    secrets.push(box.open(endpoint.previousSecretSealed));
  }
  return secrets.filter((s): s is string => s !== null);
}

function outcomeOf(delivery: WebhookDeliveryRecord, startedAtMs: number, finishedAtMs: number, result: SendResult): AttemptOutcome {
  const firstAttemptAtMs = delivery.firstAttemptAtMs ?? startedAtMs;
  const success = isWebhookSuccess(result.statusCode);
  const next = success ? null : nextWebhookAttemptAt(delivery.attempts, firstAttemptAtMs, finishedAtMs);
  return {
    attempt: {
      deliveryId: delivery.id, attempt: delivery.attempts, startedAtMs, statusCode: result.statusCode, error: result.error,
      responseBody: result.responseBody, durationMs: result.durationMs, nextAttemptAtMs: next,
    },
    status: success ? 'succeeded' : next === null ? 'failed' : 'pending',
    firstAttemptAtMs,
  };
}

/**
 * Writes a batch's attempts and the endpoint's health in one transaction. An endpoint whose
 * attempts have failed, with no success since, for 5 days is disabled, and
 * `webhook_endpoint.disabled` is recorded in the same transaction.
 */
async function recordOutcomes(engine: Engine, endpointId: string, outcomes: readonly AttemptOutcome[]): Promise<void> {
  if (outcomes.length === 0) return;
  await engine.store.transaction(async (tx) => {
    const endpoint = await tx.webhooks.endpointForUpdate(endpointId);
    if (!endpoint) return;
    const nowMs = engine.clock.now();
    let failingSinceMs = endpoint.failingSinceMs;
    for (const outcome of outcomes) {
      await tx.webhooks.recordAttempt(outcome, nowMs);
      if (outcome.status === 'succeeded') failingSinceMs = null;
      else failingSinceMs ??= outcome.attempt.startedAtMs;
    }
    if (failingSinceMs !== endpoint.failingSinceMs) await tx.webhooks.setEndpointHealth(endpointId, failingSinceMs);
    if (!endpoint.disabled && shouldDisableEndpoint(failingSinceMs, nowMs)) {
      endpoint.disabled = true;
      endpoint.disabledReason = 'failing';
      endpoint.failingSinceMs = failingSinceMs;
      endpoint.updatedAtMs = nowMs;
      await tx.webhooks.updateEndpoint(endpoint);
      const changes = new Changes(engine);
      changes.event('webhook_endpoint.disabled', null, { webhook_endpoint: endpoint.id, reason: 'failing', failing_since: failingSinceMs }, nowMs);
      await changes.flush(tx);
    }
  });
}
