import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { addIntervals, calendarMonthAt, periodAt, type Interval } from './periods.ts';

const at = (y: number, m: number, d: number, h = 0, mi = 0, s = 0): number => Date.UTC(y, m - 1, d, h, mi, s);

describe('addIntervals', () => {
  it('renews a Jan 31 anchor at each month end, always from the anchor', () => {
    const anchor = at(2024, 1, 31, 9, 30);
    expect([1, 2, 3, 4, 12, 13].map((n) => addIntervals(anchor, 'month', n))).toEqual([
      at(2024, 2, 29, 9, 30),
      at(2024, 3, 31, 9, 30),
      at(2024, 4, 30, 9, 30),
      at(2024, 5, 31, 9, 30),
      at(2025, 1, 31, 9, 30),
      at(2025, 2, 28, 9, 30),
    ]);
    expect(addIntervals(at(2023, 1, 31), 'month', 1)).toBe(at(2023, 2, 28));
  });

  it('clamps a Feb 29 anchor in non-leap years', () => {
    const anchor = at(2024, 2, 29, 12);
    expect(addIntervals(anchor, 'year', 1)).toBe(at(2025, 2, 28, 12));
    expect(addIntervals(anchor, 'year', 4)).toBe(at(2028, 2, 29, 12));
  });

  it('handles zero, negative counts and year boundaries', () => {
    const anchor = at(2025, 11, 15);
    expect(addIntervals(anchor, 'month', 0)).toBe(anchor);
    expect(addIntervals(anchor, 'month', 2)).toBe(at(2026, 1, 15));
    expect(addIntervals(anchor, 'month', -11)).toBe(at(2024, 12, 15));
    expect(addIntervals(at(1969, 12, 31, 23), 'month', 2)).toBe(at(1970, 2, 28, 23));
  });

  it('refuses a fractional count', () => {
    expect(() => addIntervals(0, 'month', 1.5)).toThrow();
  });
});

describe('periodAt', () => {
  const anchor = at(2024, 1, 31, 10);

  it('finds the period containing an instant, end exclusive', () => {
    expect(periodAt(anchor, 'month', anchor)).toEqual({ index: 0, startMs: anchor, endMs: at(2024, 2, 29, 10) });
    expect(periodAt(anchor, 'month', at(2024, 2, 29, 9, 59, 59)).index).toBe(0);
    expect(periodAt(anchor, 'month', at(2024, 2, 29, 10))).toEqual({ index: 1, startMs: at(2024, 2, 29, 10), endMs: at(2024, 3, 31, 10) });
    expect(periodAt(anchor, 'month', at(2024, 3, 30)).index).toBe(1);
    expect(periodAt(anchor, 'month', at(2034, 3, 30)).index).toBe(121);
  });

  it('puts instants before the anchor in period 0', () => {
    expect(periodAt(anchor, 'month', at(2020, 1, 1))).toEqual({ index: 0, startMs: anchor, endMs: at(2024, 2, 29, 10) });
  });

  it('works for yearly plans', () => {
    const leap = at(2024, 2, 29);
    expect(periodAt(leap, 'year', at(2025, 2, 28))).toEqual({ index: 1, startMs: at(2025, 2, 28), endMs: at(2026, 2, 28) });
    expect(periodAt(leap, 'year', at(2025, 2, 27)).index).toBe(0);
    expect(periodAt(leap, 'year', at(2028, 2, 29)).index).toBe(4);
  });

  it('agrees with walking the periods one by one', () => {
    const anchorArb = fc.integer({ min: at(1990, 1, 1), max: at(2060, 1, 1) });
    const offsetArb = fc.integer({ min: -10 * 86_400_000, max: 40 * 366 * 86_400_000 });
    const intervalArb = fc.constantFrom<Interval>('month', 'year');
    fc.assert(
      fc.property(anchorArb, offsetArb, intervalArb, (anchorMs, offset, interval) => {
        const atMs = anchorMs + offset;
        let index = 0;
        while (addIntervals(anchorMs, interval, index + 1) <= atMs) index += 1;
        const period = periodAt(anchorMs, interval, atMs);
        expect(period.index).toBe(index);
        expect(period.startMs <= atMs || index === 0).toBe(true);
        expect(atMs < period.endMs).toBe(true);
      }),
    );
  });
});

describe('calendarMonthAt', () => {
  it('returns the UTC month around an instant', () => {
    expect(calendarMonthAt(at(2024, 2, 29, 23, 59, 59))).toEqual({ startMs: at(2024, 2, 1), endMs: at(2024, 3, 1) });
    expect(calendarMonthAt(at(2025, 12, 1))).toEqual({ startMs: at(2025, 12, 1), endMs: at(2026, 1, 1) });
  });
});
