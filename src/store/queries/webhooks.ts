import type { SqlConnection, SqlRow, SqlValue } from '../sql.ts';
import type { DomainEventRecord, Page, PageRequest, WebhookAttemptRecord, WebhookDeliveryRecord, WebhookEndpointRecord } from '../records.ts';
import { inList, insertFlatRows, json, num, numOrNull, strOrNull } from '../rows.ts';
import { pageQuery } from './paging.ts';

function toEndpoint(r: SqlRow): WebhookEndpointRecord {
  return {
    id: r.id as string,
    url: r.url as string,
    description: strOrNull(r.description),
    eventTypes: json(r.event_types),
    metadata: json(r.metadata),
    disabled: num(r.disabled) === 1,
    disabledReason: strOrNull(r.disabled_reason),
    secretSealed: r.secret as string,
    previousSecretSealed: strOrNull(r.previous_secret),
    previousSecretUntilMs: numOrNull(r.previous_secret_until),
    failingSinceMs: numOrNull(r.failing_since),
    createdAtMs: num(r.created_at),
    updatedAtMs: num(r.updated_at),
  };
}

function toDelivery(r: SqlRow): WebhookDeliveryRecord {
  return {
    id: r.id as string,
    endpointId: r.endpoint_id as string,
    eventId: r.event_id as string,
    eventType: r.event_type as string,
    body: r.body as string,
    status: r.status as WebhookDeliveryRecord['status'],
    attempts: num(r.attempts),
    firstAttemptAtMs: numOrNull(r.first_attempt_at),
    nextAttemptAtMs: numOrNull(r.next_attempt_at),
    claimedUntilMs: numOrNull(r.claimed_until),
    createdAtMs: num(r.created_at),
    updatedAtMs: num(r.updated_at),
  };
}

function toAttempt(r: SqlRow): WebhookAttemptRecord {
  return {
    deliveryId: r.delivery_id as string,
    attempt: num(r.attempt),
    startedAtMs: num(r.started_at),
    statusCode: numOrNull(r.status_code),
    error: strOrNull(r.error),
    responseBody: strOrNull(r.response_body),
    durationMs: num(r.duration_ms),
    nextAttemptAtMs: numOrNull(r.next_attempt_at),
  };
}

function toEvent(r: SqlRow): DomainEventRecord {
  return { id: r.id as string, customerId: strOrNull(r.customer_id), type: r.type as string, payload: json(r.payload), createdAtMs: num(r.created_at) };
}

/** How a finished attempt is written back: the attempt row, and the delivery's next state. */
export interface AttemptOutcome {
  attempt: WebhookAttemptRecord;
  status: WebhookDeliveryRecord['status'];
  firstAttemptAtMs: number;
}

const deliveryColumns = ['id', 'endpoint_id', 'event_id', 'event_type', 'body', 'status', 'attempts', 'first_attempt_at', 'next_attempt_at', 'claimed_until', 'created_at', 'updated_at'];

/**
 * Webhook endpoints, their deliveries and attempts, and the outbox side of `domain_events`.
 *
 * Claims are compare-and-set updates, so they hold on both databases and across server
 * instances: an endpoint is leased to one instance at a time (its deliveries go out in order),
 * and each attempt is claimed by incrementing the delivery's `attempts` while no live claim is
 * on it, so one attempt is sent by one instance only.
 */
export class WebhookQueries {
  constructor(private readonly c: SqlConnection) {}

  async insertEndpoint(e: WebhookEndpointRecord): Promise<void> {
    await this.c.run(
      `INSERT INTO webhook_endpoints (id, url, description, event_types, metadata, disabled, disabled_reason, secret, previous_secret,
        previous_secret_until, failing_since, lease_owner, lease_until, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,NULL,NULL,?,?)`,
      [e.id, e.url, e.description, JSON.stringify(e.eventTypes), JSON.stringify(e.metadata), e.disabled ? 1 : 0, e.disabledReason,
        e.secretSealed, e.previousSecretSealed, e.previousSecretUntilMs, e.failingSinceMs, e.createdAtMs, e.updatedAtMs],
    );
  }

  async updateEndpoint(e: WebhookEndpointRecord): Promise<void> {
    await this.c.run(
      `UPDATE webhook_endpoints SET url = ?, description = ?, event_types = ?, metadata = ?, disabled = ?, disabled_reason = ?, secret = ?,
        previous_secret = ?, previous_secret_until = ?, failing_since = ?, updated_at = ? WHERE id = ?`,
      [e.url, e.description, JSON.stringify(e.eventTypes), JSON.stringify(e.metadata), e.disabled ? 1 : 0, e.disabledReason, e.secretSealed,
        e.previousSecretSealed, e.previousSecretUntilMs, e.failingSinceMs, e.updatedAtMs, e.id],
    );
  }

  async endpoint(id: string): Promise<WebhookEndpointRecord | null> {
    const rows = await this.c.query(`SELECT * FROM webhook_endpoints WHERE id = ?`, [id]);
    return rows[0] ? toEndpoint(rows[0]) : null;
  }

  /** The endpoint row locked for the rest of the transaction (PostgreSQL; SQLite is serial). */
  async endpointForUpdate(id: string): Promise<WebhookEndpointRecord | null> {
    const lock = this.c.dialect === 'postgres' ? ' FOR UPDATE' : '';
    const rows = await this.c.query(`SELECT * FROM webhook_endpoints WHERE id = ?${lock}`, [id]);
    return rows[0] ? toEndpoint(rows[0]) : null;
  }

  async listEndpoints(page: PageRequest): Promise<Page<WebhookEndpointRecord>> {
    return pageQuery(this.c, 'webhook_endpoints', '', [], page, toEndpoint);
  }

  async enabledEndpoints(): Promise<WebhookEndpointRecord[]> {
    return (await this.c.query(`SELECT * FROM webhook_endpoints WHERE disabled = 0 ORDER BY id`)).map(toEndpoint);
  }

  /** Deletes an endpoint with its deliveries and their attempts. */
  async deleteEndpoint(id: string): Promise<number> {
    await this.c.run(`DELETE FROM webhook_attempts WHERE delivery_id IN (SELECT id FROM webhook_deliveries WHERE endpoint_id = ?)`, [id]);
    await this.c.run(`DELETE FROM webhook_deliveries WHERE endpoint_id = ?`, [id]);
    return this.c.run(`DELETE FROM webhook_endpoints WHERE id = ?`, [id]);
  }

  /**
   * The oldest domain events not yet fanned out to the endpoints. On PostgreSQL they are locked
   * with SKIP LOCKED, so two instances fanning out at once take different events and no event
   * gets two deliveries for one endpoint.
   */
  async pendingEvents(limit: number): Promise<DomainEventRecord[]> {
    const lock = this.c.dialect === 'postgres' ? ' FOR UPDATE SKIP LOCKED' : '';
    const rows = await this.c.query(`SELECT id, customer_id, type, payload, created_at FROM domain_events WHERE webhooks_at IS NULL ORDER BY id LIMIT ?${lock}`, [limit]);
    return rows.map(toEvent);
  }

  async markEventsFannedOut(ids: readonly string[], atMs: number): Promise<void> {
    if (ids.length === 0) return;
    await this.c.run(`UPDATE domain_events SET webhooks_at = ? WHERE id IN ${inList(ids.length)}`, [atMs, ...ids]);
  }

  /** Domain events recorded at or after `sinceMs`, in recording order (replay). */
  async eventsSince(sinceMs: number, afterId: string | null, limit: number): Promise<DomainEventRecord[]> {
    const rows = await this.c.query(
      `SELECT id, customer_id, type, payload, created_at FROM domain_events WHERE created_at >= ? AND id > ? ORDER BY id LIMIT ?`,
      [sinceMs, afterId ?? '', limit],
    );
    return rows.map(toEvent);
  }

  async insertDeliveries(deliveries: readonly WebhookDeliveryRecord[]): Promise<void> {
    const values: SqlValue[] = [];
    for (const d of deliveries) {
      values.push(d.id, d.endpointId, d.eventId, d.eventType, d.body, d.status, d.attempts, d.firstAttemptAtMs, d.nextAttemptAtMs, d.claimedUntilMs, d.createdAtMs, d.updatedAtMs);
    }
    await insertFlatRows(this.c, 'webhook_deliveries', deliveryColumns, values);
  }

  async delivery(id: string): Promise<WebhookDeliveryRecord | null> {
    const rows = await this.c.query(`SELECT * FROM webhook_deliveries WHERE id = ?`, [id]);
    return rows[0] ? toDelivery(rows[0]) : null;
  }

  async listDeliveries(endpointId: string, page: PageRequest): Promise<Page<WebhookDeliveryRecord>> {
    return pageQuery(this.c, 'webhook_deliveries', 'endpoint_id = ?', [endpointId], page, toDelivery);
  }

  async attemptsOf(deliveryIds: readonly string[]): Promise<WebhookAttemptRecord[]> {
    if (deliveryIds.length === 0) return [];
    const rows = await this.c.query(`SELECT * FROM webhook_attempts WHERE delivery_id IN ${inList(deliveryIds.length)} ORDER BY delivery_id, attempt`, [...deliveryIds]);
    return rows.map(toAttempt);
  }

  /** Enabled endpoints with a delivery due at `nowMs` and no live claim on it. */
  async endpointsWithDueDeliveries(nowMs: number, limit: number): Promise<string[]> {
    const rows = await this.c.query(
      `SELECT DISTINCT d.endpoint_id FROM webhook_deliveries d JOIN webhook_endpoints e ON e.id = d.endpoint_id
        WHERE d.status = 'pending' AND d.next_attempt_at <= ? AND (d.claimed_until IS NULL OR d.claimed_until <= ?)
          AND e.disabled = 0 AND (e.lease_until IS NULL OR e.lease_until <= ?) LIMIT ?`,
      [nowMs, nowMs, nowMs, limit],
    );
    return rows.map((r) => r.endpoint_id as string);
  }

  /** Leases an endpoint to one worker (`owner`) until `untilMs`; true when the lease is ours. */
  async leaseEndpoint(id: string, owner: string, nowMs: number, untilMs: number): Promise<boolean> {
    const changed = await this.c.run(
      `UPDATE webhook_endpoints SET lease_owner = ?, lease_until = ? WHERE id = ? AND disabled = 0
        AND (lease_until IS NULL OR lease_until <= ? OR lease_owner = ?)`,
      [owner, untilMs, id, nowMs, owner],
    );
    return changed === 1;
  }

  async releaseEndpoint(id: string, owner: string): Promise<void> {
    await this.c.run(`UPDATE webhook_endpoints SET lease_owner = NULL, lease_until = NULL WHERE id = ? AND lease_owner = ?`, [id, owner]);
  }

  /**
   * Claims the next attempt of up to `limit` due deliveries of an endpoint, oldest first: each
   * claimed row's `attempts` is incremented and `claimed_until` set, in one statement that skips
   * rows claimed by anyone else. The returned `attempts` is the number of the attempt now owned.
   */
  async claimDueAttempts(endpointId: string, nowMs: number, claimedUntilMs: number, limit: number): Promise<WebhookDeliveryRecord[]> {
    const lock = this.c.dialect === 'postgres' ? ' FOR UPDATE SKIP LOCKED' : '';
    const due = `status = 'pending' AND next_attempt_at <= ? AND (claimed_until IS NULL OR claimed_until <= ?)`;
    const rows = await this.c.query(
      `UPDATE webhook_deliveries SET attempts = attempts + 1, claimed_until = ?, updated_at = ?
        WHERE id IN (SELECT id FROM webhook_deliveries WHERE endpoint_id = ? AND ${due} ORDER BY id LIMIT ?${lock}) AND ${due}
        RETURNING *`,
      [claimedUntilMs, nowMs, endpointId, nowMs, nowMs, limit, nowMs, nowMs],
    );
    return rows.map(toDelivery).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  /** Gives back a claimed attempt that was never sent (the worker stopped before sending it). */
  async unclaim(deliveryId: string, attempt: number): Promise<void> {
    await this.c.run(`UPDATE webhook_deliveries SET attempts = attempts - 1, claimed_until = NULL WHERE id = ? AND attempts = ?`, [deliveryId, attempt]);
  }

  /**
   * Records a sent attempt and moves its delivery on. The delivery row changes only while the
   * attempt is still its latest (a claim that expired and was taken over leaves it alone), and
   * the attempt row is written once: a resend after a crash is recorded under its own number.
   */
  async recordAttempt(o: AttemptOutcome, nowMs: number): Promise<void> {
    const a = o.attempt;
    await this.c.run(
      `INSERT INTO webhook_attempts (delivery_id, attempt, started_at, status_code, error, response_body, duration_ms, next_attempt_at)
        VALUES (?,?,?,?,?,?,?,?) ON CONFLICT (delivery_id, attempt) DO NOTHING`,
      [a.deliveryId, a.attempt, a.startedAtMs, a.statusCode, a.error, a.responseBody, a.durationMs, a.nextAttemptAtMs],
    );
    await this.c.run(
      `UPDATE webhook_deliveries SET status = ?, next_attempt_at = ?, first_attempt_at = COALESCE(first_attempt_at, ?), claimed_until = NULL, updated_at = ?
        WHERE id = ? AND attempts = ?`,
      [o.status, a.nextAttemptAtMs, o.firstAttemptAtMs, nowMs, a.deliveryId, a.attempt],
    );
  }

  /** Makes a delivery due now (retry now), sending it again even when it succeeded or failed before. False when an attempt is in flight. */
  async retryNow(id: string, nowMs: number): Promise<boolean> {
    const changed = await this.c.run(
      `UPDATE webhook_deliveries SET status = 'pending', next_attempt_at = ?, updated_at = ?
        WHERE id = ? AND (claimed_until IS NULL OR claimed_until <= ?)`,
      [nowMs, nowMs, id, nowMs],
    );
    return changed === 1;
  }

  async setEndpointHealth(id: string, failingSinceMs: number | null): Promise<void> {
    await this.c.run(`UPDATE webhook_endpoints SET failing_since = ? WHERE id = ?`, [failingSinceMs, id]);
  }
}
