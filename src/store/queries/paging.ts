import type { SqlConnection, SqlRow, SqlValue } from '../sql.ts';
import type { Page, PageRequest } from '../records.ts';

/**
 * Cursor pagination over a table whose primary key is a time-sortable id: newest last (or newest
 * first with `order: 'desc'`), pages continue after the last id seen in that order. Fetches one
 * extra row to know whether more follow. A cursor that names no row of the list (with its filters)
 * gives an empty page marked `cursorUnknown`. A list whose filter a record can leave (the Stripe
 * events kept for review, once resolved; a customer search, once renamed) passes `cursorScope`, the
 * filters that never change: the record that ended one page stays a cursor for the next.
 */
export async function pageQuery<T>(
  c: SqlConnection,
  table: string,
  where: string,
  params: readonly SqlValue[],
  page: PageRequest,
  map: (row: SqlRow) => T,
  cursorScope: { where: string; params: readonly SqlValue[] } = { where, params },
): Promise<Page<T>> {
  const conditions = where ? [`(${where})`] : [];
  const values: SqlValue[] = [...params];
  const descending = page.order === 'desc';
  if (page.startingAfter) {
    const scope = cursorScope.where ? [`(${cursorScope.where})`] : [];
    const found = await c.query(`SELECT 1 AS found FROM ${table} WHERE ${[...scope, 'id = ?'].join(' AND ')} LIMIT 1`, [...cursorScope.params, page.startingAfter]);
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
