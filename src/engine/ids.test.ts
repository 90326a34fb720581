import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { idAlphabet, idTimeEndMs, idTimeOf, idTimeText } from '../core/id-time.ts';
import { createIdGenerator, type IdPrefix } from './ids.ts';

/** The clock's four places of an `at` id, worked out apart: its milliseconds modulo 32^4 in base 32. */
function clockPlaces(clockMs: number): string {
  let text = '';
  for (let rest = clockMs % 32 ** 4, i = 0; i < 4; i++, rest = Math.floor(rest / 32)) text = idAlphabet[rest % 32] + text;
  return text;
}

describe('ids of a given time (`at`)', () => {
  it('carry the time asked for, the clock, then a counter that steps once per id', () => {
    const time = fc.integer({ min: 0, max: idTimeEndMs - 1 });
    const prefix = fc.constantFrom<IdPrefix>('txn', 'evt', 'grt');
    const step = fc.record({ prefix, ms: time, tick: fc.integer({ min: 0, max: 3 }) });
    fc.assert(fc.property(fc.integer({ min: 0, max: 2 ** 45 }), fc.array(step, { minLength: 1, maxLength: 40 }), (start, steps) => {
      let clock = start;
      const ids = createIdGenerator(() => clock);
      let counter: bigint | null = null;
      for (const s of steps) {
        clock += s.tick;
        const id = ids.at(s.prefix, s.ms);
        expect(id).toMatch(new RegExp(`^${s.prefix}_[${idAlphabet}]{26}$`));
        expect(id.slice(0, s.prefix.length + 11)).toBe(`${s.prefix}_${idTimeText(s.ms)}`);
        expect(idTimeOf(id)).toBe(s.ms);
        expect(id.slice(s.prefix.length + 11, s.prefix.length + 15)).toBe(clockPlaces(clock));
        // The counter's 12 places, read as a base-32 number, go up by one per id (modulo 32^12).
        let value = 0n;
        for (const ch of id.slice(s.prefix.length + 15)) value = value * 32n + BigInt(idAlphabet.indexOf(ch));
        if (counter !== null) expect(value).toBe((counter + 1n) % 32n ** 12n);
        counter = value;
      }
    }));
  });

  it('made at one time within one clock millisecond, sort in the order they were made', () => {
    const ids = createIdGenerator(() => Date.parse('2026-12-05T12:00:00.123Z'));
    const ms = Date.parse('2026-12-05T11:59:00Z');
    const made = Array.from({ length: 2000 }, () => ids.at('txn', ms));
    // A counter started near its end wraps once in 32^12 ids; these 2000 do not, but for a start
    // that close: then the order holds on each side of the wrap.
    const wrap = made.findIndex((id, i) => i > 0 && id < made[i - 1]!);
    const runs = wrap === -1 ? [made] : [made.slice(0, wrap), made.slice(wrap)];
    for (const run of runs) expect([...run].sort()).toEqual(run);
    expect(new Set(made).size).toBe(made.length);
  });
});
