import { burnDown, compareBurnDownOrder, type BurnableGrant } from '../core/burn-down.ts';
import { sortInPlace } from '../core/sort-in-place.ts';
import { nextSignals } from '../core/balance.ts';
import { accounts, type LedgerEntry, type LedgerTransaction } from '../core/ledger.ts';
import type { SpendableGrant } from '../store/queries/ledger.ts';
import { isGrantUsable, type UsableGrant } from '../core/burn-down.ts';
import type { CustomerRecord } from '../store/records.ts';
import type { StoreTx } from '../store/store.ts';
import type { Changes } from './context.ts';
import { formatCredits } from '../core/decimal.ts';

/**
 * One customer's spendable credits inside a store transaction: its active grants in burn-down
 * order with their remaining amounts kept current in memory, so a batch rates every event against
 * what the previous events left. An optional hold is spent first (hold capture).
 */
export interface CustomerFunding {
  customer: CustomerRecord;
  nowMs: number;
  grants: BurnableGrant[];
  hold: { id: string; remainingMicro: bigint } | null;
  /** A payment from this funding recorded debt (what the grants usable at its time could not cover). */
  postedDebt: boolean;
}

export interface Payment {
  entries: LedgerEntry[];
  /** Credits a late event takes back from `expired`, per expired grant (see `reclaimTxn`). */
  reclaims: { grantId: string; expiresAtMs: number; amountMicro: bigint }[];
  paidBy: { grant: string; credits: string }[];
  overageMicro: bigint;
  debtMicro: bigint;
}

/**
 * Loads funding for many customers with one query. `lateSince` names, per customer, the earliest
 * timestamp of the late events about to be paid: grants expired after it are loaded too, with
 * what their expiry took (PRODUCT §5), so those events can be paid by the grants live at their time.
 */
export async function loadFunding(
  tx: StoreTx, customers: readonly CustomerRecord[], nows: Map<string, number>, lateSince?: ReadonlyMap<string, number>,
): Promise<Map<string, CustomerFunding>> {
  const grants = await tx.ledger.spendableGrants(customers.map((c) => c.id));
  const late = lateSince !== undefined && lateSince.size > 0;
  const expired = late ? await tx.ledger.expiredGrantsSince([...lateSince.keys()], earliestOf(lateSince)) : [];
  return fundingFrom(customers, nows, grants, expired, lateSince);
}

/** The earliest of the late events' times: expired grants are read back to it. */
export function earliestOf(lateSince: ReadonlyMap<string, number>): number {
  let sinceMs = Infinity;
  for (const atMs of lateSince.values()) sinceMs = Math.min(sinceMs, atMs);
  return sinceMs;
}

/**
 * The same, from grants already read: `expired` may hold more than `loadFunding` would read (other
 * customers, earlier expiries); only the grants of `lateSince`'s customers that expired after its
 * earliest time are taken, as `loadFunding` reads them.
 */
export function fundingFrom(
  customers: readonly CustomerRecord[],
  nows: Map<string, number>,
  active: readonly SpendableGrant[],
  expired: readonly (SpendableGrant & { expiredMicro: bigint })[],
  lateSince?: ReadonlyMap<string, number>,
): Map<string, CustomerFunding> {
  let grants: readonly (SpendableGrant & { expiredMicro?: bigint })[] = active;
  if (lateSince !== undefined && lateSince.size > 0 && expired.length > 0) {
    const sinceMs = earliestOf(lateSince);
    const withExpired: (SpendableGrant & { expiredMicro?: bigint })[] = [...active];
    for (const g of expired) {
      if (g.expiredMicro > 0n && lateSince.has(g.customerId) && g.expiresAtMs !== null && g.expiresAtMs > sinceMs) withExpired.push(g);
    }
    grants = withExpired;
  }
  const byCustomer = new Map<string, BurnableGrant[]>();
  for (const g of grants) {
    let list = byCustomer.get(g.customerId);
    if (list === undefined) {
      list = [];
      byCustomer.set(g.customerId, list);
    }
    // Rows come in creation order (ids are time-sortable), the burn-down's last tie-breaker.
    const grant: BurnableGrant = {
      id: g.id,
      remainingMicro: g.remainingMicro,
      priority: g.priority,
      expiresAtMs: g.expiresAtMs,
      category: g.category,
      effectiveAtMs: g.effectiveAtMs,
      creationSeq: list.length,
      frozenFromMs: g.frozenFromMs,
      unfrozenAtMs: g.unfrozenAtMs,
    };
    if (g.expiredMicro !== undefined) grant.expiredMicro = g.expiredMicro;
    list.push(grant);
  }
  const out = new Map<string, CustomerFunding>();
  for (const customer of customers) {
    const own = byCustomer.get(customer.id);
    // Expired grants were appended after the active ones: creation order is id order again.
    if (own !== undefined && own.length > 1 && lateSince?.has(customer.id) && !idSorted(own)) {
      sortInPlace(own, byId);
      for (let i = 0; i < own.length; i++) own[i]!.creationSeq = i;
    }
    out.set(customer.id, {
      customer,
      nowMs: nows.get(customer.id)!,
      // The list was made here for this funding alone: sorted where it is.
      grants: own === undefined ? [] : sortInPlace(own, compareBurnDownOrder),
      hold: null,
      postedDebt: false,
    });
  }
  return out;
}

const byId = (a: { id: string }, b: { id: string }): number => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

function idSorted(grants: readonly { id: string }[]): boolean {
  for (let i = 1; i < grants.length; i++) if (!(grants[i - 1]!.id < grants[i]!.id)) return false;
  return true;
}

/**
 * Pays `amountMicro` from the hold (if any), then the grants live at `atMs` (the event's time) in
 * burn-down order; what is left goes to `overage` when the customer has overage on, else to
 * `debt`. Updates the in-memory amounts. What comes from an expired grant is listed in `reclaims`:
 * the caller posts it back from `expired` to the grant (`reclaimTxn`) before this payment.
 */
export function pay(funding: CustomerFunding, amountMicro: bigint, atMs: number = funding.nowMs): Payment {
  const entries: LedgerEntry[] = [];
  const paidBy: Payment['paidBy'] = [];
  const reclaims: Payment['reclaims'] = [];
  let left = amountMicro;
  if (funding.hold && left > 0n && funding.hold.remainingMicro > 0n) {
    const take = left < funding.hold.remainingMicro ? left : funding.hold.remainingMicro;
    funding.hold.remainingMicro -= take;
    left -= take;
    entries.push({ account: accounts.hold(funding.hold.id), amountMicro: -take });
    paidBy.push({ grant: funding.hold.id, credits: formatCredits(take) });
  }
  const burn = burnDown(funding.grants, left, atMs);
  // Allocations come in the order of the grants they were taken from, so one forward walk finds
  // each grant without searching the list again.
  let g = 0;
  for (const allocation of burn.allocations) {
    while (funding.grants[g]!.id !== allocation.grantId) g++;
    const grant = funding.grants[g]!;
    const fromExpired = allocation.fromExpiredMicro ?? 0n;
    grant.remainingMicro -= allocation.amountMicro - fromExpired;
    if (fromExpired > 0n) {
      grant.expiredMicro! -= fromExpired;
      reclaims.push({ grantId: grant.id, expiresAtMs: grant.expiresAtMs!, amountMicro: fromExpired });
    }
    entries.push({ account: accounts.grant(grant.id), amountMicro: -allocation.amountMicro });
    paidBy.push({ grant: grant.id, credits: formatCredits(allocation.amountMicro) });
  }
  left = burn.remainderMicro;
  let overageMicro = 0n;
  let debtMicro = 0n;
  if (left > 0n) {
    if (funding.customer.overageEnabled) overageMicro = left;
    else {
      debtMicro = left;
      funding.postedDebt = true;
    }
    entries.push({ account: funding.customer.overageEnabled ? accounts.overage : accounts.debt, amountMicro: -left });
  }
  return { entries, reclaims, paidBy, overageMicro, debtMicro };
}

/**
 * What `pay` would leave to `overage` or `debt` of `amountMicro` at `atMs`, changing nothing: the
 * part neither the hold nor the grants live then can pay.
 */
export function unpaidOf(funding: CustomerFunding, amountMicro: bigint, atMs: number = funding.nowMs): bigint {
  let left = amountMicro;
  if (funding.hold && left > 0n && funding.hold.remainingMicro > 0n) left -= left < funding.hold.remainingMicro ? left : funding.hold.remainingMicro;
  return burnDown(funding.grants, left, atMs).remainderMicro;
}

/**
 * Takes back from `expired` what a late event needs of an expired grant (PRODUCT §5): a
 * transaction of the expiry (`grant_expiry` cause, effective at the grant's `expires_at`) that
 * undoes that much of it, naming the usage event it serves. Reports see the grant's expired
 * credits shrink by what the late event consumed.
 */
export function reclaimTxn(customerId: string, reclaim: Payment['reclaims'][number], usageEventId: string): Omit<LedgerTransaction, 'id'> {
  return {
    customerId,
    kind: 'expiry',
    cause: { type: 'grant_expiry', id: reclaim.grantId },
    refs: { grant: reclaim.grantId, usage_event: usageEventId },
    effectiveAtMs: reclaim.expiresAtMs,
    entries: [
      { account: accounts.expired, amountMicro: -reclaim.amountMicro },
      { account: accounts.grant(reclaim.grantId), amountMicro: reclaim.amountMicro },
    ],
  };
}

export function availableOf(funding: CustomerFunding): bigint {
  return availableOfGrants(funding.grants, funding.nowMs);
}

/**
 * The same from grants as read (`spendableGrants`), without building a funding: a sum does not
 * depend on the burn-down order, so a reader that pays nothing (authorization) skips the sort.
 */
export function availableOfGrants(grants: readonly UsableGrant[], nowMs: number): bigint {
  let total = 0n;
  for (const g of grants) if (isGrantUsable(g, nowMs)) total += g.remainingMicro;
  return total;
}

/** Fires the customer's low-balance and depleted events once per crossing and stores the new state. */
export async function refreshSignals(tx: StoreTx, changes: Changes, customer: CustomerRecord, availableMicro: bigint, nowMs: number): Promise<void> {
  const next = nextSignals(
    { thresholdMicro: customer.lowBalanceThresholdMicro, belowThreshold: customer.belowThreshold, depleted: customer.depleted },
    availableMicro,
  );
  for (const type of next.fire) {
    changes.event(type, customer.id, {
      customer: customer.id,
      available: formatCredits(availableMicro),
      threshold: customer.lowBalanceThresholdMicro === null ? null : formatCredits(customer.lowBalanceThresholdMicro),
    }, nowMs);
  }
  if (next.belowThreshold !== customer.belowThreshold || next.depleted !== customer.depleted) {
    customer.belowThreshold = next.belowThreshold;
    customer.depleted = next.depleted;
    await tx.customers.setSignals(customer.id, next.belowThreshold, next.depleted);
  }
  // An armed auto top-up below its threshold: checked at once by due work (`autoTopUp` in
  // purchases.ts), which buys if still below then. The store keeps the earliest check asked.
  const topUp = customer.autoTopUp;
  if (topUp !== null && customer.topUpArmed && availableMicro < topUp.thresholdMicro) await tx.customers.checkTopUpAt(customer.id, nowMs);
}

/**
 * After a change that moved credits outside the paths that compute the signals as they go (a
 * revocation by a plan change, a cancellation, a voided or written-off invoice, a refund; credits
 * back from a hold or a chargeback won): writes `changes` so far and, from the credits available
 * now, refreshes the customer's low-balance signals (and so its auto top-up check). With credits
 * available, it also asks a check of the customer's debt at `nowMs` if it owes one (a revocation's
 * or a refund's shortfall, or a debt owed when credits came back: `checkDebt` in grants.ts pays it
 * from them).
 */
export async function refreshSignalsNow(tx: StoreTx, changes: Changes, customer: CustomerRecord, nowMs: number): Promise<void> {
  await changes.flush(tx);
  const availableMicro = availableOf((await loadFunding(tx, [customer], new Map([[customer.id, nowMs]]))).get(customer.id)!);
  await refreshSignals(tx, changes, customer, availableMicro, nowMs);
  if (availableMicro > 0n) await tx.customers.checkDebtAt(customer.id, nowMs, true);
}
