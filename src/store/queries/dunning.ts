import type { SqlConnection, SqlRow } from '../sql.ts';
import type { PaymentAttemptRecord } from '../records.ts';
import { num, numOrNull, onClock, onClockParams, strOrNull } from '../rows.ts';

export interface DunningDue {
  id: string;
  customerId: string;
  dueAtMs: number;
}

const toAttempt = (r: SqlRow): PaymentAttemptRecord => ({
  id: r.id as string, invoiceId: r.invoice_id as string, customerId: r.customer_id as string, outcome: r.outcome as PaymentAttemptRecord['outcome'],
  failureCode: strOrNull(r.failure_code), attempt: num(r.attempt), source: r.source as PaymentAttemptRecord['source'],
  paymentId: strOrNull(r.payment_id), createdAtMs: num(r.created_at),
});

/** Payment attempts, and the invoices whose due date passed or whose next retry has come. */
export class DunningQueries {
  constructor(private readonly c: SqlConnection) {}

  async insertAttempt(a: PaymentAttemptRecord): Promise<void> {
    await this.c.run(
      `INSERT INTO payment_attempts (id, invoice_id, customer_id, outcome, failure_code, attempt, source, payment_id, created_at) VALUES (?,?,?,?,?,?,?,?,?)`,
      [a.id, a.invoiceId, a.customerId, a.outcome, a.failureCode, a.attempt, a.source, a.paymentId, a.createdAtMs],
    );
  }

  async attempts(invoiceId: string): Promise<PaymentAttemptRecord[]> {
    return (await this.c.query(`SELECT * FROM payment_attempts WHERE invoice_id = ? ORDER BY id`, [invoiceId])).map(toAttempt);
  }

  /**
   * Open invoices not yet past due whose due date has passed (strictly: due one millisecond after),
   * on one clock, by `invoices_past_due_pending` (migration 64).
   */
  async duePastDue(testClockId: string | null, upToMs: number, limit: number): Promise<DunningDue[]> {
    const rows = await this.c.query(
      `SELECT id, customer_id, due_at FROM invoices
        WHERE status = 'open' AND past_due_at IS NULL AND due_at IS NOT NULL AND ${onClock(testClockId)} AND due_at < ?
        ORDER BY due_at, id LIMIT ?`,
      onClockParams(testClockId, [upToMs, limit]),
    );
    return rows.map((r) => ({ id: r.id as string, customerId: r.customer_id as string, dueAtMs: num(r.due_at) + 1 }));
  }

  /** Past-due invoices whose next dunning retry has come, on one clock, by `invoices_retry_due` (migration 64). */
  async dueRetries(testClockId: string | null, upToMs: number, limit: number): Promise<DunningDue[]> {
    const rows = await this.c.query(
      `SELECT id, customer_id, next_attempt_at FROM invoices
        WHERE status = 'open' AND next_attempt_at IS NOT NULL AND ${onClock(testClockId)} AND next_attempt_at <= ?
        ORDER BY next_attempt_at, id LIMIT ?`,
      onClockParams(testClockId, [upToMs, limit]),
    );
    return rows.map((r) => ({ id: r.id as string, customerId: r.customer_id as string, dueAtMs: num(r.next_attempt_at) }));
  }

  /** Other open, past-due invoices of a subscription (it stays past due while any remains). */
  async otherPastDue(subscriptionId: string, invoiceId: string): Promise<number> {
    const rows = await this.c.query(
      `SELECT COUNT(*) AS n FROM invoices WHERE subscription_id = ? AND id <> ? AND status = 'open' AND past_due_at IS NOT NULL`, [subscriptionId, invoiceId]);
    return num(rows[0]?.n ?? 0);
  }

  /** `invoice.payment_retry` events after an id, for a provider's retry worker. */
  async retryEventsAfter(position: string, limit: number): Promise<{ eventId: string; invoiceId: string; retry: number }[]> {
    const rows = await this.c.query(`SELECT id, payload FROM domain_events WHERE type = 'invoice.payment_retry' AND id > ? ORDER BY id LIMIT ?`, [position, limit]);
    return rows.map((r) => {
      const payload = JSON.parse(r.payload as string) as { invoice: string; retry: number };
      return { eventId: r.id as string, invoiceId: payload.invoice, retry: payload.retry };
    });
  }

  /** Open past-due invoices (for the aging report), optionally of one customer. */
  async pastDueInvoices(customerId: string | null): Promise<{ id: string; customerId: string; currency: string; dueAtMs: number | null; pastDueAtMs: number; amountMinor: bigint }[]> {
    const rows = await this.c.query(
      `SELECT id, customer_id, currency, due_at, past_due_at, total - amount_paid AS left_to_pay FROM invoices
        WHERE status = 'open' AND past_due_at IS NOT NULL${customerId ? ' AND customer_id = ?' : ''} ORDER BY id`,
      customerId ? [customerId] : [],
    );
    return rows.map((r) => ({
      id: r.id as string, customerId: r.customer_id as string, currency: r.currency as string, dueAtMs: numOrNull(r.due_at),
      pastDueAtMs: num(r.past_due_at), amountMinor: BigInt(r.left_to_pay as bigint),
    }));
  }
}
