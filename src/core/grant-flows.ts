/**
 * What became of a grant's credits as of an instant, rebuilt from its ledger flows: consumed
 * (usage, debt paid down, captured holds), expired, revoked (voids, refunds, plan changes; less
 * what a won chargeback restored), still held, transferred (rolled over) and what remains. The
 * reports value these at cost basis (deferred revenue) or count them (promotional consumption).
 *
 * Holds move credits from grants into a `hold:<id>` account, so their fate is traced per hold:
 * a capture spends the first-funded grants first, and a release returns credits last-funded first
 * (the order src/engine/holds.ts uses), to the grant or, when it has meanwhile closed, to
 * `expired` / `revoked`.
 */

/** The sum of one grant's entries of one transaction kind, split at the report's `from`. */
export interface GrantFlowRow {
  grantId: string;
  kind: string;
  /** True when the transactions are effective before the window's start. */
  beforeFrom: boolean;
  amountMicro: bigint;
}

export interface HoldTrace {
  holdId: string;
  fundedAtMs: number;
  /** The grants that funded the hold, in entry order, with the (positive) credits each gave. */
  sources: { grantId: string; amountMicro: bigint }[];
  /** Usage paid from the hold (positive credits), with when. */
  captures: { atMs: number; amountMicro: bigint }[];
  /** What the hold gave back to its grants while still active, for a claw-back to revoke. */
  returns: { atMs: number; grantId: string; amountMicro: bigint }[];
  /** What came back when the hold closed: the entries after the hold's own, in order. */
  release: { atMs: number; entries: { account: string; amountMicro: bigint }[] } | null;
}

export interface GrantFate {
  issuedMicro: bigint;
  consumedMicro: bigint;
  expiredMicro: bigint;
  revokedMicro: bigint;
  heldMicro: bigint;
  transferredMicro: bigint;
  remainingMicro: bigint;
}

export interface GrantFacts {
  id: string;
  expiresAtMs: number | null;
  /** The owner's present (its test clock's time): an expiry after it has not happened yet. */
  customerNowMs: number;
}

const zeroFate = (): GrantFate => ({
  issuedMicro: 0n, consumedMicro: 0n, expiredMicro: 0n, revokedMicro: 0n, heldMicro: 0n, transferredMicro: 0n, remainingMicro: 0n,
});

/** Adds one aggregated flow to a fate by what its transaction kind means for the grant. */
function addFlow(fate: GrantFate, kind: string, amountMicro: bigint): void {
  switch (kind) {
    case 'grant':
      fate.issuedMicro += amountMicro;
      return;
    case 'rollover':
      if (amountMicro > 0n) fate.issuedMicro += amountMicro;
      else fate.transferredMicro -= amountMicro;
      return;
    case 'expiry':
      fate.expiredMicro -= amountMicro;
      return;
    case 'void':
    case 'revoke':
    case 'restore':
      fate.revokedMicro -= amountMicro;
      return;
    case 'hold':
    case 'hold_release':
      // Traced per hold (traceHolds), so that captured, held and returned credits are told apart.
      return;
    default:
      // usage and debt_paydown: credits spent. Any other outflow is counted as spent too.
      fate.consumedMicro -= amountMicro;
  }
}

/** Splits one hold among its funding grants as of `atMs`: consumed, returned (where to), held. */
function traceHold(hold: HoldTrace, atMs: number, fates: Map<string, GrantFate>): void {
  if (hold.fundedAtMs >= atMs) return;
  // What the hold gave back while active is its grant's again (and the claw-back's revoke its fate).
  const sources = hold.sources.map((s) => {
    let amountMicro = s.amountMicro;
    for (const r of hold.returns) if (r.grantId === s.grantId && r.atMs < atMs) amountMicro -= r.amountMicro;
    return { grantId: s.grantId, amountMicro };
  });
  let captured = 0n;
  for (const c of hold.captures) if (c.atMs < atMs) captured += c.amountMicro;
  const consumed = sources.map((s) => {
    const take = captured < s.amountMicro ? captured : s.amountMicro;
    captured -= take;
    return take;
  });
  const returned = sources.map(() => ({ amountMicro: 0n, account: '' }));
  if (hold.release && hold.release.atMs < atMs) {
    let left = 0n;
    for (const e of hold.release.entries) left += e.amountMicro;
    // The walk of returnHeld: sources last-funded first, one release entry per source given to.
    let entry = 0;
    for (let i = sources.length - 1; i >= 0 && left > 0n; i--) {
      const source = sources[i]!;
      if (source.amountMicro <= 0n) continue;
      const give = source.amountMicro < left ? source.amountMicro : left;
      returned[i] = { amountMicro: give, account: hold.release.entries[entry]?.account ?? '' };
      entry += 1;
      left -= give;
    }
  }
  sources.forEach((source, i) => {
    const fate = fates.get(source.grantId);
    if (!fate) return;
    const back = returned[i]!;
    fate.consumedMicro += consumed[i]!;
    if (back.account === 'expired') fate.expiredMicro += back.amountMicro;
    else if (back.account === 'revoked') fate.revokedMicro += back.amountMicro;
    fate.heldMicro += source.amountMicro - consumed[i]! - back.amountMicro;
  });
}

/**
 * The fate of each grant as of the window's start (`opening`, flows effective before `fromMs`)
 * or its end (every flow given, which the caller limits to before `toMs`). A grant past its
 * `expires_at` (by then, and by its customer's clock) counts what is left of it as expired even if
 * the expiry job has not run yet, as a balance read does.
 */
export function grantFates(
  grants: readonly GrantFacts[], flows: readonly GrantFlowRow[], holds: readonly HoldTrace[], atMs: number, opening: boolean,
): Map<string, GrantFate> {
  const fates = new Map(grants.map((g) => [g.id, zeroFate()]));
  for (const flow of flows) {
    if (opening && !flow.beforeFrom) continue;
    const fate = fates.get(flow.grantId);
    if (fate) addFlow(fate, flow.kind, flow.amountMicro);
  }
  for (const hold of holds) traceHold(hold, atMs, fates);
  for (const grant of grants) {
    const f = fates.get(grant.id)!;
    f.remainingMicro = f.issuedMicro - f.consumedMicro - f.expiredMicro - f.revokedMicro - f.heldMicro - f.transferredMicro;
    const asOfMs = Math.min(atMs, grant.customerNowMs);
    if (grant.expiresAtMs !== null && grant.expiresAtMs <= asOfMs && f.remainingMicro > 0n) {
      f.expiredMicro += f.remainingMicro;
      f.remainingMicro = 0n;
    }
  }
  return fates;
}
