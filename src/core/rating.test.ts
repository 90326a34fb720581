import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { costOfQuantity, marginalCost, parseRate, rateToWire, type Rate } from './rating.ts';

const units = (n: number): bigint => BigInt(n) * 1_000_000n;
const credits = (n: number): bigint => BigInt(n) * 1_000_000n;

function mustParse(input: unknown): Rate {
  const parsed = parseRate(input);
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
  return parsed.rate;
}

const graduated = mustParse({
  model: 'graduated',
  tiers: [
    { up_to: 5, credits_per_unit: '5' },
    { up_to: 10, credits_per_unit: '4' },
    { up_to: 15, credits_per_unit: '3' },
    { up_to: 20, credits_per_unit: '2' },
    { up_to: null, credits_per_unit: '1' },
  ],
});

describe('costOfQuantity', () => {
  it('prices graduated tiers slice by slice', () => {
    expect(costOfQuantity(graduated, units(6))).toBe(credits(29));
    expect(costOfQuantity(graduated, units(20))).toBe(credits(70));
    expect(costOfQuantity(graduated, units(25))).toBe(credits(75));
    expect(costOfQuantity(graduated, units(5))).toBe(credits(25));
    expect(costOfQuantity(graduated, 0n)).toBe(0n);
    expect(costOfQuantity(graduated, -units(3))).toBe(0n);
  });

  it('rounds partial packages up', () => {
    const rate = mustParse({ model: 'package', package_size: 20, credits_per_package: '10' });
    expect(costOfQuantity(rate, units(98))).toBe(credits(50));
    expect(costOfQuantity(rate, units(100))).toBe(credits(50));
    expect(costOfQuantity(rate, 1n)).toBe(credits(10));
    expect(costOfQuantity(rate, 0n)).toBe(0n);
    expect(costOfQuantity(rate, -units(5))).toBe(0n);
  });

  it('prices per unit, negative totals included', () => {
    const rate = mustParse({ model: 'per_unit', credits_per_unit: '0.002' });
    expect(costOfQuantity(rate, units(3))).toBe(6000n);
    expect(costOfQuantity(rate, -units(3))).toBe(-6000n);
    // 0.25 units at 0.000002 is 0.0000005 credits, which rounds half away from zero.
    const tiny = mustParse({ model: 'per_unit', credits_per_unit: '0.000002' });
    expect(costOfQuantity(tiny, 250_000n)).toBe(1n);
    expect(costOfQuantity(tiny, -250_000n)).toBe(-1n);
  });
});

describe('marginalCost', () => {
  it('sums per-event charges to the cost of the total', () => {
    const rate = mustParse({ model: 'per_unit', credits_per_unit: '0.002' });
    let total = 0n;
    let charged = 0n;
    for (let i = 0; i < 3; i += 1) {
      charged += marginalCost(rate, total, total + units(1));
      total += units(1);
    }
    expect(charged).toBe(6000n);
    expect(charged).toBe(costOfQuantity(rate, units(3)));
  });

  it('carries sub-micro prices without drift', () => {
    const rate = mustParse({ model: 'per_unit', credits_per_unit: '0.0000005' });
    const charges: bigint[] = [];
    for (let i = 0; i < 10; i += 1) charges.push(marginalCost(rate, units(i), units(i + 1)));
    expect(charges).toEqual([1n, 0n, 1n, 0n, 1n, 0n, 1n, 0n, 1n, 0n]);
    expect(charges.reduce((a, b) => a + b, 0n)).toBe(5n);
    expect(costOfQuantity(rate, units(10))).toBe(5n);
  });

  it('charges across a tier boundary at both prices', () => {
    expect(marginalCost(graduated, units(4), units(7))).toBe(credits(5 + 4 + 4));
  });
});

const quantityArb = fc.bigInt({ min: 1n, max: 10n ** 12n });
const unitPriceArb = fc.bigInt({ min: 0n, max: 10n ** 15n });
const rateArb: fc.Arbitrary<Rate> = fc.oneof(
  unitPriceArb.map((creditsPerUnitPico): Rate => ({ model: 'per_unit', creditsPerUnitPico })),
  fc
    .uniqueArray(quantityArb, { maxLength: 6 })
    .chain((bounds) => fc.array(unitPriceArb, { minLength: bounds.length + 1, maxLength: bounds.length + 1 }).map((prices) => ({ bounds, prices })))
    .map(({ bounds, prices }): Rate => {
      const sorted = [...bounds].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
      const upTos: (bigint | null)[] = [...sorted, null];
      return { model: 'graduated', tiers: upTos.map((upToMicro, i) => ({ upToMicro, creditsPerUnitPico: prices[i] ?? 0n })) };
    }),
  fc.record({ packageSizeMicro: quantityArb, creditsPerPackageMicro: fc.bigInt({ min: 0n, max: 10n ** 12n }) }).map((p): Rate => ({ model: 'package', ...p })),
);

describe('rating properties', () => {
  it('charges a sequence of events exactly the cost of its total', () => {
    fc.assert(
      fc.property(rateArb, fc.array(fc.bigInt({ min: 1n, max: 10n ** 10n }), { maxLength: 40 }), (rate, increments) => {
        let total = 0n;
        let charged = 0n;
        for (const increment of increments) {
          charged += marginalCost(rate, total, total + increment);
          total += increment;
        }
        expect(charged).toBe(costOfQuantity(rate, total));
      }),
    );
  });

  it('never charges less for more usage', () => {
    fc.assert(
      fc.property(rateArb, quantityArb, quantityArb, (rate, a, b) => {
        expect(marginalCost(rate, a < b ? a : b, a < b ? b : a) >= 0n).toBe(true);
      }),
    );
  });

  it('round-trips through the wire form', () => {
    fc.assert(
      fc.property(rateArb, (rate) => {
        expect(parseRate(JSON.parse(JSON.stringify(rateToWire(rate))))).toEqual({ ok: true, rate });
      }),
    );
  });
});

describe('parseRate', () => {
  it('reads each model', () => {
    expect(mustParse({ model: 'per_unit', credits_per_unit: '0.002' })).toEqual({ model: 'per_unit', creditsPerUnitPico: 2_000_000_000n });
    expect(mustParse({ model: 'package', package_size: '0.5', credits_per_package: '10' })).toEqual({
      model: 'package',
      packageSizeMicro: 500_000n,
      creditsPerPackageMicro: credits(10),
    });
    expect(mustParse({ model: 'graduated', tiers: [{ up_to: '2.5', credits_per_unit: '1' }, { up_to: null, credits_per_unit: '0' }] })).toEqual({
      model: 'graduated',
      tiers: [
        { upToMicro: 2_500_000n, creditsPerUnitPico: 10n ** 12n },
        { upToMicro: null, creditsPerUnitPico: 0n },
      ],
    });
  });

  it('writes the wire shape it reads', () => {
    expect(rateToWire(graduated)).toEqual({
      model: 'graduated',
      tiers: [
        { up_to: 5, credits_per_unit: '5' },
        { up_to: 10, credits_per_unit: '4' },
        { up_to: 15, credits_per_unit: '3' },
        { up_to: 20, credits_per_unit: '2' },
        { up_to: null, credits_per_unit: '1' },
      ],
    });
    expect(rateToWire({ model: 'package', packageSizeMicro: 1_500_000n, creditsPerPackageMicro: 250n })).toEqual({
      model: 'package',
      package_size: '1.5',
      credits_per_package: '0.00025',
    });
  });

  it.each([
    [null, [['rate', 'invalid_rate']]],
    [[], [['rate', 'invalid_rate']]],
    [{}, [['rate.model', 'required']]],
    [{ model: 'tiered' }, [['rate.model', 'invalid_model']]],
    [{ model: 'per_unit' }, [['rate.credits_per_unit', 'required']]],
    [{ model: 'per_unit', credits_per_unit: 0.002 }, [['rate.credits_per_unit', 'invalid_decimal']]],
    [{ model: 'per_unit', credits_per_unit: '-1' }, [['rate.credits_per_unit', 'negative_not_allowed']]],
    [{ model: 'per_unit', credits_per_unit: '0.0000000000001' }, [['rate.credits_per_unit', 'too_many_decimals']]],
    [{ model: 'per_unit', credits_per_unit: '1', extra: 1 }, [['rate.extra', 'unknown_field']]],
    [{ model: 'package', package_size: 0, credits_per_package: '0.0000001' }, [['rate.package_size', 'must_be_positive'], ['rate.credits_per_package', 'too_many_decimals']]],
    [{ model: 'package', package_size: true, credits_per_package: '1' }, [['rate.package_size', 'invalid_quantity']]],
    [{ model: 'graduated' }, [['rate.tiers', 'required']]],
    [{ model: 'graduated', tiers: [] }, [['rate.tiers', 'invalid_tiers']]],
    [{ model: 'graduated', tiers: Array.from({ length: 51 }, () => ({ up_to: null, credits_per_unit: '1' })) }, [['rate.tiers', 'invalid_tiers']]],
    [{ model: 'graduated', tiers: [{ up_to: 5, credits_per_unit: '1' }] }, [['rate.tiers[0].up_to', 'last_tier_must_be_unbounded']]],
    [{ model: 'graduated', tiers: [5, { up_to: null, credits_per_unit: '1' }] }, [['rate.tiers[0]', 'invalid_tier']]],
  ])('rejects %j', (input, expected) => {
    const parsed = parseRate(input);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.problems.map((p) => [p.field, p.code])).toEqual(expected);
  });

  it('reports every bad tier field at once, with paths', () => {
    const parsed = parseRate(
      {
        model: 'graduated',
        tiers: [
          { up_to: 10, credits_per_unit: '7' },
          { up_to: 10, credits_per_unit: 'x' },
          { up_to: null, credits_per_unit: '5' },
          { up_to: 0, credits_per_unit: '1', note: 'hi' },
          { up_to: 30, credits_per_unit: '1' },
        ],
      },
      'plan.rates[2]',
    );
    expect(parsed.ok ? [] : parsed.problems.map((p) => [p.field, p.code])).toEqual([
      ['plan.rates[2].tiers[1].up_to', 'tiers_not_increasing'],
      ['plan.rates[2].tiers[1].credits_per_unit', 'invalid_decimal'],
      ['plan.rates[2].tiers[2].up_to', 'only_last_tier_unbounded'],
      ['plan.rates[2].tiers[3].note', 'unknown_field'],
      ['plan.rates[2].tiers[3].up_to', 'must_be_positive'],
      ['plan.rates[2].tiers[4].up_to', 'last_tier_must_be_unbounded'],
    ]);
  });
});
