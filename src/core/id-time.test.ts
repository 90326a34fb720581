import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { fitsIdTime, idAlphabet, idFloor, idTimeEndMs, idTimeOf, idTimeText } from './id-time.ts';

const time = fc.integer({ min: 0, max: idTimeEndMs - 1 });
const tail = fc.array(fc.constantFrom(...idAlphabet), { minLength: 16, maxLength: 16 }).map((c) => c.join(''));

describe('the time part of ids', () => {
  it('reads back the time it was made from, for any time it fits', () => {
    fc.assert(fc.property(time, tail, (ms, rest) => idTimeOf(`txn_${idTimeText(ms)}${rest}`) === ms));
    expect(idTimeText(0)).toBe('0000000000');
    expect(idTimeText(idTimeEndMs - 1)).toBe('ZZZZZZZZZZ');
    expect(idTimeText(Date.parse('2025-03-05T07:15:00Z'))).toBe('01JNJJGR90'); // 1741158900000 in base 32, worked out apart
  });

  it('orders ids as their times, and idFloor splits them exactly at a time', () => {
    fc.assert(fc.property(time, tail, time, tail, (a, ra, b, rb) => {
      const ida = `txn_${idTimeText(a)}${ra}`;
      const idb = `txn_${idTimeText(b)}${rb}`;
      if (a !== b) expect(ida < idb).toBe(a < b);
      expect(ida >= idFloor('txn', b)).toBe(a >= b);
      expect(idb >= idFloor('txn', a)).toBe(b >= a);
    }));
  });

  it('names the times that fit and finds no time in an id without one', () => {
    expect([0, 1.5, -1, idTimeEndMs - 1, idTimeEndMs, Number.NaN].map(fitsIdTime)).toEqual([true, false, false, true, false, false]);
    expect(['txn', 'txn_01JNJJGR9', 'txn_01JNJJGRI0000', 'txn_01jnjjgr90'].map(idTimeOf)).toEqual([null, null, null, null]);
  });
});
