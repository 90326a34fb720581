import type { Discrepancy } from './reconciliation.ts';

/**
 * Reconciliation rules of the customer's money balance (PRODUCT §14): what is left of each credit
 * note equals what was issued less what was applied and paid out, as its uses record them; and the
 * balance an invoice shows as applied equals the uses and the `balance` payments on it.
 */
export interface NoteFacts {
  id: string;
  customerId: string;
  amountMinor: bigint;
  remainingMinor: bigint;
  amountAppliedMinor: bigint;
  amountRefundedMinor: bigint;
  usesAppliedMinor: bigint;
  usesRefundedMinor: bigint;
}

export function creditNoteProblems(n: NoteFacts): Discrepancy[] {
  const out: Discrepancy[] = [];
  const ids = [n.id, n.customerId];
  if (n.remainingMinor !== n.amountMinor - n.usesAppliedMinor - n.usesRefundedMinor) {
    out.push({
      check: 'customer_balance',
      message: `Credit note ${n.id} has ${n.remainingMinor} left, but ${n.amountMinor} issued less ${n.usesAppliedMinor} applied less ${n.usesRefundedMinor} paid out is ${n.amountMinor - n.usesAppliedMinor - n.usesRefundedMinor}.`,
      ids,
    });
  }
  if (n.amountAppliedMinor !== n.usesAppliedMinor || n.amountRefundedMinor !== n.usesRefundedMinor) {
    out.push({ check: 'customer_balance', message: `Credit note ${n.id} shows ${n.amountAppliedMinor} applied and ${n.amountRefundedMinor} paid out; its uses record ${n.usesAppliedMinor} and ${n.usesRefundedMinor}.`, ids });
  }
  if (n.remainingMinor < 0n) out.push({ check: 'customer_balance', message: `Credit note ${n.id} has a negative remainder.`, ids });
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
