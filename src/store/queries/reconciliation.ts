import { toReturn } from './returns.ts';
import type { SqlConnection, SqlValue } from '../sql.ts';
import type {
  AllowanceGrantFacts, GrantLedgerFacts, HoldFacts, InvoiceAmountFacts, ReferralClawBackFacts, ClosedPeriodOverage, MisplacedUsageEvent, OverageLineFacts, PurchaseGrantFacts, UsageEventCounts, VoidOverageFacts,
} from '../../core/reconciliation.ts';
import type { ReturnRecord } from '../records.ts';
import { endOfTimeMs } from '../../core/time.ts';
import { big, num, numOrNull, queryInChunks, strOrNull } from '../rows.ts';
import { allCustomers, inCustomerRange, type CustomerRange } from './customer-range.ts';
import { effectiveIndexedTxn, idTimeSql, idTimeWindowSql, idWindowSql, usageByIdTimeSql } from './usage-window.ts';
import { indexedAccount as indexedEntry, overageTakenKinds } from './ledger.ts';
import { bound, inCustomers, ofCustomer, sqlPart, tailOfRange } from './customer-events.ts';
import { entriesOf, entryAccount, entryAmount, onEventRow, postingEntries } from './event-postings.ts';

/** A reconciliation window [fromMs, toMs). */
export interface ReconcileWindow {
  fromMs: number;
  toMs: number;
}

/**
 * The condition that keeps `column` inside the window, without the ends it leaves open (from 0,
 * to `endOfTimeMs`): a query over an open window then needs no time column, and an index without
 * one can answer it alone.
 */
function inWindow(column: string, w: ReconcileWindow): { sql: string; params: SqlValue[] } {
  const terms: string[] = [];
  const params: SqlValue[] = [];
  if (w.fromMs > 0) {
    terms.push(`${column} >= ?`);
    params.push(w.fromMs);
  }
  if (w.toMs < endOfTimeMs) {
    terms.push(`${column} < ?`);
    params.push(w.toMs);
  }
  return { sql: terms.length === 0 ? '1 = 1' : terms.join(' AND '), params };
}

/** A closed period's overage (`ClosedPeriodOverage`), with the period's end. */
export interface ClosedPeriod extends ClosedPeriodOverage {
  periodEndMs: number;
}

/**
 * The facts reconciliation compares (PRODUCT §10), gathered with set-based SQL so each check is a
 * few queries however large the store. Where a rule fits in SQL (a sum is not zero, a count is not
 * one) the query returns only the rows that break it; src/core/reconciliation.ts words them.
 */
export class ReconciliationQueries {
  constructor(private readonly c: SqlConnection) {}

  /**
   * Transactions of the range's customers, effective in the window, whose entries do not sum to
   * zero, or that have fewer than two: those in the ledger's tables, and the usage charges posted
   * on their event's row (event-postings.ts), effective at the event's timestamp. A transaction
   * in the tables comes from its customer index, and its entries are summed by a subquery on the
   * entries' primary key, which both databases run once per transaction through that index (a join
   * would let PostgreSQL scan every entry to hash them, once per slice); a posting comes from the
   * range's events (`inCustomers`, customer-events.ts), and its entries are read off its row,
   * likewise in a subquery per row. The figures are read again only for the transactions reported.
   */
  async unbalancedTransactions(w: ReconcileWindow, customers: CustomerRange = allCustomers): Promise<{ txnId: string; customerId: string; sumMicro: bigint; entryCount: number }[]> {
    const d = this.c.dialect;
    const range = inCustomerRange('t.customer_id', customers);
    const time = inWindow('t.effective_at', w);
    const rowRange = inCustomers(d, 'u', customers);
    const rowTime = inWindow('u.timestamp', w);
    const amount = entryAmount(d, 'x');
    const rows = await this.c.query(
      `SELECT t.id, t.customer_id, (SELECT COALESCE(SUM(e.amount), 0) FROM ledger_entries e WHERE e.txn_id = t.id) AS total,
          (SELECT COUNT(*) FROM ledger_entries e WHERE e.txn_id = t.id) AS n
        FROM ledger_transactions t WHERE ${range.sql} AND ${time.sql}
          AND (SELECT CASE WHEN COUNT(*) >= 2 AND SUM(e.amount) = 0 THEN 0 ELSE 1 END FROM ledger_entries e WHERE e.txn_id = t.id) = 1
      UNION ALL
      SELECT u.txn_id AS id, u.customer_id, (SELECT COALESCE(SUM(${amount}), 0) FROM ${entriesOf(d, 'u', 'x')}) AS total,
          (SELECT COUNT(*) FROM ${entriesOf(d, 'u', 'x')}) AS n
        FROM usage_events u WHERE ${rowRange.sql} AND ${onEventRow('u')} AND ${rowTime.sql}
          AND (SELECT CASE WHEN COUNT(*) >= 2 AND SUM(${amount}) = 0 THEN 0 ELSE 1 END FROM ${entriesOf(d, 'u', 'x')}) = 1
      ORDER BY customer_id, id`,
      [...range.params, ...time.params, ...rowRange.params, ...rowTime.params],
    );
    return rows.map((r) => ({ txnId: r.id as string, customerId: r.customer_id as string, sumMicro: big(r.total), entryCount: num(r.n) }));
  }

  /**
   * Usage events of the range's customers, in the window, whose own record of their charge is
   * wrong. With credits, the event has exactly one charge and `txn_id` names it: either its row is
   * its own posting (`entries`, event-postings.ts) and `txn_id` is set, or `txn_id` names a usage
   * transaction of this event and customer in the ledger's tables (a charge written before
   * migration 58, a hold's capture), never both. With none, there is no `txn_id` and no posting.
   * Each event looks its ledger transaction up by primary key, in a subquery (as in
   * `unbalancedTransactions`). A second charge of one event in the ledger's tables is found from
   * the other side, by `usageTransactionSuspects`, as is a posting that consumes other credits
   * than its event was rated at.
   */
  async usageChargeSuspects(w: ReconcileWindow, customers: CustomerRange = allCustomers): Promise<{ customerId: string; eventId: string; creditsMicro: bigint; txnId: string | null; charges: number; chargeIds: string[] }[]> {
    const range = inCustomers(this.c.dialect, 'e', customers);
    const time = inWindow('e.timestamp', w);
    const charge = `FROM ledger_transactions t WHERE t.id = e.txn_id AND t.kind = 'usage' AND t.customer_id = e.customer_id AND t.cause_id = e.id`;
    // The event's posting on its row counts as a charge when it has its id (with none, the event
    // charged nothing and any posting is one too many).
    const posted = `CASE WHEN ${onEventRow('e')} AND (e.txn_id IS NOT NULL OR e.credits = 0) THEN 1 ELSE 0 END`;
    const rows = await this.c.query(
      `SELECT e.customer_id, e.id, e.credits, e.txn_id, ${posted} AS posted, (SELECT t.id ${charge}) AS charge_id FROM usage_events e
        WHERE ${range.sql} AND ${time.sql}
          AND ((e.credits <> 0 AND ${posted} + (SELECT COUNT(*) ${charge}) <> 1) OR (e.credits = 0 AND (e.txn_id IS NOT NULL OR ${onEventRow('e')})))
        ORDER BY e.customer_id, e.id`,
      [...range.params, ...time.params],
    );
    return rows.map((r) => {
      const txnId = strOrNull(r.txn_id);
      const chargeIds: string[] = [];
      if (num(r.posted) === 1 && txnId !== null) chargeIds.push(txnId);
      const chargeId = strOrNull(r.charge_id);
      if (chargeId !== null) chargeIds.push(chargeId);
      return {
        customerId: r.customer_id as string, eventId: r.id as string, creditsMicro: big(r.credits), txnId,
        charges: num(r.posted) + (chargeId === null ? 0 : 1), chargeIds,
      };
    });
  }

  /**
   * Usage transactions of the range's customers, effective in the window, that are not their
   * event's one charge: the event is missing, records another transaction (or none) as its charge,
   * or was rated at other credits than the transaction consumes. A usage transaction is effective
   * at its event's timestamp (ingest-events.ts), so this and `usageChargeSuspects` over one window
   * see the same charges; an event charged twice shows here as the transaction it does not record
   * (also a transaction in the ledger's tables of an event whose row is its own posting, since
   * that event records its posting's id). For a transaction in the ledger's tables, the event (by
   * its unique id) and the consumption entries (by the transaction) are read in subqueries, once
   * per transaction, as in `unbalancedTransactions`. A posting on its event's row
   * (event-postings.ts) is its event's own record of its charge, so only what it consumes can be
   * wrong: its entries are read off the row, in a subquery per row.
   */
  async usageTransactionSuspects(w: ReconcileWindow, customers: CustomerRange = allCustomers): Promise<{ txnId: string; customerId: string; eventId: string; eventCreditsMicro: bigint | null; eventTxnId: string | null; consumedMicro: bigint }[]> {
    const d = this.c.dialect;
    const range = inCustomerRange('t.customer_id', customers);
    const time = inWindow('t.effective_at', w);
    const rowRange = inCustomers(d, 'u', customers);
    const rowTime = inWindow('u.timestamp', w);
    const event = `FROM usage_events ev WHERE ev.customer_id = t.customer_id AND ev.id = t.cause_id`;
    const consumed = `(SELECT COALESCE(SUM(x.amount), 0) FROM ledger_entries x WHERE x.txn_id = t.id AND x.account LIKE 'consumed:%')`;
    const posted = `(SELECT COALESCE(SUM(${entryAmount(d, 'x')}), 0) FROM ${entriesOf(d, 'u', 'x')} WHERE ${entryAccount(d, 'x')} LIKE 'consumed:%')`;
    const rows = await this.c.query(
      `SELECT t.id, t.customer_id, t.cause_id, (SELECT ev.credits ${event}) AS credits, (SELECT ev.txn_id ${event}) AS event_txn, ${consumed} AS consumed
        FROM ledger_transactions t WHERE ${range.sql} AND t.kind = 'usage' AND ${time.sql}
          AND (SELECT COUNT(*) ${event} AND ev.txn_id = t.id AND ev.credits = ${consumed}) = 0
      UNION ALL
      SELECT u.txn_id AS id, u.customer_id, u.id AS cause_id, u.credits, u.txn_id AS event_txn, ${posted} AS consumed
        FROM usage_events u WHERE ${rowRange.sql} AND ${onEventRow('u')} AND u.txn_id IS NOT NULL AND ${rowTime.sql} AND u.credits <> ${posted}
      ORDER BY customer_id, id`,
      [...range.params, ...time.params, ...rowRange.params, ...rowTime.params],
    );
    return rows.map((r) => ({
      txnId: r.id as string, customerId: r.customer_id as string, eventId: r.cause_id as string,
      eventCreditsMicro: r.credits === null || r.credits === undefined ? null : big(r.credits), eventTxnId: strOrNull(r.event_txn), consumedMicro: big(r.consumed),
    }));
  }

  /**
   * On SQLite, the range's usage keys and tails that do not find their customer's events
   * (customer-events.ts, migration 62): a key whose row is missing, is another customer's, has
   * another position or lies past its customer's merge (where the tail takes over); a tail that
   * reaches a row that is missing or another customer's; a head whose tail holds another number of
   * events than it counts. With these clean and `usageEventCounts` equal, every event is found by
   * its customer exactly once. PostgreSQL keys every event by its customer, so there is nothing to
   * find.
   */
  async misplacedUsageEvents(customers: CustomerRange = allCustomers): Promise<MisplacedUsageEvent[]> {
    if (this.c.dialect === 'postgres') return [];
    const keys = inCustomerRange('k.customer_id', customers);
    const heads = inCustomerRange('h.customer_id', customers);
    const query = bound`WITH RECURSIVE tail(customer_id, seq, merged) AS (
        SELECT h.customer_id, h.head, h.merged FROM usage_heads h WHERE ${heads} AND h.head > h.merged
        UNION ALL SELECT tail.customer_id, p.prev, tail.merged FROM tail JOIN usage_chain p ON p.seq = tail.seq WHERE p.prev > tail.merged AND p.prev < tail.seq)
      SELECT 'key' AS place, k.customer_id, k.position, k.seq, e.customer_id AS row_customer, e.id AS event_id, e.position AS row_position, h.merged, NULL AS counted, NULL AS walked
        FROM usage_keys k LEFT JOIN usage_events e ON e.seq = k.seq LEFT JOIN usage_heads h ON h.customer_id = k.customer_id
        WHERE ${keys} AND (e.seq IS NULL OR e.customer_id <> k.customer_id OR e.position <> k.position OR h.merged IS NULL OR k.seq > h.merged)
      UNION ALL
      SELECT 'tail', t.customer_id, NULL, t.seq, e.customer_id, e.id, e.position, t.merged, NULL, NULL
        FROM tail t LEFT JOIN usage_events e ON e.seq = t.seq WHERE e.seq IS NULL OR e.customer_id <> t.customer_id
      UNION ALL
      SELECT 'count', h.customer_id, NULL, h.head, NULL, NULL, NULL, h.merged, h.tail, COALESCE(w.n, 0)
        FROM usage_heads h LEFT JOIN (SELECT customer_id, COUNT(*) AS n FROM tail GROUP BY customer_id) w ON w.customer_id = h.customer_id
        WHERE ${heads} AND h.tail <> COALESCE(w.n, 0)
      ORDER BY 2, 1, 4`;
    const rows = await this.c.query(query.sql, query.params);
    return rows.map((r) => ({
      place: r.place as MisplacedUsageEvent['place'], customerId: r.customer_id as string, position: strOrNull(r.position), seq: num(r.seq),
      rowCustomerId: strOrNull(r.row_customer), eventId: strOrNull(r.event_id), rowPosition: strOrNull(r.row_position),
      merged: numOrNull(r.merged), counted: numOrNull(r.counted), walked: numOrNull(r.walked),
    }));
  }

  /**
   * On SQLite, in one snapshot: how many usage events are stored, how many are keyed, how many the
   * customers' tails hold, and (only when the first is not the sum of the others) up to `listed`
   * events that neither finds. PostgreSQL: null (every event is keyed by its customer).
   */
  async usageEventCounts(listed = 100): Promise<UsageEventCounts | null> {
    if (this.c.dialect === 'postgres') return null;
    const [row] = await this.c.query(`SELECT (SELECT COUNT(*) FROM usage_events) AS events, (SELECT COUNT(*) FROM usage_keys) AS keyed,
        (SELECT COALESCE(SUM(tail), 0) FROM usage_heads) AS tails`);
    const counts = { events: num(row!.events), keyed: num(row!.keyed), tails: num(row!.tails) };
    if (counts.events === counts.keyed + counts.tails) return { ...counts, unfound: [] };
    const all = tailOfRange(allCustomers);
    const rows = await this.c.query(`SELECT e.id, e.customer_id FROM usage_events e
        WHERE e.seq NOT IN (SELECT seq FROM usage_keys) AND e.seq NOT IN (${all.sql}) ORDER BY e.seq LIMIT ?`, [...all.params, listed]);
    return { ...counts, unfound: rows.map((r) => ({ eventId: r.id as string, customerId: r.customer_id as string })) };
  }

  /**
   * Paid grants from purchases created in the window, with the invoice line and invoice they link
   * to: every grant a purchase made through Tally (it names its line), and every grant naming an
   * invoice that sold credits (a purchase's grant whose line was lost, or another grant claiming
   * credits that invoice sold). A grant an operator made with `POST /v1/grants` naming no such
   * invoice records a purchase made outside Tally (PRODUCT §4 allows it) and has nothing to link
   * to: it is left out.
   */
  async purchaseGrants(w: ReconcileWindow, customers: CustomerRange = allCustomers): Promise<PurchaseGrantFacts[]> {
    const range = inCustomerRange('g.customer_id', customers);
    const rows = await this.c.query(
      `SELECT g.id, g.customer_id, g.status, g.invoice_id, g.invoice_line_id, g.credits, g.cost_amount, i.status AS invoice_status,
          l.id AS line_id, l.invoice_id AS line_invoice, l.type AS line_type, l.quantity AS line_quantity, l.amount AS line_amount
        FROM grants g LEFT JOIN invoice_lines l ON l.id = g.invoice_line_id LEFT JOIN invoices i ON i.id = g.invoice_id
        WHERE ${range.sql} AND g.source = 'purchase' AND g.category = 'paid' AND (g.invoice_line_id IS NOT NULL
            OR EXISTS (SELECT 1 FROM invoice_lines pl WHERE pl.invoice_id = g.invoice_id AND pl.type = 'credit_purchase'))
          AND g.created_at >= ? AND g.created_at < ? ORDER BY g.id`,
      [...range.params, w.fromMs, w.toMs],
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
  async allowanceGrants(w: ReconcileWindow, customers: CustomerRange = allCustomers): Promise<AllowanceGrantFacts[]> {
    const range = inCustomerRange('g.customer_id', customers);
    const rows = await this.c.query(
      `SELECT g.id, g.customer_id, g.source, g.subscription_id, g.period_start, g.invoice_id, g.invoice_line_id,
          p.period_index, p.invoice_id AS period_invoice, i.id AS inv_id, i.subscription_id AS inv_subscription, l.id AS line_id, l.invoice_id AS line_invoice
        FROM grants g
        LEFT JOIN subscription_periods p ON p.subscription_id = g.subscription_id AND p.period_start = g.period_start
        LEFT JOIN invoices i ON i.id = g.invoice_id LEFT JOIN invoice_lines l ON l.id = g.invoice_line_id
        WHERE ${range.sql} AND g.source IN ('plan_allowance', 'rollover') AND g.created_at >= ? AND g.created_at < ? ORDER BY g.id`,
      [...range.params, w.fromMs, w.toMs],
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
   * charges effective in the period, cut at the subscription's end as the final invoice is. The
   * charges are those in the ledger's tables (in the time index, or found by id, migration 56) and
   * those posted on their event's row (migration 58), found by position in the customer's events,
   * whose entries are read off the row.
   *
   * Of that overage, also what charges recorded after, and in the very millisecond of, the latest
   * invoice that could bill the period: the invoice of the renewal that began the subscription's
   * current period, made after every period before it closed (a renewal's or a cancellation's is
   * the only invoice that bills overage). Both times are the engine's clock: a charge's
   * `recorded_at` on its event's row or `created_at` in the ledger's tables, the invoice's id.
   * Both are read under the customer's lock (ingestion and a hold's capture take it before they
   * stamp the charge; a renewal before it reads the usage it bills and makes the invoice's id), so
   * a charge recorded before the invoice was seen by it, and one recorded after was not; within
   * one millisecond either may be. Read only where later usage may be pending: the subscription
   * has not ended (its next renewal or final invoice bills it), or it has and its closing
   * correction is still to come (`closing`, below), and the invoice was made less than
   * `lateWindowMs` (how old an event may be; 0, by default, holds every charge due) after the
   * period's end by the customer's clock: at or past that, no event stamped in the period can have
   * been accepted after the invoice, so all its overage is due whatever the charges' stamps.
   *
   * When that invoice was voided it bills nothing (`voidInvoice` gave its overage back): what the
   * latest invoice before it that billed the period (not void, with an overage line referencing
   * it: `billed_by`) saw stays due, and the rest is pending, for the next invoice that bills the
   * period, on the same terms; with no such invoice all of it is pending. Taking all of it as
   * pending, as before, named a period whose overage an earlier invoice had billed whenever a
   * later renewal that billed none of it was voided.
   *
   * For an ended subscription the latest invoice that could bill is its final invoice (or, when
   * it ended without one, the invoice of the renewal that began its last period), and what was
   * recorded after it waits for the closing correction (close-subscription.ts) while that is due
   * (`closing_due_at` set) and the customer's clock (a test clock's frozen time, else
   * `closing.nowMs`) has not passed its due time by more than `closing.slackMs`. Once the
   * correction ran, or is that late, or without `closing`, every charge is due.
   */
  async closedPeriods(
    w: ReconcileWindow, lateWindowMs = 0, closing: { nowMs: number; slackMs: number } | null = null, customers: CustomerRange = allCustomers, aheadMs = 0,
  ): Promise<ClosedPeriod[]> {
    const d = this.c.dialect;
    const range = inCustomerRange('s.customer_id', customers);
    // An ended subscription owns its end's millisecond and the `aheadMs` after it
    // (`ownedAfterEnd`, subscription-credits.ts); one begun then owns its usage from there on.
    const end = 'q.usage_end';
    const start = 'q.usage_start';
    const ids = idWindowSql(start, end);
    const periodEvents = ofCustomer(d, 'u', sqlPart('q.customer_id'), { from: sqlPart(ids.from), to: sqlPart(ids.to) }).sql;
    // The period's overage from the charges whose stamp meets `recorded`.
    const overage = (recorded: (stamp: string) => string): string => {
      const inTables = (charges: string) => `(SELECT COALESCE(SUM(e.amount), 0) FROM ledger_transactions t
          JOIN ledger_entries e ON e.txn_id = t.id AND e.account = 'overage' WHERE t.customer_id = q.customer_id AND ${charges} AND ${recorded('t.created_at')})`;
      const onRows = `(SELECT COALESCE(SUM(${entryAmount(d, 'x')}), 0) FROM usage_events u ${postingEntries(d, 'u', 'x')}
          WHERE ${periodEvents} AND ${onEventRow('u')} AND ${idTimeWindowSql('u.position', 'u.timestamp', start, end)}
            AND ${entryAccount(d, 'x')} = 'overage' AND ${recorded('u.recorded_at')})`;
      return `${inTables(`t.kind IN ${overageTakenKinds} AND ${effectiveIndexedTxn('t')} AND t.effective_at >= ${start} AND t.effective_at < ${end}`)}
          + ${inTables(usageByIdTimeSql('t', start, end))} + ${onRows}`;
    };
    // An ended subscription's closing correction still to come: due, and not overdue by the customer's clock.
    const closingToCome = closing === null ? '1 = 0' : `(s.closing_due_at IS NOT NULL AND COALESCE((SELECT k.frozen_time FROM customers c
        JOIN test_clocks k ON k.id = c.test_clock_id WHERE c.id = s.customer_id), ?) < s.closing_due_at + ?)`;
    const closingParams = closing === null ? [] : [closing.nowMs, closing.slackMs];
    const rows = await this.c.query(
      `SELECT q.subscription_id, q.customer_id, q.period_index, q.period_start, q.period_end, q.latest_invoice, ${overage(() => '1 = 1')} AS overage,
          CASE WHEN q.latest_invoice IS NULL THEN 0 WHEN q.latest_status = 'void' AND q.billed_by IS NULL THEN ${overage(() => '1 = 1')}
            WHEN q.latest_status = 'void' THEN ${overage((stamp) => `${stamp} > ${idTimeSql(d, 'q.billed_by', 'inv')}`)}
            ELSE ${overage((stamp) => `${stamp} > q.invoiced_at`)} END AS pending,
          CASE WHEN q.latest_invoice IS NULL OR (q.latest_status = 'void' AND q.billed_by IS NULL) THEN 0
            WHEN q.latest_status = 'void' THEN ${overage((stamp) => `${stamp} = ${idTimeSql(d, 'q.billed_by', 'inv')}`)}
            ELSE ${overage((stamp) => `${stamp} = q.invoiced_at`)} END AS tied
        FROM (SELECT p.subscription_id, p.customer_id, p.period_index, p.period_start, p.period_end, s.ended_at,
            CASE WHEN s.ended_at IS NOT NULL AND s.ended_at >= p.period_start AND s.ended_at <= p.period_end THEN s.ended_at + 1 + ? ELSE p.period_end END AS usage_end,
            CASE WHEN p.period_start = s.anchor_at THEN COALESCE((SELECT MAX(o.ended_at) + 1 + ? FROM subscriptions o WHERE o.customer_id = s.customer_id
                AND o.id <> s.id AND o.period_index >= 0 AND o.ended_at <= s.anchor_at AND o.ended_at + 1 + ? > s.anchor_at AND o.ended_at <= o.period_end), p.period_start)
              ELSE p.period_start END AS usage_start,
            i.id AS latest_invoice, i.status AS latest_status, ${idTimeSql(d, 'i.id', 'inv')} AS invoiced_at,
            CASE WHEN i.status = 'void' THEN (SELECT MAX(f.id) FROM invoices f JOIN invoice_lines fl ON fl.invoice_id = f.id
                WHERE f.subscription_id = s.id AND f.status <> 'void' AND f.id < i.id AND fl.type = 'overage'
                  AND fl.period_start >= p.period_start AND fl.period_start < p.period_end) END AS billed_by
          FROM subscription_periods p JOIN subscriptions s ON s.id = p.subscription_id
          LEFT JOIN subscription_periods cur ON (s.status <> 'canceled' OR ${closingToCome}) AND cur.subscription_id = s.id AND cur.period_index = s.period_index
          LEFT JOIN invoices i ON i.id = CASE WHEN s.status <> 'canceled' OR cur.invoice_id IS NULL THEN cur.invoice_id
              ELSE COALESCE((SELECT MAX(f.id) FROM invoices f WHERE f.subscription_id = s.id AND f.kind = 'final'), cur.invoice_id) END
            AND i.created_at < p.period_end + ?
          WHERE ${range.sql} AND p.period_end > ? AND p.period_start < ? AND (p.period_index < s.period_index OR s.status = 'canceled')) q
        ORDER BY q.subscription_id, q.period_index`,
      [aheadMs, aheadMs, aheadMs, ...closingParams, lateWindowMs, ...range.params, w.fromMs, w.toMs],
    );
    return rows.map((r) => ({
      subscriptionId: r.subscription_id as string, customerId: r.customer_id as string, periodIndex: num(r.period_index),
      periodStartMs: num(r.period_start), periodEndMs: num(r.period_end), consumedMicro: -big(r.overage),
      pendingMicro: -big(r.pending), tiedMicro: -big(r.tied), latestInvoiceId: strOrNull(r.latest_invoice),
    }));
  }

  /** Overage lines of subscription invoices (not void) for periods starting before the window's end and ending after its start. */
  async overageLines(w: ReconcileWindow, customers: CustomerRange = allCustomers): Promise<OverageLineFacts[]> {
    const range = inCustomerRange('i.customer_id', customers);
    const rows = await this.c.query(
      `SELECT l.id, l.invoice_id, i.subscription_id, l.period_start, l.quantity, l.unit_amount, l.amount,
          COUNT(DISTINCT t.id) AS postings, COALESCE(SUM(x.amount), 0) AS posted
        FROM invoice_lines l JOIN invoices i ON i.id = l.invoice_id
        LEFT JOIN ledger_transactions t ON t.cause_id = l.id AND t.kind <> 'usage' AND t.kind = 'overage_invoiced'
        LEFT JOIN ledger_entries x ON x.txn_id = t.id AND x.account = 'invoiced:overage'
        WHERE ${range.sql} AND l.type = 'overage' AND i.status <> 'void' AND i.subscription_id IS NOT NULL AND l.period_end > ? AND l.period_start < ?
        GROUP BY l.id, l.invoice_id, i.subscription_id, l.period_start, l.quantity, l.unit_amount, l.amount ORDER BY l.id`,
      [...range.params, w.fromMs, w.toMs],
    );
    return rows.map((r) => ({
      id: r.id as string, invoiceId: r.invoice_id as string, subscriptionId: r.subscription_id as string, periodStartMs: num(r.period_start),
      quantity: r.quantity as string, unitAmount: r.unit_amount as string, amountMinor: big(r.amount), postings: num(r.postings), postedMicro: big(r.posted),
    }));
  }

  /**
   * Void invoices created in the window that have overage lines, each with what the lines'
   * `overage_invoiced` transactions and the void's (caused by the invoice) moved to
   * `invoiced:overage` together.
   */
  async voidOverage(w: ReconcileWindow, customers: CustomerRange = allCustomers): Promise<VoidOverageFacts[]> {
    const range = inCustomerRange('i.customer_id', customers);
    const rows = await this.c.query(
      `SELECT i.id, i.customer_id, i.subscription_id,
          (SELECT COALESCE(SUM(e.amount), 0) FROM invoice_lines l
            JOIN ledger_transactions t ON t.cause_id = l.id AND t.kind <> 'usage' AND t.kind = 'overage_invoiced'
            JOIN ledger_entries e ON e.txn_id = t.id AND e.account = 'invoiced:overage'
            WHERE l.invoice_id = i.id AND l.type = 'overage')
          + (SELECT COALESCE(SUM(e.amount), 0) FROM ledger_transactions t
            JOIN ledger_entries e ON e.txn_id = t.id AND e.account = 'invoiced:overage'
            WHERE t.cause_id = i.id AND t.kind <> 'usage' AND t.kind = 'overage_invoiced') AS moved
        FROM invoices i
        WHERE ${range.sql} AND i.status = 'void' AND i.created_at >= ? AND i.created_at < ?
          AND EXISTS (SELECT 1 FROM invoice_lines l WHERE l.invoice_id = i.id AND l.type = 'overage')
        ORDER BY i.id`,
      [...range.params, w.fromMs, w.toMs],
    );
    return rows.map((r) => ({ invoiceId: r.id as string, customerId: r.customer_id as string, subscriptionId: strOrNull(r.subscription_id), movedMicro: big(r.moved) }));
  }

  /**
   * Overage a void gave back that the subscription's next invoice will bill again: the overage
   * lines of invoices voided since their (not canceled) subscription's current period began, as
   * (subscription, window start). Their periods wait for that invoice rather than being closed.
   */
  async overageAwaitingRebill(customers: CustomerRange = allCustomers): Promise<{ subscriptionId: string; periodStartMs: number }[]> {
    const range = inCustomerRange('i.customer_id', customers);
    // Driven by the void invoices (found by status), few beside the subscriptions.
    const rows = await this.c.query(
      `SELECT DISTINCT i.subscription_id, l.period_start FROM invoices i
        JOIN subscriptions s ON s.id = i.subscription_id AND s.status <> 'canceled' AND i.voided_at >= s.period_start
        JOIN invoice_lines l ON l.invoice_id = i.id AND l.type = 'overage'
        WHERE ${range.sql} AND i.status = 'void'`,
      range.params,
    );
    return rows.map((r) => ({ subscriptionId: r.subscription_id as string, periodStartMs: num(r.period_start) }));
  }

  /**
   * Invoices of the range's customers, created in the window, whose stored money disagrees with
   * the rows it is the sum of (`InvoiceAmountFacts`, src/core/reconciliation.ts): the total with
   * its lines, `amount_paid` with its payments (by money or from the balance), `amount_refunded`
   * with its refunds, `amount_charged_back` with its chargebacks not won; or whose status
   * disagrees with what was paid, or whose returns exceed what was paid. Each invoice's sums come
   * from correlated subqueries on the lines', payments' and returns' invoice indexes, once per
   * invoice (MATERIALIZED: SQLite would otherwise run them again for each rule that reads them),
   * and only the invoices that break a rule are returned.
   */
  async invoiceAmountSuspects(w: ReconcileWindow, customers: CustomerRange = allCustomers): Promise<InvoiceAmountFacts[]> {
    const range = inCustomerRange('i.customer_id', customers);
    const time = inWindow('i.created_at', w);
    const rows = await this.c.query(
      `WITH x AS MATERIALIZED (SELECT i.id, i.customer_id, i.status, i.total, i.amount_paid, i.amount_refunded, i.amount_charged_back,
          (SELECT COALESCE(SUM(l.amount), 0) FROM invoice_lines l WHERE l.invoice_id = i.id) AS lines,
          (SELECT COALESCE(SUM(p.amount), 0) FROM payments p WHERE p.invoice_id = i.id) AS paid,
          (SELECT COALESCE(SUM(r.amount), 0) FROM refunds r WHERE r.invoice_id = i.id AND r.kind = 'refund') AS refunded,
          (SELECT COALESCE(SUM(r.amount), 0) FROM refunds r WHERE r.invoice_id = i.id AND r.kind = 'chargeback' AND r.status <> 'won') AS charged_back
        FROM invoices i WHERE ${range.sql} AND ${time.sql})
        SELECT * FROM x WHERE x.total <> x.lines OR x.amount_paid <> x.paid OR x.amount_refunded <> x.refunded OR x.amount_charged_back <> x.charged_back
          OR x.amount_paid < 0 OR x.amount_paid > (CASE WHEN x.total > 0 THEN x.total ELSE 0 END)
          OR (x.status = 'paid' AND x.amount_paid <> (CASE WHEN x.total > 0 THEN x.total ELSE 0 END))
          OR (x.status IN ('open', 'uncollectible') AND x.amount_paid >= x.total)
          OR x.amount_refunded + x.amount_charged_back > x.amount_paid
        ORDER BY x.id`,
      [...range.params, ...time.params],
    );
    return rows.map((r) => ({
      invoiceId: r.id as string, customerId: r.customer_id as string, status: r.status as string, totalMinor: big(r.total), linesMinor: big(r.lines),
      amountPaidMinor: big(r.amount_paid), paymentsMinor: big(r.paid), amountRefundedMinor: big(r.amount_refunded), refundsMinor: big(r.refunded),
      amountChargedBackMinor: big(r.amount_charged_back), chargebacksMinor: big(r.charged_back),
    }));
  }

  /**
   * Grants of the range's customers, created in the window, whose stored figures disagree with
   * their `grant:<id>` account (`GrantLedgerFacts`, src/core/reconciliation.ts): what the grant's
   * issuing transaction (`grant` or `rollover`, caused by the grant) put in, and the account's
   * stored balance (which the ledger check compares with its entries); and every grant that
   * restores another (`metadata.restores`), with the grant it names. The issuing transaction comes
   * from the transactions' cause index and its entries by primary key, once per grant.
   */
  async grantLedgerSuspects(w: ReconcileWindow, customers: CustomerRange = allCustomers): Promise<GrantLedgerFacts[]> {
    const range = inCustomerRange('g.customer_id', customers);
    const time = inWindow('g.created_at', w);
    const rows = await this.c.query(
      `WITH x AS MATERIALIZED (SELECT g.id, g.customer_id, g.status, g.credits, g.invoice_id, g.metadata,
          COALESCE((SELECT a.balance FROM accounts a WHERE a.customer_id = g.customer_id AND a.code = 'grant:' || g.id), 0) AS balance,
          (SELECT COALESCE(SUM(e.amount), 0) FROM ledger_transactions t JOIN ledger_entries e ON e.txn_id = t.id
            WHERE t.cause_id = g.id AND t.kind <> 'usage' AND t.kind IN ('grant', 'rollover') AND e.account = 'grant:' || g.id) AS issued
        FROM grants g WHERE ${range.sql} AND ${time.sql})
      SELECT x.*, r.id AS r_id, r.customer_id AS r_customer, r.invoice_id AS r_invoice, r.status AS r_status, r.close_reason AS r_reason, r.credits AS r_credits
        FROM x LEFT JOIN grants r ON x.metadata LIKE '%"restores":%' AND r.id = ${this.c.dialect === 'postgres' ? `(x.metadata::jsonb ->> 'restores')` : `json_extract(x.metadata, '$.restores')`}
        WHERE (x.status = 'pending' AND (x.issued <> 0 OR x.balance <> 0))
          OR (x.status IN ('active', 'expired') AND x.issued <> x.credits)
          OR (x.status = 'voided' AND x.issued <> x.credits AND x.issued <> 0)
          OR (x.status IN ('expired', 'voided') AND x.balance <> 0)
          OR x.balance < 0 OR x.balance > x.credits
          OR x.metadata LIKE '%"restores":%'
        ORDER BY x.id`,
      [...range.params, ...time.params],
    );
    return rows.map((r) => {
      const restores = (JSON.parse(r.metadata as string) as Record<string, unknown>).restores;
      return {
        grantId: r.id as string, customerId: r.customer_id as string, status: r.status as string, creditsMicro: big(r.credits), invoiceId: strOrNull(r.invoice_id),
        accountMicro: big(r.balance), issuedMicro: big(r.issued), restoresId: typeof restores === 'string' ? restores : null,
        restored: r.r_id === null || r.r_id === undefined ? null : {
          customerId: r.r_customer as string, invoiceId: strOrNull(r.r_invoice), status: r.r_status as string, closeReason: strOrNull(r.r_reason), creditsMicro: big(r.r_credits),
        },
      };
    });
  }

  /**
   * Holds of the range's customers, created in the window, whose stored figures disagree with
   * their `hold:<id>` account (`HoldFacts`, src/core/reconciliation.ts): what the hold's `hold`
   * transaction put in, what usage (its capture) took out, and the account's stored balance (which
   * the ledger check compares with its entries). A hold's entries are all in the account index,
   * each one's transaction read by primary key, once per hold; only the holds that break a rule
   * are returned.
   */
  async holdSuspects(w: ReconcileWindow, customers: CustomerRange = allCustomers): Promise<HoldFacts[]> {
    const range = inCustomerRange('h.customer_id', customers);
    const time = inWindow('h.created_at', w);
    const moved = (kind: string) => `(SELECT COALESCE(SUM(e.amount), 0) FROM ledger_entries e JOIN ledger_transactions t ON t.id = e.txn_id
        WHERE e.customer_id = h.customer_id AND e.account = 'hold:' || h.id AND ${indexedEntry('e')} AND t.kind = '${kind}')`;
    const rows = await this.c.query(
      `WITH x AS MATERIALIZED (SELECT h.id, h.customer_id, h.status, h.credits, h.held, h.event_id, h.captured_credits,
          COALESCE((SELECT a.balance FROM accounts a WHERE a.customer_id = h.customer_id AND a.code = 'hold:' || h.id), 0) AS balance,
          ${moved('hold')} AS put_in, ${moved('usage')} AS used
        FROM holds h WHERE ${range.sql} AND ${time.sql})
        SELECT * FROM x WHERE x.put_in <> x.credits OR (x.status = 'active' AND x.balance <> x.held) OR (x.status <> 'active' AND x.balance <> 0)
          OR -x.used <> COALESCE(x.captured_credits, 0) OR (x.status = 'captured' AND x.event_id IS NULL)
        ORDER BY x.id`,
      [...range.params, ...time.params],
    );
    return rows.map((r) => ({
      holdId: r.id as string, customerId: r.customer_id as string, status: r.status as string, creditsMicro: big(r.credits), heldMicro: big(r.held),
      eventId: strOrNull(r.event_id), capturedMicro: r.captured_credits === null || r.captured_credits === undefined ? null : big(r.captured_credits),
      accountMicro: big(r.balance), putInMicro: big(r.put_in), usedMicro: -big(r.used),
    }));
  }

  /**
   * Customers of the range whose running meter totals (`meter_totals`, what tiered and unique
   * meters rate the next event against) hold other credits than their usage events were charged,
   * over every meter and period: each event adds what it costs to its meters' totals, so the two
   * sums are one. The totals by their primary key, the events by `inCustomers`, each summed once.
   */
  async meterTotalSuspects(customers: CustomerRange = allCustomers): Promise<{ customerId: string; totalsMicro: bigint; chargedMicro: bigint }[]> {
    const totals = inCustomerRange('o.customer_id', customers);
    const events = inCustomers(this.c.dialect, 'u', customers);
    const rows = await this.c.query(
      `SELECT customer_id, SUM(totals) AS totals, SUM(charged) AS charged FROM (
          SELECT o.customer_id, o.credits AS totals, 0 AS charged FROM meter_totals o WHERE ${totals.sql}
          UNION ALL
          SELECT u.customer_id, 0 AS totals, u.credits AS charged FROM usage_events u WHERE ${events.sql}
        ) x GROUP BY customer_id HAVING SUM(totals) <> SUM(charged) ORDER BY customer_id`,
      [...totals.params, ...events.params],
    );
    return rows.map((r) => ({ customerId: r.customer_id as string, totalsMicro: big(r.totals), chargedMicro: big(r.charged) }));
  }

  /**
   * Referral claw-backs made in the window (what a refund or chargeback took back of a referral's
   * rewards), each with its revoke transaction's entries on its grant and on `revoked`.
   */
  async referralClawBacks(w: ReconcileWindow): Promise<ReferralClawBackFacts[]> {
    const on = (account: string) => `(SELECT COALESCE(SUM(e.amount), 0) FROM ledger_entries e WHERE e.txn_id = t.id AND e.account = ${account})`;
    const rows = await this.c.query(
      `SELECT b.id, b.referral_id, b.return_id, b.customer_id, b.grant_id, b.credits, b.txn_id, t.id AS found_txn, t.kind AS txn_kind, t.cause_id AS txn_cause,
          t.customer_id AS txn_customer, ${on(`'grant:' || b.grant_id`)} AS from_grant, ${on(`'revoked'`)} AS to_revoked,
          (SELECT COUNT(*) FROM ledger_transactions c WHERE c.cause_id = b.id AND c.kind <> 'usage') AS caused,
          f.referrer_grant_id, f.referred_grant_id
        FROM referral_claw_backs b LEFT JOIN ledger_transactions t ON t.id = b.txn_id LEFT JOIN referrals f ON f.id = b.referral_id
        WHERE b.created_at >= ? AND b.created_at < ? ORDER BY b.id`,
      [w.fromMs, w.toMs],
    );
    return rows.map((r) => ({
      id: r.id as string, referralId: r.referral_id as string, returnId: r.return_id as string, customerId: r.customer_id as string, grantId: r.grant_id as string,
      creditsMicro: big(r.credits), txnId: strOrNull(r.txn_id), caused: num(r.caused),
      txn: r.found_txn === null || r.found_txn === undefined ? null : {
        kind: r.txn_kind as string, causeId: r.txn_cause as string, customerId: r.txn_customer as string, fromGrantMicro: -big(r.from_grant), toRevokedMicro: big(r.to_revoked),
      },
      referralGrantIds: [strOrNull(r.referrer_grant_id), strOrNull(r.referred_grant_id)].filter((g): g is string => g !== null),
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
