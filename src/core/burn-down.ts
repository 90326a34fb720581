/**
 * Burn-down decides which grants pay for a charge (PRODUCT §4). It is a pure function from
 * (grants, amount, instant) to (allocations, remainder); the engine turns the allocations into one
 * ledger transaction and decides what happens to the remainder (overage or debt).
 *
 * Event time rules (PRODUCT §5): usage is paid by the grants usable AT THE EVENT'S TIMESTAMP, not
 * when it arrives. The instant given to `burnDown` is the event's time; a grant is eligible when
 * that instant lies in [effectiveAt, expiresAt). A late event may therefore be paid by a grant
 * that has expired since: such a grant is offered with `expiredMicro`, what its expiry moved to
 * `expired` and no later event has taken back, and the allocation says so (`fromExpired`), so the
 * engine first takes that part back from `expired` in a transaction linked to the expiry. An
 * event stamped at or after `expiresAt` never burns the grant, even if it arrives before.
 */

import { sortInPlace } from './sort-in-place.ts';

export interface BurnableGrant {
  id: string;
  remainingMicro: bigint;
  priority: number;
  expiresAtMs: number | null;
  category: 'paid' | 'promotional';
  effectiveAtMs: number;
  /** Creation order, the final tie-breaker, so the order is total and deterministic. */
  creationSeq: number;
  /**
   * Credits follow the money (PRODUCT §14): a grant whose invoice went unpaid past its grace
   * period cannot pay from `frozenFromMs` until `unfrozenAtMs` (the payment; open when null).
   * Left out or null: never frozen.
   */
  frozenFromMs?: number | null;
  unfrozenAtMs?: number | null;
  /**
   * For a grant whose expiry has run: what the expiry moved to `expired` and no late event has
   * taken back yet (then `remainingMicro` is 0). Absent or 0 for a grant not expired.
   */
  expiredMicro?: bigint;
}

export interface BurnAllocation {
  grantId: string;
  amountMicro: bigint;
  /** Of `amountMicro`, the part taken back from `expired` (a late event paid by an expired grant); absent when none. */
  fromExpiredMicro?: bigint;
}

export interface BurnResult {
  allocations: BurnAllocation[];
  /** What the grants could not cover. */
  remainderMicro: bigint;
}

/**
 * The documented burn-down order:
 * 1. lower `priority` first, because priority is the caller's explicit wish;
 * 2. soonest `expiresAt` first, never-expiring last, so credits are used before they are lost;
 * 3. promotional before paid, so the customer keeps the credits they paid for;
 * 4. earliest `effectiveAt` first (oldest credits first);
 * 5. creation order.
 */
export function compareBurnDownOrder(a: BurnableGrant, b: BurnableGrant): number {
  if (a.priority !== b.priority) return a.priority - b.priority;
  if (a.expiresAtMs !== b.expiresAtMs) {
    if (a.expiresAtMs === null) return 1;
    if (b.expiresAtMs === null) return -1;
    return a.expiresAtMs - b.expiresAtMs;
  }
  if (a.category !== b.category) return a.category === 'promotional' ? -1 : 1;
  if (a.effectiveAtMs !== b.effectiveAtMs) return a.effectiveAtMs - b.effectiveAtMs;
  return a.creationSeq - b.creationSeq;
}

/** Returns a new array in burn-down order; the input is left as it was. */
export function sortForBurnDown<T extends BurnableGrant>(grants: readonly T[]): T[] {
  return sortInPlace([...grants], compareBurnDownOrder);
}

/** What `isGrantUsable` reads of a grant. */
export type UsableGrant = Pick<BurnableGrant, 'remainingMicro' | 'effectiveAtMs' | 'expiresAtMs' | 'frozenFromMs' | 'unfrozenAtMs'>;

/**
 * A grant can pay at `nowMs` when it has started, has not expired and has something left.
 * Expiry is exclusive: at the very instant `expiresAt` the grant is already gone, which matches
 * the expiry job moving the remainder at that instant.
 */
export function isGrantUsable(grant: UsableGrant, nowMs: number): boolean {
  return isGrantLiveAt(grant, nowMs) && !isGrantFrozen(grant, nowMs) && grant.remainingMicro > 0n;
}

/**
 * Frozen at `nowMs`: within [frozenFrom, unfrozenAt). Like expiry, this is decided by the grant's
 * own fields and the instant, so a balance read or a late event sees it before any job runs.
 */
export function isGrantFrozen(grant: Pick<BurnableGrant, 'frozenFromMs' | 'unfrozenAtMs'>, nowMs: number): boolean {
  const from = grant.frozenFromMs ?? null;
  if (from === null || nowMs < from) return false;
  const until = grant.unfrozenAtMs ?? null;
  return until === null || nowMs < until;
}

/** The grant's life: from `effectiveAt` (inclusive) to `expiresAt` (exclusive). */
export function isGrantLiveAt(grant: Pick<BurnableGrant, 'effectiveAtMs' | 'expiresAtMs'>, atMs: number): boolean {
  return grant.effectiveAtMs <= atMs && (grant.expiresAtMs === null || atMs < grant.expiresAtMs);
}

/** What a grant can still give to usage stamped at `atMs`: its remainder plus what expired of it (nothing while frozen). */
export function spendableAt(grant: BurnableGrant, atMs: number): bigint {
  if (!isGrantLiveAt(grant, atMs) || isGrantFrozen(grant, atMs)) return 0n;
  return grant.remainingMicro + (grant.expiredMicro ?? 0n);
}

/**
 * Takes `amountMicro` from grants that the caller has ALREADY sorted (with `sortForBurnDown`,
 * or by a store query in the same order), skipping those not live at `atMs` (the event's time for
 * usage). Sorting is left to the caller so that the hot path can read grants pre-ordered. A grant
 * gives its remainder first, then what its expiry moved to `expired` (`fromExpiredMicro`).
 *
 * An amount of zero or less allocates nothing and leaves no remainder: refunds of usage are
 * not burn-downs, they are separate ledger corrections.
 */
export function burnDown(sortedGrants: readonly BurnableGrant[], amountMicro: bigint, atMs: number): BurnResult {
  const allocations: BurnAllocation[] = [];
  if (amountMicro <= 0n) return { allocations, remainderMicro: 0n };
  let remainderMicro = amountMicro;
  for (const grant of sortedGrants) {
    if (remainderMicro === 0n) break;
    const spendable = spendableAt(grant, atMs);
    if (spendable <= 0n) continue;
    const taken = spendable < remainderMicro ? spendable : remainderMicro;
    const fromRemaining = grant.remainingMicro > 0n ? (grant.remainingMicro < taken ? grant.remainingMicro : taken) : 0n;
    allocations.push(fromRemaining === taken ? { grantId: grant.id, amountMicro: taken } : { grantId: grant.id, amountMicro: taken, fromExpiredMicro: taken - fromRemaining });
    remainderMicro -= taken;
  }
  return { allocations, remainderMicro };
}
