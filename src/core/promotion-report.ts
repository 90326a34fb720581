import type { GrantFate } from './grant-flows.ts';

/**
 * The promotions report (PRODUCT §15) as arithmetic: what became, in a window, of the grants each
 * campaign and each referrer's program made, and the money their customers paid afterwards.
 * Figures are window differences of the grants' fates at `from` and `to` (grant-flows.ts), so
 * granted − consumed − expired − revoked adds up to the change in what is unspent.
 */

/** The grants of one campaign or one referrer, and which customers they brought, since when. */
export interface ProgramGroup {
  kind: 'campaign' | 'referrer';
  promotionId: string | null;
  code: string | null;
  referrerId: string | null;
  /** Redemptions (campaign) or rewarded referrals (referrer) made in the window. */
  redemptionsInWindow: number;
  grantIds: string[];
  /** Each customer the program brought, with the instant from which its payments count. */
  customersSince: Map<string, number>;
}

export interface CustomerPayment {
  customerId: string;
  currency: string;
  amountMinor: bigint;
  atMs: number;
}

export interface ProgramFigures {
  grants: number;
  grantedMicro: bigint;
  consumedMicro: bigint;
  expiredMicro: bigint;
  revokedMicro: bigint;
  unspentMicro: bigint;
  revenueAfter: Map<string, bigint>;
}

export interface ProgramRow extends ProgramFigures {
  group: ProgramGroup;
}

const zero = (): ProgramFigures => ({ grants: 0, grantedMicro: 0n, consumedMicro: 0n, expiredMicro: 0n, revokedMicro: 0n, unspentMicro: 0n, revenueAfter: new Map() });

function add(into: ProgramFigures, from: ProgramFigures): void {
  into.grants += from.grants;
  into.grantedMicro += from.grantedMicro;
  into.consumedMicro += from.consumedMicro;
  into.expiredMicro += from.expiredMicro;
  into.revokedMicro += from.revokedMicro;
  into.unspentMicro += from.unspentMicro;
  for (const [currency, amount] of from.revenueAfter) into.revenueAfter.set(currency, (into.revenueAfter.get(currency) ?? 0n) + amount);
}

/** Consumed counts credits spent by usage, debt paydown, captured holds and rollover. */
const spent = (f: GrantFate): bigint => f.consumedMicro + f.transferredMicro;

export function programFigures(
  groups: readonly ProgramGroup[], opening: Map<string, GrantFate>, closing: Map<string, GrantFate>, payments: readonly CustomerPayment[],
): { rows: ProgramRow[]; totals: ProgramFigures & { redemptions: number } } {
  const byCustomer = new Map<string, CustomerPayment[]>();
  for (const p of payments) byCustomer.set(p.customerId, [...(byCustomer.get(p.customerId) ?? []), p]);
  const rows: ProgramRow[] = [];
  const totals = { ...zero(), redemptions: 0 };
  for (const group of groups) {
    const figures = zero();
    for (const id of group.grantIds) {
      const a = opening.get(id);
      const b = closing.get(id);
      if (!a || !b) continue;
      figures.grants += 1;
      figures.grantedMicro += b.issuedMicro - a.issuedMicro;
      figures.consumedMicro += spent(b) - spent(a);
      figures.expiredMicro += b.expiredMicro - a.expiredMicro;
      figures.revokedMicro += b.revokedMicro - a.revokedMicro;
      figures.unspentMicro += b.remainingMicro + b.heldMicro;
    }
    for (const [customerId, sinceMs] of group.customersSince) {
      for (const p of byCustomer.get(customerId) ?? []) {
        if (p.atMs >= sinceMs) figures.revenueAfter.set(p.currency, (figures.revenueAfter.get(p.currency) ?? 0n) + p.amountMinor);
      }
    }
    rows.push({ ...figures, group });
    add(totals, figures);
    totals.redemptions += group.redemptionsInWindow;
  }
  // A customer brought by two programs (two campaigns, or a campaign and a referral) pays once:
  // the totals count its payments once, from the earliest instant any program counts them from,
  // as they count it once among the customers.
  totals.revenueAfter = new Map();
  const since = new Map<string, number>();
  for (const group of groups) {
    for (const [customerId, sinceMs] of group.customersSince) if (!since.has(customerId) || sinceMs < since.get(customerId)!) since.set(customerId, sinceMs);
  }
  for (const [customerId, sinceMs] of since) {
    for (const p of byCustomer.get(customerId) ?? []) {
      if (p.atMs >= sinceMs) totals.revenueAfter.set(p.currency, (totals.revenueAfter.get(p.currency) ?? 0n) + p.amountMinor);
    }
  }
  return { rows, totals };
}
