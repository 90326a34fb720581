import { allocateBalance, invoiceExcessMinor, notesToReverseMinor, reverseNote, useNote, type ReturnableFacts } from '../core/customer-balance.ts';
import { fail, invalid, notFound, ok, type Outcome } from '../core/errors.ts';
import { amountMinorMax, minorToJson } from '../core/money.ts';
import type { CreditNoteRecord, CreditNoteSource, CreditNoteUseRecord, CustomerRecord, InvoiceRecord, ReturnRecord } from '../store/records.ts';
import type { StoreTx } from '../store/store.ts';
import type { NoteShare } from '../store/queries/credit-notes.ts';
import { Changes, customerNow, findCustomerLocked, readLocked, type Engine } from './context.ts';
import { FieldCheck } from './input.ts';
import { takePayment } from './invoice-settlement.ts';

/**
 * Credit notes and the customer's money balance (PRODUCT §14): money owed back to a customer and
 * kept as balance, from a downgrade's excess proration credit, a refund taken as balance, or
 * goodwill. The balance is applied, oldest note first, when an invoice is finalized; a
 * `refundable` note can instead be paid out.
 */
export interface NoteDraft {
  customer: CustomerRecord;
  amountMinor: bigint;
  source: CreditNoteSource;
  reason: string;
  refundable: boolean;
  invoiceId?: string | null;
  invoiceLineId?: string | null;
  refundId?: string | null;
  metadata?: Record<string, string>;
}

export async function issueCreditNote(engine: Engine, tx: StoreTx, changes: Changes, draft: NoteDraft, nowMs: number): Promise<CreditNoteRecord> {
  const note: CreditNoteRecord = {
    id: engine.ids.next('cn'),
    customerId: draft.customer.id,
    currency: draft.customer.currency,
    amountMinor: draft.amountMinor,
    remainingMinor: draft.amountMinor,
    amountAppliedMinor: 0n,
    amountRefundedMinor: 0n,
    amountReversedMinor: 0n,
    source: draft.source,
    reason: draft.reason,
    refundable: draft.refundable,
    status: 'open',
    invoiceId: draft.invoiceId ?? null,
    invoiceLineId: draft.invoiceLineId ?? null,
    refundId: draft.refundId ?? null,
    metadata: draft.metadata ?? {},
    createdAtMs: nowMs,
  };
  await tx.creditNotes.insert(note);
  changes.event('credit_note.created', note.customerId, {
    credit_note: note.id, amount: minorToJson(note.amountMinor), currency: note.currency, source: note.source, refundable: note.refundable,
    invoice: note.invoiceId, invoice_line: note.invoiceLineId, refund: note.refundId,
  }, nowMs);
  return note;
}

/**
 * Applies the customer's balance in the invoice's currency to what is still unpaid on it, oldest
 * note first: one use per note and one payment of method `balance`. Paid in full, the invoice is
 * settled like any other. The caller writes the invoice state afterwards.
 */
export async function applyBalance(engine: Engine, tx: StoreTx, changes: Changes, customer: CustomerRecord, invoice: InvoiceRecord, nowMs: number): Promise<bigint> {
  const unpaidMinor = invoice.totalMinor - invoice.amountPaidMinor;
  if (unpaidMinor <= 0n) return 0n;
  const notes = await tx.creditNotes.openFor(customer.id, invoice.currency);
  const { allocations, appliedMinor } = allocateBalance(notes, unpaidMinor);
  if (appliedMinor === 0n) return 0n;
  invoice.balanceAppliedMinor += appliedMinor;
  const payment = await takePayment(engine, tx, changes, customer, invoice, { amountMinor: appliedMinor, method: 'balance' }, nowMs);
  const byId = new Map(notes.map((n) => [n.id, n]));
  for (const a of allocations) {
    const note = useNote(byId.get(a.creditNoteId)!, 'applied', a.amountMinor);
    await tx.creditNotes.updateAmounts(note);
    await tx.creditNotes.insertUse(newUse(engine, note, 'applied', a.amountMinor, invoice.id, payment.id, nowMs));
  }
  if (allocations.some((a) => !byId.get(a.creditNoteId)!.refundable)) await unrefundableNotesOf(tx, changes, invoice, nowMs);
  changes.event('invoice.balance_applied', customer.id, {
    invoice: invoice.id, amount: minorToJson(appliedMinor), currency: invoice.currency, credit_notes: allocations.map((a) => a.creditNoteId),
  }, nowMs);
  return appliedMinor;
}

const newUse = (engine: Engine, note: CreditNoteRecord, kind: CreditNoteUseRecord['kind'], amountMinor: bigint, invoiceId: string | null, paymentId: string | null, nowMs: number, returnId: string | null = null): CreditNoteUseRecord => ({
  id: engine.ids.next('cnu'), creditNoteId: note.id, customerId: note.customerId, kind, invoiceId, paymentId, returnId, amountMinor, currency: note.currency, createdAtMs: nowMs,
});

/**
 * A chargeback on an invoice whose fee a later change or cancellation credited back as a note
 * (the credit line names it, `refs.fee_invoice`): the card network returns the money whatever
 * was credited, so what it returns beyond what the invoice kept (`notesToReverseMinor`) is taken
 * back of those notes, what is left of them first, oldest first: a `reversed` use naming the
 * chargeback. What was already applied or paid out of them cannot be taken back: it is the
 * chargeback's `notesShortfallMinor`. `facts` are the invoice's before this chargeback.
 */
export async function reverseCreditedNotes(engine: Engine, tx: StoreTx, changes: Changes, record: ReturnRecord, invoice: InvoiceRecord, facts: ReturnableFacts, earlier: readonly ReturnRecord[], nowMs: number): Promise<void> {
  const shares = await tx.creditNotes.sharesOnInvoice(invoice.id);
  if (shares.length === 0) return;
  // The credit still standing: what the notes give back of this invoice, less what earlier
  // chargebacks (not won) took back.
  let creditedMinor = 0n;
  for (const s of shares) creditedMinor += s.amountMinor;
  for (const r of earlier) if (r.kind === 'chargeback' && r.status !== 'won') creditedMinor -= r.notesReversedMinor + r.notesShortfallMinor;
  let leftMinor = notesToReverseMinor(facts, creditedMinor, record.amountMinor);
  if (leftMinor === 0n) return;
  const notes = new Map((await tx.creditNotes.getMany(shares.map((s) => s.creditNoteId))).map((n) => [n.id, n]));
  for (const share of shares) {
    if (leftMinor === 0n) break;
    const found = notes.get(share.creditNoteId)!;
    // Of a note that gives back several invoices' money, no more than this invoice's part,
    // less what this invoice's chargebacks took of it already.
    let partMinor = share.amountMinor;
    for (const u of await tx.creditNotes.uses(found.id)) {
      if (u.invoiceId !== invoice.id) continue;
      if (u.kind === 'reversed') partMinor -= u.amountMinor;
      else if (u.kind === 'restored') partMinor += u.amountMinor;
    }
    let takeMinor = found.remainingMinor < leftMinor ? found.remainingMinor : leftMinor;
    if (partMinor < takeMinor) takeMinor = partMinor;
    if (takeMinor <= 0n) continue;
    const note = reverseNote(found, takeMinor);
    await tx.creditNotes.updateAmounts(note);
    await tx.creditNotes.insertUse(newUse(engine, note, 'reversed', takeMinor, invoice.id, null, nowMs, record.id));
    changes.event('credit_note.reversed', note.customerId, {
      credit_note: note.id, amount: minorToJson(takeMinor), currency: note.currency, chargeback: record.id, invoice: invoice.id,
    }, nowMs);
    record.notesReversedMinor += takeMinor;
    leftMinor -= takeMinor;
  }
  record.notesShortfallMinor = leftMinor;
}

/** A chargeback won: what it took back of credit notes comes back to them, one `restored` use each. */
export async function restoreReversedNotes(engine: Engine, tx: StoreTx, changes: Changes, record: ReturnRecord, nowMs: number): Promise<void> {
  const uses = (await tx.creditNotes.usesOfReturn(record.id)).filter((u) => u.kind === 'reversed');
  for (const use of uses) {
    const note = reverseNote((await tx.creditNotes.get(use.creditNoteId))!, -use.amountMinor);
    await tx.creditNotes.updateAmounts(note);
    await tx.creditNotes.insertUse(newUse(engine, note, 'restored', use.amountMinor, use.invoiceId, null, nowMs, record.id));
    changes.event('credit_note.restored', note.customerId, {
      credit_note: note.id, amount: minorToJson(use.amountMinor), currency: note.currency, chargeback: record.id, invoice: use.invoiceId,
    }, nowMs);
  }
}

export interface CreateCreditNoteInput {
  customer: string;
  amount: number;
  currency?: string | undefined;
  reason: string;
  refundable?: boolean | undefined;
  invoice?: string | undefined;
  metadata?: Record<string, string> | undefined;
}

/**
 * A goodwill credit: money given to the customer as balance. `currency` (when given) must be the
 * customer's; `invoice` (when given) links the note to one of the customer's invoices that is not
 * void. The balance is applied to the customer's next invoices.
 */
export async function createCreditNote(engine: Engine, input: CreateCreditNoteInput): Promise<Outcome<CreditNoteRecord>> {
  const check = new FieldCheck();
  if (!Number.isSafeInteger(input.amount) || input.amount <= 0 || BigInt(input.amount) > amountMinorMax) {
    check.add('amount', 'must_be_positive', 'amount must be a positive integer of minor units.');
  }
  const metadata = check.metadata('metadata', input.metadata);
  if (check.errors.length) return invalid(check.errors);
  return engine.store.transaction(async (tx) => {
    const customer = await findCustomerLocked(tx, input.customer);
    if (!customer) return notFound('customer', input.customer);
    // Its writes are the customer's rows (an invoice the note pays, a referral's reward naming its own).
    tx.scopeWritesTo([customer.id]);
    if (input.currency !== undefined && input.currency !== customer.currency) {
      return invalid([{ field: 'currency', code: 'currency_mismatch', message: `The customer is billed in ${customer.currency}.` }]);
    }
    let invoice: InvoiceRecord | null = null;
    if (input.invoice !== undefined) {
      invoice = await tx.billing.invoice(input.invoice);
      if (!invoice || invoice.customerId !== customer.id) return notFound('invoice', input.invoice);
      if (invoice.status === 'void') return fail('invoice_void', 'A credit note cannot be issued against a void invoice.', { fields: [{ field: 'invoice', code: 'invoice_void', message: 'the invoice is void' }] });
    }
    const nowMs = await customerNow(engine, tx, customer);
    const changes = new Changes(engine);
    const note = await issueCreditNote(engine, tx, changes, {
      customer, amountMinor: BigInt(input.amount), source: 'goodwill', reason: input.reason, refundable: input.refundable ?? false,
      invoiceId: invoice?.id ?? null, metadata,
    }, nowMs);
    await changes.flush(tx);
    return ok(note);
  });
}

/**
 * Pays out what is left of a refundable note (or `amount` of it) in cash: one `refunded` use.
 * A note that is not refundable stays balance, to be applied to invoices; nor is a refundable one
 * paid out while the customer has unpaid invoices in its currency.
 */
export async function refundCreditNote(engine: Engine, id: string, input: { amount?: number | undefined }): Promise<Outcome<CreditNoteRecord>> {
  if (input.amount !== undefined && (!Number.isSafeInteger(input.amount) || input.amount <= 0)) {
    return invalid([{ field: 'amount', code: 'must_be_positive', message: 'amount must be a positive integer of minor units.' }]);
  }
  return engine.store.transaction(async (tx) => {
    const found = await readLocked(tx, () => tx.creditNotes.get(id));
    if (!found) return notFound('credit_note', id);
    tx.scopeWritesTo([found.customerId]);
    if (!found.refundable) return fail('credit_note_not_refundable', 'This credit note is not refundable: it can only be applied to invoices.');
    // Money owed back is not paid out while the customer still owes money in that currency:
    // the balance pays those invoices first (a cancellation's credit beside its unpaid fee).
    const unpaid = await tx.billing.unpaidInvoiceIds(found.customerId, found.currency, 10);
    if (unpaid.length > 0) {
      return fail('customer_has_unpaid_invoices', `The customer has unpaid ${found.currency} invoices; apply the balance to them first (POST /v1/invoices/{id}/apply_balance), then pay out what is left.`, {
        details: { invoices: unpaid },
      });
    }
    const amountMinor = input.amount === undefined ? found.remainingMinor : BigInt(input.amount);
    if (amountMinor === 0n || amountMinor > found.remainingMinor) {
      return fail('amount_exceeds_remaining', `${found.remainingMinor} minor units remain on this credit note.`, {
        fields: [{ field: 'amount', code: 'amount_exceeds_remaining', message: 'more than remains on the note' }], details: { remaining: minorToJson(found.remainingMinor) },
      });
    }
    const customer = (await tx.customers.find(found.customerId))!;
    const nowMs = await customerNow(engine, tx, customer);
    const note = useNote(found, 'refunded', amountMinor);
    await tx.creditNotes.updateAmounts(note);
    await tx.creditNotes.insertUse(newUse(engine, note, 'refunded', amountMinor, null, null, nowMs));
    const changes = new Changes(engine);
    changes.event('credit_note.refunded', note.customerId, { credit_note: note.id, amount: minorToJson(amountMinor), currency: note.currency }, nowMs);
    await changes.flush(tx);
    return ok(note);
  });
}

/**
 * Applies the customer's balance to an invoice that is still unpaid (balance that arrived after
 * the invoice was finalized), open or uncollectible. A void or paid invoice is refused, and so is
 * one already pushed to Stripe, which collects the amount it was pushed with.
 */
export async function applyBalanceToInvoice(engine: Engine, invoiceRef: string): Promise<Outcome<InvoiceRecord>> {
  return engine.store.transaction(async (tx) => {
    // Paid in full by the balance, the invoice may reward the customer's referral, which locks the referrer.
    const invoice = await readLocked(tx, () => tx.billing.invoice(invoiceRef), { pendingReferrers: true });
    if (!invoice) return notFound('invoice', invoiceRef);
    // Its writes are the invoice's customer's rows (a referral's reward names its own).
    tx.scopeWritesTo([invoice.customerId]);
    if (!isPayable(invoice)) return fail('invoice_not_open', `The invoice is ${invoice.status}; balance applies only to unpaid invoices.`, { details: { status: invoice.status } });
    if (invoice.providerInvoiceId !== null) {
      // Stripe collects what the invoice asked for when it was pushed: balance applied now would
      // be collected there as well, and the surplus would find nothing due here.
      return fail('invoice_in_provider', `The invoice is collected by ${invoice.provider ?? 'its payment provider'} (${invoice.providerInvoiceId}) for the amount it was pushed with; balance cannot lower it now.`, {
        details: { provider: invoice.provider, provider_invoice_id: invoice.providerInvoiceId },
      });
    }
    const customer = (await tx.customers.find(invoice.customerId))!;
    const nowMs = await customerNow(engine, tx, customer);
    const changes = new Changes(engine);
    await applyBalance(engine, tx, changes, customer, invoice, nowMs);
    await tx.billing.updateInvoiceState(invoice);
    await changes.flush(tx);
    return ok(invoice);
  });
}

/**
 * Whether a note that is not refundable paid part of an invoice, directly (its balance applied) or
 * through the plan change whose credit paid its charges (the credit line's `fee_invoice`, and so
 * on back through the period's changes). Money that comes back from such an invoice as balance (a
 * refund to the balance, a change's or cancellation's credit for its fee's unused time) is then
 * not refundable either: a goodwill note never turns into cash.
 */
export async function paidByNonRefundableBalance(tx: StoreTx, invoice: InvoiceRecord): Promise<boolean> {
  let current: InvoiceRecord | null = invoice;
  for (let depth = 0; current && depth < 100; depth += 1) {
    if (current.balanceAppliedMinor > await tx.creditNotes.refundableAppliedTo(current.id)) return true;
    const credited: string | undefined = current.lines.find((l) => l.type === 'proration_credit' && l.amountMinor < 0n)?.refs.fee_invoice;
    current = credited === undefined ? null : await tx.billing.invoice(credited);
  }
  return false;
}

/**
 * What of a note for a fee's unused time gives back the money of which invoice (PRODUCT §14),
 * fixed when the note is issued. The fee's charge was paid by its own invoice and, for a plan
 * change's charge, in part by the credit of the fee before it: the note is split in that
 * proportion, the credit's part (what it paid of the charge, over the charge, rounded down)
 * going back the same way through the period's changes to the invoice that paid it. No part is
 * more than its invoice still holds of the fee (its own share of the charge less its refunds and
 * chargebacks, which come off its other charges first, and less the parts of earlier notes):
 * what a part cannot hold goes to the others, the note's own fee first. So a refund of each
 * invoice, limited to what it was paid less its returns and the parts on it, never gives back
 * more than the chain of changes took in.
 */
export async function noteShares(tx: StoreTx, feeInvoiceId: string, amountMinor: bigint): Promise<NoteShare[]> {
  const chain: { invoiceId: string; partMinor: bigint; holdsMinor: bigint }[] = [];
  let invoice = await tx.billing.invoice(feeInvoiceId);
  let leftMinor = amountMinor;
  for (let depth = 0; invoice && leftMinor > 0n; depth += 1) {
    const chargeMinor = invoice.lines.find((l) => (l.type === 'subscription_fee' || l.type === 'proration_charge') && l.amountMinor > 0n)?.amountMinor ?? 0n;
    const credit = invoice.lines.find((l) => l.type === 'proration_credit' && l.amountMinor < 0n && l.refs.fee_invoice !== undefined);
    let creditPaidMinor = credit ? -credit.amountMinor - invoiceExcessMinor(invoice.totalMinor) : 0n;
    if (creditPaidMinor > chargeMinor) creditPaidMinor = chargeMinor;
    const upstream = credit && creditPaidMinor > 0n && depth < 100 ? await tx.billing.invoice(credit.refs.fee_invoice!) : null;
    const upMinor = upstream ? (leftMinor * creditPaidMinor) / chargeMinor : 0n;
    let othersMinor = 0n;
    for (const l of invoice.lines) if (l.amountMinor > 0n) othersMinor += l.amountMinor;
    othersMinor -= chargeMinor;
    const returnedMinor = invoice.amountRefundedMinor + invoice.amountChargedBackMinor - othersMinor;
    let holdsMinor = chargeMinor - (creditPaidMinor > 0n ? creditPaidMinor : 0n) - (returnedMinor > 0n ? returnedMinor : 0n);
    for (const s of await tx.creditNotes.sharesOnInvoice(invoice.id)) holdsMinor -= s.amountMinor;
    chain.push({ invoiceId: invoice.id, partMinor: leftMinor - upMinor, holdsMinor: holdsMinor > 0n ? holdsMinor : 0n });
    leftMinor = upMinor;
    invoice = upstream;
  }
  if (chain.length === 0) return [];
  chain[chain.length - 1]!.partMinor += leftMinor;
  let overMinor = 0n;
  for (const link of chain) {
    if (link.partMinor <= link.holdsMinor) continue;
    overMinor += link.partMinor - link.holdsMinor;
    link.partMinor = link.holdsMinor;
  }
  for (const link of chain) {
    const roomMinor = link.holdsMinor - link.partMinor;
    const addMinor = roomMinor < overMinor ? roomMinor : overMinor;
    link.partMinor += addMinor;
    overMinor -= addMinor;
  }
  // More than the chain holds (not expected: the credit is of what the fee kept) stays on the note's own fee.
  chain[0]!.partMinor += overMinor;
  return chain.filter((l) => l.partMinor > 0n).map((l) => ({ invoiceId: l.invoiceId, amountMinor: l.partMinor }));
}

/**
 * A note that is not refundable paid part of `invoice`: notes that give back its money (a change's
 * or cancellation's credit for a fee's unused time, issued while the fee was still unpaid) are no
 * longer refundable either, as they would have been had the fee been paid so before they were
 * issued. Goodwill never turns into cash, whichever came first.
 */
async function unrefundableNotesOf(tx: StoreTx, changes: Changes, invoice: InvoiceRecord, nowMs: number): Promise<void> {
  const shares = await tx.creditNotes.sharesOnInvoice(invoice.id);
  if (shares.length === 0) return;
  for (const note of await tx.creditNotes.getMany(shares.map((s) => s.creditNoteId))) {
    if (!note.refundable) continue;
    await tx.creditNotes.markNotRefundable(note.id);
    changes.event('credit_note.updated', note.customerId, { credit_note: note.id, refundable: false, paid_invoice: invoice.id }, nowMs);
  }
}

/** An invoice that still expects money. */
export function isCollectible(invoice: InvoiceRecord): boolean {
  return invoice.status === 'open';
}

/**
 * An invoice money can still pay: an open one, or one marked uncollectible after its last
 * retry (given up on, not forgiven: a late payment pays it, as Stripe lets one).
 */
export function isPayable(invoice: InvoiceRecord): boolean {
  return invoice.status === 'open' || invoice.status === 'uncollectible';
}

export async function moneyBalances(tx: StoreTx, customerId: string): Promise<Map<string, bigint>> {
  return tx.creditNotes.balances(customerId);
}
