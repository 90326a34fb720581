/**
 * Exact decimal arithmetic on scaled bigints. Credits, quantities and decimal prices all live
 * here as `value × 10^scale`, so no floating point ever touches an amount (PRODUCT §1). Wire
 * text is parsed and formatted in this file only, and every rounding goes through `divRound`
 * with a named mode.
 */
import { invariant } from './errors.ts';

export type RoundingMode = 'half_away_from_zero' | 'half_even' | 'floor' | 'ceiling' | 'down' | 'up';

export interface FieldProblem {
  code: string;
  message: string;
}

export type Parsed<T> = { ok: true; value: T } | { ok: false; problem: FieldProblem };

/** Scales above this are not needed by any amount and would only hide a bug. */
export const decimalScaleMax = 30;
/** Longer input is rejected before any work, so a hostile string costs nothing. */
export const decimalTextLengthMax = 64;
/** Absolute values above 10^15 units are out of range unless the caller names another bound. */
const defaultMaxUnits = 10n ** 15n;

const powersOfTen: bigint[] = Array.from({ length: decimalScaleMax + 1 }, (_, i) => 10n ** BigInt(i));

export function pow10(exponent: number): bigint {
  const power = powersOfTen[exponent];
  invariant(Number.isInteger(exponent) && power !== undefined, `Scale ${exponent} is outside 0..${decimalScaleMax}.`);
  return power;
}

/**
 * Divides exactly and rounds once. JavaScript's bigint `/` truncates toward zero and `%` takes
 * the sign of the numerator, so we work from the truncated quotient and decide whether to step
 * one unit away from zero.
 */
export function divRound(numerator: bigint, denominator: bigint, mode: RoundingMode = 'half_away_from_zero'): bigint {
  invariant(denominator !== 0n, 'Division by zero.');
  const quotient = numerator / denominator;
  const remainder = numerator % denominator;
  if (remainder === 0n) return quotient;
  const negative = numerator < 0n !== denominator < 0n;
  const awayFromZero = negative ? quotient - 1n : quotient + 1n;
  switch (mode) {
    case 'down':
      return quotient;
    case 'up':
      return awayFromZero;
    case 'floor':
      return negative ? awayFromZero : quotient;
    case 'ceiling':
      return negative ? quotient : awayFromZero;
    case 'half_away_from_zero':
    case 'half_even': {
      const twiceRemainder = 2n * (remainder < 0n ? -remainder : remainder);
      const absDenominator = denominator < 0n ? -denominator : denominator;
      if (twiceRemainder < absDenominator) return quotient;
      if (twiceRemainder > absDenominator) return awayFromZero;
      if (mode === 'half_away_from_zero') return awayFromZero;
      return quotient % 2n === 0n ? quotient : awayFromZero;
    }
  }
}

const decimalPattern = /^([+-]?)(\d+)(?:\.(\d+))?$/;

function problem<T>(code: string, message: string): Parsed<T> {
  return { ok: false, problem: { code, message } };
}

/**
 * Parses a decimal string such as "1500", "0.000250", "-12.5" or "+3" into `value × 10^scale`.
 * A digit is required on both sides of a point, so "1." and ".5" are rejected: they are
 * usually typos, and accepting them would make the canonical form ambiguous. Fraction digits
 * beyond the scale are accepted only when they are zeros, because then no value is lost.
 */
export function parseDecimal(
  text: unknown,
  scale: number,
  options: { allowNegative?: boolean; maxAbs?: bigint } = {},
): Parsed<bigint> {
  const unit = pow10(scale);
  if (typeof text !== 'string' || text.length > decimalTextLengthMax) {
    return problem('invalid_decimal', `Expected a decimal string of at most ${decimalTextLengthMax} characters.`);
  }
  const match = decimalPattern.exec(text);
  if (!match) return problem('invalid_decimal', `"${text}" is not a decimal like "12.5".`);
  const [, sign = '', wholeDigits = '0', fractionDigits = ''] = match;
  const kept = fractionDigits.slice(0, scale);
  if (/[^0]/.test(fractionDigits.slice(scale))) {
    return problem('too_many_decimals', `At most ${scale} fraction digits are allowed.`);
  }
  const magnitude = BigInt(wholeDigits) * unit + (kept === '' ? 0n : BigInt(kept.padEnd(scale, '0')));
  const value = sign === '-' ? -magnitude : magnitude;
  if (value < 0n && options.allowNegative !== true) {
    return problem('negative_not_allowed', 'The value must not be negative.');
  }
  const maxAbs = options.maxAbs ?? defaultMaxUnits * unit;
  if (magnitude > maxAbs) {
    return problem('out_of_range', `The value must be at most ${formatDecimal(maxAbs, scale)} in absolute value.`);
  }
  return { ok: true, value };
}

/** Powers of ten as numbers, exact up to 10^15 (below 2^53). */
const numberPowersOfTen: number[] = Array.from({ length: 16 }, (_, i) => 10 ** i);
const safeMagnitudeMax = BigInt(Number.MAX_SAFE_INTEGER);

/** Canonical text: no exponent, no plus sign, trailing fraction zeros trimmed, "0" for zero. */
export function formatDecimal(value: bigint, scale: number): string {
  const unit = pow10(scale);
  const magnitude = value < 0n ? -value : value;
  if (magnitude <= safeMagnitudeMax && scale <= 15) {
    // Most amounts fit in a double exactly; integer arithmetic on numbers below 2^53 is exact
    // and far cheaper than on bigints. The text is the same as the general path below.
    const m = Number(magnitude);
    const u = numberPowersOfTen[scale]!;
    const fractionValue = m % u;
    const whole = String((m - fractionValue) / u);
    const sign = value < 0n ? '-' : '';
    if (fractionValue === 0) return `${sign}${whole}`;
    let fraction = String(fractionValue).padStart(scale, '0');
    let end = fraction.length;
    while (fraction.charCodeAt(end - 1) === 48) end--;
    if (end !== fraction.length) fraction = fraction.slice(0, end);
    return `${sign}${whole}.${fraction}`;
  }
  const whole = (magnitude / unit).toString();
  const fraction = (magnitude % unit).toString().padStart(scale, '0').replace(/0+$/, '');
  const sign = value < 0n ? '-' : '';
  return fraction === '' ? `${sign}${whole}` : `${sign}${whole}.${fraction}`;
}

/** Credits carry 6 fraction digits and are stored as micro-credits (PRODUCT §1). */
export const creditsScale = 6;

export function parseCredits(text: unknown, options?: { allowNegative?: boolean; maxAbs?: bigint }): Parsed<bigint> {
  return parseDecimal(text, creditsScale, options);
}

export function formatCredits(micro: bigint): string {
  return formatDecimal(micro, creditsScale);
}

/** Usage quantities share the credits scale: 5 units are 5_000_000n micro-units. */
export const quantityScale = 6;

/** One unit of quantity, in micro-units. */
const quantityUnit = 10n ** BigInt(quantityScale);

/** `defaultMaxUnits` as a number, for whole numbers read without text. */
const defaultMaxUnitsNumber = Number(defaultMaxUnits);

/**
 * Turns a usage-event property into micro-units. A JSON number is accepted only when its
 * shortest round-trip text (`String(n)`) is a plain decimal; we parse that text rather than
 * multiplying the float, so 0.1 becomes exactly 100_000n. Negative quantities are allowed
 * because corrections are sent as negative usage.
 */
export function quantityFromJson(value: unknown): Parsed<bigint> {
  if (typeof value === 'string') return parseDecimal(value, quantityScale, { allowNegative: true });
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    return problem('invalid_quantity', 'Expected a finite number or a decimal string.');
  }
  // A whole number below 2^53 is exactly the integer it shows: scaled as a bigint, no text made.
  // Beyond parseDecimal's range it goes the text's way, to be refused there.
  if (Number.isSafeInteger(value) && value <= defaultMaxUnitsNumber && value >= -defaultMaxUnitsNumber) {
    return { ok: true, value: BigInt(value) * quantityUnit };
  }
  const text = String(value);
  if (/e/i.test(text)) {
    return problem('invalid_quantity', `${text} needs an exponent; send it as a decimal string instead.`);
  }
  return parseDecimal(text, quantityScale, { allowNegative: true });
}
