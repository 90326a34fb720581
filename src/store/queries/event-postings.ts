import type { Dialect } from '../sql.ts';
import type { LedgerEntry } from '../../core/ledger.ts';

/**
 * Usage charges posted on their event's row (migration 58).
 *
 * A usage event's charge is a ledger transaction like any other (balanced entries, a cause, an
 * effective time), but since migration 58 the usual one is not written to `ledger_transactions`
 * and `ledger_entries`: the event's own row in `usage_events` is the posting. Its `txn_id` is the
 * transaction's id, `entries` its entries (JSON, in order: `[[account, "amount"], …]`, amounts as
 * decimal strings of micro-credits, since they may exceed what a JSON number holds exactly), and
 * the rest follows from the event: kind `usage`, cause `usage_event` and the event's id, no refs,
 * effective at the event's `timestamp`, created at its `recorded_at`. Balances, overage totals and
 * every other effect of the posting are written exactly as for a transaction in the ledger's
 * tables (`LedgerQueries.post`).
 *
 * `entries` is NULL on every other row: an event charged nothing, an event whose charge is in the
 * ledger's tables (written before migration 58; a hold's capture, whose entries the hold traces
 * look up by account; a charge whose id could not carry its event's minute). So a reader of usage
 * charges reads both: the ledger's tables as before, and the rows with `entries` (`onEventRow`).
 *
 * Each event row has a `position`, by which its customer's events are found (the primary key
 * on PostgreSQL, the merged keys and the tail on SQLite: customer-events.ts): its charge's
 * transaction id, or for an event charged nothing an id made the same way. Since the transaction
 * id of a posting on its row carries the minute of its event's timestamp (src/core/id-time.ts),
 * a window of one customer's postings is a range of positions, cut to the window by `timestamp`
 * (`postingsByIdTime`), and a customer's postings in id order are its positions in order.
 */

/** The event rows that are their own posting. */
export const onEventRow = (u: string): string => `${u}.entries IS NOT NULL`;

/**
 * An event row that is its own posting, as the columns of a `ledger_transactions` row (`SELECT *`'s
 * names). `id` is the column read as its id: `txn_id`, or `position`, which is the same for a
 * posting and lets a query ordered by id read the customer's events in position order.
 */
export const postingAsTransaction = (u: string, id: 'txn_id' | 'position' = 'txn_id'): string =>
  `${u}.${id} AS id, ${u}.customer_id AS customer_id, 'usage' AS kind, 'usage_event' AS cause_type, ${u}.id AS cause_id, '{}' AS refs, ` +
  `${u}.timestamp AS effective_at, ${u}.recorded_at AS created_at`;

/**
 * The entries of the event row `u` as rows of `x`, a join to put after it in FROM: each entry's
 * account is `entryAccount`, its amount `entryAmount`.
 */
export function postingEntries(dialect: Dialect, u: string, x: string): string {
  return dialect === 'postgres' ? `CROSS JOIN LATERAL ${entriesOf(dialect, u, x)}` : `CROSS JOIN ${entriesOf(dialect, u, x)}`;
}

/** The entries of the event row `u` as a table `x` (for a subquery's FROM), with the columns `postingEntries` gives. */
export function entriesOf(dialect: Dialect, u: string, x: string): string {
  return dialect === 'postgres' ? `jsonb_array_elements(${u}.entries::jsonb) AS ${x}(value)` : `json_each(${u}.entries) AS ${x}`;
}

export const entryAccount = (dialect: Dialect, x: string): string => (dialect === 'postgres' ? `(${x}.value->>0)` : `json_extract(${x}.value, '$[0]')`);
export const entryAmount = (dialect: Dialect, x: string): string =>
  (dialect === 'postgres' ? `((${x}.value->>1)::bigint)` : `CAST(json_extract(${x}.value, '$[1]') AS INTEGER)`);

/**
 * Postings on their event rows effective in a window, as a condition on `u` with four
 * placeholders bound by `usageByIdTimeParams` (usage-window.ts): the ids of the whole minutes the
 * window touches, then the window itself. By `position` (the default) one customer's, once the
 * query names the customer (`ofCustomer`, customer-events.ts); by `txn_id`, `usage_events_txn`
 * serves everyone's (a posting's position is its id).
 */
export const postingsByIdTime = (u: string, key: 'position' | 'txn_id' = 'position'): string =>
  `${onEventRow(u)} AND ${u}.${key} >= ? AND ${u}.timestamp >= ? AND ${u}.${key} < ? AND ${u}.timestamp < ?`;

/** The entries of a posting as its row stores them. */
export function entriesJson(entries: readonly LedgerEntry[]): string {
  let text = '[';
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i]!;
    text += `${i === 0 ? '' : ','}[${JSON.stringify(e.account)},"${e.amountMicro}"]`;
  }
  return `${text}]`;
}

/** `entriesJson` read back. */
export function parseEntries(text: string): LedgerEntry[] {
  const raw = JSON.parse(text) as [string, string][];
  return raw.map(([account, amount]) => ({ account, amountMicro: BigInt(amount) }));
}
