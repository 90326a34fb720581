/**
 * Burn-down decides which grants pay for a charge (PRODUCT §4). It is a pure function from
 * (grants, amount, now) to (allocations, remainder); the engine turns the allocations into one
 * ledger transaction and decides what happens to the remainder (overage or debt).
 */

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
}

export interface BurnAllocation {
  grantId: string;
  amountMicro: bigint;
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
  return [...grants].sort(compareBurnDownOrder);
}

/**
 * A grant can pay at `nowMs` when it has started, has not expired and has something left.
 * Expiry is exclusive: at the very instant `expiresAt` the grant is already gone, which matches
 * the expiry job moving the remainder at that instant.
 */
export function isGrantUsable(grant: BurnableGrant, nowMs: number): boolean {
  const started = grant.effectiveAtMs <= nowMs;
  const notExpired = grant.expiresAtMs === null || nowMs < grant.expiresAtMs;
  return started && notExpired && !isGrantFrozen(grant, nowMs) && grant.remainingMicro > 0n;
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

/**
 * Takes `amountMicro` from grants that the caller has ALREADY sorted (with `sortForBurnDown`,
 * or by a store query in the same order), skipping those not usable at `nowMs`. Sorting is left
 * to the caller so that the hot path can read grants pre-ordered from an index.
 *
 * An amount of zero or less allocates nothing and leaves no remainder: refunds of usage are
 * not burn-downs, they are separate ledger corrections.
 */
export function burnDown(sortedGrants: readonly BurnableGrant[], amountMicro: bigint, nowMs: number): BurnResult {
  const allocations: BurnAllocation[] = [];
  if (amountMicro <= 0n) return { allocations, remainderMicro: 0n };
  let remainderMicro = amountMicro;
  for (const grant of sortedGrants) {
    if (remainderMicro === 0n) break;
    if (!isGrantUsable(grant, nowMs)) continue;
    const taken = grant.remainingMicro < remainderMicro ? grant.remainingMicro : remainderMicro;
    allocations.push({ grantId: grant.id, amountMicro: taken });
    remainderMicro -= taken;
  }
  return { allocations, remainderMicro };
}
