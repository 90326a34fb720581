import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { creditsToMinor, currencyExponent, currencyExponents, isCurrency, moneyToWire, parseMinorAmount } from './money.ts';

const required = [
  'USD', 'EUR', 'GBP', 'JPY', 'KRW', 'CHF', 'CAD', 'AUD', 'NZD', 'SEK', 'NOK', 'DKK', 'PLN', 'CZK', 'HUF',
  'INR', 'CNY', 'HKD', 'SGD', 'BRL', 'MXN', 'ZAR', 'TRY', 'ILS', 'AED', 'SAR', 'KWD', 'BHD', 'JOD', 'OMR',
  'TND', 'CLP', 'ISK', 'VND', 'IDR', 'THB', 'MYR', 'PHP', 'TWD', 'UAH', 'RUB', 'EGP', 'NGN', 'KES', 'COP',
  'PEN', 'ARS', 'UYU', 'XAF', 'XOF',
];

describe('currencies', () => {
  it('know every required currency with its ISO 4217 exponent', () => {
    const zero = new Set(['JPY', 'KRW', 'CLP', 'ISK', 'VND', 'XAF', 'XOF']);
    const three = new Set(['KWD', 'BHD', 'JOD', 'OMR', 'TND']);
    for (const code of required) {
      expect(isCurrency(code)).toBe(true);
      expect(currencyExponent(code)).toBe(zero.has(code) ? 0 : three.has(code) ? 3 : 2);
    }
  });

  it('accept only exact upper-case codes from the table', () => {
    for (const code of ['usd', 'Usd', 'USDX', 'US', 'XXX', '', 'toS', 123, null, 'constructor', '__proto__']) {
      expect(isCurrency(code)).toBe(false);
    }
  });

  it('throw on an unknown code, because callers must validate first', () => {
    expect(() => currencyExponent('XXX')).toThrow();
    expect(() => currencyExponent('usd')).toThrow();
  });

  it('cannot be changed at run time', () => {
    expect(Object.isFrozen(currencyExponents)).toBe(true);
  });
});

describe('moneyToWire', () => {
  it('writes the amount as a JSON integer', () => {
    expect(moneyToWire({ amountMinor: 1000n, currency: 'USD' })).toEqual({ amount: 1000, currency: 'USD' });
    expect(moneyToWire({ amountMinor: -364n, currency: 'EUR' })).toEqual({ amount: -364, currency: 'EUR' });
  });

  it('throws beyond the safe integer range', () => {
    const tooBig = BigInt(Number.MAX_SAFE_INTEGER) + 1n;
    expect(() => moneyToWire({ amountMinor: tooBig, currency: 'USD' })).toThrow();
    expect(() => moneyToWire({ amountMinor: -tooBig, currency: 'USD' })).toThrow();
  });
});

describe('parseMinorAmount', () => {
  it('accepts safe integers', () => {
    expect(parseMinorAmount(1000)).toEqual({ ok: true, value: 1000n });
    expect(parseMinorAmount(0)).toEqual({ ok: true, value: 0n });
    expect(parseMinorAmount(-5, { allowNegative: true })).toEqual({ ok: true, value: -5n });
    expect(parseMinorAmount(1e15)).toEqual({ ok: true, value: 10n ** 15n });
  });

  it.each([
    ['1000', 'invalid_amount'],
    [10.5, 'invalid_amount'],
    [Number.NaN, 'invalid_amount'],
    [Number.POSITIVE_INFINITY, 'invalid_amount'],
    [null, 'invalid_amount'],
    [true, 'invalid_amount'],
    [-1, 'negative_not_allowed'],
    [1e15 + 1, 'out_of_range'],
    [2 ** 60, 'out_of_range'],
  ])('rejects %j with %s', (value, code) => {
    const parsed = parseMinorAmount(value);
    expect(parsed.ok ? undefined : parsed.problem.code).toBe(code);
  });
});

describe('creditsToMinor', () => {
  it('rounds the exact product once', () => {
    // 1234.5 credits at 0.1 minor units per credit is 123.45 minor units.
    expect(creditsToMinor(1_234_500_000n, 100_000n, 6)).toBe(123n);
    // 1235 credits at 0.1 is exactly 123.5: half away from zero gives 124, half even gives 124.
    expect(creditsToMinor(1_235_000_000n, 100_000n, 6)).toBe(124n);
    expect(creditsToMinor(1_245_000_000n, 100_000n, 6, 'half_even')).toBe(124n);
    expect(creditsToMinor(1_234_500_000n, 100_000n, 6, 'ceiling')).toBe(124n);
    expect(creditsToMinor(-1_234_500_000n, 100_000n, 6)).toBe(-123n);
  });

  it('works with an integral price at scale 0', () => {
    expect(creditsToMinor(3_000_000n, 25n, 0)).toBe(75n);
  });

  it('is never more than half a minor unit from the exact value', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 10n ** 15n }), fc.bigInt({ min: 0n, max: 10n ** 9n }), (credits, price) => {
        const exactTimes2 = 2n * credits * price;
        const denominator = 10n ** 12n;
        const rounded = creditsToMinor(credits, price, 6);
        const errorTimes2 = rounded * 2n * denominator - exactTimes2;
        expect(errorTimes2 <= denominator && errorTimes2 >= -denominator).toBe(true);
      }),
    );
  });
});
