/**
 * Money is an integer count of minor units of an ISO 4217 currency (PRODUCT §1): $10.00 is
 * `{ amountMinor: 1000n, currency: 'USD' }`. On the wire the amount is a JSON integer, which is
 * exact as long as it stays within Number.MAX_SAFE_INTEGER, so amounts are bounded well below:
 * every amount a caller sends, and every invoice line the engine makes, is at most
 * `amountMinorMax`. A sum of many (a report, a customer's money balance) can still pass 2^53; the
 * reply that would carry it is refused (`AmountBeyondJson`) rather than rounded.
 */
import { divRound, pow10, creditsScale, type Parsed, type RoundingMode } from './decimal.ts';
import { invariant } from './errors.ts';

export interface Money {
  amountMinor: bigint;
  currency: string;
}

/**
 * Minor-unit exponents of the currencies we bill in. Most have 2; the exceptions are listed
 * explicitly so that a new currency is a conscious addition rather than a silent default.
 */
const zeroDecimal = ['JPY', 'KRW', 'CLP', 'ISK', 'VND', 'XAF', 'XOF', 'UGX', 'PYG', 'RWF', 'XPF', 'KMF', 'GNF', 'DJF', 'VUV', 'BIF'];
const threeDecimal = ['KWD', 'BHD', 'JOD', 'OMR', 'TND', 'IQD', 'LYD'];
const twoDecimal = [
  'USD', 'EUR', 'GBP', 'CHF', 'CAD', 'AUD', 'NZD', 'SEK', 'NOK', 'DKK', 'PLN', 'CZK', 'HUF', 'INR',
  'CNY', 'HKD', 'SGD', 'BRL', 'MXN', 'ZAR', 'TRY', 'ILS', 'AED', 'SAR', 'MYR', 'PHP', 'TWD', 'UAH',
  'RUB', 'EGP', 'NGN', 'KES', 'COP', 'PEN', 'ARS', 'UYU', 'THB', 'IDR', 'RON', 'BGN', 'RSD', 'QAR',
  'PKR', 'BDT', 'LKR', 'MAD', 'GHS', 'TZS', 'BOB', 'CRC', 'DOP', 'GTQ', 'KZT', 'GEL', 'AMD', 'AZN',
];

export const currencyExponents: Readonly<Record<string, number>> = Object.freeze(
  Object.fromEntries([
    ...twoDecimal.map((code) => [code, 2] as const),
    ...zeroDecimal.map((code) => [code, 0] as const),
    ...threeDecimal.map((code) => [code, 3] as const),
  ]),
);

export function isCurrency(code: unknown): code is string {
  return typeof code === 'string' && /^[A-Z]{3}$/.test(code) && Object.hasOwn(currencyExponents, code);
}

export function currencyExponent(code: string): number {
  const exponent = isCurrency(code) ? currencyExponents[code] : undefined;
  invariant(exponent !== undefined, `Unknown currency ${JSON.stringify(code)}.`);
  return exponent;
}

/** Amounts above 10^15 minor units are refused at the edge; no real invoice comes close. */
export const amountMinorMax = 10n ** 15n;

export function moneyToWire(money: Money): { amount: number; currency: string } {
  return { amount: minorToJson(money.amountMinor), currency: money.currency };
}

/** The largest amount a reply carries: JSON integers beyond it are not exact in most parsers. */
export const jsonMinorMax = BigInt(Number.MAX_SAFE_INTEGER);

/**
 * A reply would carry an amount beyond `jsonMinorMax`: a sum over many amounts (each within
 * `amountMinorMax`), never one amount a caller sent or an invoice line. The server answers 422
 * `amount_beyond_json` (nothing is changed by a read; the caller asks for less, such as a shorter
 * window), never a rounded number.
 */
export class AmountBeyondJson extends Error {
  override readonly name = 'AmountBeyondJson';
  constructor(readonly amountMinor: bigint) {
    super(`An amount in this reply (${amountMinor} minor units) is beyond ${jsonMinorMax} (2^53 - 1), the largest the API sends as an exact JSON integer.`);
  }
}

/** Minor units as an exact JSON integer; beyond 2^53 - 1 the reply is refused, never rounded. */
export function minorToJson(amountMinor: bigint): number {
  if (amountMinor > jsonMinorMax || amountMinor < -jsonMinorMax) throw new AmountBeyondJson(amountMinor);
  return Number(amountMinor);
}

/**
 * Reads an amount of minor units from JSON. Only integers are accepted: a fractional number
 * of cents is a client bug, and a string would invite the float parsing we exist to avoid.
 */
export function parseMinorAmount(value: unknown, options: { allowNegative?: boolean } = {}): Parsed<bigint> {
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    return { ok: false, problem: { code: 'invalid_amount', message: 'Expected an integer number of minor units.' } };
  }
  if (value < 0 && options.allowNegative !== true) {
    return { ok: false, problem: { code: 'negative_not_allowed', message: 'The amount must not be negative.' } };
  }
  // An unsafe integer may already have lost digits in JSON.parse, so it is out of range too.
  if (!Number.isSafeInteger(value) || BigInt(Math.abs(value)) > amountMinorMax) {
    return { ok: false, problem: { code: 'out_of_range', message: `The amount must be at most ${amountMinorMax} minor units.` } };
  }
  return { ok: true, value: BigInt(value) };
}

/**
 * The money for a number of credits at a decimal price per credit in minor units, e.g. "0.1"
 * minor units per credit held as 100_000n at unitScale 6. The exact product is formed first
 * and rounded once, so 1234.5 credits at "0.1" is 123.45, hence 123 minor units.
 */
export function creditsToMinor(
  creditsMicro: bigint,
  unitAmountPerCreditScaled: bigint,
  unitScale: number,
  mode: RoundingMode = 'half_away_from_zero',
): bigint {
  return divRound(creditsMicro * unitAmountPerCreditScaled, pow10(creditsScale) * pow10(unitScale), mode);
}
