import type { SqlConnection, SqlValue } from './sql.ts';

/** Row-level helpers shared by the store's query files. */
export const num = (v: unknown): number => Number(v as bigint);
export const big = (v: unknown): bigint => (typeof v === 'bigint' ? v : BigInt(v as string | number));
export const numOrNull = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v as bigint));
export const bigOrNull = (v: unknown): bigint | null => (v === null || v === undefined ? null : big(v));
export const str = (v: unknown): string => v as string;
export const strOrNull = (v: unknown): string | null => (v === null || v === undefined ? null : (v as string));
export const json = <T>(v: unknown): T => JSON.parse(v as string) as T;

/** Rows per multi-row INSERT: keeps every statement under both engines' parameter limits. */
export const rowsPerInsertMax = 400;

const placeholderCache = new Map<string, string>();

function valuesClause(columnCount: number, rowCount: number): string {
  const key = `${columnCount}:${rowCount}`;
  let clause = placeholderCache.get(key);
  if (clause === undefined) {
    const row = `(${new Array(columnCount).fill('?').join(',')})`;
    clause = new Array(rowCount).fill(row).join(',');
    placeholderCache.set(key, clause);
  }
  return clause;
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
  const head = `INSERT INTO ${table} (${columns.join(',')}) VALUES `;
  for (let start = 0; start < rows.length; start += rowsPerInsertMax) {
    const chunk = rows.slice(start, start + rowsPerInsertMax);
    const params: SqlValue[] = [];
    for (const row of chunk) for (const value of row) params.push(value);
    await c.run(head + valuesClause(columns.length, chunk.length) + suffix, params);
  }
}

/** `IN (?,?,…)` for a list, chunked by the caller when lists may be long. */
export function inList(count: number): string {
  return `(${new Array(count).fill('?').join(',')})`;
}

/** Runs a query over a long list of keys in chunks and concatenates the rows. */
export async function queryInChunks<R extends Record<string, unknown>>(
  c: SqlConnection,
  keys: readonly SqlValue[],
  build: (inClause: string) => string,
  leading: readonly SqlValue[] = [],
): Promise<R[]> {
  const out: R[] = [];
  for (let start = 0; start < keys.length; start += 900) {
    const chunk = keys.slice(start, start + 900);
    const rows = await c.query<R>(build(inList(chunk.length)), [...leading, ...chunk]);
    for (const row of rows) out.push(row);
  }
  return out;
}
