import type { Dialect, SqlColumn, SqlConnection, SqlRow, SqlValue } from './sql.ts';

/** Row-level helpers shared by the store's query files. */
export const num = (v: unknown): number => Number(v as bigint);
export const big = (v: unknown): bigint => (typeof v === 'bigint' ? v : BigInt(v as string | number));
export const numOrNull = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v as bigint));
export const bigOrNull = (v: unknown): bigint | null => (v === null || v === undefined ? null : big(v));
export const str = (v: unknown): string => v as string;
export const strOrNull = (v: unknown): string | null => (v === null || v === undefined ? null : (v as string));
export const json = <T>(v: unknown): T => JSON.parse(v as string) as T;

/**
 * Due work by clock (migration 64): each row that falls due (a subscription, an invoice, a grant, a
 * hold) carries its customer's test clock, NULL for the real clock, copied from the customer when
 * the row is inserted (a customer's clock never changes). `onClock` is a due listing's condition on
 * it (`onClockParams` its parameter, first), `customerClock` the value an INSERT gives it, bound to
 * the customer's id.
 */
export const onClock = (testClockId: string | null): string => (testClockId === null ? 'test_clock_id IS NULL' : 'test_clock_id = ?');
export const onClockParams = (testClockId: string | null, rest: readonly SqlValue[]): SqlValue[] =>
  testClockId === null ? [...rest] : [testClockId, ...rest];
export const customerClock = '(SELECT c.test_clock_id FROM customers c WHERE c.id = ?)';

/** Rows per multi-row INSERT: keeps every statement under both engines' parameter limits. */
export const rowsPerInsertMax = 400;

/**
 * Multi-row statements are cached as prepared statements by their SQL text, so a write of any row
 * count is split into chunks of `rowsPerInsertMax` and then of powers of two (256, 128, … 1):
 * at most ten distinct texts per table, all prepared once, instead of one new text (and one
 * prepare) for every row count that happens to occur.
 */
function chunkRowCount(left: number): number {
  if (left >= rowsPerInsertMax) return rowsPerInsertMax;
  return 2 ** Math.floor(Math.log2(left));
}

const insertSqlCache = new Map<string, Map<number, string>>();

function insertSql(table: string, columns: readonly string[], suffix: string, rowCount: number): string {
  const key = `${table}(${columns.join(',')})${suffix}`;
  let byCount = insertSqlCache.get(key);
  if (byCount === undefined) {
    byCount = new Map();
    insertSqlCache.set(key, byCount);
  }
  let sql = byCount.get(rowCount);
  if (sql === undefined) {
    const row = `(${new Array(columns.length).fill('?').join(',')})`;
    sql = `INSERT INTO ${table} (${columns.join(',')}) VALUES ${new Array(rowCount).fill(row).join(',')}${suffix}`;
    byCount.set(rowCount, sql);
  }
  return sql;
}

/**
 * Writes rows with multi-row INSERT statements, in chunks. `suffix` may add an ON CONFLICT clause.
 * This is the write path the ingest benchmark's raw baseline uses too, so the two compare the same
 * storage work.
 */
export async function insertRows(
  c: SqlConnection,
  table: string,
  columns: readonly string[],
  rows: readonly SqlValue[][],
  suffix = '',
): Promise<void> {
  const width = columns.length;
  for (let start = 0; start < rows.length;) {
    const count = chunkRowCount(rows.length - start);
    const params: SqlValue[] = new Array(count * width);
    let p = 0;
    for (let r = start; r < start + count; r++) {
      const row = rows[r]!;
      for (let i = 0; i < width; i++) params[p++] = row[i] as SqlValue;
    }
    await c.run(insertSql(table, columns, suffix, count), params);
    start += count;
  }
}

/**
 * The same as `insertRows` for rows laid end to end in one array (`columns.length` values per
 * row), so that a caller writing thousands of rows need not make an array for each.
 */
export async function insertFlatRows(
  c: SqlConnection,
  table: string,
  columns: readonly string[],
  values: readonly SqlValue[],
  suffix = '',
): Promise<void> {
  const width = columns.length;
  const rowCount = values.length / width;
  for (let start = 0; start < rowCount;) {
    const count = chunkRowCount(rowCount - start);
    await c.run(insertSql(table, columns, suffix, count), values.slice(start * width, (start + count) * width));
    start += count;
  }
}

/** The PostgreSQL type of a column written by `insertShapedRows`; both engines store these two. */
export type ColumnType = 'text' | 'bigint';

/**
 * A table the hot path writes many rows to at once: its columns with their types, an optional
 * `ON CONFLICT` clause, and the one PostgreSQL statement that writes any number of its rows.
 */
export interface InsertShape {
  readonly table: string;
  readonly columns: readonly string[];
  readonly suffix: string;
  /** `INSERT … SELECT * FROM unnest($1::text[], $2::bigint[], …)`: one fixed text for any row count. */
  readonly unnestSql: string;
}

export function insertShape(table: string, columns: Readonly<Record<string, ColumnType>>, suffix = ''): InsertShape {
  const names = Object.keys(columns);
  const arrays = names.map((name, i) => `$${i + 1}::${columns[name]}[]`).join(', ');
  return {
    table,
    columns: names,
    suffix,
    unnestSql: `INSERT INTO ${table} (${names.join(', ')}) SELECT * FROM unnest(${arrays})${suffix}`,
  };
}

/**
 * Writes rows laid end to end in `values` (`shape.columns.length` per row). On PostgreSQL that is
 * one prepared statement whatever the row count, each column bound as one array: measured at
 * about a third less CPU than chunks of multi-row VALUES, which PostgreSQL parses and plans anew
 * for each chunk. Inside a transaction it is queued and goes out with the transaction's other
 * queued inserts as one statement (`insertLater`), so errors such as a unique violation surface at
 * the next statement or at COMMIT. Amounts travel as decimal text, never as floats, and a NULL
 * stays NULL. SQLite keeps its prepared multi-row statements (`insertFlatRows`).
 */
export async function insertShapedRows(c: SqlConnection, shape: InsertShape, values: readonly SqlValue[]): Promise<void> {
  if (values.length === 0) return;
  if (c.runPrepared === undefined) {
    await insertFlatRows(c, shape.table, shape.columns, values, shape.suffix);
    return;
  }
  const width = shape.columns.length;
  const rowCount = values.length / width;
  const columns: (string | null)[][] = [];
  for (let i = 0; i < width; i++) columns.push(new Array<string | null>(rowCount));
  for (let r = 0, p = 0; r < rowCount; r++) {
    for (let i = 0; i < width; i++, p++) {
      const value = values[p];
      columns[i]![r] = value === null || value === undefined ? null : typeof value === 'string' ? value : String(value);
    }
  }
  if (c.insertLater !== undefined) c.insertLater(shape.unnestSql, columns as readonly SqlColumn[]);
  else await c.runPrepared(shape.unnestSql, columns as readonly SqlColumn[]);
}

/** `IN (?,?,…)` for a list, chunked by the caller when lists may be long. */
export function inList(count: number): string {
  return `(${new Array(count).fill('?').join(',')})`;
}

/** Keys per `IN` list: both engines take far more, and a chunk this size is still one quick query. */
const keysPerQueryMax = 900;

/**
 * The length an `IN` list of `count` keys is padded to: one of about twenty sizes (1, 2, 3, 4, 6,
 * 8, 12, …, 768, 900), so that the statements of a query shape are few and stay prepared.
 */
function paddedListLength(count: number): number {
  let size = 1;
  while (size < count) {
    const half = size + size / 2;
    size = Number.isInteger(half) && half >= count ? half : size * 2;
  }
  return Math.min(size, keysPerQueryMax);
}

/** Runs a query over a long list of keys in chunks and concatenates the rows. */
export async function queryInChunks<R extends Record<string, unknown>>(
  c: SqlConnection,
  keys: readonly SqlValue[],
  build: (inClause: string) => string,
  leading: readonly SqlValue[] = [],
): Promise<R[]> {
  const out: R[] = [];
  for (let start = 0; start < keys.length; start += keysPerQueryMax) {
    const chunk = keys.slice(start, start + keysPerQueryMax);
    // Repeating the last key pads the list without changing what `IN` matches.
    const padded = paddedListLength(chunk.length);
    const params: SqlValue[] = [...leading, ...chunk];
    for (let i = chunk.length; i < padded; i++) params.push(chunk[chunk.length - 1]!);
    const rows = await c.query<R>(build(inList(padded)), params);
    for (const row of rows) out.push(row);
  }
  return out;
}

/** The divisor of `exactSum`'s two parts on SQLite. */
const sumPartUnit = 1_000_000_000n;

/**
 * `SUM(expr)` as columns `<alias>` and `<alias>_rest` that `exactSumOf` adds up exactly. PostgreSQL
 * sums a bigint as `numeric`, exact at any size. SQLite's `SUM` fails with "integer overflow" past
 * 2^63 − 1, which a sum over many customers of balances each within the bound can pass (ten
 * customers' 10^12 credits of one meter in a month): it sums the quotients and the remainders of
 * each amount by 10^9 apart, each far inside 64 bits for any count of rows a table holds.
 */
export function exactSum(dialect: Dialect, expr: string, alias: string): string {
  return dialect === 'postgres'
    ? `0 AS ${alias}, SUM(${expr}) AS ${alias}_rest`
    : `SUM((${expr}) / ${sumPartUnit}) AS ${alias}, SUM((${expr}) % ${sumPartUnit}) AS ${alias}_rest`;
}

/** The exact sum `exactSum` selected as `alias` (null: no rows summed, 0). */
export function exactSumOf(row: SqlRow, alias: string): bigint {
  const whole = row[alias];
  const rest = row[`${alias}_rest`];
  return (whole === null || whole === undefined ? 0n : big(whole)) * sumPartUnit + (rest === null || rest === undefined ? 0n : big(rest));
}
