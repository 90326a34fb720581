/**
 * Amounts as the API writes them, read back without the engine's own parser: a test that checks
 * the engine's amounts should not check them with the engine's code. BigInt only.
 */
const microPerCredit = 1_000_000n;

/** A decimal amount as the API writes it ("12.5", "-0.000037") in exact micro-credits. */
export function toMicro(amount: string): bigint {
  const negative = amount.startsWith('-');
  const [whole, fraction = ''] = (negative ? amount.slice(1) : amount).split('.');
  if (whole === undefined || !/^\d+$/.test(whole) || !/^\d{0,6}$/.test(fraction)) throw new Error(`not an amount of credits: ${JSON.stringify(amount)}`);
  const value = BigInt(whole) * microPerCredit + BigInt(fraction.padEnd(6, '0'));
  return negative ? -value : value;
}
