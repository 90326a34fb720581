import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { formatCredits, formatDecimal } from '../../core/decimal.ts';
import { ratingJson } from './usage.ts';

describe('an event row\'s rating text', () => {
  it('is the text JSON.stringify writes, for any meter code and amounts', () => {
    const line = fc.record({
      meter: fc.string({ unit: 'binary', maxLength: 12 }),
      quantity: fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }).map((q) => formatDecimal(q, 6)),
      credits: fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }).map(formatCredits),
    });
    fc.assert(fc.property(fc.array(line, { maxLength: 4 }), (lines) => {
      expect(ratingJson(lines)).toBe(JSON.stringify(lines));
    }), { numRuns: 500 });
    expect(ratingJson([{ meter: 'to"k\\ens', quantity: '1.5', credits: '-0.000001' }, { meter: 'r', quantity: '0', credits: '0' }]))
      .toBe('[{"meter":"to\\"k\\\\ens","quantity":"1.5","credits":"-0.000001"},{"meter":"r","quantity":"0","credits":"0"}]');
  });
});
