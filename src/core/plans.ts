import { divRound, formatDecimal } from './decimal.ts';
import { amountMinorMax } from './money.ts';
import { prorate, timesFraction, whole, type Fraction } from './proration.ts';
import type { Interval } from './periods.ts';
import type { Rate } from './rating.ts';

/**
 * A plan version: what a subscription pays per period and the credits it includes. Overage is
 * priced in minor units per credit as a decimal (`"0.1"` = a tenth of a cent), kept here scaled by
 * 10^6 (`overageUnitScaled`), and turned into money once per invoice line.
 */
export const overagePriceScale = 6;
/**
 * The highest overage price, 10^12 minor units a credit: scaled, it fits the signed 64-bit column
 * that keeps it (a higher one was refused only when the database would not bind it).
 */
export const overageUnitMaxScaled = 10n ** 12n * 10n ** BigInt(overagePriceScale);

export interface Plan {
  id: string;
  code: string;
  version: number;
  name: string;
  currency: string;
  interval: Interval;
  amountMinor: bigint;
  includedCreditsMicro: bigint;
  rolloverMaxMicro: bigint | null;
  overageUnitScaled: bigint | null;
  overageLimitMicro: bigint | null;
  rates: Record<string, Rate>;
  createdAtMs: number;
}

export type LineType = 'subscription_fee' | 'overage' | 'proration_credit' | 'proration_charge' | 'credit_purchase' | 'adjustment';

export interface LineDraft {
  type: LineType;
  description: string;
  /** Decimal strings, so quantities of credits and sub-cent unit prices travel exactly. */
  quantity: string;
  unitAmount: string;
  amountMinor: bigint;
  periodStartMs: number;
  periodEndMs: number;
  refs: Record<string, string>;
}

export function feeLine(plan: Plan, periodStartMs: number, periodEndMs: number): LineDraft {
  return {
    type: 'subscription_fee',
    description: `${plan.name} (${plan.interval}ly fee, in advance)`,
    quantity: '1',
    unitAmount: plan.amountMinor.toString(),
    amountMinor: plan.amountMinor,
    periodStartMs,
    periodEndMs,
    refs: { plan: plan.id },
  };
}

/** Overage in arrears: credits beyond grants × the plan's price per credit, rounded once. */
export function overageLine(plan: Plan, creditsMicro: bigint, periodStartMs: number, periodEndMs: number): LineDraft | null {
  if (plan.overageUnitScaled === null || creditsMicro === 0n) return null;
  // credits (scale 6) × price (scale 6) → minor units at scale 12, rounded half away from zero.
  const amountMinor = divRound(creditsMicro * plan.overageUnitScaled, 10n ** 12n);
  // An invoice line carries at most `amountMinorMax`, as every amount a caller sends: beyond it
  // the overage stays in the customer's `overage` account, unbilled, and reconciliation names its
  // period (`overage_invoiced`) for the operator. The renewal itself goes on.
  if (amountMinor > amountMinorMax || amountMinor < -amountMinorMax) return null;
  return {
    type: 'overage',
    description: `Overage: ${formatDecimal(creditsMicro, 6)} credits`,
    quantity: formatDecimal(creditsMicro, 6),
    unitAmount: formatDecimal(plan.overageUnitScaled, overagePriceScale),
    amountMinor,
    periodStartMs,
    periodEndMs,
    refs: { plan: plan.id },
  };
}

/**
 * A mid-period change, money side: credit the unused time of the old fee and charge the remaining
 * time of the new one, both by `fraction` (the unused share, measured to the second). The credit
 * is of `oldKept`, the share of the old fee its invoice kept after refunds and chargebacks
 * (`keptShare`, whole when nothing was returned): never more than was charged and kept.
 */
export function prorationLines(oldPlan: Plan | null, newPlan: Plan | null, fraction: Fraction, atMs: number, periodEndMs: number, oldKept: Fraction = whole): LineDraft[] {
  const lines: LineDraft[] = [];
  const share = `${fraction.numerator}/${fraction.denominator} s`;
  if (oldPlan) {
    const credit = prorate(oldPlan.amountMinor, timesFraction(fraction, oldKept));
    const kept = oldKept.numerator === oldKept.denominator ? '' : `, of the ${oldKept.numerator}/${oldKept.denominator} of its fee kept after refunds`;
    lines.push({
      type: 'proration_credit',
      description: `Unused time on ${oldPlan.name} (${share}${kept})`,
      quantity: '1',
      unitAmount: (-credit).toString(),
      amountMinor: -credit,
      periodStartMs: atMs,
      periodEndMs,
      refs: { plan: oldPlan.id },
    });
  }
  if (newPlan) {
    const charge = prorate(newPlan.amountMinor, fraction);
    lines.push({
      type: 'proration_charge',
      description: `Remaining time on ${newPlan.name} (${share})`,
      quantity: '1',
      unitAmount: charge.toString(),
      amountMinor: charge,
      periodStartMs: atMs,
      periodEndMs,
      refs: { plan: newPlan.id },
    });
  }
  return lines;
}

/**
 * The same change, credit side, by the same fraction: revoke the old allowance's share of the
 * remaining time, capped at what is left of it, and grant the new allowance's share. The part of
 * the old share that could not be revoked because it was already spent is taken off the new
 * grant first and owed as debt beyond that, so a downgrade-then-upgrade cannot mint credits: the
 * allowance never exceeds the plans' time-weighted sum. The old share is of `oldKept`, as the
 * money's credit is.
 */
export interface ProratedCredits {
  revokeMicro: bigint;
  /** The new allowance's share less the offset. */
  grantMicro: bigint;
  /** Spent credits of the old share taken off the new grant. */
  offsetMicro: bigint;
  /** Spent credits of the old share beyond the new grant: booked as debt. */
  debtMicro: bigint;
}

export function prorationCredits(oldPlan: Plan | null, newPlan: Plan | null, fraction: Fraction, oldAllowanceLeftMicro: bigint, oldKept: Fraction = whole): ProratedCredits {
  const min = (a: bigint, b: bigint): bigint => (a < b ? a : b);
  const share = oldPlan ? prorate(oldPlan.includedCreditsMicro, timesFraction(fraction, oldKept)) : 0n;
  const revokeMicro = min(share, oldAllowanceLeftMicro > 0n ? oldAllowanceLeftMicro : 0n);
  const unrevoked = share - revokeMicro;
  const newShare = newPlan ? prorate(newPlan.includedCreditsMicro, fraction) : 0n;
  const offsetMicro = min(newShare, unrevoked);
  return { revokeMicro, grantMicro: newShare - offsetMicro, offsetMicro, debtMicro: unrevoked - offsetMicro };
}

/** What carries into the next period's allowance: what is left, up to the plan's cap. */
export function rolloverCredits(plan: Plan, leftMicro: bigint): bigint {
  if (plan.rolloverMaxMicro === null || leftMicro <= 0n) return 0n;
  return leftMicro < plan.rolloverMaxMicro ? leftMicro : plan.rolloverMaxMicro;
}

export function sumLines(lines: readonly LineDraft[]): bigint {
  let total = 0n;
  for (const line of lines) total += line.amountMinor;
  return total;
}
