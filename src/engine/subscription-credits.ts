import { formatCredits, parseCredits } from '../core/decimal.ts';
import { accounts, type LedgerEntry } from '../core/ledger.ts';
import { overageLine, type LineDraft, type Plan } from '../core/plans.ts';
import type { CustomerRecord, GrantRecord, InvoiceRecord, SubscriptionRecord } from '../store/records.ts';
import type { StoreTx } from '../store/store.ts';
import type { Changes, Engine } from './context.ts';
import { issueGrant } from './grants.ts';
import { freezeFromMs } from '../core/dunning.ts';
import { burnDown, sortForBurnDown } from '../core/burn-down.ts';

/**
 * The credit side of a subscription, shared by renewal, change and cancellation: the allowance
 * grants of a period, revoking a share of them, and billing overage in arrears.
 */
export const allowanceSource = 'plan_allowance';

/**
 * A plan that prices overage turns the customer's overage on (it is never turned off here: the
 * customer may have asked for it), so usage beyond grants on that plan is billed, not carried as
 * debt. Applies when a subscription starts on the plan and when a change moves onto it.
 */
export async function enableOverageFor(tx: StoreTx, customer: CustomerRecord, plan: Plan): Promise<void> {
  if (plan.overageUnitScaled === null || customer.overageEnabled) return;
  customer.overageEnabled = true;
  await tx.customers.update(customer);
}

export async function periodAllowances(tx: StoreTx, sub: SubscriptionRecord, nowMs: number): Promise<GrantRecord[]> {
  const grants = await tx.grants.forPeriod(sub.id, sub.periodStartMs);
  return grants.filter((g) => g.status === 'active' && (g.expiresAtMs === null || g.expiresAtMs > nowMs) && g.remainingMicro > 0n);
}

export function leftOf(grants: readonly GrantRecord[]): bigint {
  let total = 0n;
  for (const g of grants) total += g.remainingMicro;
  return total;
}

/** Takes `amountMicro` from the grants, newest first, as ledger entries (negative amounts). */
export function takeFrom(grants: readonly GrantRecord[], amountMicro: bigint): LedgerEntry[] {
  const entries: LedgerEntry[] = [];
  let left = amountMicro;
  for (const g of [...grants].reverse()) {
    if (left <= 0n) break;
    const take = g.remainingMicro < left ? g.remainingMicro : left;
    if (take > 0n) entries.push({ account: accounts.grant(g.id), amountMicro: -take });
    left -= take;
  }
  return entries;
}

/**
 * Revokes the old allowance's share in one transaction caused by the invoice line: from the
 * period's allowance grants, plus (when spent credits could not be revoked nor offset against the
 * new grant) the rest as debt.
 */
export function revokeAllowance(
  changes: Changes, sub: SubscriptionRecord, grants: readonly GrantRecord[], credits: { revokeMicro: bigint; debtMicro: bigint },
  cause: { type: string; id: string }, refs: Record<string, string>, nowMs: number,
): void {
  const total = credits.revokeMicro + credits.debtMicro;
  if (total <= 0n) return;
  const entries = takeFrom(grants, credits.revokeMicro);
  if (credits.debtMicro > 0n) entries.push({ account: accounts.debt, amountMicro: -credits.debtMicro });
  entries.push({ account: accounts.revoked, amountMicro: total });
  changes.txn({ customerId: sub.customerId, kind: 'revoke', cause, refs: { ...refs, subscription: sub.id }, effectiveAtMs: nowMs, entries });
  changes.event('credits.revoked', sub.customerId, {
    subscription: sub.id, credits: formatCredits(credits.revokeMicro), debt: formatCredits(credits.debtMicro), cause: cause.id,
  }, nowMs);
}

export async function grantAllowance(
  engine: Engine, tx: StoreTx, changes: Changes, customer: CustomerRecord, sub: SubscriptionRecord,
  creditsMicro: bigint, periodStartMs: number, periodEndMs: number, invoice: InvoiceRecord | null, lineId: string | null, nowMs: number,
  flushLater = false,
): Promise<GrantRecord | null> {
  if (creditsMicro <= 0n) return null;
  return issueGrant(engine, tx, changes, customer, nowMs, {
    creditsMicro,
    category: 'paid',
    source: allowanceSource,
    priority: 50,
    effectiveAtMs: nowMs,
    expiresAtMs: periodEndMs,
    invoiceId: invoice?.id ?? null,
    invoiceLineId: lineId,
    subscriptionId: sub.id,
    periodStartMs,
    // An allowance paid for by an invoice still unpaid is usable only through the grace period.
    frozenFromMs: invoice && invoice.status !== 'paid' && invoice.dueAtMs !== null ? freezeFromMs(invoice.dueAtMs, engine.settings.unpaidGraceMs) : null,
    flushLater,
  });
}

/**
 * Overage lines for every recent period of the subscription, one per plan phase within it (so a
 * mid-period change prices the overage before it at the old plan and after it at the new one):
 * what usage pushed into overage in that window, less what earlier invoices already billed for it.
 * Late events (up to 35 days old) so land on a later invoice as a line that references their own
 * window. A window is keyed by its start, which never moves once the phase has begun.
 */
export async function overageLines(tx: StoreTx, sub: SubscriptionRecord, upToMs: number, lookbackMs: number): Promise<LineDraft[]> {
  const lines: LineDraft[] = [];
  const phases = await tx.billing.phases([sub.id]);
  const plans = await tx.billing.plansById(phases.map((p) => p.planId));
  // A plan that prices no overage bills none (`overageLine` is null for it whatever the usage), so
  // its windows need no reads of usage or earlier invoices: a renewal on such a plan reads none.
  const pricedPhases = phases.filter((phase) => plans.get(phase.planId)!.overageUnitScaled !== null);
  if (pricedPhases.length === 0) return lines;
  // Overage a void gave back since the current period began is owed again, however old its period:
  // this invoice is the next one, so its window reaches back to it (src/engine/invoices.ts, voidInvoice).
  const voidedFromMs = await tx.billing.voidedOverageSince(sub.id, sub.periodStartMs);
  const fromMs = voidedFromMs === null ? upToMs - lookbackMs : Math.min(upToMs - lookbackMs, voidedFromMs);
  const periods = (await tx.billing.periods(sub.id)).filter((p) => p.periodStartMs < upToMs && p.periodEndMs > fromMs);
  // In timeline order (start, then id): the last phase is the one the subscription's end cut.
  const lastPhase = phases[phases.length - 1];
  // Read once, and only for a window that starts where the subscription starts.
  let ownedBefore: number | null | undefined;
  for (const period of periods) {
    for (const phase of pricedPhases) {
      const startMs = Math.max(phase.startAtMs, period.periodStartMs);
      const endMs = Math.min(phase.endAtMs ?? period.periodEndMs, period.periodEndMs);
      if (startMs === sub.anchorAtMs && ownedBefore === undefined) ownedBefore = await endOwnedByPredecessor(tx, sub);
      // The window keeps its start as its key; its usage starts a millisecond later where that
      // millisecond is an ended subscription's (`endOwnedByPredecessor`).
      const usageStartMs = startMs === ownedBefore ? startMs + 1 : startMs;
      // A subscription that ended mid-period owns the usage of its end's own millisecond (its final
      // invoice billed up to it), so the window its end cut counts that millisecond too: that of
      // the last phase alone. A phase that began and ended at that same millisecond (a plan changed
      // and the subscription canceled at once) owns none of it, or its line would bill that
      // millisecond's usage a second time.
      const usageEndMs = sub.endedAtMs !== null && phase === lastPhase && phase.endAtMs === sub.endedAtMs && endMs < period.periodEndMs ? endMs + 1 : endMs;
      if (usageEndMs <= usageStartMs || usageStartMs >= upToMs) continue;
      const consumed = await tx.billing.overageConsumed(sub.customerId, usageStartMs, Math.min(usageEndMs, upToMs));
      const billed = await tx.billing.overageBilled(sub.id, startMs);
      const line = overageLine(plans.get(phase.planId)!, consumed - billed, startMs, endMs);
      // A line whose money rounds to zero is billed all the same: it moves its credits out of `overage`.
      if (line) lines.push({ ...line, refs: { ...line.refs, subscription: sub.id } });
    }
  }
  return lines;
}

/**
 * The instant this subscription began when an earlier subscription of the customer ended at that
 * very instant within a period (canceled at once, or by dunning), else null. An ended
 * subscription owns the usage of its end's millisecond (its final invoice billed up to it, and its
 * closing correction bills what arrives for it later), so the new one's usage starts a millisecond
 * later: a customer who resubscribed at the instant of a cancellation is billed that millisecond's
 * overage once. A subscription that ended at its period's end, or before it began, owns none of
 * that instant.
 */
async function endOwnedByPredecessor(tx: StoreTx, sub: SubscriptionRecord): Promise<number | null> {
  const subs = await tx.billing.subscriptionsOf([sub.customerId]);
  const owned = subs.some((s) => s.id !== sub.id && s.periodIndex >= 0 && s.endedAtMs === sub.anchorAtMs && s.endedAtMs < s.periodEndMs);
  return owned ? sub.anchorAtMs : null;
}

/**
 * Usage stamped in a new period may be charged before the renewal that grants the period's
 * credits runs: stamped up to five minutes ahead of the clock (PRODUCT §5), or charged between
 * the period's end and the scheduler's tick. No grant was usable at its time then, so it went to
 * overage. The renewal's grants are usable from the period's start, so they pay that overage as
 * they would have paid the usage: per time of the usage, in burn-down order among `grants` (live,
 * not frozen at that time, up to what each has left), one `overage_settlement` transaction
 * caused by the first grant that pays, effective at the usage's time, moving the credits from the
 * grants to `overage`. The overage totals invoices bill from count it (it is effective where the
 * usage is), so the period's invoice bills only what the grants could not pay. An immediate plan
 * change's prorated allowance, usable from the change's instant, so pays the overage of usage
 * stamped from that instant on and charged before the change ran.
 *
 * Only the window [fromMs, toMs) of the new period (or of the period's rest after a change), which
 * no invoice has billed yet (the renewal bills periods before it): overage of an earlier period is
 * that period's, billed by the renewal's own invoice, and the first millisecond of a subscription
 * begun at the instant another ended within a period is the ended one's. Overage with no
 * subscription period behind it is left as it is. Other grants with a past effective time do not
 * settle overage: a grant the API issues is usable from the time it names, and what usage charged
 * before it existed is settled by the invoice the customer receives, where overage stands for
 * credits bought then at the plan's price. Returns the credits settled.
 */
export async function settleOverage(
  tx: StoreTx, changes: Changes, sub: SubscriptionRecord, grants: readonly GrantRecord[], fromMs: number, toMs: number, nowMs: number,
): Promise<bigint> {
  const payers = grants.filter((g) => g.status === 'active' && g.remainingMicro > 0n);
  if (payers.length === 0) return 0n;
  // Nothing to settle unless the customer carries overage (one read of its balance, the usual case).
  if (await tx.ledger.balance(sub.customerId, accounts.overage) >= 0n) return 0n;
  // The millisecond an earlier subscription ended on within a period is its own (its final invoice
  // billed that millisecond's overage, its closing correction bills what comes later): none of it.
  if (fromMs === sub.anchorAtMs && await endOwnedByPredecessor(tx, sub) === fromMs) fromMs += 1;
  const owed = await tx.billing.overageByTime(sub.customerId, fromMs, toMs);
  if (owed.length === 0) return 0n;
  // Settlements of this unit of work not written yet (another subscription's renewal of the customer).
  const pending = new Map<number, bigint>();
  for (const t of changes.txns) {
    if (t.customerId !== sub.customerId || t.kind !== 'overage_settlement') continue;
    for (const e of t.entries) if (e.account === accounts.overage) pending.set(t.effectiveAtMs, (pending.get(t.effectiveAtMs) ?? 0n) + e.amountMicro);
  }
  const sorted = sortForBurnDown(payers.map((g, i) => ({
    id: g.id, remainingMicro: g.remainingMicro, priority: g.priority, expiresAtMs: g.expiresAtMs, category: g.category,
    effectiveAtMs: g.effectiveAtMs, creationSeq: i, frozenFromMs: g.frozenFromMs, unfrozenAtMs: g.unfrozenAtMs,
  })));
  const records = new Map(payers.map((g) => [g.id, g]));
  let total = 0n;
  for (const o of owed) {
    const burn = burnDown(sorted, o.creditsMicro - (pending.get(o.atMs) ?? 0n), o.atMs);
    if (burn.allocations.length === 0) continue;
    let settled = 0n;
    const entries: LedgerEntry[] = [];
    for (const a of burn.allocations) {
      entries.push({ account: accounts.grant(a.grantId), amountMicro: -a.amountMicro });
      settled += a.amountMicro;
      sorted.find((g) => g.id === a.grantId)!.remainingMicro -= a.amountMicro;
      records.get(a.grantId)!.remainingMicro -= a.amountMicro;
    }
    entries.push({ account: accounts.overage, amountMicro: settled });
    changes.txn({
      customerId: sub.customerId, kind: 'overage_settlement', cause: { type: 'grant', id: burn.allocations[0]!.grantId },
      refs: { subscription: sub.id, ...Object.fromEntries(burn.allocations.map((a, i) => [i === 0 ? 'grant' : `grant_${i + 1}`, a.grantId])), usage_at: new Date(o.atMs).toISOString() },
      effectiveAtMs: o.atMs, entries,
    });
    total += settled;
  }
  if (total > 0n) {
    changes.event('overage.settled', sub.customerId, {
      subscription: sub.id, customer: sub.customerId, grants: payers.map((g) => g.id), credits: formatCredits(total),
    }, nowMs);
  }
  return total;
}

/** Moves invoiced overage out of the customer's `overage` account, caused by its invoice line. */
export function postOverageInvoiced(changes: Changes, invoice: InvoiceRecord, nowMs: number): void {
  moveOverage(changes, invoice, nowMs, 'billed');
}

/**
 * A voided invoice bills nothing, its overage lines included: what they moved out of the
 * customer's `overage` account goes back to it, caused by the invoice, so the overage is owed
 * again and the next invoice that bills the period (a renewal, a final or closing invoice) bills
 * it, as it counts only lines of invoices that are not void. Without this the next invoice moved
 * the same credits out a second time.
 */
export function giveOverageBack(changes: Changes, invoice: InvoiceRecord, nowMs: number): void {
  moveOverage(changes, invoice, nowMs, 'voided');
}

function moveOverage(changes: Changes, invoice: InvoiceRecord, nowMs: number, why: 'billed' | 'voided'): void {
  for (const line of invoice.lines) {
    if (line.type !== 'overage') continue;
    const parsed = parseCredits(line.quantity);
    if (!parsed.ok) continue;
    const creditsMicro = why === 'billed' ? parsed.value : -parsed.value;
    const entries: LedgerEntry[] = [{ account: accounts.overage, amountMicro: creditsMicro }, { account: accounts.invoicedOverage, amountMicro: -creditsMicro }];
    changes.txn({
      customerId: invoice.customerId,
      kind: 'overage_invoiced',
      cause: why === 'billed' ? { type: 'invoice_line', id: line.id } : { type: 'invoice', id: invoice.id },
      refs: { invoice: invoice.id, invoice_line: line.id },
      effectiveAtMs: nowMs,
      entries,
    });
  }
}
