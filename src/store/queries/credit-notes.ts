import type { SqlConnection, SqlRow, SqlValue } from '../sql.ts';
import type { CreditNoteRecord, CreditNoteUseRecord, Page, PageRequest } from '../records.ts';
import { big, json, num, strOrNull } from '../rows.ts';
import { pageQuery } from './paging.ts';
import { allCustomers, inCustomerRange, type CustomerRange } from './customer-range.ts';

const toCreditNote = (r: SqlRow): CreditNoteRecord => ({
  id: r.id as string,
  customerId: r.customer_id as string,
  currency: r.currency as string,
  amountMinor: big(r.amount),
  remainingMinor: big(r.remaining),
  amountAppliedMinor: big(r.amount_applied),
  amountRefundedMinor: big(r.amount_refunded),
  amountReversedMinor: big(r.amount_reversed ?? 0),
  source: r.source as CreditNoteRecord['source'],
  reason: r.reason as string,
  refundable: big(r.refundable) === 1n,
  status: r.status as CreditNoteRecord['status'],
  invoiceId: strOrNull(r.invoice_id),
  invoiceLineId: strOrNull(r.invoice_line_id),
  refundId: strOrNull(r.refund_id),
  metadata: json(r.metadata),
  createdAtMs: num(r.created_at),
});

const toUse = (r: SqlRow): CreditNoteUseRecord => ({
  id: r.id as string,
  creditNoteId: r.credit_note_id as string,
  customerId: r.customer_id as string,
  kind: r.kind as CreditNoteUseRecord['kind'],
  invoiceId: strOrNull(r.invoice_id),
  paymentId: strOrNull(r.payment_id),
  returnId: strOrNull(r.return_id),
  amountMinor: big(r.amount),
  currency: r.currency as string,
  createdAtMs: num(r.created_at),
});

/** What of a note gives back the money of one invoice. */
export interface NoteShare {
  invoiceId: string;
  amountMinor: bigint;
}

/** Credit notes (the customer's money balance) and each use of them. */
export class CreditNoteQueries {
  constructor(private readonly c: SqlConnection) {}

  async insert(n: CreditNoteRecord): Promise<void> {
    await this.c.run(
      `INSERT INTO credit_notes (id, customer_id, currency, amount, remaining, amount_applied, amount_refunded, amount_reversed, source, reason, refundable, status,
        invoice_id, invoice_line_id, refund_id, metadata, created_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`,
      [n.id, n.customerId, n.currency, n.amountMinor, n.remainingMinor, n.amountAppliedMinor, n.amountRefundedMinor, n.amountReversedMinor, n.source, n.reason,
        n.refundable ? 1 : 0, n.status, n.invoiceId, n.invoiceLineId, n.refundId, JSON.stringify(n.metadata), n.createdAtMs],
    );
  }

  async updateAmounts(n: CreditNoteRecord): Promise<void> {
    await this.c.run(`UPDATE credit_notes SET remaining = ?, amount_applied = ?, amount_refunded = ?, amount_reversed = ?, status = ? WHERE id = ?`,
      [n.remainingMinor, n.amountAppliedMinor, n.amountRefundedMinor, n.amountReversedMinor, n.status, n.id]);
  }

  async insertUse(u: CreditNoteUseRecord): Promise<void> {
    await this.c.run(
      `INSERT INTO credit_note_uses (id, credit_note_id, customer_id, kind, invoice_id, payment_id, return_id, amount, currency, created_at) VALUES (?,?,?,?,?,?,?,?,?,?)`,
      [u.id, u.creditNoteId, u.customerId, u.kind, u.invoiceId, u.paymentId, u.returnId, u.amountMinor, u.currency, u.createdAtMs],
    );
  }

  /**
   * What of a note for a fee's unused time gives back the money of which invoice (migration 71):
   * written once, when the note is issued.
   */
  async insertShares(n: CreditNoteRecord, shares: readonly NoteShare[]): Promise<void> {
    for (const share of shares) {
      await this.c.run(`INSERT INTO credit_note_shares (credit_note_id, invoice_id, customer_id, amount) VALUES (?,?,?,?)`,
        [n.id, share.invoiceId, n.customerId, share.amountMinor]);
    }
  }

  /** The parts of notes that give back an invoice's money, oldest note first. */
  async sharesOnInvoice(invoiceId: string): Promise<{ creditNoteId: string; amountMinor: bigint }[]> {
    const rows = await this.c.query(
      `SELECT s.credit_note_id, s.amount FROM credit_note_shares s JOIN credit_notes n ON n.id = s.credit_note_id
        WHERE s.invoice_id = ? ORDER BY n.created_at, n.id`, [invoiceId]);
    return rows.map((r) => ({ creditNoteId: r.credit_note_id as string, amountMinor: big(r.amount) }));
  }

  /** A note's parts, by invoice id. */
  async sharesOfNote(creditNoteId: string): Promise<NoteShare[]> {
    const rows = await this.c.query(`SELECT invoice_id, amount FROM credit_note_shares WHERE credit_note_id = ? ORDER BY invoice_id`, [creditNoteId]);
    return rows.map((r) => ({ invoiceId: r.invoice_id as string, amountMinor: big(r.amount) }));
  }

  /** A note no longer to be paid out: a note that is not refundable paid a fee it gives back. */
  async markNotRefundable(id: string): Promise<void> {
    await this.c.run(`UPDATE credit_notes SET refundable = 0 WHERE id = ?`, [id]);
  }

  async get(id: string): Promise<CreditNoteRecord | null> {
    const rows = await this.c.query(`SELECT * FROM credit_notes WHERE id = ?`, [id]);
    return rows[0] ? toCreditNote(rows[0]) : null;
  }

  /** The customer's notes with something left, oldest first: the order the balance is applied in. */
  async openFor(customerId: string, currency: string): Promise<CreditNoteRecord[]> {
    const rows = await this.c.query(
      `SELECT * FROM credit_notes WHERE customer_id = ? AND currency = ? AND status = 'open' AND remaining > 0 ORDER BY created_at, id`,
      [customerId, currency],
    );
    return rows.map(toCreditNote);
  }

  /** The money balance per currency: what is left of the customer's credit notes. */
  async balances(customerId: string): Promise<Map<string, bigint>> {
    const rows = await this.c.query(
      `SELECT currency, SUM(remaining) AS total FROM credit_notes WHERE customer_id = ? GROUP BY currency ORDER BY currency`, [customerId]);
    return new Map(rows.map((r) => [r.currency as string, big(r.total)]));
  }

  async list(customerId: string | null, page: PageRequest): Promise<Page<CreditNoteRecord>> {
    return pageQuery(this.c, 'credit_notes', customerId ? 'customer_id = ?' : '', customerId ? [customerId] : [], page, toCreditNote);
  }

  async uses(creditNoteId: string): Promise<CreditNoteUseRecord[]> {
    return (await this.c.query(`SELECT * FROM credit_note_uses WHERE credit_note_id = ? ORDER BY id`, [creditNoteId])).map(toUse);
  }

  /** The uses a chargeback made (`reversed`) and its win gave back (`restored`), oldest first. */
  async usesOfReturn(returnId: string): Promise<CreditNoteUseRecord[]> {
    return (await this.c.query(`SELECT * FROM credit_note_uses WHERE return_id = ? ORDER BY id`, [returnId])).map(toUse);
  }

  async getMany(ids: readonly string[]): Promise<CreditNoteRecord[]> {
    if (ids.length === 0) return [];
    return (await this.c.query(`SELECT * FROM credit_notes WHERE id IN (${ids.map(() => '?').join(',')}) ORDER BY id`, [...ids])).map(toCreditNote);
  }

  /** Notes created in a window (reports), optionally of one customer. */
  async createdBetween(fromMs: number, toMs: number, customerId: string | null): Promise<CreditNoteRecord[]> {
    const params: SqlValue[] = [fromMs, toMs];
    if (customerId) params.push(customerId);
    const rows = await this.c.query(
      `SELECT * FROM credit_notes WHERE created_at >= ? AND created_at < ?${customerId ? ' AND customer_id = ?' : ''} ORDER BY created_at, id`, params);
    return rows.map(toCreditNote);
  }

  /** Uses made in a window (reports), optionally of one customer. */
  async usesBetween(fromMs: number, toMs: number, customerId: string | null): Promise<CreditNoteUseRecord[]> {
    const params: SqlValue[] = [fromMs, toMs];
    if (customerId) params.push(customerId);
    const rows = await this.c.query(
      `SELECT * FROM credit_note_uses WHERE created_at >= ? AND created_at < ?${customerId ? ' AND customer_id = ?' : ''} ORDER BY created_at, id`, params);
    return rows.map(toUse);
  }

  /** What refundable notes applied to an invoice (the rest of its balance applied came from notes that are not). */
  async refundableAppliedTo(invoiceId: string): Promise<bigint> {
    const [row] = await this.c.query(
      `SELECT COALESCE(SUM(u.amount), 0) AS total FROM credit_note_uses u JOIN credit_notes n ON n.id = u.credit_note_id
        WHERE u.invoice_id = ? AND u.kind = 'applied' AND n.refundable = 1`, [invoiceId]);
    return big(row!.total);
  }

  /** Every note with the sums of its uses by kind, for the reconciliation. */
  async notesWithUseSums(customers: CustomerRange = allCustomers): Promise<{ note: CreditNoteRecord; appliedMinor: bigint; refundedMinor: bigint; reversedMinor: bigint; shareCount: number; sharesMinor: bigint }[]> {
    const range = inCustomerRange('n.customer_id', customers);
    const rows = await this.c.query(
      `SELECT n.*, COALESCE((SELECT SUM(u.amount) FROM credit_note_uses u WHERE u.credit_note_id = n.id AND u.kind = 'applied'), 0) AS used_applied,
        COALESCE((SELECT SUM(u.amount) FROM credit_note_uses u WHERE u.credit_note_id = n.id AND u.kind = 'refunded'), 0) AS used_refunded,
        COALESCE((SELECT SUM(CASE WHEN u.kind = 'reversed' THEN u.amount ELSE -u.amount END) FROM credit_note_uses u
          WHERE u.credit_note_id = n.id AND u.kind IN ('reversed', 'restored')), 0) AS used_reversed,
        (SELECT COUNT(*) FROM credit_note_shares s WHERE s.credit_note_id = n.id) AS share_count,
        COALESCE((SELECT SUM(s.amount) FROM credit_note_shares s WHERE s.credit_note_id = n.id), 0) AS share_total
        FROM credit_notes n WHERE ${range.sql} ORDER BY n.id`, range.params);
    return rows.map((r) => ({
      note: toCreditNote(r), appliedMinor: big(r.used_applied), refundedMinor: big(r.used_refunded), reversedMinor: big(r.used_reversed),
      shareCount: num(r.share_count), sharesMinor: big(r.share_total),
    }));
  }

  /** Chargebacks that took back credit notes, with the net their uses record (reversed less restored), for the reconciliation. */
  async chargebacksWithNoteUses(customers: CustomerRange = allCustomers): Promise<{ id: string; customerId: string; status: string; notesReversedMinor: bigint; reversedMinor: bigint; restoredMinor: bigint }[]> {
    const range = inCustomerRange('r.customer_id', customers);
    const rows = await this.c.query(
      `SELECT r.id, r.customer_id, r.status, r.notes_reversed,
        COALESCE((SELECT SUM(u.amount) FROM credit_note_uses u WHERE u.return_id = r.id AND u.kind = 'reversed'), 0) AS reversed,
        COALESCE((SELECT SUM(u.amount) FROM credit_note_uses u WHERE u.return_id = r.id AND u.kind = 'restored'), 0) AS restored
        FROM refunds r WHERE ${range.sql} AND r.kind = 'chargeback' AND (r.notes_reversed <> 0 OR EXISTS (SELECT 1 FROM credit_note_uses u WHERE u.return_id = r.id))
        ORDER BY r.id`, range.params);
    return rows.map((r) => ({
      id: r.id as string, customerId: r.customer_id as string, status: r.status as string, notesReversedMinor: big(r.notes_reversed),
      reversedMinor: big(r.reversed), restoredMinor: big(r.restored),
    }));
  }

  /** Invoices with balance applied (or balance payments), with the sums the uses and payments give. */
  async invoicesWithBalance(
    customers: CustomerRange = allCustomers,
  ): Promise<{ invoiceId: string; customerId: string; balanceAppliedMinor: bigint; usesMinor: bigint; paymentsMinor: bigint }[]> {
    const range = inCustomerRange('i.customer_id', customers);
    const rows = await this.c.query(
      `SELECT i.id, i.customer_id, i.balance_applied,
        COALESCE((SELECT SUM(u.amount) FROM credit_note_uses u WHERE u.invoice_id = i.id AND u.kind = 'applied'), 0) AS uses,
        COALESCE((SELECT SUM(p.amount) FROM payments p WHERE p.invoice_id = i.id AND p.method = 'balance'), 0) AS paid
        FROM invoices i
        WHERE ${range.sql} AND (i.balance_applied <> 0 OR EXISTS (SELECT 1 FROM credit_note_uses u WHERE u.invoice_id = i.id)
          OR EXISTS (SELECT 1 FROM payments p WHERE p.invoice_id = i.id AND p.method = 'balance'))
        ORDER BY i.id`, range.params);
    return rows.map((r) => ({
      invoiceId: r.id as string, customerId: r.customer_id as string, balanceAppliedMinor: big(r.balance_applied), usesMinor: big(r.uses), paymentsMinor: big(r.paid),
    }));
  }
}
