/**
 * The customer's money balance (PRODUCT §14): credit notes, money owed back and kept rather than
 * paid out, applied to the next invoices oldest note first. Pure arithmetic on minor units; the
 * engine reads the notes and writes what this decides.
 */

export interface NoteLeft {
  id: string;
  remainingMinor: bigint;
}

export interface BalanceAllocation {
  creditNoteId: string;
  amountMinor: bigint;
}

/**
 * Takes up to `dueMinor` from notes the caller ordered oldest first. Nothing is taken for an
 * amount of zero or less.
 */
export function allocateBalance(notesOldestFirst: readonly NoteLeft[], dueMinor: bigint): { allocations: BalanceAllocation[]; appliedMinor: bigint } {
  const allocations: BalanceAllocation[] = [];
  let left = dueMinor;
  for (const note of notesOldestFirst) {
    if (left <= 0n) break;
    if (note.remainingMinor <= 0n) continue;
    const take = note.remainingMinor < left ? note.remainingMinor : left;
    allocations.push({ creditNoteId: note.id, amountMinor: take });
    left -= take;
  }
  return { allocations, appliedMinor: dueMinor > 0n ? dueMinor - left : 0n };
}

/**
 * An invoice whose lines sum below zero owes the customer money: the excess becomes a credit
 * note, and nothing is due on the invoice. Zero when the invoice owes nothing back.
 */
export function invoiceExcessMinor(totalMinor: bigint): bigint {
  return totalMinor < 0n ? -totalMinor : 0n;
}

/** What an invoice asks to be paid in money: its total less the balance applied, never below zero. */
export function amountDueMinor(totalMinor: bigint, balanceAppliedMinor: bigint): bigint {
  const due = totalMinor - balanceAppliedMinor;
  return due > 0n ? due : 0n;
}

export interface NoteAmounts {
  amountMinor: bigint;
  remainingMinor: bigint;
  amountAppliedMinor: bigint;
  amountRefundedMinor: bigint;
  status: 'open' | 'closed';
}

/**
 * A note after one use (applied to an invoice, or paid out). The caller has checked the amount
 * against what remains; the identity amount = remaining + applied + refunded always holds.
 */
export function useNote<T extends NoteAmounts>(note: T, kind: 'applied' | 'refunded', amountMinor: bigint): T {
  const next = { ...note };
  next.remainingMinor -= amountMinor;
  if (kind === 'applied') next.amountAppliedMinor += amountMinor;
  else next.amountRefundedMinor += amountMinor;
  next.status = next.remainingMinor === 0n ? 'closed' : 'open';
  return next;
}

/**
 * A note after a chargeback took back `amountMinor` of what remains of it (positive), or after a
 * won chargeback gave that back (negative): amount = remaining + applied + refunded + reversed.
 */
export function reverseNote<T extends NoteAmounts & { amountReversedMinor: bigint }>(note: T, amountMinor: bigint): T {
  const next = { ...note };
  next.remainingMinor -= amountMinor;
  next.amountReversedMinor += amountMinor;
  next.status = next.remainingMinor === 0n ? 'closed' : 'open';
  return next;
}

/**
 * What a chargeback takes back of the credit notes that credited the invoice's fee back: what it
 * returns beyond what the invoice kept, that is beyond what is paid less earlier returns less the
 * notes' credit still standing (`creditedMinor`: issued, less what earlier chargebacks took back).
 * Never more than that credit. The rest of the chargeback is what the invoice kept.
 */
export function notesToReverseMinor(facts: ReturnableFacts, creditedMinor: bigint, amountMinor: bigint): bigint {
  if (creditedMinor <= 0n) return 0n;
  const kept = returnableMinor({ ...facts, returnedToBalanceMinor: facts.returnedToBalanceMinor + creditedMinor }, 'money');
  const beyond = amountMinor - (kept > 0n ? kept : 0n);
  if (beyond <= 0n) return 0n;
  return beyond < creditedMinor ? beyond : creditedMinor;
}

/** What an invoice took in, and what earlier refunds and chargebacks (not won) gave back of it. */
export interface ReturnableFacts {
  amountPaidMinor: bigint;
  /** The part of `amountPaidMinor` paid from the customer's balance (credit notes). */
  balanceAppliedMinor: bigint;
  /** Earlier refunds to cash and chargebacks not won. */
  returnedAsMoneyMinor: bigint;
  /** Earlier refunds to the balance. */
  returnedToBalanceMinor: bigint;
}

/**
 * At most what a refund or chargeback may return on an invoice (PRODUCT §8: never more than was
 * paid less earlier returns). Money goes back as money only as far as it came in as money: the
 * part the balance paid may go back to the balance, but never out in cash or through the card
 * network, or a note that is not refundable, which can only be applied to invoices, would be paid
 * out through the invoice it paid.
 */
export function returnableMinor(facts: ReturnableFacts, to: 'money' | 'balance'): bigint {
  const all = facts.amountPaidMinor - facts.returnedAsMoneyMinor - facts.returnedToBalanceMinor;
  if (to === 'balance') return all;
  const money = facts.amountPaidMinor - facts.balanceAppliedMinor - facts.returnedAsMoneyMinor;
  return money < all ? money : all;
}
