import type { SqlConnection, SqlRow } from '../sql.ts';
import type { Page, PageRequest, ReturnRecord } from '../records.ts';
import { big, num, numOrNull, strOrNull } from '../rows.ts';
import { pageQuery } from './paging.ts';

export const toReturn = (r: SqlRow): ReturnRecord => ({
  id: r.id as string,
  kind: r.kind as ReturnRecord['kind'],
  customerId: r.customer_id as string,
  invoiceId: r.invoice_id as string,
  amountMinor: big(r.amount),
  currency: r.currency as string,
  reason: r.reason as string,
  creditPolicy: r.credit_policy as ReturnRecord['creditPolicy'],
  creditsGrantedMicro: big(r.credits_granted),
  creditsTargetMicro: big(r.credits_target),
  creditsRevokedMicro: big(r.credits_revoked),
  creditsShortfallMicro: big(r.credits_shortfall),
  shortfallHandling: r.shortfall_handling as ReturnRecord['shortfallHandling'],
  status: r.status as ReturnRecord['status'],
  txnId: strOrNull(r.txn_id),
  restoreTxnId: strOrNull(r.restore_txn_id),
  provider: strOrNull(r.provider),
  providerRef: strOrNull(r.provider_ref),
  createdAtMs: num(r.created_at),
  closedAtMs: numOrNull(r.closed_at),
  destination: ((r.destination as string | null) ?? 'cash') as ReturnRecord['destination'],
  creditNoteId: strOrNull(r.credit_note_id),
  notesReversedMinor: big(r.notes_reversed ?? 0),
  notesShortfallMinor: big(r.notes_shortfall ?? 0),
});

/** Refunds and chargebacks share one table: both return money on an invoice and claw back credits. */
export class ReturnQueries {
  constructor(private readonly c: SqlConnection) {}

  async insert(r: ReturnRecord): Promise<void> {
    await this.c.run(
      `INSERT INTO refunds (id, kind, customer_id, invoice_id, amount, currency, reason, credit_policy, credits_granted, credits_target,
        credits_revoked, credits_shortfall, shortfall_handling, status, txn_id, restore_txn_id, provider, provider_ref, created_at, closed_at, destination, credit_note_id,
        notes_reversed, notes_shortfall)
        VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`,
      [r.id, r.kind, r.customerId, r.invoiceId, r.amountMinor, r.currency, r.reason, r.creditPolicy, r.creditsGrantedMicro, r.creditsTargetMicro,
        r.creditsRevokedMicro, r.creditsShortfallMicro, r.shortfallHandling, r.status, r.txnId, r.restoreTxnId, r.provider, r.providerRef,
        r.createdAtMs, r.closedAtMs, r.destination, r.creditNoteId, r.notesReversedMinor, r.notesShortfallMinor],
    );
  }

  async close(r: ReturnRecord): Promise<void> {
    await this.c.run(`UPDATE refunds SET status = ?, restore_txn_id = ?, closed_at = ? WHERE id = ?`, [r.status, r.restoreTxnId, r.closedAtMs, r.id]);
  }

  async get(id: string): Promise<ReturnRecord | null> {
    const rows = await this.c.query(`SELECT * FROM refunds WHERE id = ? OR provider_ref = ?`, [id, id]);
    return rows[0] ? toReturn(rows[0]) : null;
  }

  async forInvoice(invoiceId: string): Promise<ReturnRecord[]> {
    return (await this.c.query(`SELECT * FROM refunds WHERE invoice_id = ? ORDER BY id`, [invoiceId])).map(toReturn);
  }

  async all(filter: { fromMs?: number; toMs?: number; customerId?: string } = {}): Promise<ReturnRecord[]> {
    const conditions: string[] = [];
    const params: (string | number)[] = [];
    if (filter.fromMs !== undefined) { conditions.push('created_at >= ?'); params.push(filter.fromMs); }
    if (filter.toMs !== undefined) { conditions.push('created_at < ?'); params.push(filter.toMs); }
    if (filter.customerId) { conditions.push('customer_id = ?'); params.push(filter.customerId); }
    const where = conditions.length ? `WHERE ${conditions.join(' AND ')}` : '';
    return (await this.c.query(`SELECT * FROM refunds ${where} ORDER BY id`, params)).map(toReturn);
  }

  async list(kind: ReturnRecord['kind'], customerId: string | null, page: PageRequest): Promise<Page<ReturnRecord>> {
    return pageQuery(this.c, 'refunds', customerId ? 'kind = ? AND customer_id = ?' : 'kind = ?', customerId ? [kind, customerId] : [kind], page, toReturn);
  }
}
