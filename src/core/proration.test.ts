import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { complementFraction, creditTakenBack, keptShare, prorate, remainingFraction, timesFraction, whole, type Fraction } from './proration.ts';

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

describe('keptShare', () => {
  it('is whole until returns reach into the fee, which they do after the invoice\'s other charges', () => {
    // A 31.00 fee alone: nothing returned, half, all.
    expect(keptShare(3100n, 3100n, 0n)).toEqual(whole);
    expect(keptShare(3100n, 3100n, 1550n)).toEqual({ numerator: 1550n, denominator: 3100n });
    expect(keptShare(3100n, 3100n, 3100n)).toEqual({ numerator: 0n, denominator: 3100n });
    // Beside 9.00 of overage: a 9.00 refund takes none of the fee, 20.00 takes 11.00 of it.
    expect(keptShare(3100n, 4000n, 900n)).toEqual(whole);
    expect(keptShare(3100n, 4000n, 2000n)).toEqual({ numerator: 2000n, denominator: 3100n });
    // A plan change's 42.00 charge, partly paid by the old fee's credit: 10.00 returned leaves 32.00.
    expect(keptShare(4200n, 4200n, 1000n)).toEqual({ numerator: 3200n, denominator: 4200n });
    // A free plan's zero fee has nothing to scale.
    expect(keptShare(0n, 500n, 500n)).toEqual(whole);
  });

  it('scales a prorated credit with one rounding: 21/31 of half of 31.00 is 10.50', () => {
    expect(prorate(3100n, timesFraction({ numerator: 21n, denominator: 31n }, keptShare(3100n, 3100n, 1550n)))).toBe(1050n);
  });

  it('never credits more than the fee kept', () => {
    fc.assert(fc.property(fc.bigInt({ min: 1n, max: 10n ** 9n }), fc.bigInt({ min: 0n, max: 10n ** 9n }), fc.bigInt({ min: 0n, max: 2n * 10n ** 9n }),
      fc.bigInt({ min: 0n, max: 1000n }), (charge, other, returnedRaw, unused) => {
        const charges = charge + other;
        const returned = returnedRaw > charges ? charges : returnedRaw;
        const kept = keptShare(charge, charges, returned);
        const credit = prorate(charge, timesFraction({ numerator: unused, denominator: 1000n }, kept));
        expect(credit + returned <= charges).toBe(true);
        expect(credit <= charge).toBe(true);
      }));
  });
});

describe('creditTakenBack', () => {
  it('takes a refund of the credited fee off its other charges and used time first, then off the credit it gave', () => {
    // 31.00 fee, 21.00 credited against a 42.00 upgrade: its first 10.00 of refunds are its used time.
    expect(creditTakenBack(2100n, 0n, 3100n, 1000n)).toBe(0n);
    expect(creditTakenBack(2100n, 0n, 3100n, 1500n)).toBe(500n);
    expect(creditTakenBack(2100n, 0n, 3100n, 3100n)).toBe(2100n);
    // A downgrade: 42.00 credited, 21.00 of it beyond the new charge became a note; at most 21.00 is on the charge.
    expect(creditTakenBack(4200n, 2100n, 6200n, 4100n)).toBe(2100n);
    expect(creditTakenBack(4200n, 2100n, 6200n, 2000n)).toBe(0n);
  });
});
