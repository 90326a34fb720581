import type { SqlConnection, SqlRow, SqlValue } from '../sql.ts';
import type { Page, PageRequest } from '../records.ts';

/**
 * Cursor pagination over a table whose primary key is a time-sortable id: newest last (or newest
 * first with `order: 'desc'`), pages continue after the last id seen in that order. Fetches one
 * extra row to know whether more follow. A cursor that names no row of the list (with its filters)
 * gives an empty page marked `cursorUnknown`.
 */
export async function pageQuery<T>(
  c: SqlConnection,
  table: string,
  where: string,
  params: readonly SqlValue[],
  page: PageRequest,
  map: (row: SqlRow) => T,
): Promise<Page<T>> {
  const conditions = where ? [`(${where})`] : [];
  const values: SqlValue[] = [...params];
  const descending = page.order === 'desc';
  if (page.startingAfter) {
    const found = await c.query(`SELECT 1 AS found FROM ${table} WHERE ${[...conditions, 'id = ?'].join(' AND ')} LIMIT 1`, [...values, page.startingAfter]);
    if (found.length === 0) return unknownCursor();
    conditions.push(descending ? 'id < ?' : 'id > ?');
    values.push(page.startingAfter);
  }
  const clause = conditions.length ? `WHERE ${conditions.join(' AND ')}` : '';
  const rows = await c.query(`SELECT * FROM ${table} ${clause} ORDER BY id${descending ? ' DESC' : ''} LIMIT ?`, [...values, page.limit + 1]);
  return { data: rows.slice(0, page.limit).map(map), hasMore: rows.length > page.limit };
}

/** The page of a cursor that names no record of its list. */
export function unknownCursor<T>(): Page<T> {
  return { data: [], hasMore: false, cursorUnknown: true };
}
