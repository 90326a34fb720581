import type { SqlConnection, SqlRow, SqlValue } from '../sql.ts';
import type { GrantFlowRow, HoldTrace } from '../../core/grant-flows.ts';
import type { InvoicedSum, LineSum, MoneySum, OverageLine, UsageSum } from '../../core/reports.ts';
import type { GrantRecord } from '../records.ts';
import { big, exactSum, exactSumOf, json, num, numOrNull, queryInChunks, strOrNull } from '../rows.ts';
import { accounts } from '../../core/ledger.ts';
import { indexedAccount, unindexedAccount } from './ledger.ts';
import { effectiveIndexedTxn, usageByIdTime, usageByIdTimeParams } from './usage-window.ts';
import { entryAccount, entryAmount, postingEntries, postingsByIdTime } from './event-postings.ts';
import { inCustomerRange, type CustomerRange } from './customer-range.ts';
import { inCustomers, ofCustomer, valuePart } from './customer-events.ts';

/** Where a grant's id starts in its account's code (`grant:<id>`), as SQL's `substr` counts (from 1). */
const grantIdStart = accounts.grant('').length + 1;

/** A report's filter: the window [fromMs, toMs) and optionally one customer. */
export interface ReportFilter {
  fromMs: number;
  toMs: number;
  customerId: string | null;
  /** A slice of the customers (`inCustomerSlices`), for a report over all of them read a slice at a time. */
  customers?: CustomerRange | undefined;
}

/** Which grants a flow query follows: bought at a cost basis, or promotional. */
export type GrantSet = 'cost_basis' | 'promotional';

const grantSetCondition: Record<GrantSet, string> = {
  cost_basis: `g.category = 'paid' AND g.cost_amount IS NOT NULL`,
  promotional: `g.category = 'promotional'`,
};

const revenueKey = (r: SqlRow) => ({
  currency: r.currency as string, planId: strOrNull(r.plan_id), periodStartMs: numOrNull(r.period_start), periodEndMs: numOrNull(r.period_end),
});

/**
 * The SQL of the finance reports (PRODUCT §10): sums that SQL computes exactly over BIGINT columns,
 * and the raw flows that src/core/reports.ts and src/core/grant-flows.ts turn into figures.
 * Money is attributed to the time it moved: invoices by creation, payments, refunds and
 * chargebacks by their own `created_at`, ledger flows by `effective_at` (all customer-clock times).
 */
export class ReportQueries {
  constructor(private readonly c: SqlConnection) {}

  private customer(column: string, f: ReportFilter, params: SqlValue[]): string {
    if (f.customerId === null) {
      if (f.customers === undefined) return '';
      const range = inCustomerRange(column, f.customers);
      params.push(...range.params);
      return ` AND ${range.sql}`;
    }
    params.push(f.customerId);
    return ` AND ${column} = ?`;
  }

  /** Invoices created in the window, not void, summed per currency, plan and period. */
  async invoicedSums(f: ReportFilter): Promise<InvoicedSum[]> {
    const params: SqlValue[] = [f.fromMs, f.toMs];
    const rows = await this.c.query(
      `SELECT currency, plan_id, period_start, period_end, COUNT(*) AS n, ${exactSum(this.c.dialect, 'total', 'total')} FROM invoices
        WHERE status <> 'void' AND created_at >= ? AND created_at < ?${this.customer('customer_id', f, params)}
        GROUP BY currency, plan_id, period_start, period_end`, params);
    return rows.map((r) => ({ ...revenueKey(r), invoices: big(r.n), totalMinor: exactSumOf(r, 'total') }));
  }

  /** The same invoices' lines, summed per line type. */
  async lineSums(f: ReportFilter): Promise<LineSum[]> {
    const params: SqlValue[] = [f.fromMs, f.toMs];
    const rows = await this.c.query(
      `SELECT i.currency, i.plan_id, i.period_start, i.period_end, l.type, ${exactSum(this.c.dialect, 'l.amount', 'amount')} FROM invoices i
        JOIN invoice_lines l ON l.invoice_id = i.id
        WHERE i.status <> 'void' AND i.created_at >= ? AND i.created_at < ?${this.customer('i.customer_id', f, params)}
        GROUP BY i.currency, i.plan_id, i.period_start, i.period_end, l.type`, params);
    return rows.map((r) => ({ ...revenueKey(r), type: r.type as string, amountMinor: exactSumOf(r, 'amount') }));
  }

  /** Payments, refunds and chargebacks made in the window, summed per their invoice's plan and period. */
  async moneySums(f: ReportFilter): Promise<MoneySum[]> {
    const payParams: SqlValue[] = [f.fromMs, f.toMs];
    const payments = await this.c.query(
      `SELECT i.currency, i.plan_id, i.period_start, i.period_end, ${exactSum(this.c.dialect, 'p.amount', 'amount')} FROM payments p
        JOIN invoices i ON i.id = p.invoice_id
        WHERE p.created_at >= ? AND p.created_at < ?${this.customer('p.customer_id', f, payParams)}
        GROUP BY i.currency, i.plan_id, i.period_start, i.period_end`, payParams);
    const returnParams: SqlValue[] = [f.fromMs, f.toMs];
    const returns = await this.c.query(
      `SELECT i.currency, i.plan_id, i.period_start, i.period_end, r.kind, r.status, ${exactSum(this.c.dialect, 'r.amount', 'amount')} FROM refunds r
        JOIN invoices i ON i.id = r.invoice_id
        WHERE r.created_at >= ? AND r.created_at < ?${this.customer('r.customer_id', f, returnParams)}
        GROUP BY i.currency, i.plan_id, i.period_start, i.period_end, r.kind, r.status`, returnParams);
    const noteParams: SqlValue[] = [f.fromMs, f.toMs];
    const notes = await this.c.query(
      `SELECT n.currency, i.plan_id, i.period_start, i.period_end, ${exactSum(this.c.dialect, 'n.amount', 'amount')} FROM credit_notes n
        LEFT JOIN invoices i ON i.id = n.invoice_id
        WHERE n.source <> 'refund' AND n.created_at >= ? AND n.created_at < ?${this.customer('n.customer_id', f, noteParams)}
        GROUP BY n.currency, i.plan_id, i.period_start, i.period_end`, noteParams);
    // What chargebacks (not won, as they are counted) took back of those notes is not money owed back any more.
    const reversedParams: SqlValue[] = [f.fromMs, f.toMs];
    const reversed = await this.c.query(
      `SELECT n.currency, i.plan_id, i.period_start, i.period_end, ${exactSum(this.c.dialect, 'u.amount', 'amount')} FROM credit_note_uses u
        JOIN credit_notes n ON n.id = u.credit_note_id JOIN refunds r ON r.id = u.return_id LEFT JOIN invoices i ON i.id = n.invoice_id
        WHERE u.kind = 'reversed' AND r.status <> 'won' AND n.source <> 'refund' AND u.created_at >= ? AND u.created_at < ?${this.customer('u.customer_id', f, reversedParams)}
        GROUP BY n.currency, i.plan_id, i.period_start, i.period_end`, reversedParams);
    return [
      ...notes.map((r) => ({ ...revenueKey(r), kind: 'credit_note' as const, status: null, amountMinor: exactSumOf(r, 'amount') })),
      ...reversed.map((r) => ({ ...revenueKey(r), kind: 'credit_note' as const, status: null, amountMinor: -exactSumOf(r, 'amount') })),
      ...payments.map((r) => ({ ...revenueKey(r), kind: 'payment' as const, status: null, amountMinor: exactSumOf(r, 'amount') })),
      ...returns.map((r) => ({ ...revenueKey(r), kind: r.kind as 'refund' | 'chargeback', status: r.status as string, amountMinor: exactSumOf(r, 'amount') })),
    ];
  }

  /**
   * Credits consumed per meter (`consumed:<meter>` entries of usage transactions effective in the
   * window), split by the plan in effect at the usage's time according to the subscription
   * timeline. Usage outside any subscription has no plan.
   */
  async usageSums(f: ReportFilter): Promise<UsageSum[]> {
    // The window's usage charges: those in the time index, those found by id (migration 56), and
    // those posted on their event's row (migration 58).
    const d = this.c.dialect;
    const params: SqlValue[] = [f.fromMs, f.toMs];
    const indexedCustomer = this.customer('t.customer_id', f, params);
    params.push(...usageByIdTimeParams(f.fromMs, f.toMs));
    const byIdCustomer = this.customer('t.customer_id', f, params);
    const postings = this.postingsIn('u', f.fromMs, f.toMs, f, params);
    const rows = await this.c.query(
      `SELECT p.plan_id, x.account, ${exactSum(d, 'x.amount', 'credits')}, COUNT(DISTINCT x.txn_id) AS n FROM (
          SELECT l.id AS txn_id, l.customer_id, l.effective_at, e.account, e.amount FROM (
              SELECT t.id, t.customer_id, t.effective_at FROM ledger_transactions t
                WHERE t.kind = 'usage' AND ${effectiveIndexedTxn('t')} AND t.effective_at >= ? AND t.effective_at < ?${indexedCustomer}
              UNION ALL
              SELECT t.id, t.customer_id, t.effective_at FROM ledger_transactions t WHERE ${usageByIdTime('t')}${byIdCustomer}) l
            JOIN ledger_entries e ON e.txn_id = l.id
            WHERE e.account LIKE 'consumed:%'
          UNION ALL
          SELECT u.txn_id, u.customer_id, u.timestamp AS effective_at, ${entryAccount(d, 'j')} AS account, ${entryAmount(d, 'j')} AS amount
            FROM usage_events u ${postingEntries(d, 'u', 'j')}
            WHERE ${postings} AND ${entryAccount(d, 'j')} LIKE 'consumed:%') x
        LEFT JOIN subscription_phases p ON p.customer_id = x.customer_id AND p.start_at <= x.effective_at AND (p.end_at IS NULL OR p.end_at > x.effective_at)
        GROUP BY p.plan_id, x.account`, params);
    return rows.map((r) => ({ planId: strOrNull(r.plan_id), meter: (r.account as string).slice('consumed:'.length), creditsMicro: exactSumOf(r, 'credits'), transactions: big(r.n) }));
  }

  /**
   * The usage charges posted on their event's row (event-postings.ts) effective in [fromMs, toMs),
   * of the filter's customer when it names one, as a condition on the event row `u`; its
   * parameters are pushed onto `params`. For one customer, a range of its positions (the primary
   * key); for all, a range of transaction ids (`usage_events_txn`, which holds only postings:
   * `entries IS NOT NULL` is repeated for it), each cut to the window by the event's timestamp.
   */
  private postingsIn(u: string, fromMs: number, toMs: number, f: ReportFilter, params: SqlValue[]): string {
    const byId = usageByIdTimeParams(fromMs, toMs);
    params.push(...byId);
    // All customers' postings by time; one customer's, or a slice's, by their events (customer-events.ts).
    const window = postingsByIdTime(u, f.customerId === null && f.customers === undefined ? 'txn_id' : 'position');
    if (f.customerId === null && f.customers === undefined) return window;
    const events = f.customerId !== null
      ? ofCustomer(this.c.dialect, u, valuePart(f.customerId), { from: valuePart(byId[0]!), to: valuePart(byId[2]!) })
      : inCustomers(this.c.dialect, u, f.customers!);
    params.push(...events.params);
    return `${window} AND ${events.sql}`;
  }

  /** Overage lines of invoices created in the window (not void), with the plan that priced them. */
  async overageLines(f: ReportFilter): Promise<OverageLine[]> {
    const params: SqlValue[] = [f.fromMs, f.toMs];
    const rows = await this.c.query(
      `SELECT i.currency, i.plan_id, l.refs, l.period_start, l.period_end, l.quantity, l.amount FROM invoice_lines l
        JOIN invoices i ON i.id = l.invoice_id
        WHERE l.type = 'overage' AND i.status <> 'void' AND i.created_at >= ? AND i.created_at < ?${this.customer('i.customer_id', f, params)}
        ORDER BY l.id`, params);
    return rows.map((r) => ({
      currency: r.currency as string, planId: json<Record<string, string>>(r.refs).plan ?? strOrNull(r.plan_id),
      periodStartMs: num(r.period_start), periodEndMs: num(r.period_end), quantity: r.quantity as string, amountMinor: big(r.amount),
    }));
  }

  /** The grants of a set created before the window's end (pending ones have issued nothing). */
  async grants(set: GrantSet, f: ReportFilter): Promise<Omit<GrantRecord, 'remainingMicro' | 'metadata'>[]> {
    const params: SqlValue[] = [f.toMs];
    const rows = await this.c.query(
      `SELECT g.* FROM grants g WHERE ${grantSetCondition[set]} AND g.status <> 'pending' AND g.created_at < ?${this.customer('g.customer_id', f, params)}
        ORDER BY g.id`, params);
    return rows.map((r) => ({
      id: r.id as string, customerId: r.customer_id as string, creditsMicro: big(r.credits), category: r.category as GrantRecord['category'],
      source: r.source as string, priority: num(r.priority), effectiveAtMs: num(r.effective_at), expiresAtMs: numOrNull(r.expires_at),
      status: r.status as GrantRecord['status'], invoiceId: strOrNull(r.invoice_id), invoiceLineId: strOrNull(r.invoice_line_id),
      subscriptionId: strOrNull(r.subscription_id), periodStartMs: numOrNull(r.period_start), costAmountMinor: r.cost_amount === null ? null : big(r.cost_amount),
      costCurrency: strOrNull(r.cost_currency), closedAtMs: numOrNull(r.closed_at), closeReason: strOrNull(r.close_reason), createdAtMs: num(r.created_at),
      frozenFromMs: numOrNull(r.frozen_from), unfrozenAtMs: numOrNull(r.unfrozen_at),
    }));
  }

  /**
   * Each grant's entries summed per transaction kind, split at the window's start, up to its end.
   * The entries the account index holds are found by it, grant by grant; a usage charge's grant
   * entries, which it leaves out (migration 55), are found from the usage transactions up to the
   * window's end (of the customer, when the report is for one) and matched to their grant by
   * primary key, and so are those of the usage charges posted on their event's row (migration 58).
   * The three sets do not overlap (`account_indexed`; a posting on its row has no rows in the
   * ledger's tables).
   */
  async grantFlows(set: GrantSet, f: ReportFilter): Promise<GrantFlowRow[]> {
    const d = this.c.dialect;
    const params: SqlValue[] = [f.fromMs, f.toMs];
    const indexedCustomer = this.customer('g.customer_id', f, params);
    params.push(f.toMs);
    const usageCustomer = this.customer('t.customer_id', f, params);
    // Every posting before the window's end (they are all at time 0 or later: their ids carry it).
    const postings = this.postingsIn('u', 0, f.toMs, f, params);
    const account = entryAccount(d, 'j');
    const rows = await this.c.query(
      `SELECT x.grant_id, x.kind, CASE WHEN x.effective_at < ? THEN 1 ELSE 0 END AS before_from, SUM(x.amount) AS amount FROM (
          SELECT g.id AS grant_id, t.kind, t.effective_at, e.amount FROM grants g
            JOIN ledger_entries e ON e.customer_id = g.customer_id AND e.account = 'grant:' || g.id AND ${indexedAccount('e')}
            JOIN ledger_transactions t ON t.id = e.txn_id
            WHERE ${grantSetCondition[set]} AND t.effective_at < ?${indexedCustomer}
          UNION ALL
          SELECT g.id AS grant_id, t.kind, t.effective_at, e.amount FROM ledger_transactions t
            JOIN ledger_entries e ON e.txn_id = t.id AND e.account LIKE 'grant:%' AND ${unindexedAccount('e')}
            JOIN grants g ON g.id = substr(e.account, ${grantIdStart})
            WHERE t.kind = 'usage' AND ${grantSetCondition[set]} AND t.effective_at < ?${usageCustomer}
          UNION ALL
          SELECT g.id AS grant_id, 'usage' AS kind, u.timestamp AS effective_at, ${entryAmount(d, 'j')} AS amount
            FROM usage_events u ${postingEntries(d, 'u', 'j')}
            JOIN grants g ON g.id = substr(${account}, ${grantIdStart})
            WHERE ${postings} AND ${account} LIKE 'grant:%' AND ${grantSetCondition[set]}) x
        GROUP BY x.grant_id, x.kind, before_from`, params);
    return rows.map((r) => ({ grantId: r.grant_id as string, kind: r.kind as string, beforeFrom: num(r.before_from) === 1, amountMicro: big(r.amount) }));
  }

  /** Every hold funded (before the window's end) by a grant of the set, traced from its transactions. */
  async holdTraces(set: GrantSet, f: ReportFilter): Promise<HoldTrace[]> {
    const params: SqlValue[] = [f.toMs];
    const holdIds = (await this.c.query(
      `SELECT DISTINCT t.cause_id FROM grants g
        JOIN ledger_entries e ON e.customer_id = g.customer_id AND e.account = 'grant:' || g.id AND ${indexedAccount('e')}
        JOIN ledger_transactions t ON t.id = e.txn_id
        WHERE ${grantSetCondition[set]} AND t.kind = 'hold' AND t.effective_at < ?${this.customer('g.customer_id', f, params)}`, params,
    )).map((r) => r.cause_id as string);
    if (holdIds.length === 0) return [];
    const traces = new Map<string, HoldTrace>(holdIds.map((id) => [id, { holdId: id, fundedAtMs: 0, sources: [], captures: [], returns: [], release: null }]));
    const moves = await queryInChunks(this.c, holdIds, (list) =>
      `SELECT t.kind, t.cause_id, t.effective_at, t.refs, e.account, e.amount FROM ledger_transactions t JOIN ledger_entries e ON e.txn_id = t.id
        WHERE t.cause_id IN ${list} AND t.kind <> 'usage' AND t.kind IN ('hold', 'hold_release') ORDER BY t.id, e.seq`);
    for (const m of moves) {
      const trace = traces.get(m.cause_id as string)!;
      const account = m.account as string;
      const amountMicro = big(m.amount);
      if (m.kind === 'hold') {
        trace.fundedAtMs = num(m.effective_at);
        if (account.startsWith('grant:')) trace.sources.push({ grantId: account.slice('grant:'.length), amountMicro: -amountMicro });
      } else if (account.startsWith('hold:')) {
        continue;
      } else if (typeof m.refs === 'string' && m.refs.includes('"reduced_by"')) {
        // Given back while the hold stayed active, for a claw-back to revoke (src/engine/holds.ts, releaseHeld).
        trace.returns.push({ atMs: num(m.effective_at), grantId: account.slice('grant:'.length), amountMicro });
      } else {
        trace.release ??= { atMs: num(m.effective_at), entries: [] };
        trace.release.entries.push({ account, amountMicro });
      }
    }
    const captures = await queryInChunks(this.c, holdIds, (list) =>
      `SELECT h.id, t.effective_at, e.amount FROM holds h
        JOIN ledger_entries e ON e.customer_id = h.customer_id AND e.account = 'hold:' || h.id AND ${indexedAccount('e')}
        JOIN ledger_transactions t ON t.id = e.txn_id WHERE h.id IN ${list} AND t.kind = 'usage'`);
    for (const c of captures) traces.get(c.id as string)?.captures.push({ atMs: num(c.effective_at), amountMicro: -big(c.amount) });
    return [...traces.values()];
  }
}
