import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { dialects } from '../support/databases.ts';
import { must, useEngine } from '../support/engine.ts';
import { createTestClock } from '../../src/engine/test-clocks.ts';
import { createCustomer } from '../../src/engine/customers.ts';
import { createMeter } from '../../src/engine/meters.ts';
import { ingestEvents } from '../../src/engine/ingest-events.ts';
import { costOfQuantity, parseRate } from '../../src/core/rating.ts';
import { parseCredits } from '../../src/core/decimal.ts';

/**
 * Exact rating through the engine (PRODUCT §3): whatever the rate and however usage is split
 * into events and batches, the credits charged event by event add up to the rate applied to the
 * period's total quantity, with no drift from per-event rounding. Sub-micro per-unit prices
 * ("0.0000003") are where per-event rounding would drift first.
 */

const numRuns = Number(process.env.TALLY_PROPERTY_RUNS ?? 30);
const oneUnitMicro = 1_000_000n;

const decimalText = (maxWhole: number, maxDigits: number): fc.Arbitrary<string> =>
  fc
    .tuple(fc.integer({ min: 0, max: maxWhole }), fc.integer({ min: 0, max: maxDigits }), fc.nat())
    .map(([whole, digits, fraction]) => (digits === 0 ? `${whole}` : `${whole}.${String(fraction % 10 ** digits).padStart(digits, '0')}`));

const subMicroPrice = fc.constantFrom('0.0000003', '0.0000001', '0.0000005', '0.0000007', '0.000000000001', '0.000000333333');
const unitPrice = fc.oneof(subMicroPrice, decimalText(0, 12), decimalText(5, 12));

const rateWire: fc.Arbitrary<unknown> = fc.oneof(
  unitPrice.map((price) => ({ model: 'per_unit', credits_per_unit: price })),
  fc.tuple(fc.uniqueArray(fc.integer({ min: 1, max: 200 }), { maxLength: 4 }), fc.array(unitPrice, { minLength: 5, maxLength: 5 })).map(
    ([bounds, prices]) => {
      const sorted = [...bounds].sort((a, b) => a - b);
      // Bounds in tenths of a unit, so tiers also break inside a unit.
      const upTo = (tenths: number): number | string => (tenths % 10 === 0 ? tenths / 10 : `${Math.floor(tenths / 10)}.${tenths % 10}`);
      return {
        model: 'graduated',
        tiers: [...sorted.map((b, i) => ({ up_to: upTo(b), credits_per_unit: prices[i]! })), { up_to: null, credits_per_unit: prices[sorted.length]! }],
      };
    },
  ),
  fc.tuple(fc.oneof(fc.integer({ min: 1, max: 30 }), fc.constantFrom('0.5', '1.25', '0.000001', '3.333333')), decimalText(10, 6)).map(
    ([size, price]) => ({ model: 'package', package_size: size, credits_per_package: price }),
  ),
);

/** Event quantities: small fractions (where rounding bites) as well as whole units. */
const quantityText = fc.oneof(
  decimalText(0, 6),
  decimalText(20, 6),
  fc.constantFrom('0.000001', '0.1', '0.25', '0.333333', '1', '7'),
);

/** `text × 10^scale` for a non-negative decimal, parsed here rather than by the engine. */
function scaled(text: string | number, scale: number): bigint {
  const [whole = '0', fraction = ''] = String(text).split('.');
  return BigInt(whole) * 10n ** BigInt(scale) + BigInt(fraction.padEnd(scale, '0'));
}

const micro = (text: string | number): bigint => scaled(text, 6);

/** Divides non-negative numbers, rounding half up (half away from zero for these). */
const roundHalfUp = (numerator: bigint, denominator: bigint): bigint => (2n * numerator + denominator) / (2n * denominator);

/**
 * The credits a rate asks for a total quantity, written from PRODUCT §3 without the engine's
 * code, as a second opinion beside `costOfQuantity`: per-unit and graduated prices are exact to
 * 10^-12 and rounded once; partial packages round up.
 */
function expectedCostMicro(wire: unknown, totalMicro: bigint): bigint {
  const rate = wire as
    | { model: 'per_unit'; credits_per_unit: string }
    | { model: 'graduated'; tiers: { up_to: number | string | null; credits_per_unit: string }[] }
    | { model: 'package'; package_size: number | string; credits_per_package: string };
  const picoDivisor = 10n ** 12n;
  if (rate.model === 'per_unit') return roundHalfUp(totalMicro * scaled(rate.credits_per_unit, 12), picoDivisor);
  if (rate.model === 'package') {
    const size = micro(rate.package_size);
    return ((totalMicro + size - 1n) / size) * micro(rate.credits_per_package);
  }
  let exact = 0n;
  let lower = 0n;
  for (const tier of rate.tiers) {
    const upper = tier.up_to === null ? totalMicro : micro(tier.up_to) < totalMicro ? micro(tier.up_to) : totalMicro;
    if (upper > lower) exact += (upper - lower) * scaled(tier.credits_per_unit, 12);
    if (tier.up_to === null || micro(tier.up_to) >= totalMicro) break;
    lower = upper;
  }
  return roundHalfUp(exact, picoDivisor);
}

let runSeq = 0;

describe.each(dialects)('rating exactness on %s', (dialect) => {
  const ctx = useEngine(dialect);

  it('charges per event that add up to the cost of the period total', async () => {
    await fc.assert(
      fc.asyncProperty(
        rateWire,
        fc.constantFrom<'sum' | 'count'>('sum', 'sum', 'count'),
        fc.array(quantityText, { minLength: 1, maxLength: 40 }),
        fc.integer({ min: 1, max: 12 }),
        async (wire, aggregation, quantities, batchSize) => {
          runSeq += 1;
          const prefix = `r${process.pid}-${dialect}-${runSeq}`;
          const parsed = parseRate(wire);
          if (!parsed.ok) throw new Error(`the generator made a bad rate: ${JSON.stringify(parsed.problems)}`);
          // Mid-month, so every event (sent without a timestamp) falls in one usage period.
          const clock = must(await createTestClock(ctx.engine, { frozen_time: '2026-03-15T12:00:00Z' }));
          const customer = must(await createCustomer(ctx.engine, { currency: 'USD', test_clock: clock.id, overage: true }));
          must(await createMeter(ctx.engine, {
            code: `${prefix}-m`,
            event_type: `${prefix}-t`,
            aggregation,
            value_property: aggregation === 'sum' ? 'q' : undefined,
            rate: wire,
          }));
          let totalMicro = 0n;
          let chargedMicro = 0n;
          for (let start = 0; start < quantities.length; start += batchSize) {
            const batch = quantities.slice(start, start + batchSize).map((q, i) => ({
              id: `${prefix}-e${start + i}`,
              customer: customer.id,
              type: `${prefix}-t`,
              properties: { q },
            }));
            const results = await ingestEvents(ctx.engine, batch);
            for (const [i, result] of results.entries()) {
              expect(result.status, JSON.stringify(result)).toBe('accepted');
              const credits = parseCredits(result.credits);
              if (!credits.ok) throw new Error(`bad credits ${String(result.credits)}`);
              chargedMicro += credits.value;
              totalMicro += aggregation === 'count' ? oneUnitMicro : micro(batch[i]!.properties.q);
            }
            // Exact after every batch, not only at the end: no drift can build up and cancel out.
            expect(chargedMicro).toBe(costOfQuantity(parsed.rate, totalMicro));
            expect(chargedMicro).toBe(expectedCostMicro(wire, totalMicro));
          }
        },
      ),
      { numRuns },
    );
  }, Math.max(60_000, numRuns * 300));
});
