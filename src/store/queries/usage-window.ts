import type { Dialect, SqlValue } from '../sql.ts';
import { fitsIdTime, idAlphabet, idFloor, idTimeEndMs, idTimeLength, idTimeOf, usageIdSpanMs, usageIdTime } from '../../core/id-time.ts';

/**
 * Usage charges by time, without an index by time (migration 56).
 *
 * A usage charge's transaction id carries the minute of its event's timestamp as its time part
 * (`usageIdTime`, src/core/id-time.ts); the timestamp is the transaction's `effective_at`. Such a
 * transaction is left out of `ledger_transactions_effective` (`effective_indexed = 0`): a window
 * of effective times is a range of its ids, widened to whole minutes and then cut to the window
 * by `effective_at`, and the customer's id index (`ledger_transactions_customer`, which the
 * charge writes anyway) finds it. Every other transaction, and every usage charge written before
 * migration 56 (whose id has the time it was recorded), stays in the time index with
 * `effective_indexed = 1`. A query for usage in a window of one customer reads both: the time
 * index with `effectiveIndexedTxn`'s condition, and the rest with `usageByIdTime`'s, each
 * transaction from exactly one of them.
 */

/** The transactions `ledger_transactions_effective` holds: a query repeats this to use the partial index. */
export const effectiveIndexedTxn = (alias: string): string => `${alias}.effective_indexed = 1`;

/**
 * `effective_indexed` of a transaction as `post` writes it: 0 for a usage charge whose id's time
 * part is the minute of its effective time (found by id), 1 for any other transaction.
 */
export function effectiveIndexed(kind: string, id: string, effectiveAtMs: number): bigint {
  return kind === 'usage' && fitsIdTime(effectiveAtMs) && idTimeOf(id) === usageIdTime(effectiveAtMs) ? 0n : 1n;
}

/** Above every transaction id: `txn_` and more `Z`s than any id has characters after it. */
const aboveEveryTxnId = `txn_${'Z'.repeat(idTimeLength + 17)}`;

/** The smallest id of a usage charge out of the time index whose id time part is `ms` or later (a minute, or 0, or beyond every id). */
function txnIdBound(ms: number): string {
  return ms >= idTimeEndMs ? aboveEveryTxnId : idFloor('txn', ms);
}

/**
 * The usage charges out of the time index that are effective in a window, as a condition on
 * `alias` with four placeholders (`usageByIdTimeParams` binds them): a range of ids, the whole
 * minutes the window touches, which the customer's id index serves once the query names the
 * customer, and the window itself, which cuts those minutes to it.
 */
export const usageByIdTime = (alias: string): string =>
  `${alias}.effective_indexed = 0 AND ${alias}.kind = 'usage' AND ${alias}.id >= ? AND ${alias}.effective_at >= ? AND ${alias}.id < ? AND ${alias}.effective_at < ?`;

/**
 * The parameters of `usageByIdTime` for the window [fromMs, toMs): the ids of the minutes the
 * window touches, from the minute of `fromMs` to before the first minute at or after `toMs`.
 */
export function usageByIdTimeParams(fromMs: number, toMs: number): SqlValue[] {
  return [txnIdBound(usageIdTime(fromMs)), fromMs, txnIdBound(Math.ceil(toMs / usageIdSpanMs) * usageIdSpanMs), toMs];
}

/**
 * `usageByIdTime` for a window whose ends are SQL expressions of the query's other tables (a
 * period's start and end, a grant's freeze) in milliseconds; a NULL end leaves the window open
 * there. The ids' bounds are computed in SQL, as `txnIdBound` computes them.
 */
export function usageByIdTimeSql(alias: string, fromSql: string, toSql: string): string {
  return `${alias}.effective_indexed = 0 AND ${alias}.kind = 'usage' AND ${idTimeWindowSql(`${alias}.id`, `${alias}.effective_at`, fromSql, toSql)}`;
}

/**
 * Rows whose id column `idSql` (in the transactions' id form) carries the minute of their time
 * column `timeSql`, effective from `fromSql` to before `toSql` (SQL; a NULL end leaves the window
 * open there): a range of ids, the whole minutes, cut to the window by time.
 */
export function idTimeWindowSql(idSql: string, timeSql: string, fromSql: string, toSql: string): string {
  const ids = idWindowSql(fromSql, toSql);
  return `${idSql} >= ${ids.from} AND ${timeSql} >= ${fromSql}
    AND ${idSql} < ${ids.to} AND (${toSql} IS NULL OR ${timeSql} < ${toSql})`;
}

/** The range of ids [from, to) `idTimeWindowSql` reads for a window of SQL ends: the whole minutes it touches. */
export function idWindowSql(fromSql: string, toSql: string): { from: string; to: string } {
  const span = usageIdSpanMs;
  return { from: minuteIdSql(fromSql), to: txnIdBoundSql(`((${toSql}) + ${span - 1}) / ${span} * ${span}`, aboveEveryTxnId) };
}

/**
 * The smallest id in the transactions' id form whose time part is the minute of `msSql` (SQL; a
 * time before 0, or NULL, counts as 0): a window's first id, and the position of an event row
 * written before migration 58 without a charge (event-postings.ts).
 */
export function minuteIdSql(msSql: string): string {
  const span = usageIdSpanMs;
  return txnIdBoundSql(`(${msSql}) / ${span} * ${span}`, idFloor('txn', 0));
}

/** `txnIdBound` in SQL for whole minutes `msSql`, `ifNull` for a NULL time; each base-32 digit by integer division. */
function txnIdBoundSql(msSql: string, ifNull: string): string {
  const digits: string[] = [];
  for (let i = idTimeLength - 1; i >= 0; i--) {
    digits.push(`substr('${idAlphabet}', CAST((${msSql}) / ${32 ** i} % 32 AS INTEGER) + 1, 1)`);
  }
  return `CASE WHEN ${msSql} IS NULL THEN '${ifNull}' WHEN ${msSql} <= 0 THEN '${idFloor('txn', 0)}'
    WHEN ${msSql} >= ${idTimeEndMs} THEN '${aboveEveryTxnId}' ELSE ('txn_' || ${digits.join(' || ')}) END`;
}

/**
 * The time part of the ids in `idSql` (`idTimeOf` in SQL), for ids of `prefix`: the 10 base-32
 * digits after the prefix and its `_`, each by its place in the alphabet. For an id made by
 * `IdGenerator.next`, the engine's clock when it was made.
 */
export function idTimeSql(dialect: Dialect, idSql: string, prefix: string): string {
  const place = dialect === 'postgres' ? 'strpos' : 'instr';
  const terms: string[] = [];
  for (let i = 0; i < idTimeLength; i++) {
    terms.push(`CAST(${place}('${idAlphabet}', substr(${idSql}, ${prefix.length + 2 + i}, 1)) - 1 AS BIGINT) * ${32 ** (idTimeLength - 1 - i)}`);
  }
  return `(${terms.join(' + ')})`;
}
