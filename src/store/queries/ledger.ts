import type { SqlConnection, SqlRow, SqlValue } from '../sql.ts';
import type { DomainEventRecord, Page, PageRequest, StoredTransaction } from '../records.ts';
import { accountBalanceMaxMicro, accounts, assertBalanced, BalanceOutOfRange, type AccountOutOfRange, type LedgerTransaction } from '../../core/ledger.ts';
import { big, insertShape, insertShapedRows, json, num, numOrNull, queryInChunks } from '../rows.ts';
import { pageQuery, unknownCursor } from './paging.ts';
import { inCustomerRange, type CustomerRange } from './customer-range.ts';
import { bound, inCustomers, ofCustomer, sqlPart, tailOf, valuePart, type Bound } from './customer-events.ts';
import { effectiveIndexed } from './usage-window.ts';
import { idTimeLength } from '../../core/id-time.ts';
import { entriesOf, entryAccount, entryAmount, onEventRow, parseEntries, postingAsTransaction, postingEntries } from './event-postings.ts';

export interface BalanceDiscrepancy {
  customerId: string;
  account: string;
  storedMicro: bigint;
  summedMicro: bigint;
}

function toDomainEvent(r: SqlRow): DomainEventRecord {
  return {
    id: r.id as string,
    customerId: (r.customer_id as string | null) ?? null,
    type: r.type as string,
    payload: json(r.payload),
    createdAtMs: num(r.created_at),
  };
}

/** A grant as the burn-down sees it: its ordering fields and what is left in its account. */
export interface SpendableGrant {
  id: string;
  customerId: string;
  remainingMicro: bigint;
  priority: number;
  expiresAtMs: number | null;
  category: 'paid' | 'promotional';
  effectiveAtMs: number;
  frozenFromMs: number | null;
  unfrozenAtMs: number | null;
}

/** What `assertBalanced` checks: at least two entries, summing to zero. */
function isBalanced(txn: LedgerTransaction): boolean {
  if (txn.entries.length < 2) return false;
  let sum = 0n;
  for (const entry of txn.entries) sum += entry.amountMicro;
  return sum === 0n;
}

/**
 * The term that lets a query look entries up by `(customer_id, account)`: the account index
 * leaves out the `consumed:<meter>` entries (migration 12) and a usage charge's entries other than
 * on a hold (migration 55, `account_indexed = 0`), and SQLite and PostgreSQL use a partial index
 * only when the query repeats its condition. An account looked up this way finds every entry on it
 * except a usage charge's since migration 55: `unindexedAccount` names those, found through their
 * transactions.
 */
export const indexedAccount = (alias: string): string => `${alias}.account NOT LIKE 'consumed:%' AND ${alias}.account_indexed = 1`;
/** Exactly the entries `indexedAccount` leaves out: read through their transaction (the entries' primary key). */
export const unindexedAccount = (alias: string): string => `(${alias}.account LIKE 'consumed:%' OR ${alias}.account_indexed <> 1)`;
/**
 * The latest expiry of any expired grant, as one row (none: no grant has expired), one step down
 * the partial index `grants_expired_at` (migration 67): no expired grant expired after it. Not
 * `MAX`: SQLite reads a maximum from the end of an index only for a query of that alone, and a
 * condition on it pushed into the subquery makes it scan the index.
 */
export const latestExpiry = `SELECT expires_at AS latest FROM grants WHERE status = 'expired' AND expires_at IS NOT NULL ORDER BY expires_at DESC LIMIT 1`;

/**
 * `ledger_entries.account_indexed` of an entry as `post` writes it: 0 (out of the account index)
 * for a usage charge's entries (on grants, `overage`, `debt`, `consumed:<meter>`), except one on a
 * hold, which the hold traces look up by account; 1 for any other entry. Every reader of those
 * accounts' entries adds a usage charge's ones from its transaction.
 */
const accountIndexed = (kind: string, account: string): bigint => (kind === 'usage' && !account.startsWith('hold:') ? 0n : 1n);

const transactionsShape = insertShape('ledger_transactions', {
  id: 'text', customer_id: 'text', kind: 'text', cause_type: 'text', cause_id: 'text', refs: 'text', effective_at: 'bigint', created_at: 'bigint',
  effective_indexed: 'bigint',
});
const entriesShape = insertShape('ledger_entries', {
  txn_id: 'text', seq: 'bigint', customer_id: 'text', account: 'text', amount: 'bigint', account_indexed: 'bigint',
});
const balancesShape = insertShape('accounts', { customer_id: 'text', code: 'text', balance: 'bigint' },
  ' ON CONFLICT (customer_id, code) DO UPDATE SET balance = accounts.balance + excluded.balance');
/** The span of one `overage_hours` row (migration 53). */
export const overageHourMs = 3_600_000;
/** The span of one `overage_days` row (migration 54): a UTC day. */
export const overageDayMs = 86_400_000;
/**
 * The running totals of overage taken by usage, per customer and span of effective time (an hour,
 * a UTC day), kept by `post`. `code` names a row among the balances the ledger checks compare with
 * their entries (`overage_hours:<hour start>`, `overage_days:<day start>`): stored, its running
 * total; summed, the `overage` entries of the usage transactions effective in that span, negated.
 */
const overageTotals = ([['overage_hours', 'hour_start', overageHourMs], ['overage_days', 'day_start', overageDayMs]] as const).map(([table, start, spanMs]) => ({
  table, start, spanMs,
  shape: insertShape(table, { customer_id: 'text', [start]: 'bigint', credits: 'bigint' },
    ` ON CONFLICT (customer_id, ${start}) DO UPDATE SET credits = ${table}.credits + excluded.credits`),
  code: (startSql: string): string => `('${table}:' || (${startSql}))`,
}));
/**
 * The kinds of transaction whose `overage` entries the running totals count: usage charges, and
 * the settlements that give a charge's overage back when a grant usable at its time arrives after
 * it (`settleOverage`, src/engine/subscription-credits.ts), effective at the charge's own time.
 */
export const overageTakenKinds = `('usage', 'overage_settlement')`;
const countsAsOverageTaken = (kind: string): boolean => kind === 'usage' || kind === 'overage_settlement';
/** The code of the span of `kind` that holds the usage transaction `t`. */
const codeOfTxn = (kind: (typeof overageTotals)[number]): string => kind.code(`(t.effective_at / ${kind.spanMs}) * ${kind.spanMs}`);
/** The columns of a `ledger_transactions` row that a transaction is read with (`postingAsTransaction`'s names). */
const transactionColumns = 'id, customer_id, kind, cause_type, cause_id, refs, effective_at, created_at';
const prefixed = (alias: string): string => transactionColumns.split(', ').map((c) => `${alias}.${c}`).join(', ');
/** The code of the span of `kind` that holds the event row `u`'s posting. */
const codeOfPosting = (kind: (typeof overageTotals)[number]): string => kind.code(`(u.timestamp / ${kind.spanMs}) * ${kind.spanMs}`);
const domainEventsShape = insertShape('domain_events', { id: 'text', customer_id: 'text', type: 'text', payload: 'text', created_at: 'bigint' });

/** A batch's overage per customer and span start, for one kind of `overageTotals`. */
type OverageSums = Map<string, { customerId: string; startMs: number; credits: bigint }>;

/** Adds overage credits to a customer's running total of the span that holds `atMs`. */
function addOverage(sums: OverageSums, spanMs: number, customerId: string, atMs: number, credits: bigint): void {
  const startMs = Math.floor(atMs / spanMs) * spanMs;
  const key = `${customerId} ${startMs}`;
  const total = sums.get(key);
  if (total) total.credits += credits;
  else sums.set(key, { customerId, startMs, credits });
}

/** `JSON.stringify(refs)`, without the call for the usual empty object. */
function refsJson(refs: Record<string, string>): string {
  for (const _ in refs) return JSON.stringify(refs);
  return '{}';
}

const byAccountKey = (a: { customerId: string; code: string }, b: { customerId: string; code: string }): number =>
  a.customerId < b.customerId ? -1 : a.customerId > b.customerId ? 1 : a.code < b.code ? -1 : a.code > b.code ? 1 : 0;

/**
 * The rows of `ledger_transactions` (`transactionsShape`'s values, id first, customer second)
 * reordered by customer, then id: two of the table's indexes lead with the customer, and rows in
 * that order reach their pages one after another; the id index takes the batch's new ids near its
 * end anyway (a usage charge's id has its event's minute, as a rule at most minutes behind the clock).
 */
function sortedTxnValues(values: readonly SqlValue[]): SqlValue[] {
  const width = transactionsShape.columns.length;
  const rows: number[] = [];
  for (let p = 0; p < values.length; p += width) rows.push(p);
  rows.sort((a, b) => {
    const ca = values[a + 1] as string;
    const cb = values[b + 1] as string;
    if (ca !== cb) return ca < cb ? -1 : 1;
    const ia = values[a] as string;
    const ib = values[b] as string;
    return ia < ib ? -1 : ia > ib ? 1 : 0;
  });
  const out: SqlValue[] = new Array(values.length);
  let o = 0;
  for (const p of rows) for (let i = 0; i < width; i++) out[o++] = values[p + i]!;
  return out;
}

/** Where a transaction id's time part ends: `txn_` and 10 characters (src/core/id-time.ts). */
const txnTimeEnd = 'txn_'.length + idTimeLength;

/**
 * The entries' rows (`entriesShape`'s values) grouped by their transaction's id time, earliest
 * first, each group in the order given. A batch's usage charges carry the minutes of their events
 * (migration 56), usually one or two, and within a minute ids follow the order they were made: so
 * grouped, the entries' key takes them at one place after another instead of alternating between
 * places. A batch of one time part is returned as it is.
 */
function byTxnTime(values: SqlValue[], times: readonly string[]): SqlValue[] {
  const width = entriesShape.columns.length;
  let rowsOf: Map<string, number[]> | null = null;
  for (let r = 1; r < times.length; r++) {
    if (times[r] === times[0]) continue;
    rowsOf = new Map();
    break;
  }
  if (rowsOf === null) return values;
  for (let r = 0; r < times.length; r++) {
    const rows = rowsOf.get(times[r]!);
    if (rows === undefined) rowsOf.set(times[r]!, [r]);
    else rows.push(r);
  }
  const out: SqlValue[] = new Array(values.length);
  let o = 0;
  for (const time of [...rowsOf.keys()].sort()) {
    for (const r of rowsOf.get(time)!) for (let i = 0, p = r * width; i < width; i++) out[o++] = values[p + i]!;
  }
  return out;
}

export class LedgerQueries {
  /** Domain events held back for one multi-row write (see `deferDomainEvents`); null: written at once. */
  private deferredEvents: DomainEventRecord[] | null = null;
  /**
   * The balance changes of every `post` in this transaction, one list per call: what the store
   * reads back, only when the database refused a balance (`accountOutOfRange`), to name the account.
   */
  private readonly posted: { customerId: string; code: string; amount: bigint }[][] = [];

  constructor(private readonly c: SqlConnection) {}

  /**
   * The same grants as `GrantQueries.activeFor` (active, in creation order), read for spending:
   * only the columns the burn-down needs, joined with their ledger account's balance. Ingestion
   * reads this for every customer of a batch, and the full grant rows cost twice as much.
   */
  async spendableGrants(customerIds: readonly string[]): Promise<SpendableGrant[]> {
    const rows = await queryInChunks(this.c, customerIds, (list) =>
      `SELECT g.id, g.customer_id, g.category, g.priority, g.effective_at, g.expires_at, g.frozen_from, g.unfrozen_at, COALESCE(a.balance, 0) AS remaining
        FROM grants g LEFT JOIN accounts a ON a.customer_id = g.customer_id AND a.code = 'grant:' || g.id
        WHERE g.customer_id IN ${list} AND g.status = 'active' ORDER BY g.id`);
    return rows.map((r) => spendableGrant(r, big(r.remaining)));
  }

  /** The latest expiry of any expired grant (`latestExpiry`); null when none has expired. */
  async latestExpiryMs(): Promise<number | null> {
    const [row] = await this.c.query(latestExpiry);
    return row === undefined ? null : num(row.latest);
  }

  /**
   * Expired grants of these customers whose `expires_at` is after `sinceMs` (a late event stamped
   * before their expiry may still be paid by them, PRODUCT §5), with what their expiry moved to
   * `expired` less what late events took back since: the net of every `grant_expiry` transaction on
   * the grant's account. Creation order, as `spendableGrants`. Only read for batches that hold
   * late events (stamped before their customer's clock: most events a client stamps itself).
   *
   * Its first step is the latest expiry of any expired grant (`latestExpiry`, one step down
   * `grants_expired_at`), and the search of the customers' grants runs only when that is after
   * `sinceMs`: otherwise no grant can match, and the search would find nothing, customer by
   * customer. The forced join order (`CROSS JOIN`: SQLite keeps the left table outside) puts the
   * condition on that one row before the search.
   */
  async expiredGrantsSince(customerIds: readonly string[], sinceMs: number): Promise<(SpendableGrant & { expiredMicro: bigint })[]> {
    const rows = await queryInChunks(this.c, customerIds, (list) =>
      `SELECT g.id, g.customer_id, g.category, g.priority, g.effective_at, g.expires_at, g.frozen_from, g.unfrozen_at,
          (SELECT COALESCE(-SUM(e.amount), 0) FROM ledger_transactions t JOIN ledger_entries e ON e.txn_id = t.id
            WHERE t.cause_type = 'grant_expiry' AND t.cause_id = g.id AND e.customer_id = g.customer_id AND e.account = 'grant:' || g.id AND ${indexedAccount('e')}) AS expired
        FROM (${latestExpiry}) x CROSS JOIN grants g
        WHERE x.latest > ? AND g.expires_at > ? AND g.customer_id IN ${list} AND g.status = 'expired' ORDER BY g.id`, [sinceMs, sinceMs]);
    return rows.map((r) => ({ ...spendableGrant(r, 0n), expiredMicro: big(r.expired) }));
  }

  /**
   * Appends transactions and moves the materialized balances by the same amounts, in the caller's
   * database transaction. Each ledger transaction is checked to balance before anything is written.
   * Balance deltas are summed per account first, so a batch touches each account row once.
   */
  async post(txns: readonly LedgerTransaction[], recordedAtMs: number): Promise<void> {
    if (txns.length === 0) return;
    const txnValues: SqlValue[] = [];
    const entryValues: SqlValue[] = [];
    // SQLite: each entry's transaction id up to its time part, to write them in that order.
    const entryTimes: string[] | null = this.c.dialect === 'sqlite' ? [] : null;
    // Per customer, then per account (no key string made per entry); `deltas` keeps the order in
    // which accounts first appear, the order their rows are written in.
    const byCustomer = new Map<string, Map<string, { customerId: string; code: string; amount: bigint }>>();
    const deltas: { customerId: string; code: string; amount: bigint }[] = [];
    // Overage taken by usage, one map per kind of `overageTotals`.
    let overage: OverageSums[] | null = null;
    for (const txn of txns) {
      // assertBalanced builds its messages before it checks; run it only to throw.
      if (!isBalanced(txn)) assertBalanced(txn);
      // A posting on its event's row (event-postings.ts) is written with the event: no rows here.
      const rows = txn.onEventRow !== true;
      if (rows) {
        txnValues.push(txn.id, txn.customerId, txn.kind, txn.cause.type, txn.cause.id, refsJson(txn.refs), txn.effectiveAtMs, recordedAtMs,
          effectiveIndexed(txn.kind, txn.id, txn.effectiveAtMs));
      }
      let own = byCustomer.get(txn.customerId);
      if (own === undefined) {
        own = new Map();
        byCustomer.set(txn.customerId, own);
      }
      let seq = 0;
      const txnTime = entryTimes === null ? '' : txn.id.slice(0, txnTimeEnd);
      for (const entry of txn.entries) {
        if (rows) {
          entryValues.push(txn.id, seq++, txn.customerId, entry.account, entry.amountMicro, accountIndexed(txn.kind, entry.account));
          if (entryTimes !== null) entryTimes.push(txnTime);
        }
        if (entry.account === accounts.overage && countsAsOverageTaken(txn.kind)) {
          overage ??= overageTotals.map(() => new Map());
          overageTotals.forEach((kind, i) => addOverage(overage![i]!, kind.spanMs, txn.customerId, txn.effectiveAtMs, -entry.amountMicro));
        }
        const delta = own.get(entry.account);
        if (delta) delta.amount += entry.amountMicro;
        else {
          const added = { customerId: txn.customerId, code: entry.account, amount: entry.amountMicro };
          own.set(entry.account, added);
          deltas.push(added);
        }
      }
    }
    // SQLite: the account rows in key order, so the upserts walk the primary key's pages once in
    // order instead of hopping between customers. (PostgreSQL keeps the first-seen order.)
    if (this.c.dialect === 'sqlite') deltas.sort(byAccountKey);
    await insertShapedRows(this.c, transactionsShape, this.c.dialect === 'sqlite' ? sortedTxnValues(txnValues) : txnValues);
    await insertShapedRows(this.c, entriesShape, entryTimes === null ? entryValues : byTxnTime(entryValues, entryTimes));
    const balanceValues: SqlValue[] = [];
    let paidDown: string[] | null = null;
    this.posted.push(deltas);
    for (const d of deltas) {
      // One batch's change beyond the bound takes its account beyond it from any balance (and may
      // not fit a 64-bit parameter): refused before anything is sent.
      if (d.amount > accountBalanceMaxMicro || d.amount < -accountBalanceMaxMicro) {
        throw new BalanceOutOfRange(accountBalanceMaxMicro, { customerId: d.customerId, account: d.code, balanceMicro: 0n, changeMicro: d.amount });
      }
      balanceValues.push(d.customerId, d.code, d.amount);
      if (d.code === accounts.debt && d.amount >= 0n) (paidDown ??= []).push(d.customerId);
    }
    await insertShapedRows(this.c, balancesShape, balanceValues);
    if (paidDown !== null) await this.deletePaidDebts(paidDown);
    if (overage !== null) {
      for (const [i, kind] of overageTotals.entries()) {
        const values: SqlValue[] = [];
        for (const t of overage[i]!.values()) values.push(t.customerId, t.startMs, t.credits);
        await insertShapedRows(this.c, kind.shape, values);
      }
    }
  }

  /**
   * A customer's `debt` row exists only while it is owed (migration 52): a posting that paid a
   * debt down deletes the row it brought to zero, in the same transaction. The debt index then
   * holds only owing customers without naming `balance` (a column of an index, predicates
   * included, that changes rules out PostgreSQL's heap-only updates on every balance upsert).
   * Debt only moves toward zero by a positive amount, so ordinary usage never gets here; a batch
   * whose debt entries net to zero comes too (it may have made a row it did not need).
   */
  private async deletePaidDebts(customerIds: readonly string[]): Promise<void> {
    await queryInChunks(this.c, customerIds,
      (list) => `DELETE FROM accounts WHERE code = 'debt' AND balance = 0 AND customer_id IN ${list}`);
  }

  /**
   * After the database refused a balance beyond the bound (migration 69) and this transaction
   * rolled back: the account this transaction's postings would have taken out of range from its
   * committed balance, read on `reader` (outside the transaction), or null when none would now
   * (another transaction moved it meanwhile). Only ever read on that failure.
   */
  async accountOutOfRange(reader: SqlConnection): Promise<AccountOutOfRange | null> {
    const changes = new Map<string, { customerId: string; code: string; amount: bigint }>();
    for (const list of this.posted) {
      for (const d of list) {
        const key = `${d.customerId} ${d.code}`;
        const change = changes.get(key);
        if (change === undefined) changes.set(key, { ...d });
        else change.amount += d.amount;
      }
    }
    const customers = [...new Set([...changes.values()].map((d) => d.customerId))];
    const rows = await queryInChunks(reader, customers, (list) => `SELECT customer_id, code, balance FROM accounts WHERE customer_id IN ${list}`);
    const balances = new Map<string, bigint>();
    for (const r of rows) balances.set(`${r.customer_id as string} ${r.code as string}`, big(r.balance));
    for (const [key, d] of changes) {
      if (d.amount === 0n) continue;
      const balanceMicro = balances.get(key) ?? 0n;
      const after = balanceMicro + d.amount;
      if (after > accountBalanceMaxMicro || after < -accountBalanceMaxMicro) return { customerId: d.customerId, account: d.code, balanceMicro, changeMicro: d.amount };
    }
    return null;
  }

  /**
   * The balances of these customers' accounts of these codes (missing rows are zero balances,
   * left out). Ingestion reads them only when a batch was refused for a balance out of range, to
   * find the events that would take one beyond it (`ingest-events.ts`).
   */
  async balancesOf(customerIds: readonly string[], codes: ReadonlySet<string>): Promise<Map<string, bigint>> {
    const rows = await queryInChunks(this.c, customerIds, (list) => `SELECT customer_id, code, balance FROM accounts WHERE customer_id IN ${list}`);
    const out = new Map<string, bigint>();
    for (const r of rows) if (codes.has(r.code as string)) out.set(`${r.customer_id as string} ${r.code as string}`, big(r.balance));
    return out;
  }

  /**
   * The sum of the customer's `issued:<source>` balances (negative: the credits issued to it, every
   * source together), one range of its accounts' primary key.
   */
  async issuedTotal(customerId: string): Promise<bigint> {
    const [row] = await this.c.query(`SELECT COALESCE(SUM(balance), 0) AS total FROM accounts WHERE customer_id = ? AND code >= 'issued:' AND code < 'issued;'`, [customerId]);
    return big(row!.total);
  }

  async balances(customerId: string): Promise<Map<string, bigint>> {
    const rows = await this.c.query(`SELECT code, balance FROM accounts WHERE customer_id = ?`, [customerId]);
    return new Map(rows.map((r) => [r.code as string, big(r.balance)]));
  }

  async balance(customerId: string, code: string): Promise<bigint> {
    const rows = await this.c.query(`SELECT balance FROM accounts WHERE customer_id = ? AND code = ?`, [customerId, code]);
    return rows[0] ? big(rows[0].balance) : 0n;
  }

  async balancesFor(customerIds: readonly string[], code: string): Promise<Map<string, bigint>> {
    const rows = await queryInChunks(this.c, customerIds, (list) => `SELECT customer_id, balance FROM accounts WHERE code = ? AND customer_id IN ${list}`, [code]);
    return new Map(rows.map((r) => [r.customer_id as string, big(r.balance)]));
  }

  async transactions(ids: readonly string[]): Promise<StoredTransaction[]> {
    if (ids.length === 0) return [];
    const inTables = await queryInChunks(this.c, ids, (list) => `SELECT ${transactionColumns}, NULL AS entries FROM ledger_transactions WHERE id IN ${list}`);
    // Usage charges posted on their event's row, found by their ids' index there.
    const onRows = await queryInChunks(this.c, ids,
      (list) => `SELECT ${postingAsTransaction('u')}, u.entries FROM usage_events u WHERE u.txn_id IN ${list} AND ${onEventRow('u')}`);
    const txns = [...inTables, ...onRows].sort((a, b) => ((a.id as string) < (b.id as string) ? -1 : (a.id as string) > (b.id as string) ? 1 : 0));
    return this.withEntries(txns);
  }

  async transactionsForCause(causeId: string): Promise<StoredTransaction[]> {
    // Usage charges are found through their event's row (the cause index leaves usage out, so the
    // hot path does not pay for a random insert into it): the row itself when it is the posting
    // (event-postings.ts), else the transaction it names; every other cause through the index.
    const txns = await this.c.query(
      `SELECT * FROM (SELECT ${transactionColumns}, NULL AS entries FROM ledger_transactions WHERE cause_id = ? AND kind <> 'usage'
        UNION ALL SELECT ${prefixed('t')}, NULL AS entries FROM usage_events e JOIN ledger_transactions t ON t.id = e.txn_id WHERE e.id = ?
        UNION ALL SELECT ${postingAsTransaction('u')}, u.entries FROM usage_events u WHERE u.id = ? AND ${onEventRow('u')}) c ORDER BY id`,
      [causeId, causeId, causeId]);
    return this.withEntries(txns);
  }

  /**
   * The grant entries of many holds' own transactions (kind `hold` or `hold_release`, caused by
   * the hold), in transaction then entry order: one statement for up to 500 holds by the cause
   * index, where reading each hold's transactions took two statements per hold.
   */
  async holdGrantEntries(holdIds: readonly string[]): Promise<{ holdId: string; kind: string; grantId: string; amountMicro: bigint }[]> {
    if (holdIds.length === 0) return [];
    const rows = await queryInChunks(this.c, holdIds, (list) =>
      `SELECT t.cause_id, t.kind, e.account, e.amount FROM ledger_transactions t JOIN ledger_entries e ON e.txn_id = t.id
        WHERE t.cause_id IN ${list} AND t.kind <> 'usage' AND t.kind IN ('hold', 'hold_release') AND e.account LIKE 'grant:%'
        ORDER BY t.id, e.seq`);
    return rows.map((r) => ({ holdId: r.cause_id as string, kind: r.kind as string, grantId: (r.account as string).slice('grant:'.length), amountMicro: big(r.amount) }));
  }

  /**
   * A page of transactions in id order (of one customer, or all), the ledger's tables and the
   * postings on event rows merged: each side is read in id order by an index (the transactions'
   * customer index or primary key; for one customer the events' position, a posting's id, by the
   * events' primary key on PostgreSQL and by the merged keys on SQLite, with the customer's tail
   * beside them (customer-events.ts); for all, the postings' id index), and the database merges
   * them up to the page's end.
   */
  async listTransactions(customerId: string | null, page: PageRequest): Promise<Page<StoredTransaction>> {
    if (page.startingAfter) {
      const [named] = await this.transactions([page.startingAfter]);
      if (!named || (customerId !== null && named.customerId !== customerId)) return unknownCursor();
    }
    const descending = page.order === 'desc';
    const after = descending ? '<' : '>';
    const order = descending ? ' DESC' : '';
    const limit = valuePart(page.limit + 1);
    const mine = (column: string): Bound[] => (customerId ? [bound`${column} = ${valuePart(customerId)}`] : []);
    const cursor = (column: string): Bound[] => (page.startingAfter ? [bound`${column} ${after} ${valuePart(page.startingAfter)}`] : []);
    const where = (terms: Bound[]): Bound => terms.reduce((all, t, i) => bound`${all}${i === 0 ? ' WHERE ' : ' AND '}${t}`, sqlPart(''));
    const ledger = bound`SELECT ${transactionColumns}, NULL AS entries FROM ledger_transactions${where([...mine('customer_id'), ...cursor('id')])}`;
    const onRow = sqlPart(onEventRow('u'));
    let postings: Bound;
    if (customerId && this.c.dialect === 'sqlite') {
      const posting = postingAsTransaction('u', 'position');
      postings = bound`SELECT * FROM (SELECT ${posting}, u.entries FROM usage_keys k JOIN usage_events u ON u.seq = k.seq
            ${where([...mine('k.customer_id'), ...cursor('k.position'), onRow])} ORDER BY k.position${order} LIMIT ${limit})
        UNION ALL SELECT ${posting}, u.entries FROM usage_events u
            ${where([bound`u.seq IN (${tailOf(valuePart(customerId))})`, ...cursor('u.position'), onRow])}`;
    } else {
      // One customer's postings by the events' key (customer, position); all of them by their ids' index.
      const postingKey = customerId ? 'position' : 'txn_id';
      postings = bound`SELECT ${postingAsTransaction('u', postingKey)}, u.entries FROM usage_events u
          ${where([...mine('u.customer_id'), ...cursor(`u.${postingKey}`), onRow])}`;
    }
    const query = bound`${ledger} UNION ALL ${postings} ORDER BY 1${order} LIMIT ${limit}`;
    const rows = await this.c.query(query.sql, query.params);
    return { data: await this.withEntries(rows.slice(0, page.limit)), hasMore: rows.length > page.limit };
  }

  private async withEntries(txns: SqlRow[]): Promise<StoredTransaction[]> {
    if (txns.length === 0) return [];
    const inTables = txns.filter((t) => t.entries === null || t.entries === undefined).map((t) => t.id as string);
    const entries = inTables.length === 0 ? [] : await queryInChunks(this.c, inTables,
      (list) => `SELECT txn_id, account, amount FROM ledger_entries WHERE txn_id IN ${list} ORDER BY txn_id, seq`);
    const byTxn = new Map<string, { account: string; amountMicro: bigint }[]>();
    for (const e of entries) {
      const list = byTxn.get(e.txn_id as string) ?? [];
      list.push({ account: e.account as string, amountMicro: big(e.amount) });
      byTxn.set(e.txn_id as string, list);
    }
    return txns.map((t) => ({
      id: t.id as string,
      customerId: t.customer_id as string,
      kind: t.kind as string,
      causeType: t.cause_type as string,
      causeId: t.cause_id as string,
      refs: json(t.refs),
      effectiveAtMs: num(t.effective_at),
      createdAtMs: num(t.created_at),
      entries: t.entries === null || t.entries === undefined ? byTxn.get(t.id as string) ?? [] : parseEntries(t.entries as string),
    }));
  }

  /**
   * Transactions whose entries do not sum to zero (or have fewer than two entries), over the whole
   * store in one query: the plain form the ledger property tests check against. The checks the
   * product runs read a slice of customers at a time (`ReconciliationQueries.unbalancedTransactions`).
   */
  async unbalancedTransactions(): Promise<{ txnId: string; sumMicro: bigint; entryCount: number }[]> {
    const d = this.c.dialect;
    const rows = await this.c.query(
      `SELECT t.id, COALESCE(SUM(e.amount), 0) AS total, COUNT(e.txn_id) AS n FROM ledger_transactions t
        LEFT JOIN ledger_entries e ON e.txn_id = t.id GROUP BY t.id HAVING COALESCE(SUM(e.amount), 0) <> 0 OR COUNT(e.txn_id) < 2
       UNION ALL
       SELECT p.id, p.total, p.n FROM (
         SELECT u.txn_id AS id, (SELECT COALESCE(SUM(${entryAmount(d, 'x')}), 0) FROM ${entriesOf(d, 'u', 'x')}) AS total,
             (SELECT COUNT(*) FROM ${entriesOf(d, 'u', 'x')}) AS n
           FROM usage_events u WHERE ${onEventRow('u')}) p
         WHERE p.total <> 0 OR p.n < 2`,
    );
    return rows.map((r) => ({ txnId: r.id as string, sumMicro: big(r.total), entryCount: num(r.n) }));
  }

  /**
   * Stored balances compared with the sum of their entries, rebuilt from scratch by scanning every
   * entry (an entry whose transaction is gone counts too): the plain form the ledger property
   * tests check against. The checks the product runs use `balanceDiscrepanciesIn`, a slice at a time.
   */
  async balanceDiscrepancies(customerId?: string): Promise<BalanceDiscrepancy[]> {
    const d = this.c.dialect;
    const filter = customerId ? 'WHERE customer_id = ?' : '';
    const txnFilter = customerId ? 'AND t.customer_id = ?' : '';
    const postingFilter = customerId ? ofCustomer(d, 'u', valuePart(customerId)) : null;
    const postingParams = postingFilter?.params ?? [];
    const params = customerId ? [customerId, customerId, ...postingParams, ...overageTotals.flatMap(() => [customerId, customerId, ...postingParams])] : [];
    // The postings on event rows (event-postings.ts), entry by entry.
    const posted = `FROM usage_events u ${postingEntries(d, 'u', 'x')} WHERE ${onEventRow('u')}${postingFilter === null ? '' : ` AND ${postingFilter.sql}`}`;
    const overageBranches = overageTotals.map((kind) => `
         UNION ALL
         SELECT customer_id, ${kind.code(kind.start)} AS code, credits AS stored, 0 AS summed FROM ${kind.table} ${filter}
         UNION ALL
         SELECT t.customer_id, ${codeOfTxn(kind)} AS code, 0 AS stored, -e.amount AS summed
           FROM ledger_transactions t JOIN ledger_entries e ON e.txn_id = t.id WHERE t.kind IN ${overageTakenKinds} AND e.account = 'overage' ${txnFilter}
         UNION ALL
         SELECT u.customer_id, ${codeOfPosting(kind)} AS code, 0 AS stored, -${entryAmount(d, 'x')} AS summed ${posted} AND ${entryAccount(d, 'x')} = 'overage'`).join('');
    const rows = await this.c.query(
      `SELECT customer_id, code, SUM(stored) AS stored, SUM(summed) AS summed FROM (
         SELECT customer_id, code, balance AS stored, 0 AS summed FROM accounts ${filter}
         UNION ALL
         SELECT customer_id, account AS code, 0 AS stored, amount AS summed FROM ledger_entries ${filter}
         UNION ALL
         SELECT u.customer_id, ${entryAccount(d, 'x')} AS code, 0 AS stored, ${entryAmount(d, 'x')} AS summed ${posted}${overageBranches}
       ) x GROUP BY customer_id, code HAVING SUM(stored) <> SUM(summed)`,
      params,
    );
    return rows.map((r) => ({ customerId: r.customer_id as string, account: r.code as string, storedMicro: big(r.stored), summedMicro: big(r.summed) }));
  }

  /**
   * `balanceDiscrepancies` for the customers of one range, read through indexes only, so a
   * whole-store check can walk the store a range at a time, each in a short snapshot. The entries
   * are reached two ways, because the account index leaves some out (`consumed:<meter>` entries,
   * and since migration 55 a usage charge's other entries but those on holds): every entry it
   * holds by that index, the others (`unindexedAccount`) through their transactions (the
   * transactions' customer index, then the entries' primary key). The two sets do not overlap, so
   * no entry counts twice. An entry left out of the index whose transaction is gone is not seen;
   * its transaction's absence is what the other checks name.
   */
  async balanceDiscrepanciesIn(range: CustomerRange): Promise<BalanceDiscrepancy[]> {
    const accounts = inCustomerRange('a.customer_id', range);
    const entries = inCustomerRange('e.customer_id', range);
    const txns = inCustomerRange('t.customer_id', range);
    // The entries the index leaves out, with their transaction's kind and time, read once (a
    // walk of the range's transactions, each one's entries by primary key) and used twice: in the
    // balances, and in the overage totals for a usage charge's `overage` entries. PostgreSQL would
    // join the range's transactions to the entries by hashing every entry of the table, once per
    // slice; a lateral subquery it cannot flatten (OFFSET 0) makes it look each transaction's
    // entries up by primary key, as SQLite's nested loop does.
    const unindexedEntries = this.c.dialect === 'postgres'
      ? `SELECT e.customer_id, e.account, e.amount, t.kind, t.effective_at FROM ledger_transactions t CROSS JOIN LATERAL (
            SELECT e.customer_id, e.account, e.amount FROM ledger_entries e WHERE e.txn_id = t.id AND ${entries.sql} AND ${unindexedAccount('e')} OFFSET 0) e
          WHERE ${txns.sql}`
      : `SELECT e.customer_id, e.account, e.amount, t.kind, t.effective_at FROM ledger_transactions t
          JOIN ledger_entries e ON e.txn_id = t.id AND ${entries.sql} AND ${unindexedAccount('e')} WHERE ${txns.sql}`;
    const totals = inCustomerRange('o.customer_id', range);
    // The range's `overage` entries the account index holds (written before migration 55), each
    // one's usage transaction by primary key (on PostgreSQL in a lateral subquery it cannot
    // flatten, as above, rather than a hash of every transaction).
    const overageEntries = this.c.dialect === 'postgres'
      ? `ledger_entries e CROSS JOIN LATERAL (SELECT t.effective_at FROM ledger_transactions t WHERE t.id = e.txn_id AND t.kind IN ${overageTakenKinds} OFFSET 0) t
          WHERE ${entries.sql} AND e.account = 'overage' AND ${indexedAccount('e')}`
      : `ledger_entries e JOIN ledger_transactions t ON t.id = e.txn_id AND t.kind IN ${overageTakenKinds} WHERE ${entries.sql} AND e.account = 'overage' AND ${indexedAccount('e')}`;
    // The range's postings on event rows (event-postings.ts), entry by entry, read once (the
    // range's events, `inCustomers`) and used twice, as the unindexed entries are.
    const d = this.c.dialect;
    const events = inCustomers(d, 'u', range);
    const postedEntries = `SELECT u.customer_id, ${entryAccount(d, 'x')} AS account, ${entryAmount(d, 'x')} AS amount, u.timestamp
        FROM usage_events u ${postingEntries(d, 'u', 'x')} WHERE ${events.sql} AND ${onEventRow('u')}`;
    const overageBranches = overageTotals.map((kind) => `
         UNION ALL
         SELECT o.customer_id, ${kind.code(`o.${kind.start}`)} AS code, o.credits AS stored, 0 AS summed FROM ${kind.table} o WHERE ${totals.sql}
         UNION ALL
         SELECT e.customer_id, ${codeOfTxn(kind)} AS code, 0 AS stored, -e.amount AS summed FROM ${overageEntries}
         UNION ALL
         SELECT t.customer_id, ${codeOfTxn(kind)} AS code, 0 AS stored, -t.amount AS summed FROM unindexed t WHERE t.kind = 'usage' AND t.account = 'overage'
         UNION ALL
         SELECT u.customer_id, ${codeOfPosting(kind)} AS code, 0 AS stored, -u.amount AS summed FROM posted u WHERE u.account = 'overage'`).join('');
    const rows = await this.c.query(
      `WITH unindexed AS MATERIALIZED (${unindexedEntries}), posted AS MATERIALIZED (${postedEntries})
       SELECT customer_id, code, SUM(stored) AS stored, SUM(summed) AS summed FROM (
         SELECT a.customer_id, a.code, a.balance AS stored, 0 AS summed FROM accounts a WHERE ${accounts.sql}
         UNION ALL
         SELECT e.customer_id, e.account AS code, 0 AS stored, e.amount AS summed FROM ledger_entries e WHERE ${entries.sql} AND ${indexedAccount('e')}
         UNION ALL
         SELECT u.customer_id, u.account AS code, 0 AS stored, u.amount AS summed FROM unindexed u
         UNION ALL
         SELECT u.customer_id, u.account AS code, 0 AS stored, u.amount AS summed FROM posted u${overageBranches}
       ) x GROUP BY customer_id, code HAVING SUM(stored) <> SUM(summed) ORDER BY customer_id, code`,
      [...entries.params, ...txns.params, ...events.params, ...accounts.params, ...entries.params,
        ...overageTotals.flatMap(() => [...totals.params, ...entries.params])],
    );
    return rows.map((r) => ({ customerId: r.customer_id as string, account: r.code as string, storedMicro: big(r.stored), summedMicro: big(r.summed) }));
  }

  /**
   * From now on in this transaction, domain events are held back and written together by
   * `writeDeferredDomainEvents`, which the caller must call before it commits. For work that writes
   * many events and reads none back (due work in bulk); a listing of events writes them first.
   */
  deferDomainEvents(): void {
    this.deferredEvents ??= [];
  }

  async writeDeferredDomainEvents(): Promise<void> {
    const events = this.deferredEvents;
    this.deferredEvents = null;
    if (events && events.length > 0) await this.writeDomainEvents(events);
  }

  async insertDomainEvents(events: readonly DomainEventRecord[]): Promise<void> {
    if (this.deferredEvents) this.deferredEvents.push(...events);
    else await this.writeDomainEvents(events);
  }

  private async writeDomainEvents(events: readonly DomainEventRecord[]): Promise<void> {
    const values: SqlValue[] = [];
    for (const e of events) values.push(e.id, e.customerId, e.type, JSON.stringify(e.payload), e.createdAtMs);
    await insertShapedRows(this.c, domainEventsShape, values);
  }

  async listDomainEvents(filter: { customerId?: string | undefined; type?: string | undefined }, page: PageRequest): Promise<Page<DomainEventRecord>> {
    if (this.deferredEvents && this.deferredEvents.length > 0) {
      const events = this.deferredEvents;
      this.deferredEvents = [];
      await this.writeDomainEvents(events);
    }
    const conditions: string[] = [];
    const params: SqlValue[] = [];
    if (filter.customerId) { conditions.push('customer_id = ?'); params.push(filter.customerId); }
    if (filter.type) { conditions.push('type = ?'); params.push(filter.type); }
    return pageQuery(this.c, 'domain_events', conditions.join(' AND '), params, page, toDomainEvent);
  }
}

/** A grant row as the burn-down reads it, with what is left of it. */
export function spendableGrant(r: SqlRow, remainingMicro: bigint): SpendableGrant {
  return {
    id: r.id as string,
    customerId: r.customer_id as string,
    remainingMicro,
    priority: num(r.priority),
    expiresAtMs: numOrNull(r.expires_at),
    category: r.category as SpendableGrant['category'],
    effectiveAtMs: num(r.effective_at),
    frozenFromMs: numOrNull(r.frozen_from),
    unfrozenAtMs: numOrNull(r.unfrozen_at),
  };
}
