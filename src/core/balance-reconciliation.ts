import type { Discrepancy } from './reconciliation.ts';

/**
 * Reconciliation rules of the customer's money balance (PRODUCT §14): what is left of each credit
 * note equals what was issued less what was applied, paid out and reversed by chargebacks (less
 * what a won one restored), as its uses record them; a note for a fee's unused time that names
 * the invoices whose money it gives back is split among them to the cent, and no other note is;
 * the balance an invoice shows as applied
 * equals the uses and the `balance` payments on it; and what a chargeback says it took back of
 * notes is what its uses took (and gave back, once it was won).
 */
export interface NoteFacts {
  id: string;
  customerId: string;
  amountMinor: bigint;
  remainingMinor: bigint;
  amountAppliedMinor: bigint;
  amountRefundedMinor: bigint;
  amountReversedMinor: bigint;
  usesAppliedMinor: bigint;
  usesRefundedMinor: bigint;
  /** `reversed` uses less `restored` ones. */
  usesReversedMinor: bigint;
  source: string;
  /** How many invoices its parts name (`credit_note_shares`), and what they sum to. */
  shareCount: number;
  sharesMinor: bigint;
}

export function creditNoteProblems(n: NoteFacts): Discrepancy[] {
  const out: Discrepancy[] = [];
  const ids = [n.id, n.customerId];
  const left = n.amountMinor - n.usesAppliedMinor - n.usesRefundedMinor - n.usesReversedMinor;
  if (n.remainingMinor !== left) {
    out.push({
      check: 'customer_balance',
      message: `Credit note ${n.id} has ${n.remainingMinor} left, but ${n.amountMinor} issued less ${n.usesAppliedMinor} applied less ${n.usesRefundedMinor} paid out less ${n.usesReversedMinor} reversed is ${left}.`,
      ids,
    });
  }
  if (n.amountAppliedMinor !== n.usesAppliedMinor || n.amountRefundedMinor !== n.usesRefundedMinor || n.amountReversedMinor !== n.usesReversedMinor) {
    out.push({
      check: 'customer_balance',
      message: `Credit note ${n.id} shows ${n.amountAppliedMinor} applied, ${n.amountRefundedMinor} paid out and ${n.amountReversedMinor} reversed; its uses record ${n.usesAppliedMinor}, ${n.usesRefundedMinor} and ${n.usesReversedMinor}.`,
      ids,
    });
  }
  if (n.amountReversedMinor < 0n) out.push({ check: 'customer_balance', message: `Credit note ${n.id} has more restored than reversed.`, ids });
  if (n.remainingMinor < 0n) out.push({ check: 'customer_balance', message: `Credit note ${n.id} has a negative remainder.`, ids });
  if (n.shareCount > 0 && (n.source !== 'proration' || n.sharesMinor !== n.amountMinor)) {
    out.push({
      check: 'customer_balance',
      message: n.source !== 'proration'
        ? `Credit note ${n.id} (${n.source}) names invoices whose fee it gives back; only a note for a fee's unused time does.`
        : `Credit note ${n.id} of ${n.amountMinor} gives back ${n.sharesMinor} of the invoices it names.`,
      ids,
    });
  }
  return out;
}

export interface InvoiceBalanceFacts {
  invoiceId: string;
  customerId: string;
  balanceAppliedMinor: bigint;
  usesMinor: bigint;
  paymentsMinor: bigint;
}

export function invoiceBalanceProblem(i: InvoiceBalanceFacts): Discrepancy | null {
  if (i.balanceAppliedMinor === i.usesMinor && i.usesMinor === i.paymentsMinor) return null;
  return {
    check: 'customer_balance',
    message: `Invoice ${i.invoiceId} shows ${i.balanceAppliedMinor} of balance applied; credit note uses record ${i.usesMinor} and balance payments ${i.paymentsMinor}.`,
    ids: [i.invoiceId, i.customerId],
  };
}

export interface ChargebackNoteFacts {
  id: string;
  customerId: string;
  status: string;
  notesReversedMinor: bigint;
  /** What its `reversed` uses took, and its `restored` uses gave back. */
  reversedMinor: bigint;
  restoredMinor: bigint;
}

/** A chargeback took back of credit notes what it records, and gave all of it back once won (and none before). */
export function chargebackNotesProblem(c: ChargebackNoteFacts): Discrepancy | null {
  const restoredExpected = c.status === 'won' ? c.notesReversedMinor : 0n;
  if (c.reversedMinor === c.notesReversedMinor && c.restoredMinor === restoredExpected) return null;
  return {
    check: 'customer_balance',
    message: `Chargeback ${c.id} (${c.status}) records ${c.notesReversedMinor} of credit notes reversed; their uses reversed ${c.reversedMinor} and restored ${c.restoredMinor}, where ${restoredExpected} should be restored.`,
    ids: [c.id, c.customerId],
  };
}
