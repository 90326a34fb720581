import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { daysInMonth, formatTimestamp, parseTimestamp } from './time.ts';

describe('parseTimestamp', () => {
  it.each([
    ['2026-01-31T10:00:00Z', Date.UTC(2026, 0, 31, 10)],
    ['2026-01-31T10:00:00.123+02:00', Date.UTC(2026, 0, 31, 8, 0, 0, 123)],
    ['2026-01-31T10:00:00-05:30', Date.UTC(2026, 0, 31, 15, 30)],
    ['2026-01-31T10:00:00.5Z', Date.UTC(2026, 0, 31, 10, 0, 0, 500)],
    ['2026-01-31T10:00:00.123999999Z', Date.UTC(2026, 0, 31, 10, 0, 0, 123)],
    ['2024-02-29T00:00:00Z', Date.UTC(2024, 1, 29)],
    ['1969-12-31T23:59:59Z', -1000],
    ['0050-06-01T00:00:00Z', new Date('0050-06-01T00:00:00Z').getTime()],
  ])('reads %s', (text, expected) => {
    expect(parseTimestamp(text)).toEqual({ ok: true, value: expected });
  });

  it.each([
    '2026-02-30T10:00:00Z',
    '2023-02-29T10:00:00Z',
    '2026-04-31T10:00:00Z',
    '2026-13-01T10:00:00Z',
    '2026-00-10T10:00:00Z',
    '2026-01-00T10:00:00Z',
    '2026-01-31T24:00:00Z',
    '2026-01-31T10:60:00Z',
    '2026-12-31T23:59:60Z',
    '2026-01-31T10:00:00+24:00',
    '2026-01-31T10:00:00',
    '2026-01-31 10:00:00Z',
    '2026-01-31t10:00:00z',
    '2026-01-31T10:00Z',
    '2026-01-31',
    '2026-01-31T10:00:00.Z',
    '2026-01-31T10:00:00.1234567890Z',
    '2026-01-31T10:00:00+0200',
    ' 2026-01-31T10:00:00Z',
    '',
    1_700_000_000_000,
    null,
  ])('rejects %j', (text) => {
    const parsed = parseTimestamp(text);
    expect(parsed.ok ? undefined : parsed.problem.code).toBe('invalid_timestamp');
  });
});

describe('formatTimestamp', () => {
  it('drops zero milliseconds and keeps others', () => {
    expect(formatTimestamp(Date.UTC(2026, 0, 31, 10))).toBe('2026-01-31T10:00:00Z');
    expect(formatTimestamp(Date.UTC(2026, 0, 31, 10, 0, 0, 120))).toBe('2026-01-31T10:00:00.120Z');
  });

  it('refuses fractional milliseconds', () => {
    expect(() => formatTimestamp(1.5)).toThrow();
  });

  it('round-trips with parseTimestamp', () => {
    const range = { min: Date.UTC(1970, 0, 1), max: Date.UTC(9999, 11, 31, 23, 59, 59, 999) };
    fc.assert(
      fc.property(fc.integer(range), (ms) => {
        expect(parseTimestamp(formatTimestamp(ms))).toEqual({ ok: true, value: ms });
      }),
    );
  });
});

describe('daysInMonth', () => {
  it('knows leap years', () => {
    expect(daysInMonth(2024, 1)).toBe(29);
    expect(daysInMonth(2023, 1)).toBe(28);
    expect(daysInMonth(1900, 1)).toBe(28);
    expect(daysInMonth(2000, 1)).toBe(29);
    expect(daysInMonth(2026, 11)).toBe(31);
    expect(daysInMonth(2026, 3)).toBe(30);
  });
});
