/**
 * Proration for mid-cycle changes (PRODUCT §7). Money and credits are prorated by the SAME
 * fraction, computed once here, so the credit and money sides of a change always agree.
 * Time is measured in whole seconds (Stripe's convention): each instant is floored to its
 * second before subtracting, so a change a few milliseconds apart prorates identically.
 */
import { divRound, type RoundingMode } from './decimal.ts';
import { invariant } from './errors.ts';

/** An exact ratio. The denominator is always positive. */
export interface Fraction {
  numerator: bigint;
  denominator: bigint;
}

function toSeconds(ms: number): bigint {
  invariant(Number.isSafeInteger(ms), `Instant ${ms} is not a whole number of milliseconds.`);
  return BigInt(Math.floor(ms / 1000));
}

/**
 * The unused share of a period at `atMs`: (end − at) / (end − start) in seconds, clamped to
 * [0, 1] so that a change before the period starts counts as all of it and one after it ends
 * as none of it.
 */
export function remainingFraction(periodStartMs: number, periodEndMs: number, atMs: number): Fraction {
  const startSeconds = toSeconds(periodStartMs);
  const endSeconds = toSeconds(periodEndMs);
  const denominator = endSeconds - startSeconds;
  invariant(denominator > 0n, 'A period must last at least one second.');
  const remaining = endSeconds - toSeconds(atMs);
  const numerator = remaining < 0n ? 0n : remaining > denominator ? denominator : remaining;
  return { numerator, denominator };
}

/** The rest of the period: used share plus unused share is the whole period. */
export function complementFraction(fraction: Fraction): Fraction {
  return { numerator: fraction.denominator - fraction.numerator, denominator: fraction.denominator };
}

/** `amount × fraction`, rounded once with the named mode (default half away from zero). */
export function prorate(amount: bigint, fraction: Fraction, mode: RoundingMode = 'half_away_from_zero'): bigint {
  invariant(fraction.denominator > 0n, 'A fraction needs a positive denominator.');
  return divRound(amount * fraction.numerator, fraction.denominator, mode);
}

/** All of it. */
export const whole: Fraction = { numerator: 1n, denominator: 1n };

/** `a × b`, exact. */
export function timesFraction(a: Fraction, b: Fraction): Fraction {
  return { numerator: a.numerator * b.numerator, denominator: a.denominator * b.denominator };
}

/**
 * The share of a fee charge that its invoice kept after refunds and chargebacks: what was
 * returned comes off the invoice's other charges (overage, …) first and off the fee last, so the
 * share is whole unless the returns reach into the fee, and none once they took all of it. A
 * change or cancellation credits the unused time of this share only: never more money back than
 * the fee kept, and the allowance's share revoked by the same fraction, so credits a refund
 * already clawed back are not taken (or owed as debt) a second time.
 */
export function keptShare(chargeMinor: bigint, chargesMinor: bigint, returnedMinor: bigint): Fraction {
  if (chargeMinor <= 0n) return whole;
  const fromCharge = returnedMinor - (chargesMinor - chargeMinor);
  if (fromCharge <= 0n) return whole;
  const kept = chargeMinor - fromCharge;
  return { numerator: kept > 0n ? kept : 0n, denominator: chargeMinor };
}

/**
 * What refunds and chargebacks of an earlier fee took back of the credit that fee gave against a
 * plan change's charge: the credit (`creditMinor`, less the `excessMinor` beyond the charge that
 * became a credit note) paid part of the new charge with the earlier fee's money, so once the
 * earlier invoice has returned more than its other charges and the fee's used time
 * (`creditedChargesMinor − creditMinor`), the rest of what it returned came out of that credit.
 * What the earlier invoice returned counts what it lost the same way, back through the changes.
 * The change's charge then kept that much less: it counts as returned of it (`keptShare`), so a
 * later change or cancellation does not credit again money the earlier refund gave back.
 */
export function creditTakenBack(creditMinor: bigint, excessMinor: bigint, creditedChargesMinor: bigint, creditedReturnedMinor: bigint): bigint {
  const usedMinor = creditMinor - excessMinor;
  const reachMinor = creditedReturnedMinor - (creditedChargesMinor - creditMinor);
  if (usedMinor <= 0n || reachMinor <= 0n) return 0n;
  return reachMinor < usedMinor ? reachMinor : usedMinor;
}
