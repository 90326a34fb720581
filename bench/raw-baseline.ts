import { calendarMonthAt } from '../src/core/periods.ts';
import { insertRows } from '../src/store/rows.ts';
import type { SqlDatabase, SqlRow, SqlValue } from '../src/store/sql.ts';

/**
 * The raw storage limit: the very rows one engine batch wrote, copied from the engine's database
 * and written again into an empty database of the same schema, through the same adapter and
 * durability (WAL, each COMMIT made durable by the adapter before it returns, one transaction per batch), with bare
 * multi-row INSERTs (`insertRows`, the engine's own write path) and the same account and
 * meter-total upserts, but no reads, no validation and no rating. Only the write transaction is
 * timed; reading the source rows is not. The rows are the engine's as stored, the columns that say
 * which indexes hold them included (`effective_indexed`, migration 56; `account_indexed`, migration
 * 55), so the copy writes the same index entries the engine wrote; the balance and running-total
 * upserts go in key order, as the engine sends them on SQLite.
 */
export const copiedTables = ['usage_events', 'ledger_transactions', 'ledger_entries', 'domain_events'] as const;
export type CopiedTable = (typeof copiedTables)[number];
export type RowidMarks = Record<CopiedTable, bigint>;

const columns: Record<CopiedTable, string[]> = {
  usage_events: ['customer_id', 'id', 'type', 'timestamp', 'properties', 'body_hash', 'credits', 'txn_id', 'rating', 'recorded_at', 'position', 'entries'],
  ledger_transactions: ['id', 'customer_id', 'kind', 'cause_type', 'cause_id', 'refs', 'effective_at', 'created_at', 'effective_indexed'],
  ledger_entries: ['txn_id', 'seq', 'customer_id', 'account', 'amount', 'account_indexed'],
  domain_events: ['id', 'customer_id', 'type', 'payload', 'created_at'],
};

/** The highest rowid of each copied table: rows written after a mark have greater rowids. */
export async function rowidMarks(db: SqlDatabase): Promise<RowidMarks> {
  const marks = {} as RowidMarks;
  for (const table of copiedTables) {
    const rows = await db.query<{ m: bigint | null }>(`SELECT max(rowid) AS m FROM ${table}`);
    marks[table] = rows[0]?.m ?? 0n;
  }
  return marks;
}

export interface RawBatch {
  rows: Record<CopiedTable, SqlValue[][]>;
  accounts: SqlValue[][];
  totals: SqlValue[][];
}

/** Reads the rows the engine wrote between two marks, and derives the upserts it made. */
export async function readRawBatch(source: SqlDatabase, from: RowidMarks, to: RowidMarks, meterIds: Map<string, string>): Promise<RawBatch> {
  const rows = {} as Record<CopiedTable, SqlValue[][]>;
  const raw = {} as Record<CopiedTable, SqlRow[]>;
  for (const table of copiedTables) {
    raw[table] = await source.query(`SELECT ${columns[table].join(',')} FROM ${table} WHERE rowid > ? AND rowid <= ? ORDER BY rowid`, [from[table], to[table]]);
    rows[table] = raw[table].map((r) => columns[table].map((c) => r[c] as SqlValue));
  }
  const deltas = new Map<string, SqlValue[]>();
  const add = (customerId: string, account: string, amount: bigint) => {
    const key = `${customerId}\u0000${account}`;
    const row = deltas.get(key);
    if (row) row[2] = (row[2] as bigint) + amount;
    else deltas.set(key, [customerId, account, amount]);
  };
  for (const e of raw.ledger_entries) add(e.customer_id as string, e.account as string, e.amount as bigint);
  // Usage charges posted on their event's row (migration 58) carry their entries there.
  for (const u of raw.usage_events) {
    if (u.entries === null) continue;
    for (const [account, amount] of JSON.parse(u.entries as string) as [string, string][]) add(u.customer_id as string, account, BigInt(amount));
  }
  const totals = new Map<string, SqlValue[]>();
  for (const u of raw.usage_events) {
    const periodStartMs = calendarMonthAt(Number(u.timestamp as bigint)).startMs;
    for (const line of JSON.parse(u.rating as string) as { meter: string }[]) {
      const meterId = meterIds.get(line.meter)!;
      const key = `${u.customer_id as string}\u0000${meterId}\u0000${periodStartMs}`;
      if (!totals.has(key)) totals.set(key, [u.customer_id as string, meterId, periodStartMs, 1n, 1n]);
    }
  }
  const byKey = (width: number) => (a: SqlValue[], b: SqlValue[]): number => {
    for (let i = 0; i < width; i++) {
      const x = a[i]!;
      const y = b[i]!;
      if (x < y) return -1;
      if (x > y) return 1;
    }
    return 0;
  };
  return { rows, accounts: [...deltas.values()].sort(byKey(2)), totals: [...totals.values()].sort(byKey(3)) };
}

/** Writes one batch in one transaction; returns the milliseconds it took. */
export async function writeRawBatch(target: SqlDatabase, batch: RawBatch): Promise<number> {
  const started = performance.now();
  await target.transaction(async (c) => {
    await insertRows(c, 'usage_events', columns.usage_events, batch.rows.usage_events);
    await insertRows(c, 'meter_totals', ['customer_id', 'meter_id', 'period_start', 'quantity', 'credits'], batch.totals,
      ' ON CONFLICT (customer_id, meter_id, period_start) DO UPDATE SET quantity = excluded.quantity, credits = excluded.credits');
    await insertRows(c, 'ledger_transactions', columns.ledger_transactions, batch.rows.ledger_transactions);
    await insertRows(c, 'ledger_entries', columns.ledger_entries, batch.rows.ledger_entries);
    await insertRows(c, 'accounts', ['customer_id', 'code', 'balance'], batch.accounts,
      ' ON CONFLICT (customer_id, code) DO UPDATE SET balance = accounts.balance + excluded.balance');
    await insertRows(c, 'domain_events', columns.domain_events, batch.rows.domain_events);
  });
  return performance.now() - started;
}
