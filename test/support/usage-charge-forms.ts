import type { SqlConnection } from '../../src/store/sql.ts';

/**
 * Moves a usage charge posted on its event's row (src/store/queries/event-postings.ts) into the
 * ledger's tables, as a store written before migration 58 holds it: the transaction and its
 * entries as rows (with `account_indexed` as before migration 55 when `accountIndexed` is 1, and
 * `effective_indexed` as before migration 56 when `effectiveIndexed` is 1), the event's row naming
 * it without entries. Balances and totals are left as they are: they are the same in every form.
 */
export async function moveToLedgerTables(
  c: SqlConnection, txnId: string, form: { accountIndexed: 0 | 1; effectiveIndexed: 0 | 1 },
): Promise<void> {
  const [event] = await c.query(`SELECT * FROM usage_events WHERE txn_id = ? AND entries IS NOT NULL`, [txnId]);
  if (!event) throw new Error(`no posting ${txnId} on an event row`);
  const entries = JSON.parse(event.entries as string) as [string, string][];
  await c.run(`INSERT INTO ledger_transactions (id, customer_id, kind, cause_type, cause_id, refs, effective_at, created_at, effective_indexed)
      VALUES (?, ?, 'usage', 'usage_event', ?, '{}', ?, ?, ?)`,
    [txnId, event.customer_id as string, event.id as string, BigInt(event.timestamp as number | bigint), BigInt(event.recorded_at as number | bigint), BigInt(form.effectiveIndexed)]);
  for (const [seq, [account, amount]] of entries.entries()) {
    await c.run(`INSERT INTO ledger_entries (txn_id, seq, customer_id, account, amount, account_indexed) VALUES (?, ?, ?, ?, ?, ?)`,
      [txnId, BigInt(seq), event.customer_id as string, account, BigInt(amount), BigInt(account.startsWith('hold:') ? 1 : form.accountIndexed)]);
  }
  await c.run(`UPDATE usage_events SET entries = NULL WHERE txn_id = ?`, [txnId]);
}

/** `moveToLedgerTables` for the charge of the event `eventId`. */
export async function moveEventChargeToLedgerTables(
  c: SqlConnection, eventId: string, form: { accountIndexed: 0 | 1; effectiveIndexed: 0 | 1 },
): Promise<void> {
  const [event] = await c.query(`SELECT txn_id FROM usage_events WHERE id = ? AND entries IS NOT NULL`, [eventId]);
  if (!event) throw new Error(`event ${eventId} is not its own posting`);
  await moveToLedgerTables(c, event.txn_id as string, form);
}
