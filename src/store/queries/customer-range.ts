import type { SqlConnection, SqlValue } from '../sql.ts';

/**
 * A range of customer ids, `afterId < customer_id <= throughId`; null leaves that end open. A
 * check over the whole store walks consecutive ranges, each read in its own short snapshot: the
 * first is open below and the last open above, so every row falls in exactly one of them, also a
 * row whose customer id names no customer.
 */
export interface CustomerRange {
  afterId: string | null;
  throughId: string | null;
}

/** Every customer id: one range for a whole-store check read in one snapshot. */
export const allCustomers: CustomerRange = { afterId: null, throughId: null };

/**
 * The SQL condition that keeps `column` inside the range, and its parameters. Both ends compare
 * in the column's own collation, the one `ORDER BY id` used to find them, and each form is a range
 * on the leading column of the customer-keyed indexes.
 */
export function inCustomerRange(column: string, range: CustomerRange): { sql: string; params: SqlValue[] } {
  const terms: string[] = [];
  const params: SqlValue[] = [];
  if (range.afterId !== null) {
    terms.push(`${column} > ?`);
    params.push(range.afterId);
  }
  if (range.throughId !== null) {
    terms.push(`${column} <= ?`);
    params.push(range.throughId);
  }
  return { sql: terms.length === 0 ? '1 = 1' : terms.join(' AND '), params };
}

/**
 * The range of the next `count` customers after `afterId` (null: from the first), in id order,
 * and how many customers it holds. When fewer than `count` remain the range is left open above
 * and is the last one.
 */
export async function nextCustomerRange(c: SqlConnection, afterId: string | null, count: number): Promise<{ range: CustomerRange; customers: number; last: boolean }> {
  const rows = afterId === null
    ? await c.query(`SELECT id FROM customers ORDER BY id LIMIT ?`, [count])
    : await c.query(`SELECT id FROM customers WHERE id > ? ORDER BY id LIMIT ?`, [afterId, count]);
  const last = rows.length < count;
  return { range: { afterId, throughId: last ? null : (rows[rows.length - 1]!.id as string) }, customers: rows.length, last };
}
