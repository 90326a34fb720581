import type { Dialect, SqlValue } from '../sql.ts';
import { inCustomerRange, type CustomerRange } from './customer-range.ts';

/**
 * A customer's usage events, found on either database (migration 62).
 *
 * PostgreSQL keys `usage_events` by customer and position, and a condition on `customer_id` (with
 * one on `position` for a window) reads that key.
 *
 * SQLite writes no index led by the customer per event. A customer's events are two sets that do
 * not overlap:
 * - its merged events, keyed in `usage_keys` by customer and position (each key names its row's
 *   `seq`): every event up to `usage_heads.merged`;
 * - its tail, the events written since: a chain from its newest event (`usage_heads.head`) back
 *   through `usage_chain` (each event's `seq` → its customer's event before it, `prev`; migration
 *   63) while the `seq` is above `merged`. A tail holds fewer than
 *   `usageTailMerge` (64) events, and `tail_from` is its lowest position, so a window of positions
 *   below it does not walk the tail at all.
 * Triggers keep both whatever writes the row (migrations.ts, `usageChainTriggers`). `seq` is the
 * table's declared INTEGER PRIMARY KEY, so VACUUM keeps every row's number and the chains and
 * keys stay true. The conditions here are `seq IN (…)` on the event row: SQLite reads the keys in
 * the window (a range of the primary key) and walks the tail (a few pages of the narrow chain),
 * then fetches each row by its `seq`.
 *
 * Each builder returns SQL with its parameters in the order they appear in it (`Bound`); values
 * the caller passes as SQL (a column of the outer query) bind nothing.
 */

/** SQL and the parameters of its placeholders, in order. */
export interface Bound {
  readonly sql: string;
  readonly params: readonly SqlValue[];
}

/** SQL that binds nothing: a column or an expression of the query. */
export const sqlPart = (sql: string): Bound => ({ sql, params: [] });

/** A value bound as one placeholder. */
export const valuePart = (value: SqlValue): Bound => ({ sql: '?', params: [value] });

/** A template of SQL whose `Bound` parts keep their parameters in the order the text places them. */
export function bound(strings: TemplateStringsArray, ...parts: (Bound | string)[]): Bound {
  let sql = strings[0]!;
  const params: SqlValue[] = [];
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i]!;
    if (typeof part === 'string') sql += part;
    else {
      sql += part.sql;
      params.push(...part.params);
    }
    sql += strings[i + 1]!;
  }
  return { sql, params };
}

/** Positions [from, to): either end may be left open (null). */
export interface PositionWindow {
  from: Bound | null;
  to: Bound | null;
}

const openWindow: PositionWindow = { from: null, to: null };

/**
 * The tail's `seq`s of the customers whose heads `heads` selects (a condition on `h`), newest
 * first per customer: a recursive walk from each head down its chain to the merge. Each step goes
 * to a lower `seq`, so a chain that was tampered with still ends.
 */
function tailSeqs(heads: Bound): Bound {
  return bound`SELECT seq FROM (WITH RECURSIVE tail(seq, merged) AS (
      SELECT h.head, h.merged FROM usage_heads h WHERE ${heads} AND h.head > h.merged
      UNION ALL SELECT p.prev, tail.merged FROM tail JOIN usage_chain p ON p.seq = tail.seq WHERE p.prev > tail.merged AND p.prev < tail.seq)
    SELECT seq FROM tail)`;
}

/** The `seq`s of the tails of the customers in `range` (SQLite). */
export const tailOfRange = (range: CustomerRange): Bound => tailSeqs(inCustomerRange('h.customer_id', range));

/** The `seq`s of one customer's tail (SQLite): its events not yet merged into `usage_keys`. */
export const tailOf = (customer: Bound): Bound => tailSeqs(bound`h.customer_id = ${customer}`);

/** The `seq`s of one customer's events in a window of positions (SQLite). */
function customerSeqs(customer: Bound, window: PositionWindow = openWindow): Bound {
  const from = window.from === null ? sqlPart('') : bound` AND k.position >= ${window.from}`;
  const to = window.to === null ? sqlPart('') : bound` AND k.position < ${window.to}`;
  // A tail whose lowest position is at or past the window's end has nothing in it.
  const tailTo = window.to === null ? sqlPart('') : bound` AND h.tail_from < ${window.to}`;
  return bound`SELECT k.seq FROM usage_keys k WHERE k.customer_id = ${customer}${from}${to}
    UNION ALL ${tailSeqs(bound`h.customer_id = ${customer}${tailTo}`)}`;
}

/**
 * A condition on the event row `u`: it is one of `customer`'s events. `window` narrows what SQLite
 * reads to those positions; the caller still states its own conditions on `u.position` (and on
 * PostgreSQL they are what reads the key).
 */
export function ofCustomer(dialect: Dialect, u: string, customer: Bound, window: PositionWindow = openWindow): Bound {
  if (dialect === 'postgres') return bound`${u}.customer_id = ${customer}`;
  return bound`${u}.seq IN (${customerSeqs(customer, window)})`;
}

/**
 * A condition on the event row `u`: its customer is in `range`. On SQLite the whole store is every
 * row (a scan reads them in insertion order); a slice is its customers' keys (a range of the
 * primary key) and their tails.
 */
export function inCustomers(dialect: Dialect, u: string, range: CustomerRange): Bound {
  if (dialect === 'postgres' || (range.afterId === null && range.throughId === null)) return inCustomerRange(`${u}.customer_id`, range);
  return bound`${u}.seq IN (SELECT k.seq FROM usage_keys k WHERE ${inCustomerRange('k.customer_id', range)}
    UNION ALL ${tailSeqs(inCustomerRange('h.customer_id', range))})`;
}
