import type { Dialect, SqlConnection, SqlRow, SqlValue } from '../sql.ts';
import type {
  CustomerRecord, Page, PageRequest, SubscriptionRecord, SubscriptionTimeline, TestClockRecord, TimelinePhase, TimelineSubscription,
} from '../records.ts';
import { big, bigOrNull, json, num, numOrNull, onClock, onClockParams, queryInChunks, strOrNull } from '../rows.ts';
import type { UsableGrant } from '../../core/burn-down.ts';
import { pageQuery } from './paging.ts';
import { overageColumns, overageParams, overageUsed } from './billing.ts';
import { nextCustomerRange, type CustomerRange } from './customer-range.ts';

function toCustomer(r: SqlRow): CustomerRecord {
  return {
    id: r.id as string,
    externalId: strOrNull(r.external_id),
    name: strOrNull(r.name),
    email: strOrNull(r.email),
    currency: r.currency as string,
    testClockId: strOrNull(r.test_clock_id),
    overageEnabled: big(r.overage_enabled) === 1n,
    lowBalanceThresholdMicro: bigOrNull(r.low_balance_threshold),
    belowThreshold: big(r.below_threshold) === 1n,
    depleted: big(r.depleted) === 1n,
    autoTopUp: r.topup_threshold === null || r.topup_threshold === undefined
      ? null
      : { thresholdMicro: big(r.topup_threshold), creditsMicro: big(r.topup_credits), amountMinor: big(r.topup_amount) },
    topUpArmed: r.topup_armed !== null && r.topup_armed !== undefined && big(r.topup_armed) === 1n,
    topUpCheckAtMs: numOrNull(r.topup_check_at),
    netDays: r.net_days === null || r.net_days === undefined ? 0 : num(r.net_days),
    metadata: json(r.metadata),
    createdAtMs: num(r.created_at),
    provider: strOrNull(r.provider),
    providerCustomerId: strOrNull(r.provider_customer_id),
  };
}

/**
 * Whether a reference can be a customer id: every customer id is `cus_` and 26 characters
 * (`src/engine/ids.ts`), so any other reference can only be an `external_id`, and its lookups skip
 * the primary key's (a statement, or a round trip on PostgreSQL, saved per external reference).
 */
export function mayBeCustomerId(ref: string): boolean {
  return ref.length === 30 && ref.startsWith('cus_');
}

/** The grant columns of both authorization statements, and their joins from the customer `c`. */
const authorizationGrantColumns = `g.effective_at AS grant_effective_at, g.expires_at AS grant_expires_at, g.frozen_from AS grant_frozen_from,
    g.unfrozen_at AS grant_unfrozen_at, COALESCE(a.balance, 0) AS grant_remaining`;
const authorizationGrantJoins = `LEFT JOIN grants g ON g.customer_id = c.id AND g.status = 'active'
    LEFT JOIN accounts a ON a.customer_id = g.customer_id AND a.code = 'grant:' || g.id`;
/** How many meters count an event type, the parameter (both authorization statements). */
const metersOfTypeColumn = `(SELECT COUNT(*) FROM meters m WHERE m.event_type = ?) AS meters_of_type`;

/** The active grants in the rows of an authorization statement: one row per grant, or one row without. */
function authorizationGrants(rows: readonly SqlRow[]): UsableGrant[] {
  const grants: UsableGrant[] = [];
  for (const r of rows) {
    // No active grant: the one row the LEFT JOIN keeps has no grant columns (effective_at is NOT NULL).
    if (r.grant_effective_at === null || r.grant_effective_at === undefined) continue;
    grants.push({
      remainingMicro: big(r.grant_remaining),
      effectiveAtMs: num(r.grant_effective_at),
      expiresAtMs: numOrNull(r.grant_expires_at),
      frozenFromMs: numOrNull(r.grant_frozen_from),
      unfrozenAtMs: numOrNull(r.grant_unfrozen_at),
    });
  }
  return grants;
}

/** A boolean or a 0/1 column: SQLite answers 1/0 (a bigint here), PostgreSQL a boolean. */
function isTrue(value: unknown): boolean {
  return value === true || (typeof value !== 'boolean' && value !== null && value !== undefined && big(value) !== 0n);
}

function toClock(r: SqlRow): TestClockRecord {
  return {
    id: r.id as string, name: strOrNull(r.name), frozenTimeMs: num(r.frozen_time), createdAtMs: num(r.created_at),
    advancingToMs: r.advancing_to === null || r.advancing_to === undefined ? null : num(r.advancing_to),
    advanceError: strOrNull(r.advance_error),
    advanceFailedAtMs: r.advance_failed_at === null || r.advance_failed_at === undefined ? null : num(r.advance_failed_at),
  };
}

/**
 * `CustomerQueries.findForAuthorization`'s statements, by lookup column and whether the meters of
 * an event type are counted; built once, so each call looks up the same text.
 */
const authorizationSelect = (where: string, countsType: boolean): string => `SELECT c.*, EXISTS (SELECT 1 FROM subscriptions s WHERE s.customer_id = c.id) AS has_subscriptions,${
  countsType ? `\n    ${metersOfTypeColumn},` : ''}
    ${authorizationGrantColumns}
  FROM customers c ${authorizationGrantJoins}
  WHERE ${where}`;
const authorizationById = authorizationSelect('c.id = ?', false);
const authorizationByExternalId = authorizationSelect('c.external_id = ?', false);
const authorizationCountingById = authorizationSelect('c.id = ?', true);
const authorizationCountingByExternalId = authorizationSelect('c.external_id = ?', true);

/**
 * A subscription's timeline as the quick authorization reads it (`timeline_subscriptions`,
 * `timeline_phases`): JSON text, an array per row, timestamps as decimal text. Both dialects
 * return text (PostgreSQL's is cast, so that its driver does not parse it), and the caller compares
 * it whole with the text it saw last before parsing it; PostgreSQL's `json_agg` of no rows is NULL,
 * read as none.
 */
const timelineColumns = {
  sqlite: `,
      (SELECT json_group_array(json_array(s.id, s.plan_id, s.status, CAST(s.anchor_at AS TEXT), CAST(s.period_index AS TEXT), CAST(s.ended_at AS TEXT), CAST(s.period_start AS TEXT)))
        FROM subscriptions s WHERE s.customer_id = c.id) AS timeline_subscriptions,
      (SELECT json_group_array(json_array(p.id, p.subscription_id, p.plan_id, CAST(p.start_at AS TEXT)))
        FROM subscription_phases p WHERE p.subscription_id IN (SELECT s.id FROM subscriptions s WHERE s.customer_id = c.id)) AS timeline_phases`,
  postgres: `,
      (SELECT json_agg(json_build_array(s.id, s.plan_id, s.status, s.anchor_at::text, s.period_index::text, s.ended_at::text, s.period_start::text))::text
        FROM subscriptions s WHERE s.customer_id = c.id) AS timeline_subscriptions,
      (SELECT json_agg(json_build_array(p.id, p.subscription_id, p.plan_id, p.start_at::text))::text
        FROM subscription_phases p WHERE p.subscription_id IN (SELECT s.id FROM subscriptions s WHERE s.customer_id = c.id)) AS timeline_phases`,
};

/**
 * `findForQuickAuthorization`'s statements, by dialect, lookup column, whether an event type is
 * counted, how many meters' totals are read and whether the subscription timeline is. Only the
 * customer's columns authorization decides on are read, and the customer's part is made once
 * (`MATERIALIZED`), not again for each grant row.
 */
const quickAuthorizationStatements = new Map<string, string>();
function quickAuthorizationSelect(dialect: Dialect, byExternalId: boolean, countsType: boolean, totals: number, timeline: boolean, overage: boolean): string {
  const key = `${dialect}${byExternalId ? 'e' : 'i'}${countsType ? 't' : ''}${timeline ? 's' : ''}${overage ? 'o' : ''}${totals}`;
  let sql = quickAuthorizationStatements.get(key);
  if (sql === undefined) {
    let extra = countsType ? `,\n      ${metersOfTypeColumn}` : '';
    for (let i = 0; i < totals; i++) {
      extra += `,\n      (SELECT t.quantity FROM meter_totals t WHERE t.customer_id = c.id AND t.meter_id = ? AND t.period_start = ?) AS total_${i}`;
    }
    if (timeline) extra += timelineColumns[dialect];
    if (overage) extra += `,\n      ${overageColumns('c.id', dialect)}`;
    sql = `WITH c AS MATERIALIZED (SELECT c.id, c.test_clock_id, c.overage_enabled,
      EXISTS (SELECT 1 FROM subscriptions s WHERE s.customer_id = c.id) AS has_subscriptions${extra}
    FROM customers c WHERE c.${byExternalId ? 'external_id' : 'id'} = ?)
  SELECT c.*, ${authorizationGrantColumns}
  FROM c ${authorizationGrantJoins}`;
    quickAuthorizationStatements.set(key, sql);
  }
  return sql;
}

/** The timeline's text as read: a JSON array of subscriptions, a newline, one of phases. */
function timelineText(r: SqlRow): string {
  return `${(r.timeline_subscriptions as string | null) ?? '[]'}\n${(r.timeline_phases as string | null) ?? '[]'}`;
}

function timelineRead(text: string, customerId: string): TimelineRead {
  return { text, parse: () => parseTimeline(text, customerId) };
}

/** A timeline's text (`timelineText`) parsed: subscriptions by id, phases by start then id. */
function parseTimeline(text: string, customerId: string): SubscriptionTimeline {
  const newline = text.indexOf('\n');
  const subscriptions: TimelineSubscription[] = (JSON.parse(text.slice(0, newline)) as unknown[][]).map((v) => ({
    id: v[0] as string, customerId, planId: v[1] as string, status: v[2] as SubscriptionRecord['status'],
    anchorAtMs: num(v[3]), periodIndex: num(v[4]), endedAtMs: numOrNull(v[5]), periodStartMs: num(v[6]),
  }));
  const phases: TimelinePhase[] = (JSON.parse(text.slice(newline + 1)) as unknown[][]).map((v) => ({
    id: v[0] as string, subscriptionId: v[1] as string, planId: v[2] as string, startAtMs: num(v[3]),
  }));
  subscriptions.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  phases.sort((a, b) => a.startAtMs - b.startAtMs || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return { subscriptions, phases };
}

/**
 * What authorization reads of a customer: the row, whether it has a subscription, its active
 * grants, and how many meters count the event type asked about (null when none was).
 */
export interface AuthorizationRead {
  customer: CustomerRecord;
  hasSubscriptions: boolean;
  grants: UsableGrant[];
  metersOfType: number | null;
}

/** A subscription timeline as read: its text, to compare with one seen before, and the timeline parsed from it. */
export interface TimelineRead {
  text: string;
  parse(): SubscriptionTimeline;
}

/**
 * What the quick authorization reads of a customer: the columns it decides on, whether it has a
 * subscription, its active grants, how many meters count the event's type, the period totals and,
 * when asked for, the subscription timeline.
 */
export interface QuickAuthorizationRead {
  customerId: string;
  testClockId: string | null;
  overageEnabled: boolean;
  hasSubscriptions: boolean;
  grants: UsableGrant[];
  /** Null when no event type was given. */
  metersOfType: number | null;
  /** In the order of the meters asked for; 0 where the period has no total yet. */
  totals: bigint[];
  /** The subscription timeline, when it was asked for; null otherwise. */
  timeline: TimelineRead | null;
  /** The overage consumed in the window asked for (`BillingQueries.overageConsumed`); null when none was. */
  overageMicro: bigint | null;
}

export class CustomerQueries {
  constructor(private readonly c: SqlConnection) {}

  /** How many customers there are: the denominator of a sliced check's progress. */
  async count(): Promise<number> {
    const rows = await this.c.query(`SELECT COUNT(*) AS n FROM customers`);
    return num(rows[0]!.n);
  }

  /** The range of the next `count` customers after `afterId`, for a check that walks the store in slices (customer-range.ts). */
  nextRange(afterId: string | null, count: number): Promise<{ range: CustomerRange; customers: number; last: boolean }> {
    return nextCustomerRange(this.c, afterId, count);
  }

  async insert(r: CustomerRecord): Promise<void> {
    await this.c.run(
      `INSERT INTO customers (id, external_id, name, email, currency, test_clock_id, overage_enabled, low_balance_threshold,
        below_threshold, depleted, topup_threshold, topup_credits, topup_amount, topup_armed, metadata, created_at, net_days)
        VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`,
      [r.id, r.externalId, r.name, r.email, r.currency, r.testClockId, r.overageEnabled ? 1 : 0, r.lowBalanceThresholdMicro,
        r.belowThreshold ? 1 : 0, r.depleted ? 1 : 0, r.autoTopUp?.thresholdMicro ?? null, r.autoTopUp?.creditsMicro ?? null,
        r.autoTopUp?.amountMinor ?? null, r.topUpArmed ? 1 : 0, JSON.stringify(r.metadata), r.createdAtMs, r.netDays],
    );
  }

  async update(r: CustomerRecord): Promise<void> {
    await this.c.run(
      `UPDATE customers SET name = ?, email = ?, overage_enabled = ?, low_balance_threshold = ?, below_threshold = ?,
        depleted = ?, topup_threshold = ?, topup_credits = ?, topup_amount = ?, topup_armed = ?, metadata = ?, net_days = ? WHERE id = ?`,
      [r.name, r.email, r.overageEnabled ? 1 : 0, r.lowBalanceThresholdMicro, r.belowThreshold ? 1 : 0, r.depleted ? 1 : 0,
        r.autoTopUp?.thresholdMicro ?? null, r.autoTopUp?.creditsMicro ?? null, r.autoTopUp?.amountMinor ?? null,
        r.topUpArmed ? 1 : 0, JSON.stringify(r.metadata), r.netDays, r.id],
    );
  }

  async setSignals(id: string, belowThreshold: boolean, depleted: boolean): Promise<void> {
    await this.c.run(`UPDATE customers SET below_threshold = ?, depleted = ? WHERE id = ?`, [belowThreshold ? 1 : 0, depleted ? 1 : 0, id]);
  }

  /**
   * Finds a customer by its id (`cus_…`) or by the caller's `external_id`; the id wins. The primary
   * key is looked up alone first, which costs less than `id = ? OR external_id = ?` (two index
   * probes merged); only a reference that is not an id pays for the second lookup, and one that
   * cannot be an id (`mayBeCustomerId`) only for that one.
   */
  async find(ref: string): Promise<CustomerRecord | null> {
    const byId = mayBeCustomerId(ref) ? await this.c.query(`SELECT * FROM customers WHERE id = ?`, [ref]) : [];
    if (byId[0]) return toCustomer(byId[0]);
    const byExternal = await this.c.query(`SELECT * FROM customers WHERE external_id = ?`, [ref]);
    return byExternal[0] ? toCustomer(byExternal[0]) : null;
  }

  /**
   * `find`, with in the same statement what authorization reads next: whether the customer has
   * any subscription (a customer without one needs no subscription timeline read) and its active
   * grants as `isGrantUsable` reads them, with their remaining amounts (`LedgerQueries.spendableGrants`'
   * rows, one per grant; the customer's columns repeat on each). One statement instead of three.
   * With `eventType`, also how many meters count that type (see `findForQuickAuthorization`).
   */
  async findForAuthorization(ref: string, eventType: string | null = null): Promise<AuthorizationRead | null> {
    const params: SqlValue[] = eventType === null ? [ref] : [eventType, ref];
    let rows = mayBeCustomerId(ref) ? await this.c.query(eventType === null ? authorizationById : authorizationCountingById, params) : [];
    if (rows.length === 0) rows = await this.c.query(eventType === null ? authorizationByExternalId : authorizationCountingByExternalId, params);
    const first = rows[0];
    if (first === undefined) return null;
    return {
      customer: toCustomer(first), hasSubscriptions: isTrue(first.has_subscriptions), grants: authorizationGrants(rows),
      metersOfType: eventType === null ? null : num(first.meters_of_type),
    };
  }

  /**
   * What authorizing one event reads, in one statement and so in one snapshot without a
   * transaction around it: `findForAuthorization`'s customer (only the columns authorization
   * decides on) and grants, how many meters count events of `eventType` (the caller's list of them
   * is current while that count is the same, since meters are never changed or removed), the
   * totals of `meterIds` in the period starting at `periodStartMs`, and with `timeline` the
   * customer's subscriptions and their phases, from which the caller checks that this was the
   * period to read (`periodStartMs` is its guess from the timeline it saw last). With
   * `overageWindow`, also the overage consumed in it, as `BillingQueries.overageConsumed` reads it.
   */
  async findForQuickAuthorization(
    ref: string, eventType: string | null, meterIds: readonly string[], periodStartMs: number, timeline = false,
    overageWindow: { fromMs: number; toMs: number } | null = null,
  ): Promise<QuickAuthorizationRead | null> {
    const params: SqlValue[] = eventType === null ? [] : [eventType];
    for (const id of meterIds) params.push(id, periodStartMs);
    if (overageWindow !== null) params.push(...overageParams(this.c.dialect, null, overageWindow.fromMs, overageWindow.toMs));
    params.push(ref);
    const dialect = this.c.dialect;
    const overage = overageWindow !== null;
    let rows = mayBeCustomerId(ref) ? await this.c.query(quickAuthorizationSelect(dialect, false, eventType !== null, meterIds.length, timeline, overage), params) : [];
    if (rows.length === 0) rows = await this.c.query(quickAuthorizationSelect(dialect, true, eventType !== null, meterIds.length, timeline, overage), params);
    const first = rows[0];
    if (first === undefined) return null;
    const totals: bigint[] = [];
    for (let i = 0; i < meterIds.length; i++) totals.push(bigOrNull(first[`total_${i}`]) ?? 0n);
    const customerId = first.id as string;
    return {
      customerId,
      testClockId: strOrNull(first.test_clock_id),
      overageEnabled: big(first.overage_enabled) === 1n,
      hasSubscriptions: isTrue(first.has_subscriptions),
      grants: authorizationGrants(rows),
      metersOfType: eventType === null ? null : num(first.meters_of_type),
      totals,
      timeline: timeline ? timelineRead(timelineText(first), customerId) : null,
      overageMicro: overage ? overageUsed(first) : null,
    };
  }

  /**
   * `findMany` for a writer: on PostgreSQL the same statement also row-locks every customer it
   * finds, in id order as `lockCustomers` does, so a write step pays one round trip for the read
   * and the lock instead of two, and reads each row as it stands once locked. A customer whose
   * `external_id` equals another's id may be locked without being returned (one statement matches
   * both columns): an extra lock, never a missing one. SQLite has one writer and needs no locks.
   */
  async findManyLocked(refs: readonly string[]): Promise<Map<string, CustomerRecord>> {
    return (await this.lockMany(refs, false)) ?? this.findMany(refs);
  }

  /**
   * `findManyLocked` without waiting: on PostgreSQL the customers another transaction has locked
   * are skipped (`SKIP LOCKED`) and named in `locked` (references as given); the rest are locked
   * and returned as `findManyLocked` returns them. A reference in neither is no customer. SQLite
   * has one writer: nothing is ever locked.
   */
  async findManyLockedSkipping(refs: readonly string[]): Promise<{ found: Map<string, CustomerRecord>; locked: Set<string> }> {
    const found = await this.lockMany(refs, true);
    if (found === null) return { found: await this.findMany(refs), locked: new Set() };
    const missing = refs.filter((ref) => !found.has(ref));
    // Skipped (locked elsewhere) or no customer: the ones that exist are the locked ones.
    const locked = missing.length === 0 ? new Set<string>() : new Set((await this.findMany(missing)).keys());
    return { found, locked };
  }

  /** The locking read of `findManyLocked` (null where there are no row locks: SQLite). */
  private async lockMany(refs: readonly string[], skipLocked: boolean): Promise<Map<string, CustomerRecord> | null> {
    if (this.c.dialect !== 'postgres' || this.c.queryPrepared === undefined) return null;
    const out = new Map<string, CustomerRecord>();
    if (refs.length === 0) return out;
    const rows = await this.c.queryPrepared(
      `SELECT * FROM customers WHERE id = ANY($1::text[]) OR external_id = ANY($1::text[]) ORDER BY id FOR UPDATE${skipLocked ? ' SKIP LOCKED' : ''}`, [refs]);
    const wanted = new Set(refs);
    for (const row of rows) if (wanted.has(row.id as string)) out.set(row.id as string, toCustomer(row));
    for (const row of rows) {
      const external = row.external_id as string | null;
      if (external !== null && wanted.has(external) && !out.has(external)) out.set(external, toCustomer(row));
    }
    return out;
  }

  /** Resolves many references at once; the map is keyed by the reference as given. */
  async findMany(refs: readonly string[]): Promise<Map<string, CustomerRecord>> {
    const out = new Map<string, CustomerRecord>();
    if (refs.length === 0) return out;
    const ids = refs.filter(mayBeCustomerId);
    const byId = ids.length > 0 ? await queryInChunks(this.c, ids, (list) => `SELECT * FROM customers WHERE id IN ${list}`) : [];
    for (const row of byId) out.set(row.id as string, toCustomer(row));
    const missing = refs.filter((ref) => !out.has(ref));
    if (missing.length > 0) {
      const byExternal = await queryInChunks(this.c, missing, (list) => `SELECT * FROM customers WHERE external_id IN ${list}`);
      for (const row of byExternal) out.set(row.external_id as string, toCustomer(row));
    }
    return out;
  }

  async list(page: PageRequest): Promise<Page<CustomerRecord>> {
    return pageQuery(this.c, 'customers', '', [], page, toCustomer);
  }

  /**
   * Customers whose id or external id is `q`, or whose name or email starts with it, ignoring
   * case (`lower()` on both sides, in the database). Each branch is an index lookup or an index
   * range (migration 51), so the search stays fast with hundreds of thousands of customers.
   */
  async search(q: string, page: PageRequest): Promise<Page<CustomerRecord>> {
    // Bytewise ranges on PostgreSQL, as its expression indexes are built (see migration 51).
    const lowered = (column: string) => (this.c.dialect === 'postgres' ? `(lower(${column}) COLLATE "C")` : `lower(${column})`);
    const prefix = (column: string) => `(${lowered(column)} >= lower(?) AND ${lowered(column)} < (lower(?) || ?))`;
    return pageQuery(this.c, 'customers', `(id = ? OR external_id = ? OR ${prefix('name')} OR ${prefix('email')})`,
      [q, q, q, q, '\u{10FFFF}', q, q, '\u{10FFFF}'], page, toCustomer, { where: '', params: [] });
  }

  /**
   * Arms auto top-up (after its purchase was paid or voided), with a check of the balance due at
   * `checkAtMs`, or disarms it (a purchase under way), with no check to come.
   */
  async setTopUpArmed(id: string, armed: boolean, checkAtMs: number | null): Promise<void> {
    await this.c.run(`UPDATE customers SET topup_armed = ?, topup_check_at = ? WHERE id = ?`, [armed ? 1 : 0, armed ? checkAtMs : null, id]);
  }

  /**
   * A check of an armed customer's balance against its auto top-up threshold due at `atMs`, unless
   * one is due sooner already: the earliest is kept, in the database whatever a caller's record
   * says. Nothing for a customer not armed.
   */
  async checkTopUpAt(id: string, atMs: number): Promise<void> {
    await this.c.run(`UPDATE customers SET topup_check_at = ? WHERE id = ? AND topup_armed = 1 AND (topup_check_at IS NULL OR topup_check_at > ?)`,
      [atMs, id, atMs]);
  }

  /** The check made: none to come. */
  async clearTopUpCheck(id: string): Promise<void> {
    await this.c.run(`UPDATE customers SET topup_check_at = NULL WHERE id = ?`, [id]);
  }

  /** Customers of a clock (null: the real clock) whose auto top-up check is due by `upToMs`, soonest first, by `customers_topup_check`. */
  dueTopUpChecks(testClockId: string | null, upToMs: number, limit: number): Promise<{ id: string; dueAtMs: number }[]> {
    return this.dueChecks('topup_check_at', testClockId, upToMs, limit);
  }

  /**
   * A check of the customer's debt due at `atMs`, unless one is due sooner already (the earliest
   * is kept, in the database whatever a caller read): due work then pays the debt from the
   * credits usable (migration 66). `ifOwed`: only while the customer owes a debt (its `debt`
   * row exists only then), for credits that became usable now.
   */
  async checkDebtAt(id: string, atMs: number, ifOwed = false): Promise<void> {
    const owed = ifOwed ? ` AND EXISTS (SELECT 1 FROM accounts a WHERE a.customer_id = customers.id AND a.code = 'debt')` : '';
    await this.c.run(`UPDATE customers SET debt_check_at = ? WHERE id = ? AND (debt_check_at IS NULL OR debt_check_at > ?)${owed}`, [atMs, id, atMs]);
  }

  /** When the customer's debt is next to be checked (null: no check to come). */
  async debtCheckAt(id: string): Promise<number | null> {
    const rows = await this.c.query(`SELECT debt_check_at FROM customers WHERE id = ?`, [id]);
    return rows[0] ? numOrNull(rows[0].debt_check_at) : null;
  }

  /** The debt check made: the next one due at `nextAtMs`, or none. */
  async setDebtCheck(id: string, nextAtMs: number | null): Promise<void> {
    await this.c.run(`UPDATE customers SET debt_check_at = ? WHERE id = ?`, [nextAtMs, id]);
  }

  /** Customers of a clock (null: the real clock) whose debt check is due by `upToMs`, soonest first, by `customers_debt_check`. */
  dueDebtChecks(testClockId: string | null, upToMs: number, limit: number): Promise<{ id: string; dueAtMs: number }[]> {
    return this.dueChecks('debt_check_at', testClockId, upToMs, limit);
  }

  /** The customers of a clock whose check in `column` is due by `upToMs`, soonest first, by the column's partial index led by the clock. */
  private async dueChecks(column: 'topup_check_at' | 'debt_check_at', testClockId: string | null, upToMs: number, limit: number): Promise<{ id: string; dueAtMs: number }[]> {
    const rows = await this.c.query(
      `SELECT id, ${column} AS due_at FROM customers WHERE ${column} IS NOT NULL AND ${onClock(testClockId)} AND ${column} <= ?
        ORDER BY ${column}, id LIMIT ?`,
      onClockParams(testClockId, [upToMs, limit]));
    return rows.map((r) => ({ id: r.id as string, dueAtMs: num(r.due_at) }));
  }

  async onClock(testClockId: string | null): Promise<CustomerRecord[]> {
    const rows = testClockId === null
      ? await this.c.query(`SELECT * FROM customers WHERE test_clock_id IS NULL`)
      : await this.c.query(`SELECT * FROM customers WHERE test_clock_id = ?`, [testClockId]);
    return rows.map(toCustomer);
  }

  async insertClock(r: TestClockRecord): Promise<void> {
    await this.c.run(`INSERT INTO test_clocks (id, name, frozen_time, created_at) VALUES (?,?,?,?)`, [r.id, r.name, r.frozenTimeMs, r.createdAtMs]);
  }

  async getClock(id: string): Promise<TestClockRecord | null> {
    const rows = await this.c.query(`SELECT * FROM test_clocks WHERE id = ?`, [id]);
    return rows[0] ? toClock(rows[0]) : null;
  }

  /** Locks the clock row on PostgreSQL so two advances of one clock run one after the other. */
  async getClockForUpdate(id: string): Promise<TestClockRecord | null> {
    const suffix = this.c.dialect === 'postgres' ? ' FOR UPDATE' : '';
    const rows = await this.c.query(`SELECT * FROM test_clocks WHERE id = ?${suffix}`, [id]);
    return rows[0] ? toClock(rows[0]) : null;
  }

  async getClocks(ids: readonly string[]): Promise<Map<string, TestClockRecord>> {
    const rows = await queryInChunks(this.c, ids, (list) => `SELECT * FROM test_clocks WHERE id IN ${list}`);
    return new Map(rows.map((r) => [r.id as string, toClock(r)]));
  }

  async setClockTime(id: string, frozenTimeMs: number): Promise<void> {
    await this.c.run(`UPDATE test_clocks SET frozen_time = ? WHERE id = ?`, [frozenTimeMs, id]);
  }

  /** Marks an advance as running towards `targetMs` (null: none is, the clock is ready). */
  async setClockAdvancing(id: string, targetMs: number | null): Promise<void> {
    await this.c.run(`UPDATE test_clocks SET advancing_to = ? WHERE id = ?`, [targetMs, id]);
  }

  /** Records that an advance failed with `error` at `atMs`, or (null) that none has since. */
  async setClockFailure(id: string, failure: { error: string; atMs: number } | null): Promise<void> {
    await this.c.run(`UPDATE test_clocks SET advance_error = ?, advance_failed_at = ? WHERE id = ?`, [failure?.error ?? null, failure?.atMs ?? null, id]);
  }

  /** Clocks an advance was left running on (`advancing_to` set), in id order. */
  async advancingClocks(): Promise<TestClockRecord[]> {
    return (await this.c.query(`SELECT * FROM test_clocks WHERE advancing_to IS NOT NULL ORDER BY id`)).map(toClock);
  }

  async listClocks(page: PageRequest): Promise<Page<TestClockRecord>> {
    return pageQuery(this.c, 'test_clocks', '', [], page, toClock);
  }
}
