import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import {
  divRound,
  formatCredits,
  formatDecimal,
  parseCredits,
  parseDecimal,
  quantityFromJson,
  quantityScale,
  type RoundingMode,
} from './decimal.ts';

const modes: RoundingMode[] = ['half_away_from_zero', 'half_even', 'floor', 'ceiling', 'down', 'up'];

/** A second, independent derivation: start from the floor and a non-negative remainder. */
function referenceDivRound(numerator: bigint, denominator: bigint, mode: RoundingMode): bigint {
  const n = denominator < 0n ? -numerator : numerator;
  const d = denominator < 0n ? -denominator : denominator;
  const floor = n >= 0n ? n / d : -((-n + d - 1n) / d);
  const rest = n - floor * d;
  const ceiling = rest === 0n ? floor : floor + 1n;
  if (rest === 0n) return floor;
  switch (mode) {
    case 'floor':
      return floor;
    case 'ceiling':
      return ceiling;
    case 'down':
      return n >= 0n ? floor : ceiling;
    case 'up':
      return n >= 0n ? ceiling : floor;
    default:
      if (2n * rest < d) return floor;
      if (2n * rest > d) return ceiling;
      if (mode === 'half_even') return floor % 2n === 0n ? floor : ceiling;
      return n >= 0n ? ceiling : floor;
  }
}

describe('divRound', () => {
  it.each([
    // [numerator, denominator, mode, expected]
    [5n, 2n, 'half_away_from_zero', 3n],
    [-5n, 2n, 'half_away_from_zero', -3n],
    [5n, -2n, 'half_away_from_zero', -3n],
    [-5n, -2n, 'half_away_from_zero', 3n],
    [5n, 2n, 'half_even', 2n],
    [7n, 2n, 'half_even', 4n],
    [-5n, 2n, 'half_even', -2n],
    [-7n, 2n, 'half_even', -4n],
    [7n, 3n, 'floor', 2n],
    [-7n, 3n, 'floor', -3n],
    [7n, 3n, 'ceiling', 3n],
    [-7n, 3n, 'ceiling', -2n],
    [-7n, 3n, 'down', -2n],
    [-7n, 3n, 'up', -3n],
    [7n, 3n, 'up', 3n],
    [6n, 3n, 'up', 2n],
    [4n, 3n, 'half_away_from_zero', 1n],
    [-4n, 3n, 'half_away_from_zero', -1n],
  ] as const)('%s / %s rounded %s is %s', (numerator, denominator, mode, expected) => {
    expect(divRound(numerator, denominator, mode)).toBe(expected);
  });

  it('throws on a zero denominator', () => {
    expect(() => divRound(1n, 0n)).toThrow();
  });

  it('agrees with a reference implementation for every mode', () => {
    const nonZero = fc.bigInt({ min: -(10n ** 20n), max: 10n ** 20n }).filter((d) => d !== 0n);
    fc.assert(
      fc.property(fc.bigInt({ min: -(10n ** 30n), max: 10n ** 30n }), nonZero, fc.constantFrom(...modes), (n, d, mode) => {
        expect(divRound(n, d, mode)).toBe(referenceDivRound(n, d, mode));
      }),
    );
  });

  it('agrees with the reference on small numbers, where ties are common', () => {
    const small = fc.bigInt({ min: -40n, max: 40n });
    fc.assert(
      fc.property(small, small.filter((d) => d !== 0n), fc.constantFrom(...modes), (n, d, mode) => {
        expect(divRound(n, d, mode)).toBe(referenceDivRound(n, d, mode));
      }),
      { numRuns: 2000 },
    );
  });
});

describe('parseDecimal', () => {
  it.each([
    ['1500', 1_500_000_000n],
    ['0.000250', 250n],
    ['-12.5', -12_500_000n],
    ['+3', 3_000_000n],
    ['007', 7_000_000n],
    ['-0', 0n],
    ['1.5000000', 1_500_000n],
    ['0', 0n],
  ])('parses %s at scale 6', (text, expected) => {
    expect(parseDecimal(text, 6, { allowNegative: true })).toEqual({ ok: true, value: expected });
  });

  it.each([
    [1500, 'invalid_decimal'],
    ['', 'invalid_decimal'],
    ['1e5', 'invalid_decimal'],
    [' 1', 'invalid_decimal'],
    ['1 ', 'invalid_decimal'],
    ['1.', 'invalid_decimal'],
    ['.5', 'invalid_decimal'],
    ['--1', 'invalid_decimal'],
    ['1,5', 'invalid_decimal'],
    ['0x10', 'invalid_decimal'],
    ['1'.repeat(65), 'invalid_decimal'],
    [null, 'invalid_decimal'],
    ['0.0000001', 'too_many_decimals'],
    ['1.00000010', 'too_many_decimals'],
    ['-1', 'negative_not_allowed'],
    ['1000000000000000.000001', 'out_of_range'],
  ])('rejects %j with %s', (text, code) => {
    const parsed = parseDecimal(text, 6);
    expect(parsed.ok ? undefined : parsed.problem.code).toBe(code);
  });

  it('accepts "-0" without allowNegative and the bound itself', () => {
    expect(parseDecimal('-0', 6)).toEqual({ ok: true, value: 0n });
    expect(parseDecimal('1000000000000000', 6)).toEqual({ ok: true, value: 10n ** 21n });
  });

  it('honours a custom maxAbs on negative values too', () => {
    const parsed = parseDecimal('-10.5', 1, { allowNegative: true, maxAbs: 100n });
    expect(parsed.ok ? undefined : parsed.problem.code).toBe('out_of_range');
    expect(parseDecimal('-10', 1, { allowNegative: true, maxAbs: 100n })).toEqual({ ok: true, value: -100n });
  });

  it('works at scale 0', () => {
    expect(parseDecimal('42', 0)).toEqual({ ok: true, value: 42n });
    expect(parseDecimal('42.0', 0)).toEqual({ ok: true, value: 42n });
    expect(parseDecimal('42.5', 0).ok).toBe(false);
  });
});

describe('formatDecimal', () => {
  it.each([
    [1_500_000_000n, '1500'],
    [250n, '0.00025'],
    [-12_500_000n, '-12.5'],
    [0n, '0'],
    [-1n, '-0.000001'],
    [1_000_001n, '1.000001'],
  ])('formats %s at scale 6 as %s', (value, text) => {
    expect(formatDecimal(value, 6)).toBe(text);
  });

  it('round-trips through parseDecimal for random values and scales', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: -(10n ** 24n), max: 10n ** 24n }), fc.integer({ min: 0, max: 9 }), (value, scale) => {
        const text = formatDecimal(value, scale);
        const parsed = parseDecimal(text, scale, { allowNegative: true, maxAbs: 10n ** 24n });
        expect(parsed).toEqual({ ok: true, value });
        if (parsed.ok) expect(formatDecimal(parsed.value, scale)).toBe(text);
      }),
    );
  });
});

describe('credits', () => {
  it('are decimals at scale 6', () => {
    expect(parseCredits('0.002')).toEqual({ ok: true, value: 2000n });
    expect(formatCredits(2000n)).toBe('0.002');
    expect(formatCredits(-12_500_000n)).toBe('-12.5');
  });
});

describe('quantityFromJson', () => {
  it.each([
    [5, 5_000_000n],
    [0.1, 100_000n],
    [-2.5, -2_500_000n],
    [0.000001, 1n],
    ['12.345', 12_345_000n],
    ['-3', -3_000_000n],
    [-0, 0n],
  ])('reads %j', (value, expected) => {
    expect(quantityFromJson(value)).toEqual({ ok: true, value: expected });
  });

  it.each([
    [true, 'invalid_quantity'],
    [{}, 'invalid_quantity'],
    [null, 'invalid_quantity'],
    [Number.NaN, 'invalid_quantity'],
    [Number.POSITIVE_INFINITY, 'invalid_quantity'],
    [1e21, 'invalid_quantity'],
    [1e-7, 'invalid_quantity'],
    [0.1 + 0.2, 'too_many_decimals'],
    ['1e3', 'invalid_decimal'],
    [1e16, 'out_of_range'],
  ])('rejects %j with %s', (value, code) => {
    const parsed = quantityFromJson(value);
    expect(parsed.ok ? undefined : parsed.problem.code).toBe(code);
  });

  it('reads a whole number as its decimal text reads, up to the limit and past it', () => {
    const limit = 10 ** 15;
    const whole = fc.oneof(fc.integer(), fc.maxSafeInteger(), fc.integer({ min: limit - 3, max: limit + 3 }), fc.integer({ min: -limit - 3, max: -limit + 3 }));
    fc.assert(fc.property(whole, (n) => {
      expect(quantityFromJson(n)).toEqual(parseDecimal(String(n), quantityScale, { allowNegative: true }));
    }), { numRuns: 2000 });
    expect(quantityFromJson(limit)).toEqual({ ok: true, value: 10n ** 21n });
    expect(quantityFromJson(-limit - 1).ok).toBe(false);
  });
});
