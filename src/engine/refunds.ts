import { minorToJson } from '../core/money.ts';
import { clawBack, type CreditPolicy } from '../core/claw-back.ts';
import { returnableMinor } from '../core/customer-balance.ts';
import { formatCredits } from '../core/decimal.ts';
import { fail, invalid, notFound, ok, type Outcome } from '../core/errors.ts';
import { accounts, compactEntries, type LedgerEntry } from '../core/ledger.ts';
import type { ReturnRecord, ShortfallHandling } from '../store/records.ts';
import type { StoreTx } from '../store/store.ts';
import { Changes, customerNow, type Engine } from './context.ts';
import { refreshSignalsNow } from './funding.ts';
import { takeFrom } from './subscription-credits.ts';
import { newGrantRecord } from './grants.ts';
import { issueCreditNote, paidByNonRefundableBalance, restoreReversedNotes, reverseCreditedNotes } from './credit-notes.ts';
import { clawBackReferral } from './referrals.ts';
import { heldOf, heldTotal, releaseHeld } from './holds.ts';

export interface ReturnInput {
  invoice: string;
  amount: number;
  reason: string;
  credit_policy: CreditPolicy;
  shortfall?: ShortfallHandling | undefined;
  provider?: string | undefined;
  provider_ref?: string | undefined;
  /** Refunds only: `cash` (default) returns the money; `balance` keeps it as a credit note. */
  to?: 'cash' | 'balance' | undefined;
}

/**
 * A refund or a chargeback on an invoice: the money (never more than was paid, less earlier
 * refunds and chargebacks) and, by the credit policy, the claw-back of the credits that invoice
 * granted, as one ledger transaction that carries the refund or chargeback id. What cannot be
 * revoked because it was already spent becomes debt or is written off (reported either way).
 */
export async function createReturn(engine: Engine, kind: ReturnRecord['kind'], input: ReturnInput, defaultShortfall: ShortfallHandling = 'debt'): Promise<Outcome<ReturnRecord>> {
  if (!Number.isSafeInteger(input.amount) || input.amount <= 0) {
    return invalid([{ field: 'amount', code: 'must_be_positive', message: 'amount must be a positive integer of minor units.' }]);
  }
  if (kind === 'chargeback' && input.to === 'balance') {
    return invalid([{ field: 'to', code: 'invalid_value', message: 'A chargeback returns money through the card network; only a refund can go to balance.' }]);
  }
  return engine.store.transaction(async (tx) => {
    // Its writes are the invoice's customer's rows, and a referral's claw-back's, which names its own.
    const found = await tx.billing.invoice(input.invoice);
    if (found) tx.scopeWritesTo([found.customerId]);
    return createReturnIn(engine, tx, kind, input, defaultShortfall);
  });
}

/** The same, inside a transaction the caller holds (a refund or dispute that arrives from a provider's event). */
export async function createReturnIn(engine: Engine, tx: StoreTx, kind: ReturnRecord['kind'], input: ReturnInput, defaultShortfall: ShortfallHandling = 'debt'): Promise<Outcome<ReturnRecord>> {
  {
    const found = await tx.billing.invoice(input.invoice);
    if (!found) return notFound('invoice', input.invoice);
    // A refund of the invoice that rewarded a referral claws the reward back, which locks the referrer.
    await tx.lockCustomers([found.customerId], { referrerRewardedBy: found.id });
    const invoice = (await tx.billing.invoice(found.id))!;
    if (invoice.status === 'void') {
      // A void invoice collected no money, and its void gave back what the balance paid as a new
      // note: a return on it would give the same money back twice.
      return fail('invoice_void', 'The invoice is void: what the balance paid on it was given back when it was voided.', {
        fields: [{ field: 'invoice', code: 'invoice_void', message: 'the invoice is void' }],
      });
    }
    const returns = await tx.returns.forInvoice(invoice.id);
    const facts = { amountPaidMinor: invoice.amountPaidMinor, balanceAppliedMinor: invoice.balanceAppliedMinor, returnedAsMoneyMinor: 0n, returnedToBalanceMinor: 0n };
    for (const r of returns) {
      if (r.status === 'won') continue;
      if (r.destination === 'balance') facts.returnedToBalanceMinor += r.amountMinor;
      else facts.returnedAsMoneyMinor += r.amountMinor;
    }
    // A refund gives back no money the customer has back already: the unused time of this
    // invoice's fee that a later change or cancellation credited beyond its own charges, kept as
    // a credit note (a chargeback comes from the card network whatever was credited).
    // That includes its part of a note for a later fee's unused time when this invoice's fee
    // credit paid part of that fee (`noteShares`: a chain of plan changes).
    let creditedMinor = 0n;
    if (kind === 'refund') for (const s of await tx.creditNotes.sharesOnInvoice(invoice.id)) creditedMinor += s.amountMinor;
    const before = { ...facts };
    facts.returnedToBalanceMinor += creditedMinor;
    const limitMinor = returnableMinor(facts, input.to === 'balance' ? 'balance' : 'money');
    const amountMinor = BigInt(input.amount);
    if (amountMinor > limitMinor) {
      const paidFromBalance = invoice.balanceAppliedMinor > 0n && input.to !== 'balance' ? ' (what the balance paid can be refunded only to the balance)' : '';
      const credited = creditedMinor > 0n ? `, less ${creditedMinor} of its fee's unused time already credited as balance` : '';
      const shownMinor = limitMinor > 0n ? limitMinor : 0n;
      return fail('amount_exceeds_paid', `At most ${shownMinor} minor units can be returned on this invoice: paid less earlier refunds and chargebacks${credited}${paidFromBalance}.`, {
        fields: [{ field: 'amount', code: 'amount_exceeds_paid', message: 'more than was paid less earlier refunds' }],
        details: { returnable: minorToJson(shownMinor) },
      });
    }
    const customer = (await tx.customers.find(invoice.customerId))!;
    const nowMs = await customerNow(engine, tx, customer);
    const grants = (await tx.grants.forInvoice(invoice.id)).filter((g) => g.source !== 'rollover' && g.status !== 'pending');
    // What the invoice granted, once: a grant that restores credits revoked while it was
    // uncollectible (src/engine/invoice-settlement.ts) gives back part of one counted already.
    let grantedMicro = 0n;
    for (const g of grants) if (g.metadata.restores === undefined) grantedMicro += g.creditsMicro;
    const earlier = returns.filter((r) => r.status !== 'won');
    for (const r of earlier) if (input.credit_policy === 'full') grantedMicro -= r.creditsTargetMicro;
    if (grantedMicro < 0n) grantedMicro = 0n;
    const live = grants.filter((g) => g.status === 'active' && (g.expiresAtMs === null || g.expiresAtMs > nowMs));
    // Credits a hold took from these grants are not spent yet: they count as left, and what the
    // claw-back needs of them comes back from the holds first (`releaseHeld`).
    const held = await heldOf(tx, invoice.customerId, new Set(live.map((g) => g.id)));
    let remainingMicro = 0n;
    for (const g of live) remainingMicro += g.remainingMicro;
    const claw = clawBack(input.credit_policy, grantedMicro, remainingMicro + heldTotal(held), amountMinor, invoice.totalMinor);
    const handling = input.shortfall ?? defaultShortfall;
    const record: ReturnRecord = {
      id: engine.ids.next(kind === 'refund' ? 'ref' : 'cbk'),
      kind,
      customerId: invoice.customerId,
      invoiceId: invoice.id,
      amountMinor,
      currency: invoice.currency,
      reason: input.reason,
      creditPolicy: input.credit_policy,
      creditsGrantedMicro: grantedMicro,
      creditsTargetMicro: claw.targetMicro,
      creditsRevokedMicro: claw.revokeMicro,
      creditsShortfallMicro: claw.shortfallMicro,
      shortfallHandling: handling,
      status: kind === 'refund' ? 'succeeded' : 'open',
      txnId: null,
      restoreTxnId: null,
      provider: input.provider ?? null,
      providerRef: input.provider_ref ?? null,
      createdAtMs: nowMs,
      closedAtMs: null,
      destination: input.to ?? 'cash',
      creditNoteId: null,
      notesReversedMinor: 0n,
      notesShortfallMinor: 0n,
    };
    const changes = new Changes(engine);
    // A chargeback is not refused for a fee credited back already: it takes that credit back instead.
    if (kind === 'chargeback') await reverseCreditedNotes(engine, tx, changes, record, invoice, before, returns, nowMs);
    if (record.destination === 'balance') {
      // Money paid in cash comes back as balance, so the note can be paid out later if asked; what
      // a goodwill note paid comes back as balance that is not refundable, as it was.
      const refundable = !(await paidByNonRefundableBalance(tx, invoice));
      record.creditNoteId = (await issueCreditNote(engine, tx, changes, {
        customer, amountMinor, source: 'refund', reason: input.reason, refundable, invoiceId: invoice.id, refundId: record.id,
      }, nowMs)).id;
    }
    if (claw.revokeMicro > remainingMicro) {
      const back = await releaseHeld(tx, changes, held, claw.revokeMicro - remainingMicro, record.id, nowMs);
      for (const g of live) g.remainingMicro += back.get(g.id) ?? 0n;
    }
    const entries: LedgerEntry[] = takeFrom(live.filter((g) => g.remainingMicro > 0n), claw.revokeMicro);
    let revokedTotal = claw.revokeMicro;
    if (claw.shortfallMicro > 0n && handling === 'debt') {
      entries.push({ account: accounts.debt, amountMicro: -claw.shortfallMicro });
      revokedTotal += claw.shortfallMicro;
    }
    if (revokedTotal > 0n) {
      entries.push({ account: accounts.revoked, amountMicro: revokedTotal });
      record.txnId = changes.txn({
        customerId: invoice.customerId, kind: 'revoke', cause: { type: kind, id: record.id }, refs: { invoice: invoice.id }, effectiveAtMs: nowMs, entries,
      }).id;
    }
    await tx.returns.insert(record);
    if (kind === 'refund') invoice.amountRefundedMinor += amountMinor;
    else invoice.amountChargedBackMinor += amountMinor;
    await tx.billing.updateInvoiceState(invoice);
    changes.event(`${kind}.created`, invoice.customerId, {
      [kind]: record.id, invoice: invoice.id, amount: input.amount, credit_policy: input.credit_policy,
      credits_revoked: formatCredits(claw.revokeMicro), credits_shortfall: formatCredits(claw.shortfallMicro), shortfall: handling,
      ...(kind === 'refund' ? { to: record.destination, credit_note: record.creditNoteId } : {
        credit_notes_reversed: minorToJson(record.notesReversedMinor), credit_notes_shortfall: minorToJson(record.notesShortfallMinor),
      }),
    }, nowMs);
    await changes.flush(tx);
    if (kind === 'refund') await clawBackReferral(engine, tx, changes, record, invoice, nowMs);
    await refreshSignalsNow(tx, changes, (await tx.customers.find(invoice.customerId))!, nowMs);
    await changes.flush(tx);
    return ok(record);
  }
}

/**
 * Closes a chargeback. Lost: the claw-back stands. Won: the money comes back and a linked
 * transaction restores exactly what was revoked (credits whose grant has meanwhile expired or been
 * voided go to `expired` / `revoked` instead, so nothing comes back to life).
 */
export async function closeChargeback(engine: Engine, id: string, outcome: 'won' | 'lost'): Promise<Outcome<ReturnRecord>> {
  return engine.store.transaction(async (tx) => {
    // Its writes are the chargeback's customer's rows, and a referral's claw-back's, which names its own.
    const found = await tx.returns.get(id);
    if (found) tx.scopeWritesTo([found.customerId]);
    return closeChargebackIn(engine, tx, id, outcome);
  });
}

/** The same, inside a transaction the caller holds. */
export async function closeChargebackIn(engine: Engine, tx: StoreTx, id: string, outcome: 'won' | 'lost'): Promise<Outcome<ReturnRecord>> {
  {
    const found = await tx.returns.get(id);
    if (!found || found.kind !== 'chargeback') return notFound('chargeback', id);
    // Lost, it claws back the reward of a referral its invoice gave, which locks the referrer.
    await tx.lockCustomers([found.customerId], { referrerRewardedBy: found.invoiceId });
    const record = (await tx.returns.get(found.id))!;
    if (record.status !== 'open') return fail('chargeback_closed', `The chargeback is ${record.status} already.`);
    const customer = (await tx.customers.find(record.customerId))!;
    const nowMs = await customerNow(engine, tx, customer);
    const changes = new Changes(engine);
    record.status = outcome;
    record.closedAtMs = nowMs;
    if (outcome === 'won') {
      const invoice = (await tx.billing.invoice(record.invoiceId))!;
      invoice.amountChargedBackMinor -= record.amountMinor;
      await tx.billing.updateInvoiceState(invoice);
      await restoreReversedNotes(engine, tx, changes, record, nowMs);
      if (record.txnId) {
        const [revoke] = await tx.ledger.transactions([record.txnId]);
        const grantIds = revoke!.entries.filter((e) => e.account.startsWith('grant:')).map((e) => e.account.slice(6));
        const grants = new Map((await tx.grants.getMany(grantIds)).map((g) => [g.id, g]));
        // Debt recorded as shortfall may have been paid down since by later credits: restore only
        // what is still owed, and give the rest back as credits.
        const owedMicro = -(await tx.ledger.balance(record.customerId, accounts.debt));
        let repaidMicro = 0n;
        const entries: LedgerEntry[] = revoke!.entries.map((e) => {
          if (e.account === accounts.debt) {
            const back = -e.amountMicro < owedMicro ? -e.amountMicro : owedMicro > 0n ? owedMicro : 0n;
            repaidMicro = -e.amountMicro - back;
            return { account: accounts.debt, amountMicro: back };
          }
          const grant = e.account.startsWith('grant:') ? grants.get(e.account.slice(6)) : undefined;
          const usable = !grant || (grant.status === 'active' && (grant.expiresAtMs === null || grant.expiresAtMs > nowMs));
          return { account: usable ? e.account : grant!.status === 'voided' ? accounts.revoked : accounts.expired, amountMicro: -e.amountMicro };
        });
        if (repaidMicro > 0n) {
          const grant = newGrantRecord(engine, customer, nowMs, {
            creditsMicro: repaidMicro, category: 'paid', source: 'adjustment', priority: 50, effectiveAtMs: nowMs, expiresAtMs: null,
            metadata: { reason: 'chargeback won after its debt was repaid', chargeback: record.id },
          });
          await tx.grants.insert(grant);
          entries.push({ account: accounts.grant(grant.id), amountMicro: repaidMicro });
          changes.event('grant.created', customer.id, { grant: grant.id, customer: customer.id, credits: formatCredits(repaidMicro), source: grant.source }, nowMs);
        }
        // Credits of a grant voided since stay revoked: when every grant it took from was voided
        // and no debt is left to cancel, the restore moves nothing and is not written.
        const restore = compactEntries(entries);
        if (restore.length > 0) {
          record.restoreTxnId = changes.txn({
            customerId: record.customerId, kind: 'restore', cause: { type: 'chargeback', id: record.id }, refs: { invoice: record.invoiceId, restores: record.txnId },
            effectiveAtMs: nowMs, entries: restore,
          }).id;
        }
      }
    }
    await tx.returns.close(record);
    if (outcome === 'lost') await clawBackReferral(engine, tx, changes, record, (await tx.billing.invoice(record.invoiceId))!, nowMs);
    changes.event('chargeback.closed', record.customerId, { chargeback: record.id, outcome, invoice: record.invoiceId }, nowMs);
    await refreshSignalsNow(tx, changes, (await tx.customers.find(record.customerId))!, nowMs);
    await changes.flush(tx);
    return ok(record);
  }
}
