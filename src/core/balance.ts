import { isGrantFrozen, isGrantUsable, type BurnableGrant } from './burn-down.ts';

/**
 * A customer's balance as of a moment, computed from its grants and ledger accounts. A grant past
 * its `expires_at` is never counted, whether or not the expiry job has moved it to `expired` yet.
 */
export interface BalanceGrant extends BurnableGrant {
  status: string;
}

export interface Balance {
  availableMicro: bigint;
  paidMicro: bigint;
  promotionalMicro: bigint;
  overageMicro: bigint;
  debtMicro: bigint;
  heldMicro: bigint;
  grants: BalanceGrant[];
  /** Credits of grants frozen now (their invoice unpaid past the grace period): shown, not usable. */
  frozenMicro: bigint;
  frozenGrants: BalanceGrant[];
}

export function summarizeBalance(
  grants: readonly BalanceGrant[],
  accounts: { overageMicro: bigint; debtMicro: bigint; heldMicro: bigint },
  nowMs: number,
): Balance {
  let paidMicro = 0n;
  let promotionalMicro = 0n;
  const live: BalanceGrant[] = [];
  const frozen: BalanceGrant[] = [];
  let frozenMicro = 0n;
  for (const grant of grants) {
    if (grant.status === 'active' && isGrantFrozen(grant, nowMs) && isGrantUsable({ ...grant, frozenFromMs: null }, nowMs)) {
      frozen.push(grant);
      frozenMicro += grant.remainingMicro;
      continue;
    }
    if (grant.status !== 'active' || !isGrantUsable(grant, nowMs)) continue;
    live.push(grant);
    if (grant.category === 'paid') paidMicro += grant.remainingMicro;
    else promotionalMicro += grant.remainingMicro;
  }
  return {
    availableMicro: paidMicro + promotionalMicro,
    paidMicro,
    promotionalMicro,
    overageMicro: accounts.overageMicro,
    debtMicro: accounts.debtMicro,
    heldMicro: accounts.heldMicro,
    grants: live,
    frozenMicro,
    frozenGrants: frozen,
  };
}

/**
 * Low-balance signals fire once per crossing: `credits.balance_low` when available drops below the
 * customer's threshold, `credits.depleted` when it reaches zero. Each re-arms when the balance
 * climbs back.
 */
export interface SignalState {
  thresholdMicro: bigint | null;
  belowThreshold: boolean;
  depleted: boolean;
}

export function nextSignals(state: SignalState, availableMicro: bigint): { belowThreshold: boolean; depleted: boolean; fire: string[] } {
  const fire: string[] = [];
  let belowThreshold = state.belowThreshold;
  if (state.thresholdMicro !== null) {
    const below = availableMicro < state.thresholdMicro;
    if (below && !belowThreshold) fire.push('credits.balance_low');
    belowThreshold = below;
  } else {
    belowThreshold = false;
  }
  const empty = availableMicro <= 0n;
  if (empty && !state.depleted) fire.push('credits.depleted');
  return { belowThreshold, depleted: empty, fire };
}
