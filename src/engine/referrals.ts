import { clawBack } from '../core/claw-back.ts';
import { formatCredits } from '../core/decimal.ts';
import { fail, invalid, ok, type Outcome } from '../core/errors.ts';
import { accounts } from '../core/ledger.ts';
import { withinClawBackWindow } from '../core/promotions.ts';
import type { Metadata, InvoiceRecord, ReturnRecord } from '../store/records.ts';
import type { ReferralClawBackRecord, ReferralRecord } from '../store/promotion-records.ts';
import type { StoreTx } from '../store/store.ts';
import { Changes, customerNow, type Engine } from './context.ts';
import { availableOf, loadFunding, refreshSignals } from './funding.ts';
import { issueGrant } from './grants.ts';
import { FieldCheck } from './input.ts';
import { heldOf, heldTotal, releaseHeld } from './holds.ts';

export interface CreateReferralInput {
  referrer: string;
  referred: string;
  reward_credits: string;
  referred_credits?: string | undefined;
  metadata?: Metadata | undefined;
}

/**
 * Records that `referrer` brought `referred`. Nothing is granted yet: the rewards come when the
 * referred customer's first invoice is paid (`rewardReferral`). A customer can be referred once
 * (the unique index on `referred_id` settles a race between servers), cannot refer itself, and
 * must not have paid money on an invoice yet, or its first payment has already happened.
 */
export async function createReferral(engine: Engine, input: CreateReferralInput): Promise<Outcome<ReferralRecord>> {
  const check = new FieldCheck();
  const rewardMicro = check.credits('reward_credits', input.reward_credits, { positive: true });
  const referredMicro = input.referred_credits === undefined ? null : check.credits('referred_credits', input.referred_credits, { positive: true });
  const metadata = check.metadata('metadata', input.metadata);
  if (check.errors.length) return invalid(check.errors);
  return engine.store.transaction(async (tx) => {
    const referrer = await tx.customers.find(input.referrer);
    const referred = await tx.customers.find(input.referred);
    const missing = [];
    if (!referrer) missing.push({ field: 'referrer', code: 'customer_not_found', message: `No customer ${JSON.stringify(input.referrer)}.` });
    if (!referred) missing.push({ field: 'referred', code: 'customer_not_found', message: `No customer ${JSON.stringify(input.referred)}.` });
    if (!referrer || !referred) return fail('customer_not_found', missing[0]!.message, { fields: missing });
    if (referrer.id === referred.id) {
      return fail('referral_to_self', 'A customer cannot refer itself.', { fields: [{ field: 'referred', code: 'referral_to_self', message: 'referred is the referrer' }] });
    }
    await tx.lockCustomers([referrer.id, referred.id]);
    tx.scopeWritesTo([referrer.id, referred.id]);
    const earlier = await tx.referrals.ofReferred(referred.id);
    if (earlier) {
      return fail('customer_already_referred', `The customer was referred already (${earlier.id}).`, {
        fields: [{ field: 'referred', code: 'customer_already_referred', message: 'a customer can be referred once' }], details: { referral: earlier.id },
      });
    }
    if ((await tx.promotions.customerHistory(referred.id)).payments > 0) {
      return fail('referral_not_eligible', 'The referred customer has paid money on an invoice already; a referral rewards the first payment.', {
        fields: [{ field: 'referred', code: 'referral_not_eligible', message: 'has paid before' }],
      });
    }
    const nowMs = await customerNow(engine, tx, referred);
    const referral: ReferralRecord = {
      id: engine.ids.next('rfl'), referrerId: referrer.id, referredId: referred.id, rewardCreditsMicro: rewardMicro, referredCreditsMicro: referredMicro,
      status: 'pending', invoiceId: null, referrerGrantId: null, referredGrantId: null, rewardedAtMs: null, metadata, createdAtMs: nowMs,
    };
    await tx.referrals.insert(referral);
    const changes = new Changes(engine);
    changes.event('referral.created', referrer.id, {
      referral: referral.id, referrer: referrer.id, referred: referred.id, reward_credits: formatCredits(rewardMicro),
      referred_credits: referredMicro === null ? null : formatCredits(referredMicro),
    }, nowMs);
    await changes.flush(tx);
    return ok(referral);
  });
}

/**
 * Called by the payment flow, inside its transaction, when an invoice becomes paid: if it is the
 * first invoice of a referred customer paid with money (not only from the balance) whose
 * referral is pending, the referrer (and, when set, the referred customer) get promotional grants
 * of source `referral`, linked to the referral and the invoice, and the referral is marked
 * rewarded, with a `referral.rewarded` event. An invoice the balance paid in full rewards nothing:
 * the balance of a customer who has paid no money is goodwill or the credit of a fee never paid,
 * and balance that earlier money became came from an invoice that rewarded already.
 */
export async function rewardReferral(engine: Engine, tx: StoreTx, changes: Changes, invoice: InvoiceRecord, nowMs: number): Promise<void> {
  if (invoice.totalMinor <= 0n || invoice.amountPaidMinor <= invoice.balanceAppliedMinor) return;
  const referral = await tx.referrals.ofReferred(invoice.customerId);
  if (!referral || referral.status !== 'pending') return;
  await tx.lockCustomers([referral.referrerId, referral.referredId]);
  // The referrer is another customer than the one paying: a scoped use case (a purchase) names it too.
  tx.widenWriteScope([referral.referrerId, referral.referredId]);
  const owners = await tx.customers.findMany([referral.referrerId, referral.referredId]);
  const grantTo = async (customerId: string, creditsMicro: bigint): Promise<string> => {
    const customer = owners.get(customerId)!;
    const atMs = customerId === invoice.customerId ? nowMs : await customerNow(engine, tx, customer);
    const grant = await issueGrant(engine, tx, changes, customer, atMs, {
      creditsMicro, category: 'promotional', source: 'referral', priority: 50, effectiveAtMs: atMs, expiresAtMs: null,
      metadata: { referral: referral.id, invoice: invoice.id }, refs: { referral: referral.id, invoice: invoice.id },
    });
    return grant.id;
  };
  referral.referrerGrantId = await grantTo(referral.referrerId, referral.rewardCreditsMicro);
  if (referral.referredCreditsMicro !== null) referral.referredGrantId = await grantTo(referral.referredId, referral.referredCreditsMicro);
  referral.status = 'rewarded';
  referral.invoiceId = invoice.id;
  referral.rewardedAtMs = nowMs;
  await tx.referrals.markRewarded(referral);
  changes.event('referral.rewarded', referral.referrerId, {
    referral: referral.id, invoice: invoice.id, referrer: referral.referrerId, referred: referral.referredId,
    referrer_grant: referral.referrerGrantId, referred_grant: referral.referredGrantId,
  }, nowMs);
  await changes.flush(tx);
}

/**
 * Called inside a refund's transaction (and a chargeback's when it is lost): when the invoice is
 * the one that rewarded a referral, no more than 60 days ago, the unspent part of both rewards is
 * revoked by the `unused_only` policy (the returned share of each reward, at most what is left of
 * it). Each revoke is its own ledger transaction (the rewards belong to two customers), caused by a
 * claw-back record that names the refund or chargeback.
 */
export async function clawBackReferral(engine: Engine, tx: StoreTx, changes: Changes, r: ReturnRecord, invoice: InvoiceRecord, nowMs: number): Promise<ReferralClawBackRecord[]> {
  const referral = await tx.referrals.forInvoice(invoice.id);
  if (!referral || referral.rewardedAtMs === null || !withinClawBackWindow(referral.rewardedAtMs, nowMs)) return [];
  await tx.lockCustomers([referral.referrerId, referral.referredId]);
  tx.widenWriteScope([referral.referrerId, referral.referredId]);
  const done: ReferralClawBackRecord[] = [];
  for (const grantId of [referral.referrerGrantId, referral.referredGrantId]) {
    if (!grantId) continue;
    const grant = (await tx.grants.get(grantId))!;
    const ownerNowMs = grant.customerId === invoice.customerId ? nowMs : await customerNow(engine, tx, (await tx.customers.find(grant.customerId))!);
    const usable = grant.status === 'active' && (grant.expiresAtMs === null || grant.expiresAtMs > ownerNowMs);
    // What a hold took of the reward is not spent yet: it counts as unused, and comes back from the hold first.
    const held = usable ? await heldOf(tx, grant.customerId, new Set([grantId])) : [];
    const claw = clawBack('unused_only', grant.creditsMicro, usable ? grant.remainingMicro + heldTotal(held) : 0n, r.amountMinor, invoice.totalMinor);
    const record: ReferralClawBackRecord = {
      id: engine.ids.next('rcb'), referralId: referral.id, returnId: r.id, customerId: grant.customerId, grantId, creditsMicro: claw.revokeMicro, txnId: null, createdAtMs: ownerNowMs,
    };
    if (claw.revokeMicro > grant.remainingMicro) await releaseHeld(tx, changes, held, claw.revokeMicro - grant.remainingMicro, record.id, ownerNowMs);
    if (claw.revokeMicro > 0n) {
      record.txnId = changes.txn({
        customerId: grant.customerId, kind: 'revoke', cause: { type: 'referral_claw_back', id: record.id },
        refs: { [r.kind]: r.id, invoice: invoice.id, referral: referral.id, grant: grantId }, effectiveAtMs: ownerNowMs,
        entries: [{ account: accounts.grant(grantId), amountMicro: -claw.revokeMicro }, { account: accounts.revoked, amountMicro: claw.revokeMicro }],
      }).id;
    }
    await tx.referrals.insertClawBack(record);
    changes.event('referral.clawed_back', grant.customerId, {
      referral: referral.id, [r.kind]: r.id, invoice: invoice.id, grant: grantId, customer: grant.customerId, credits: formatCredits(claw.revokeMicro), transaction: record.txnId,
    }, ownerNowMs);
    done.push(record);
  }
  await changes.flush(tx);
  for (const c of done) {
    if (c.creditsMicro === 0n) continue;
    const customer = (await tx.customers.find(c.customerId))!;
    const funding = (await loadFunding(tx, [customer], new Map([[customer.id, c.createdAtMs]]))).get(customer.id)!;
    await refreshSignals(tx, changes, customer, availableOf(funding), c.createdAtMs);
  }
  await changes.flush(tx);
  return done;
}
