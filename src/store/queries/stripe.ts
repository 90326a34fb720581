import type { SqlConnection, SqlRow } from '../sql.ts';
import type { Page, PageRequest, ReturnRecord } from '../records.ts';
import { big, json, num, numOrNull, strOrNull } from '../rows.ts';
import { pageQuery } from './paging.ts';
import { toReturn } from './returns.ts';

/** One finalized invoice on its way to Stripe: the outbox consumer's unit of work. */
export interface StripePushRecord {
  invoiceId: string;
  customerId: string;
  eventId: string;
  status: 'pending' | 'pushed' | 'failed';
  attempts: number;
  nextAttemptAtMs: number;
  claimedUntilMs: number | null;
  stripeInvoiceId: string | null;
  lastError: string | null;
  createdAtMs: number;
  pushedAtMs: number | null;
}

/** A Stripe event received at the webhook, kept by Stripe's event id so it applies once. */
export interface StripeEventRecord {
  id: string;
  type: string;
  /**
   * `processed`, `ignored` (a type Tally does not act on), `unmatched` (no Tally invoice),
   * `rejected` (the flow refused it), `resolved` (an operator settled one kept for review).
   */
  status: 'processed' | 'ignored' | 'unmatched' | 'rejected' | 'resolved';
  objectId: string | null;
  invoiceId: string | null;
  outcome: Record<string, unknown>;
  payload: Record<string, unknown>;
  receivedAtMs: number;
}

export interface FinalizedInvoiceEvent {
  eventId: string;
  customerId: string;
  invoiceId: string;
}

const toPush = (r: SqlRow): StripePushRecord => ({
  invoiceId: r.invoice_id as string,
  customerId: r.customer_id as string,
  eventId: r.event_id as string,
  status: r.status as StripePushRecord['status'],
  attempts: num(r.attempts),
  nextAttemptAtMs: num(r.next_attempt_at),
  claimedUntilMs: numOrNull(r.claimed_until),
  stripeInvoiceId: strOrNull(r.stripe_invoice_id),
  lastError: strOrNull(r.last_error),
  createdAtMs: num(r.created_at),
  pushedAtMs: numOrNull(r.pushed_at),
});

const toEvent = (r: SqlRow): StripeEventRecord => ({
  id: r.id as string,
  type: r.type as string,
  status: r.status as StripeEventRecord['status'],
  objectId: strOrNull(r.object_id),
  invoiceId: strOrNull(r.invoice_id),
  outcome: r.outcome === null || r.outcome === undefined ? {} : json(r.outcome),
  payload: json(r.payload),
  receivedAtMs: num(r.received_at),
});

/** Storage for Stripe, both ways: push jobs fed from the outbox, received events, provider ids. */
export class StripeQueries {
  constructor(private readonly c: SqlConnection) {}

  async cursor(name: string): Promise<string> {
    const rows = await this.c.query(`SELECT position FROM integration_cursors WHERE name = ?`, [name]);
    return (rows[0]?.position as string | undefined) ?? '';
  }

  /** Moves a cursor forward only: two servers advancing it at once never move it back. */
  async advanceCursor(name: string, position: string): Promise<void> {
    await this.c.run(
      `INSERT INTO integration_cursors (name, position) VALUES (?, ?)
        ON CONFLICT (name) DO UPDATE SET position = excluded.position WHERE integration_cursors.position < excluded.position`,
      [name, position],
    );
  }

  async finalizedInvoiceEventsAfter(position: string, limit: number): Promise<FinalizedInvoiceEvent[]> {
    const rows = await this.c.query(
      `SELECT id, customer_id, payload FROM domain_events WHERE type = 'invoice.finalized' AND id > ? ORDER BY id LIMIT ?`,
      [position, limit],
    );
    return rows.map((r) => ({ eventId: r.id as string, customerId: r.customer_id as string, invoiceId: json<{ invoice: string }>(r.payload).invoice }));
  }

  /** `invoice.voided` events after a cursor position, oldest first: the voids to carry to Stripe. */
  async voidedInvoiceEventsAfter(position: string, limit: number): Promise<{ eventId: string; invoiceId: string }[]> {
    const rows = await this.c.query(`SELECT id, payload FROM domain_events WHERE type = 'invoice.voided' AND id > ? ORDER BY id LIMIT ?`, [position, limit]);
    return rows.map((r) => ({ eventId: r.id as string, invoiceId: json<{ invoice: string }>(r.payload).invoice }));
  }

  /** One job per invoice; an invoice already queued (or pushed) is left as it is. */
  async enqueuePush(e: FinalizedInvoiceEvent, nowMs: number): Promise<void> {
    await this.c.run(
      `INSERT INTO stripe_pushes (invoice_id, customer_id, event_id, status, attempts, next_attempt_at, created_at)
        VALUES (?, ?, ?, 'pending', 0, ?, ?) ON CONFLICT (invoice_id) DO NOTHING`,
      [e.invoiceId, e.customerId, e.eventId, nowMs, nowMs],
    );
  }

  async duePushes(nowMs: number, limit: number): Promise<StripePushRecord[]> {
    const rows = await this.c.query(
      `SELECT * FROM stripe_pushes WHERE status = 'pending' AND next_attempt_at <= ? AND (claimed_until IS NULL OR claimed_until <= ?)
        ORDER BY next_attempt_at, invoice_id LIMIT ?`,
      [nowMs, nowMs, limit],
    );
    return rows.map(toPush);
  }

  /**
   * Claims one attempt: the conditional update succeeds for exactly one server, which then holds
   * the job until `leaseUntilMs` (after that, a crashed holder's job is taken over).
   */
  async claimPush(invoiceId: string, nowMs: number, leaseUntilMs: number): Promise<boolean> {
    const changed = await this.c.run(
      `UPDATE stripe_pushes SET claimed_until = ?, attempts = attempts + 1
        WHERE invoice_id = ? AND status = 'pending' AND next_attempt_at <= ? AND (claimed_until IS NULL OR claimed_until <= ?)`,
      [leaseUntilMs, invoiceId, nowMs, nowMs],
    );
    return changed === 1;
  }

  async push(invoiceId: string): Promise<StripePushRecord | null> {
    const rows = await this.c.query(`SELECT * FROM stripe_pushes WHERE invoice_id = ?`, [invoiceId]);
    return rows[0] ? toPush(rows[0]) : null;
  }

  /** Pushes not done yet (pending or failed), oldest first. */
  async unfinishedPushes(limit: number): Promise<StripePushRecord[]> {
    return (await this.c.query(`SELECT * FROM stripe_pushes WHERE status <> 'pushed' ORDER BY created_at, invoice_id LIMIT ?`, [limit])).map(toPush);
  }

  async setPushStripeInvoice(invoiceId: string, stripeInvoiceId: string): Promise<void> {
    await this.c.run(`UPDATE stripe_pushes SET stripe_invoice_id = ? WHERE invoice_id = ?`, [stripeInvoiceId, invoiceId]);
  }

  async pushDone(invoiceId: string, stripeInvoiceId: string, nowMs: number): Promise<void> {
    await this.c.run(
      `UPDATE stripe_pushes SET status = 'pushed', stripe_invoice_id = ?, claimed_until = NULL, last_error = NULL, pushed_at = ? WHERE invoice_id = ?`,
      [stripeInvoiceId, nowMs, invoiceId],
    );
  }

  /** Releases the claim with the error; `nextAttemptAtMs` null gives up (`failed`). */
  async pushFailed(invoiceId: string, error: string, nextAttemptAtMs: number | null): Promise<void> {
    await this.c.run(
      `UPDATE stripe_pushes SET status = ?, claimed_until = NULL, last_error = ?, next_attempt_at = COALESCE(?, next_attempt_at) WHERE invoice_id = ?`,
      [nextAttemptAtMs === null ? 'failed' : 'pending', error.slice(0, 1000), nextAttemptAtMs, invoiceId],
    );
  }

  /** Sets the customer's Stripe id once; returns the id that is stored afterwards. */
  async linkCustomer(customerId: string, providerCustomerId: string): Promise<string> {
    await this.c.run(
      `UPDATE customers SET provider = 'stripe', provider_customer_id = ? WHERE id = ? AND provider_customer_id IS NULL`,
      [providerCustomerId, customerId],
    );
    const rows = await this.c.query(`SELECT provider_customer_id FROM customers WHERE id = ?`, [customerId]);
    return rows[0]!.provider_customer_id as string;
  }

  async linkInvoice(invoiceId: string, providerInvoiceId: string): Promise<void> {
    await this.c.run(`UPDATE invoices SET provider = 'stripe', provider_invoice_id = ? WHERE id = ?`, [providerInvoiceId, invoiceId]);
  }

  /** Records a received event unless its id is known: false for a repeat (on PostgreSQL, after the first commits). */
  async insertEvent(e: StripeEventRecord): Promise<boolean> {
    const changed = await this.c.run(
      `INSERT INTO stripe_events (id, type, status, object_id, invoice_id, outcome, payload, received_at) VALUES (?,?,?,?,?,?,?,?)
        ON CONFLICT (id) DO NOTHING`,
      [e.id, e.type, e.status, e.objectId, e.invoiceId, JSON.stringify(e.outcome), JSON.stringify(e.payload), e.receivedAtMs],
    );
    return changed === 1;
  }

  async settleEvent(id: string, status: StripeEventRecord['status'], invoiceId: string | null, outcome: Record<string, unknown>): Promise<void> {
    await this.c.run(`UPDATE stripe_events SET status = ?, invoice_id = ?, outcome = ? WHERE id = ?`, [status, invoiceId, JSON.stringify(outcome), id]);
  }

  async event(id: string): Promise<StripeEventRecord | null> {
    const rows = await this.c.query(`SELECT * FROM stripe_events WHERE id = ?`, [id]);
    return rows[0] ? toEvent(rows[0]) : null;
  }

  /**
   * Events kept for review: for no known invoice, or refused by the flow they would have run. An
   * event resolved since it ended a page still continues the list.
   */
  async eventsForReview(page: PageRequest): Promise<Page<StripeEventRecord>> {
    return pageQuery(this.c, 'stripe_events', `status IN ('unmatched', 'rejected')`, [], page, toEvent, { where: '', params: [] });
  }

  /** The invoice a Stripe payment (payment intent or charge id) was recorded against. */
  async invoiceForPayment(refs: string[]): Promise<string | null> {
    if (refs.length === 0) return null;
    const rows = await this.c.query(
      `SELECT invoice_id FROM payments WHERE provider = 'stripe' AND provider_payment_id IN (${refs.map(() => '?').join(',')}) ORDER BY id LIMIT 1`,
      refs,
    );
    return (rows[0]?.invoice_id as string | undefined) ?? null;
  }

  /** What Stripe refunds of one charge Tally has already recorded, in minor units. */
  async refundedForCharge(chargeId: string): Promise<bigint> {
    const rows = await this.c.query(
      `SELECT COALESCE(SUM(amount), 0) AS total FROM refunds WHERE kind = 'refund' AND provider = 'stripe' AND provider_ref = ?`,
      [chargeId],
    );
    return big(rows[0]?.total ?? 0n);
  }

  async chargebackForDispute(disputeId: string): Promise<ReturnRecord | null> {
    const rows = await this.c.query(`SELECT * FROM refunds WHERE kind = 'chargeback' AND provider = 'stripe' AND provider_ref = ?`, [disputeId]);
    return rows[0] ? toReturn(rows[0]) : null;
  }

  /** Finalized invoices of customers linked to Stripe that carry no Stripe invoice id (reconciliation). */
  async unpushedInvoices(fromMs: number, toMs: number): Promise<{ invoiceId: string; customerId: string; pushStatus: string | null }[]> {
    const rows = await this.c.query(
      `SELECT i.id, i.customer_id, p.status AS push_status FROM invoices i JOIN customers c ON c.id = i.customer_id
        LEFT JOIN stripe_pushes p ON p.invoice_id = i.id
        WHERE c.provider = 'stripe' AND i.finalized_at IS NOT NULL AND i.provider_invoice_id IS NULL AND i.created_at >= ? AND i.created_at < ?
        ORDER BY i.id`,
      [fromMs, toMs],
    );
    return rows.map((r) => ({ invoiceId: r.id as string, customerId: r.customer_id as string, pushStatus: strOrNull(r.push_status) }));
  }

  /** Stripe money recorded against an invoice that Tally does not know as a Stripe invoice (reconciliation). */
  async unlinkedStripeMoney(fromMs: number, toMs: number): Promise<{ kind: string; id: string; invoiceId: string | null }[]> {
    const payments = await this.c.query(
      `SELECT p.id, p.invoice_id, i.provider_invoice_id FROM payments p LEFT JOIN invoices i ON i.id = p.invoice_id
        WHERE p.provider = 'stripe' AND p.created_at >= ? AND p.created_at < ? AND i.provider_invoice_id IS NULL`,
      [fromMs, toMs],
    );
    const returns = await this.c.query(
      `SELECT r.id, r.kind, r.invoice_id FROM refunds r LEFT JOIN invoices i ON i.id = r.invoice_id
        WHERE r.provider = 'stripe' AND r.created_at >= ? AND r.created_at < ? AND i.provider_invoice_id IS NULL`,
      [fromMs, toMs],
    );
    const unmatched = await this.c.query(
      `SELECT id, type, object_id FROM stripe_events WHERE status IN ('unmatched', 'rejected') AND received_at >= ? AND received_at < ?
        AND type IN ('invoice.paid', 'charge.refunded', 'charge.dispute.created', 'charge.dispute.closed')`,
      [fromMs, toMs],
    );
    return [
      ...payments.map((r) => ({ kind: 'payment', id: r.id as string, invoiceId: strOrNull(r.invoice_id) })),
      ...returns.map((r) => ({ kind: r.kind as string, id: r.id as string, invoiceId: strOrNull(r.invoice_id) })),
      ...unmatched.map((r) => ({ kind: `event ${r.type as string}`, id: r.id as string, invoiceId: null })),
    ];
  }
}
