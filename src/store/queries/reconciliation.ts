import { toReturn } from './returns.ts';
import type { SqlConnection } from '../sql.ts';
import type { AllowanceGrantFacts, OverageLineFacts, PurchaseGrantFacts } from '../../core/reconciliation.ts';
import type { ReturnRecord } from '../records.ts';
import { big, num, numOrNull, queryInChunks, strOrNull } from '../rows.ts';

/** A reconciliation window [fromMs, toMs). */
export interface ReconcileWindow {
  fromMs: number;
  toMs: number;
}

export interface ClosedPeriod {
  subscriptionId: string;
  customerId: string;
  periodIndex: number;
  periodStartMs: number;
  periodEndMs: number;
  /** Overage consumed by usage in the period (up to the subscription's end when it ended inside it). */
  consumedMicro: bigint;
}

/**
 * The facts reconciliation compares (PRODUCT §10), gathered with set-based SQL so each check is a
 * few queries however large the store. Where a rule fits in SQL (a sum is not zero, a count is not
 * one) the query returns only the rows that break it; src/core/reconciliation.ts words them.
 */
export class ReconciliationQueries {
  constructor(private readonly c: SqlConnection) {}

  /** Transactions effective in the window whose entries do not sum to zero, or that have fewer than two. */
  async unbalancedTransactions(w: ReconcileWindow): Promise<{ txnId: string; customerId: string; sumMicro: bigint; entryCount: number }[]> {
    const rows = await this.c.query(
      `SELECT t.id, t.customer_id, COALESCE(SUM(e.amount), 0) AS total, COUNT(e.txn_id) AS n FROM ledger_transactions t
        LEFT JOIN ledger_entries e ON e.txn_id = t.id WHERE t.effective_at >= ? AND t.effective_at < ?
        GROUP BY t.id, t.customer_id HAVING COALESCE(SUM(e.amount), 0) <> 0 OR COUNT(e.txn_id) < 2 ORDER BY t.id`,
      [w.fromMs, w.toMs],
    );
    return rows.map((r) => ({ txnId: r.id as string, customerId: r.customer_id as string, sumMicro: big(r.total), entryCount: num(r.n) }));
  }

  /** Usage events in the window not charged exactly once: credits ⇒ one usage transaction, its txn_id; none ⇒ none. */
  async usageChargeSuspects(w: ReconcileWindow): Promise<{ customerId: string; eventId: string; creditsMicro: bigint; txnId: string | null; charges: number; chargeIds: string[] }[]> {
    const rows = await this.c.query(
      // Every usage charge grouped by its event (one pass over the usage transactions: the cause
      // index leaves usage out), then matched to the window's events by primary key.
      `SELECT e.customer_id, e.id, e.credits, e.txn_id, COALESCE(u.n, 0) AS n, u.first_txn, u.last_txn FROM usage_events e
        LEFT JOIN (SELECT customer_id, cause_id, COUNT(*) AS n, MIN(id) AS first_txn, MAX(id) AS last_txn FROM ledger_transactions
          WHERE kind = 'usage' GROUP BY customer_id, cause_id) u ON u.customer_id = e.customer_id AND u.cause_id = e.id
        WHERE e.timestamp >= ? AND e.timestamp < ?
          AND ((e.credits <> 0 AND (COALESCE(u.n, 0) <> 1 OR e.txn_id IS NULL OR u.first_txn <> e.txn_id))
            OR (e.credits = 0 AND (COALESCE(u.n, 0) <> 0 OR e.txn_id IS NOT NULL))) ORDER BY e.id`,
      [w.fromMs, w.toMs],
    );
    return rows.map((r) => ({
      customerId: r.customer_id as string, eventId: r.id as string, creditsMicro: big(r.credits), txnId: strOrNull(r.txn_id), charges: num(r.n),
      chargeIds: [...new Set([strOrNull(r.first_txn), strOrNull(r.last_txn)].filter((id): id is string => id !== null))],
    }));
  }

  /** Usage transactions in the window whose consumption differs from their event's rating (or that have no event). */
  async usageTransactionSuspects(w: ReconcileWindow): Promise<{ txnId: string; customerId: string; eventId: string; eventCreditsMicro: bigint | null; consumedMicro: bigint }[]> {
    const rows = await this.c.query(
      `SELECT t.id, t.customer_id, t.cause_id, ev.credits, SUM(CASE WHEN x.account LIKE 'consumed:%' THEN x.amount ELSE 0 END) AS consumed
        FROM ledger_transactions t JOIN ledger_entries x ON x.txn_id = t.id
        LEFT JOIN usage_events ev ON ev.customer_id = t.customer_id AND ev.id = t.cause_id
        WHERE t.kind = 'usage' AND t.effective_at >= ? AND t.effective_at < ? GROUP BY t.id, t.customer_id, t.cause_id, ev.credits
        HAVING ev.credits IS NULL OR SUM(CASE WHEN x.account LIKE 'consumed:%' THEN x.amount ELSE 0 END) <> ev.credits ORDER BY t.id`,
      [w.fromMs, w.toMs],
    );
    return rows.map((r) => ({
      txnId: r.id as string, customerId: r.customer_id as string, eventId: r.cause_id as string,
      eventCreditsMicro: r.credits === null || r.credits === undefined ? null : big(r.credits), consumedMicro: big(r.consumed),
    }));
  }

  /** Paid grants from purchases created in the window, with the invoice line and invoice they link to. */
  async purchaseGrants(w: ReconcileWindow): Promise<PurchaseGrantFacts[]> {
    const rows = await this.c.query(
      `SELECT g.id, g.customer_id, g.status, g.invoice_id, g.invoice_line_id, g.credits, g.cost_amount, i.status AS invoice_status,
          l.id AS line_id, l.invoice_id AS line_invoice, l.type AS line_type, l.quantity AS line_quantity, l.amount AS line_amount
        FROM grants g LEFT JOIN invoice_lines l ON l.id = g.invoice_line_id LEFT JOIN invoices i ON i.id = g.invoice_id
        WHERE g.source = 'purchase' AND g.category = 'paid' AND g.created_at >= ? AND g.created_at < ? ORDER BY g.id`,
      [w.fromMs, w.toMs],
    );
    return rows.map((r) => ({
      id: r.id as string, customerId: r.customer_id as string, status: r.status as string, invoiceId: strOrNull(r.invoice_id),
      invoiceLineId: strOrNull(r.invoice_line_id), creditsMicro: big(r.credits), costMinor: r.cost_amount === null ? null : big(r.cost_amount),
      invoiceStatus: strOrNull(r.invoice_status),
      line: r.line_id === null ? null : {
        id: r.line_id as string, invoiceId: r.line_invoice as string, type: r.line_type as string, quantity: r.line_quantity as string, amountMinor: big(r.line_amount),
      },
    }));
  }

  /** Plan allowances and rollovers created in the window, with their period, invoice and line. */
  async allowanceGrants(w: ReconcileWindow): Promise<AllowanceGrantFacts[]> {
    const rows = await this.c.query(
      `SELECT g.id, g.customer_id, g.source, g.subscription_id, g.period_start, g.invoice_id, g.invoice_line_id,
          p.period_index, p.invoice_id AS period_invoice, i.id AS inv_id, i.subscription_id AS inv_subscription, l.id AS line_id, l.invoice_id AS line_invoice
        FROM grants g
        LEFT JOIN subscription_periods p ON p.subscription_id = g.subscription_id AND p.period_start = g.period_start
        LEFT JOIN invoices i ON i.id = g.invoice_id LEFT JOIN invoice_lines l ON l.id = g.invoice_line_id
        WHERE g.source IN ('plan_allowance', 'rollover') AND g.created_at >= ? AND g.created_at < ? ORDER BY g.id`,
      [w.fromMs, w.toMs],
    );
    return rows.map((r) => ({
      id: r.id as string, customerId: r.customer_id as string, source: r.source as string, subscriptionId: strOrNull(r.subscription_id),
      periodStartMs: numOrNull(r.period_start), invoiceId: strOrNull(r.invoice_id), invoiceLineId: strOrNull(r.invoice_line_id),
      period: r.period_index === null ? null : { index: num(r.period_index), invoiceId: strOrNull(r.period_invoice) },
      invoice: r.inv_id === null ? null : { id: r.inv_id as string, subscriptionId: strOrNull(r.inv_subscription) },
      line: r.line_id === null ? null : { id: r.line_id as string, invoiceId: r.line_invoice as string },
    }));
  }

  /**
   * Subscription periods overlapping the window that are closed (a later period began, or the
   * subscription ended), each with the overage its usage consumed: entries on `overage` of usage
   * transactions effective in the period, cut at the subscription's end as the final invoice is.
   */
  async closedPeriods(w: ReconcileWindow): Promise<ClosedPeriod[]> {
    const rows = await this.c.query(
      `SELECT p.subscription_id, p.customer_id, p.period_index, p.period_start, p.period_end, COALESCE(SUM(e.amount), 0) AS overage
        FROM subscription_periods p JOIN subscriptions s ON s.id = p.subscription_id
        LEFT JOIN ledger_transactions t ON t.customer_id = p.customer_id AND t.kind = 'usage' AND t.effective_at >= p.period_start
          AND t.effective_at < CASE WHEN s.ended_at IS NOT NULL AND s.ended_at + 1 < p.period_end THEN s.ended_at + 1 ELSE p.period_end END
        LEFT JOIN ledger_entries e ON e.txn_id = t.id AND e.account = 'overage'
        WHERE p.period_end > ? AND p.period_start < ? AND (p.period_index < s.period_index OR s.status = 'canceled')
        GROUP BY p.subscription_id, p.customer_id, p.period_index, p.period_start, p.period_end ORDER BY p.subscription_id, p.period_index`,
      [w.fromMs, w.toMs],
    );
    return rows.map((r) => ({
      subscriptionId: r.subscription_id as string, customerId: r.customer_id as string, periodIndex: num(r.period_index),
      periodStartMs: num(r.period_start), periodEndMs: num(r.period_end), consumedMicro: -big(r.overage),
    }));
  }

  /** Overage lines of subscription invoices (not void) for periods starting before the window's end and ending after its start. */
  async overageLines(w: ReconcileWindow): Promise<OverageLineFacts[]> {
    const rows = await this.c.query(
      `SELECT l.id, l.invoice_id, i.subscription_id, l.period_start, l.quantity, l.unit_amount, l.amount,
          COUNT(DISTINCT t.id) AS postings, COALESCE(SUM(x.amount), 0) AS posted
        FROM invoice_lines l JOIN invoices i ON i.id = l.invoice_id
        LEFT JOIN ledger_transactions t ON t.cause_id = l.id AND t.kind <> 'usage' AND t.kind = 'overage_invoiced'
        LEFT JOIN ledger_entries x ON x.txn_id = t.id AND x.account = 'invoiced:overage'
        WHERE l.type = 'overage' AND i.status <> 'void' AND i.subscription_id IS NOT NULL AND l.period_end > ? AND l.period_start < ?
        GROUP BY l.id, l.invoice_id, i.subscription_id, l.period_start, l.quantity, l.unit_amount, l.amount ORDER BY l.id`,
      [w.fromMs, w.toMs],
    );
    return rows.map((r) => ({
      id: r.id as string, invoiceId: r.invoice_id as string, subscriptionId: r.subscription_id as string, periodStartMs: num(r.period_start),
      quantity: r.quantity as string, unitAmount: r.unit_amount as string, amountMinor: big(r.amount), postings: num(r.postings), postedMicro: big(r.posted),
    }));
  }

  /** Refunds and chargebacks created in the window, with their invoice's total (null when the invoice is missing). */
  async returnsWithInvoiceTotals(w: ReconcileWindow): Promise<{ record: ReturnRecord; invoiceTotalMinor: bigint | null }[]> {
    const rows = await this.c.query(
      `SELECT r.*, i.total AS invoice_total FROM refunds r LEFT JOIN invoices i ON i.id = r.invoice_id
        WHERE r.created_at >= ? AND r.created_at < ? ORDER BY r.id`,
      [w.fromMs, w.toMs],
    );
    return rows.map((r) => ({
      invoiceTotalMinor: r.invoice_total === null || r.invoice_total === undefined ? null : big(r.invoice_total),
      record: toReturn(r),
    }));
  }

  /** Ids of the transactions caused by these ids (refunds, chargebacks). */
  async transactionIdsCausedBy(causeIds: readonly string[]): Promise<string[]> {
    const rows = await queryInChunks(this.c, causeIds, (list) => `SELECT id FROM ledger_transactions WHERE cause_id IN ${list} AND kind <> 'usage' ORDER BY id`);
    return rows.map((r) => r.id as string);
  }
}
