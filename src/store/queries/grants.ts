import type { SqlConnection, SqlRow, SqlValue } from '../sql.ts';
import type { GrantRecord, GrantStatus, HoldRecord, Page, PageRequest } from '../records.ts';
import { big, bigOrNull, customerClock, inList, json, num, numOrNull, onClock, onClockParams, queryInChunks, strOrNull } from '../rows.ts';
import { pageQuery } from './paging.ts';
import { overageTakenKinds } from './ledger.ts';
import { effectiveIndexedTxn, idTimeWindowSql, idWindowSql, usageByIdTimeSql } from './usage-window.ts';
import { ofCustomer, sqlPart } from './customer-events.ts';
import { entriesOf, entryAccount, entryAmount, onEventRow } from './event-postings.ts';

/** Grants joined with their ledger account, whose balance is what is left of the grant. */
const grantSelect = `SELECT g.*, COALESCE(a.balance, 0) AS remaining FROM grants g
  LEFT JOIN accounts a ON a.customer_id = g.customer_id AND a.code = 'grant:' || g.id`;

function toGrant(r: SqlRow): GrantRecord {
  return {
    id: r.id as string,
    customerId: r.customer_id as string,
    creditsMicro: big(r.credits),
    category: r.category as GrantRecord['category'],
    source: r.source as string,
    priority: num(r.priority),
    effectiveAtMs: num(r.effective_at),
    expiresAtMs: numOrNull(r.expires_at),
    status: r.status as GrantStatus,
    invoiceId: strOrNull(r.invoice_id),
    invoiceLineId: strOrNull(r.invoice_line_id),
    subscriptionId: strOrNull(r.subscription_id),
    periodStartMs: numOrNull(r.period_start),
    costAmountMinor: bigOrNull(r.cost_amount),
    costCurrency: strOrNull(r.cost_currency),
    closedAtMs: numOrNull(r.closed_at),
    closeReason: strOrNull(r.close_reason),
    metadata: json(r.metadata),
    createdAtMs: num(r.created_at),
    remainingMicro: r.remaining === undefined ? 0n : big(r.remaining),
    frozenFromMs: numOrNull(r.frozen_from),
    unfrozenAtMs: numOrNull(r.unfrozen_at),
  };
}

function toHold(r: SqlRow): HoldRecord {
  return {
    id: r.id as string,
    customerId: r.customer_id as string,
    creditsMicro: big(r.credits),
    heldMicro: big(r.held),
    status: r.status as HoldRecord['status'],
    expiresAtMs: num(r.expires_at),
    eventId: strOrNull(r.event_id),
    capturedCreditsMicro: bigOrNull(r.captured_credits),
    metadata: json(r.metadata),
    createdAtMs: num(r.created_at),
    closedAtMs: numOrNull(r.closed_at),
  };
}

export interface DueItem {
  id: string;
  customerId: string;
  dueAtMs: number;
}

export class GrantQueries {
  constructor(private readonly c: SqlConnection) {}

  async insert(g: GrantRecord): Promise<void> {
    await this.c.run(
      `INSERT INTO grants (id, customer_id, credits, category, source, priority, effective_at, expires_at, status, invoice_id,
        invoice_line_id, subscription_id, period_start, cost_amount, cost_currency, closed_at, close_reason, metadata, created_at,
        frozen_from, unfrozen_at, test_clock_id)
        VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,${customerClock})`,
      [g.id, g.customerId, g.creditsMicro, g.category, g.source, g.priority, g.effectiveAtMs, g.expiresAtMs, g.status, g.invoiceId,
        g.invoiceLineId, g.subscriptionId, g.periodStartMs, g.costAmountMinor, g.costCurrency, g.closedAtMs, g.closeReason,
        JSON.stringify(g.metadata), g.createdAtMs, g.frozenFromMs, g.unfrozenAtMs, g.customerId],
    );
  }

  async get(id: string): Promise<GrantRecord | null> {
    const rows = await this.c.query(`${grantSelect} WHERE g.id = ?`, [id]);
    return rows[0] ? toGrant(rows[0]) : null;
  }

  async getMany(ids: readonly string[]): Promise<GrantRecord[]> {
    const rows = await queryInChunks(this.c, ids, (list) => `${grantSelect} WHERE g.id IN ${list}`);
    return rows.map(toGrant);
  }

  /** Active grants of these customers, in creation order (the burn-down's last tie-breaker). */
  async activeFor(customerIds: readonly string[]): Promise<GrantRecord[]> {
    const rows = await queryInChunks(
      this.c,
      customerIds,
      (list) => `${grantSelect} WHERE g.customer_id IN ${list} AND g.status = 'active' ORDER BY g.id`,
    );
    return rows.map(toGrant);
  }

  async list(customerId: string | null, page: PageRequest): Promise<Page<GrantRecord>> {
    const result = await pageQuery(
      this.c,
      `(${grantSelect}) x`,
      customerId ? 'customer_id = ?' : '',
      customerId ? [customerId] : [],
      page,
      toGrant,
    );
    return result;
  }

  async forInvoice(invoiceId: string): Promise<GrantRecord[]> {
    return (await this.c.query(`${grantSelect} WHERE g.invoice_id = ? ORDER BY g.id`, [invoiceId])).map(toGrant);
  }

  /** Allowance grants (and rollovers) of one subscription period, in creation order. */
  async forPeriod(subscriptionId: string, periodStartMs: number): Promise<GrantRecord[]> {
    return (await this.c.query(`${grantSelect} WHERE g.subscription_id = ? AND g.period_start = ? ORDER BY g.id`, [subscriptionId, periodStartMs])).map(toGrant);
  }

  async setFreeze(id: string, frozenFromMs: number | null, unfrozenAtMs: number | null): Promise<void> {
    await this.c.run(`UPDATE grants SET frozen_from = ?, unfrozen_at = ? WHERE id = ?`, [frozenFromMs, unfrozenAtMs, id]);
  }

  /**
   * Grants that were ever frozen, with the usage that debited them inside the frozen interval
   * (from the freeze to the unfreeze or the close, whichever came first). Each grant's usage is
   * found by time, its customer's charges in the time index and those found by id (migration 56,
   * usage-window.ts), and each transaction's entry on the grant by the entries' primary key: a
   * usage charge's grant entries are not in the account index (migration 55), and this way finds
   * those written before it alike. Charges posted on their event's row (migration 58) are found
   * by the customer's positions, their entry on the grant in the row's entries.
   */
  async usedWhileFrozen(): Promise<{ grantId: string; customerId: string; txnId: string; effectiveAtMs: number }[]> {
    return this.usageOfGrants('g.frozen_from IS NOT NULL', 'g.frozen_from',
      `CASE WHEN g.unfrozen_at IS NULL THEN g.closed_at WHEN g.closed_at IS NULL OR g.unfrozen_at < g.closed_at THEN g.unfrozen_at ELSE g.closed_at END`);
  }

  /** Grants closed because their invoice was voided or uncollectible, with usage after the close (found as `usedWhileFrozen` finds it). */
  async usedAfterRevocation(): Promise<{ grantId: string; customerId: string; txnId: string; effectiveAtMs: number }[]> {
    return this.usageOfGrants(`g.status = 'voided' AND g.close_reason IN ('invoice voided', 'invoice uncollectible')`, 'g.closed_at', 'CAST(NULL AS BIGINT)');
  }

  /**
   * Usage transactions that debited a grant, for the grants `grants` (a condition on `g`) names,
   * effective from `fromSql` to before `toSql` (SQL on `g`; NULL leaves it open): those in the
   * ledger's tables, and those posted on their event's row (migration 58), found by the grant's
   * customer's positions. CROSS JOIN keeps grants outermost on SQLite (PostgreSQL plans it as an
   * inner join).
   */
  private async usageOfGrants(grants: string, fromSql: string, toSql: string, grantParams: readonly SqlValue[] = []): Promise<{ grantId: string; customerId: string; txnId: string; effectiveAtMs: number }[]> {
    const d = this.c.dialect;
    const ids = idWindowSql(fromSql, toSql);
    const grantCustomer = ofCustomer(d, 'u', sqlPart('g.customer_id'), { from: sqlPart(ids.from), to: sqlPart(ids.to) });
    const of = (charges: string) => `SELECT g.id AS grant_id, g.customer_id, t.id AS txn_id, t.effective_at FROM grants g
        CROSS JOIN ledger_transactions t
        WHERE ${grants} AND t.customer_id = g.customer_id AND ${charges}
          AND EXISTS (SELECT 1 FROM ledger_entries e WHERE e.txn_id = t.id AND e.account = 'grant:' || g.id AND e.amount < 0)`;
    const rows = await this.c.query(
      `SELECT x.grant_id, x.customer_id, x.txn_id, x.effective_at FROM (
          ${of(`t.kind IN ${overageTakenKinds} AND ${effectiveIndexedTxn('t')} AND t.effective_at >= ${fromSql} AND (${toSql} IS NULL OR t.effective_at < ${toSql})`)}
          UNION ALL
          ${of(usageByIdTimeSql('t', fromSql, toSql))}
          UNION ALL
          SELECT g.id AS grant_id, g.customer_id, u.txn_id AS txn_id, u.timestamp AS effective_at FROM grants g
            CROSS JOIN usage_events u
            WHERE ${grants} AND ${grantCustomer.sql} AND ${onEventRow('u')} AND ${idTimeWindowSql('u.position', 'u.timestamp', fromSql, toSql)}
              AND EXISTS (SELECT 1 FROM ${entriesOf(d, 'u', 'j')}
                WHERE ${entryAccount(d, 'j')} = 'grant:' || g.id AND ${entryAmount(d, 'j')} < 0)) x
        ORDER BY x.grant_id, x.txn_id`, [...grantParams, ...grantParams, ...grantParams, ...grantCustomer.params]);
    return rows.map((r) => ({ grantId: r.grant_id as string, customerId: r.customer_id as string, txnId: r.txn_id as string, effectiveAtMs: num(r.effective_at) }));
  }

  /**
   * The latest time, from `sinceMs` on, of usage that debited any of these grants (null: none).
   * Usage may be stamped ahead of the clock (PRODUCT §5's tolerance), so credits paid out at a
   * later time than now: a revocation or a freeze made now must not fall before it
   * (`effectAfterUse` in src/engine/dunning.ts).
   */
  async lastUsedSince(grantIds: readonly string[], sinceMs: number): Promise<number | null> {
    if (grantIds.length === 0) return null;
    const since = `CAST(${Math.trunc(sinceMs)} AS BIGINT)`;
    const rows = await this.usageOfGrants(`g.id IN ${inList(grantIds.length)}`, since, 'CAST(NULL AS BIGINT)', grantIds);
    let last: number | null = null;
    for (const r of rows) if (last === null || r.effectiveAtMs > last) last = r.effectiveAtMs;
    return last;
  }

  async activate(id: string, effectiveAtMs: number): Promise<void> {
    await this.c.run(`UPDATE grants SET status = 'active', effective_at = ? WHERE id = ? AND status = 'pending'`, [effectiveAtMs, id]);
  }

  async close(id: string, status: GrantStatus, atMs: number, reason: string | null): Promise<void> {
    await this.c.run(`UPDATE grants SET status = ?, closed_at = ?, close_reason = ? WHERE id = ?`, [status, atMs, reason, id]);
  }

  /** Active grants whose expiry has come, for customers on the given clock (null: the real clock). */
  async dueExpiries(testClockId: string | null, upToMs: number, limit: number): Promise<DueItem[]> {
    return dueOnClock(this.c, 'grants', testClockId, upToMs, limit);
  }

  async insertHold(h: HoldRecord): Promise<void> {
    await this.c.run(
      `INSERT INTO holds (id, customer_id, credits, held, status, expires_at, event_id, captured_credits, metadata, created_at, closed_at, test_clock_id)
        VALUES (?,?,?,?,?,?,?,?,?,?,?,${customerClock})`,
      [h.id, h.customerId, h.creditsMicro, h.heldMicro, h.status, h.expiresAtMs, h.eventId, h.capturedCreditsMicro,
        JSON.stringify(h.metadata), h.createdAtMs, h.closedAtMs, h.customerId],
    );
  }

  async getHold(id: string): Promise<HoldRecord | null> {
    const rows = await this.c.query(`SELECT * FROM holds WHERE id = ?`, [id]);
    return rows[0] ? toHold(rows[0]) : null;
  }

  async closeHold(h: HoldRecord): Promise<void> {
    await this.c.run(`UPDATE holds SET status = ?, event_id = ?, captured_credits = ?, closed_at = ? WHERE id = ?`, [
      h.status, h.eventId, h.capturedCreditsMicro, h.closedAtMs, h.id]);
  }

  /** A hold still active that gave part of its credits back (a claw-back took them): what it holds now. */
  async reduceHold(id: string, heldMicro: bigint): Promise<void> {
    await this.c.run(`UPDATE holds SET held = ? WHERE id = ?`, [heldMicro, id]);
  }

  /** The active holds of these customers (in id order), for due work that reads them for many at once. */
  async activeHoldsFor(customerIds: readonly string[]): Promise<HoldRecord[]> {
    if (customerIds.length === 0) return [];
    const rows = await this.c.query(
      `SELECT * FROM holds WHERE customer_id IN (${customerIds.map(() => '?').join(',')}) AND status = 'active' ORDER BY id`, [...customerIds]);
    return rows.map(toHold);
  }

  async activeHolds(customerId: string): Promise<HoldRecord[]> {
    const rows = await this.c.query(`SELECT * FROM holds WHERE customer_id = ? AND status = 'active' ORDER BY id`, [customerId]);
    return rows.map(toHold);
  }

  async listHolds(customerId: string | null, page: PageRequest): Promise<Page<HoldRecord>> {
    return pageQuery(this.c, 'holds', customerId ? 'customer_id = ?' : '', customerId ? [customerId] : [], page, toHold);
  }

  async dueHolds(testClockId: string | null, upToMs: number, limit: number): Promise<DueItem[]> {
    return dueOnClock(this.c, 'holds', testClockId, upToMs, limit);
  }
}

/**
 * Active rows of `table` whose `expires_at` has come, on one clock, soonest first: a range of
 * `grants_expiry_due` or `holds_expiry_due` (migration 64), so a pass reads only the rows it returns.
 */
async function dueOnClock(c: SqlConnection, table: 'grants' | 'holds', testClockId: string | null, upToMs: number, limit: number): Promise<DueItem[]> {
  const rows = await c.query(
    `SELECT id, customer_id, expires_at FROM ${table}
      WHERE status = 'active' AND ${onClock(testClockId)} AND expires_at <= ? ORDER BY expires_at, id LIMIT ?`,
    onClockParams(testClockId, [upToMs, limit]),
  );
  return rows.map((r) => ({ id: r.id as string, customerId: r.customer_id as string, dueAtMs: num(r.expires_at) }));
}
