import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { complementFraction, prorate, remainingFraction, type Fraction } from './proration.ts';

const at = (text: string): number => Date.parse(text);

describe('remainingFraction', () => {
  const start = at('2026-01-01T00:00:00Z');
  const end = at('2026-01-01T00:01:40Z');

  it('measures the unused share in whole seconds', () => {
    expect(remainingFraction(start, end, at('2026-01-01T00:00:30Z'))).toEqual({ numerator: 70n, denominator: 100n });
    // Milliseconds are floored to the second before subtracting.
    expect(remainingFraction(start, end, at('2026-01-01T00:00:30.999Z'))).toEqual({ numerator: 70n, denominator: 100n });
    expect(remainingFraction(start + 999, end + 1, start + 1000)).toEqual({ numerator: 99n, denominator: 100n });
  });

  it('clamps to [0, 1]', () => {
    expect(remainingFraction(start, end, start - 5000)).toEqual({ numerator: 100n, denominator: 100n });
    expect(remainingFraction(start, end, end)).toEqual({ numerator: 0n, denominator: 100n });
    expect(remainingFraction(start, end, end + 5000)).toEqual({ numerator: 0n, denominator: 100n });
  });

  it('refuses an empty period', () => {
    expect(() => remainingFraction(start, start + 999, start)).toThrow();
  });
});

describe('prorate', () => {
  it('gives half of each fee for half a period (PRODUCT §7)', () => {
    const half = remainingFraction(0, 2_000_000, 1_000_000);
    expect(prorate(1000n, half)).toBe(500n);
    expect(prorate(2000n, half)).toBe(1000n);
  });

  it('matches the 2017 example to the minor unit', () => {
    const fraction = remainingFraction(at('2017-02-14T00:00:00Z'), at('2017-03-14T00:00:00Z'), at('2017-03-03T19:14:48Z'));
    expect(fraction).toEqual({ numerator: 881_112n, denominator: 2_419_200n });
    expect(prorate(1000n, fraction)).toBe(364n);
    expect(-prorate(1000n, fraction)).toBe(-364n);
  });

  it('rounds once with the named mode', () => {
    const third: Fraction = { numerator: 1n, denominator: 3n };
    expect(prorate(1000n, third)).toBe(333n);
    expect(prorate(1000n, third, 'ceiling')).toBe(334n);
    expect(prorate(-1000n, third, 'floor')).toBe(-334n);
    expect(prorate(5n, { numerator: 1n, denominator: 2n })).toBe(3n);
    expect(prorate(5n, { numerator: 1n, denominator: 2n }, 'half_even')).toBe(2n);
  });

  it('splits an amount into two shares that add up to within one unit', () => {
    const fractionArb = fc
      .bigInt({ min: 1n, max: 10n ** 9n })
      .chain((denominator) => fc.bigInt({ min: 0n, max: denominator }).map((numerator) => ({ numerator, denominator })));
    fc.assert(
      fc.property(fc.bigInt({ min: -(10n ** 15n), max: 10n ** 15n }), fractionArb, (amount, fraction) => {
        const difference = prorate(amount, fraction) + prorate(amount, complementFraction(fraction)) - amount;
        expect(difference >= -1n && difference <= 1n).toBe(true);
      }),
    );
  });
});
