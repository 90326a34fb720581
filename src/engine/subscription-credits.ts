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
 *
 * A subscription that ended within or at the end of a period (`sub.endedAtMs`, or `endingAtMs`
 * for the cancellation being made) also owns the usage stamped up to `aheadMs` (how far ahead of the customer's clock
 * an event may be stamped) after its end's millisecond (`ownedAfterEnd`): usage stamped there may
 * have been charged while it ran, and no other subscription bills it.
 */
export async function overageLines(
  tx: StoreTx, sub: SubscriptionRecord, upToMs: number, lookbackMs: number, aheadMs: number, endingAtMs: number | null = null,
): Promise<LineDraft[]> {
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
  const endedAtMs = sub.endedAtMs ?? endingAtMs;
  // Read once, and only for a window that starts where an ended subscription's usage may reach.
  let ownedUntil: number | null | undefined;
  for (const period of periods) {
    for (const phase of pricedPhases) {
      const startMs = Math.max(phase.startAtMs, period.periodStartMs);
      const endMs = Math.min(phase.endAtMs ?? period.periodEndMs, period.periodEndMs);
      if (startMs < sub.anchorAtMs + 1 + aheadMs && ownedUntil === undefined) ownedUntil = await usageOwnedByPredecessorUntil(tx, sub, aheadMs);
      // The window keeps its start as its key; its usage starts later where those instants are an
      // ended subscription's (`usageOwnedByPredecessorUntil`).
      const usageStartMs = ownedUntil != null && ownedUntil > startMs ? ownedUntil : startMs;
      // An ended subscription owns the usage of its end's own millisecond (its final invoice billed
      // up to it) and what follows it within `aheadMs` (`ownedAfterEnd`), so the
      // window its end cut counts them too: that of the last phase alone. A phase that began and
      // ended at that same millisecond (a plan changed and the subscription canceled at once) owns
      // none of it, or its line would bill that usage a second time.
      const cut = endedAtMs !== null && phase === lastPhase && (phase.endAtMs ?? endedAtMs) === endedAtMs
        && endedAtMs >= period.periodStartMs && endedAtMs <= period.periodEndMs;
      const usageEndMs = cut ? ownedAfterEnd(endedAtMs, aheadMs) : endMs;
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
 * The first instant whose usage is no longer owned by a subscription that ended at `endedAtMs`
 * (canceled at once, by dunning, or at its period's end): it owns its end's millisecond and the
 * `aheadMs` after it, where usage stamped ahead of the customer's clock (PRODUCT §5) may have
 * been charged to overage while it still ran. Its final invoice bills what was charged there
 * before it ended, and its closing correction what came after, at its plan's price: before,
 * overage stamped 00:03 and charged before a cancellation at 00:00 (or before the renewal that
 * ended a period at 00:00) was billed by no invoice.
 */
export function ownedAfterEnd(endedAtMs: number, aheadMs: number): number {
  return endedAtMs + 1 + aheadMs;
}

/**
 * When an earlier subscription of the customer ended (within or at the end of a period) at or
 * shortly before this one began, so that it owns the usage of this one's first instants (`ownedAfterEnd`): the first
 * instant this one owns; else null. A customer who resubscribed at the instant of a cancellation
 * (or within `aheadMs` of it) is billed that usage's overage once, by the ended subscription, and
 * the new one's first renewal does not settle it. A subscription that ended before it began owns
 * no instant after its end.
 */
export async function usageOwnedByPredecessorUntil(tx: StoreTx, sub: SubscriptionRecord, aheadMs: number): Promise<number | null> {
  const subs = await tx.billing.subscriptionsOf([sub.customerId]);
  let until: number | null = null;
  for (const s of subs) {
    if (s.id === sub.id || s.periodIndex < 0 || s.endedAtMs === null || s.endedAtMs > s.periodEndMs || s.endedAtMs > sub.anchorAtMs) continue;
    const owned = ownedAfterEnd(s.endedAtMs, aheadMs);
    if (owned > sub.anchorAtMs && (until === null || owned > until)) until = owned;
  }
  return until;
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
 * that period's, billed by the renewal's own invoice, and the first instants of a subscription
 * begun at or just after the instant another ended within a period are the ended one's
 * (`usageOwnedByPredecessorUntil`, `aheadMs` the future tolerance). Overage with no
 * subscription period behind it is left as it is. Other grants with a past effective time do not
 * settle overage: a grant the API issues is usable from the time it names, and what usage charged
 * before it existed is settled by the invoice the customer receives, where overage stands for
 * credits bought then at the plan's price. Returns the credits settled.
 */
export async function settleOverage(
  tx: StoreTx, changes: Changes, sub: SubscriptionRecord, grants: readonly GrantRecord[], fromMs: number, toMs: number, nowMs: number, aheadMs: number,
): Promise<bigint> {
  const payers = grants.filter((g) => g.status === 'active' && g.remainingMicro > 0n);
  if (payers.length === 0) return 0n;
  // Nothing to settle unless the customer carries overage (one read of its balance, the usual case).
  if (await tx.ledger.balance(sub.customerId, accounts.overage) >= 0n) return 0n;
  // The first instants an earlier subscription that ended within a period owns are its own (its
  // final invoice billed their overage, its closing correction bills what comes later): none of it.
  if (fromMs < sub.anchorAtMs + 1 + aheadMs) {
    const ownedUntil = await usageOwnedByPredecessorUntil(tx, sub, aheadMs);
    if (ownedUntil !== null && ownedUntil > fromMs) fromMs = ownedUntil;
  }
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
