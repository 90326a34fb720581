import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { daysInMonth, formatTimestamp, parseTimestamp, timestampMaxMs, timestampMinMs } from './time.ts';

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
    ['0000-01-01T00:00:00Z', timestampMinMs],
    ['0000-01-01T01:00:00+01:00', timestampMinMs],
    ['9999-12-31T23:59:59.999Z', timestampMaxMs],
    ['9999-12-31T18:59:59.999-05:00', timestampMaxMs],
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
    // Real local times whose instant in UTC has no four-digit year.
    '9999-12-31T23:00:00-05:00',
    '0000-01-01T00:59:59.999+01:00',
  ])('rejects %j', (text) => {
    const parsed = parseTimestamp(text);
    expect(parsed.ok ? undefined : parsed.problem.code).toBe('invalid_timestamp');
  });
});

/** The grammar as a regular expression, as the parser was first written: the character-code reader must agree with it. */
const pattern = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:(Z)|([+-])(\d{2}):(\d{2}))$/;

function parseByPattern(text: string): number | 'malformed' | 'impossible' | 'outside' {
  const m = pattern.exec(text);
  if (!m) return 'malformed';
  const [year, month, day, hours, minutes, seconds] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  const offsetHours = m[10] === undefined ? 0 : Number(m[10]);
  const offsetMinutes = m[11] === undefined ? 0 : Number(m[11]);
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month - 1)) return 'impossible';
  if (hours > 23 || minutes > 59 || seconds > 59 || offsetHours > 23 || offsetMinutes > 59) return 'impossible';
  const ms = Number((m[7] ?? '').slice(0, 3).padEnd(3, '0'));
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  date.setUTCHours(hours, minutes, seconds, ms);
  const value = date.getTime() - (m[9] === '-' ? -1 : 1) * (offsetHours * 60 + offsetMinutes) * 60_000;
  // In UTC the instant must still have a four-digit year.
  const utcYear = new Date(value).getUTCFullYear();
  return utcYear < 0 || utcYear > 9999 ? 'outside' : value;
}

describe('parseTimestamp against its grammar', () => {
  it('agrees with the regular expression on timestamps and on near misses', () => {
    const digits = (min: number, max: number) => fc.string({ unit: fc.constantFrom(...'0123456789'), minLength: min, maxLength: max });
    const wellFormed = fc.tuple(digits(4, 4), digits(2, 2), digits(2, 2), digits(2, 2), digits(2, 2), digits(2, 2),
      fc.option(digits(1, 10), { nil: undefined }), fc.oneof(fc.constant('Z'), fc.tuple(fc.constantFrom('+', '-'), digits(2, 2), digits(2, 2)).map(([s, h, m]) => `${s}${h}:${m}`)))
      .map(([y, mo, d, h, mi, s, f, z]) => `${y}-${mo}-${d}T${h}:${mi}:${s}${f === undefined ? '' : `.${f}`}${z}`);
    // Real instants, with any number of fraction places and any offset.
    const instant = fc.tuple(fc.date({ min: new Date('0001-01-01T00:00:00Z'), max: new Date('9999-12-31T23:59:59Z'), noInvalidDate: true }),
      fc.integer({ min: 0, max: 9 }), digits(9, 9), fc.constantFrom('Z', '+02:00', '-05:30', '+23:59', '-00:00'))
      .map(([d, places, f, z]) => `${d.toISOString().slice(0, 19)}${places === 0 ? '' : `.${f.slice(0, places)}`}${z}`);
    // Near misses: one character replaced, one cut off or one added, from the grammar's own characters and a few others.
    const other = fc.constantFrom(...'0123456789-:TZ.+tz ٣');
    const mutated = fc.tuple(fc.oneof(wellFormed, instant), fc.nat(), other, fc.constantFrom('replace', 'cut', 'add', 'keep')).map(([text, at, ch, how]) => {
      const i = at % (text.length + 1);
      if (how === 'replace') return text.slice(0, i) + ch + text.slice(i + 1);
      if (how === 'cut') return text.slice(0, i) + text.slice(i + 1);
      if (how === 'add') return text.slice(0, i) + ch + text.slice(i);
      return text;
    });
    fc.assert(fc.property(mutated, (text) => {
      const expected = parseByPattern(text);
      const parsed = parseTimestamp(text);
      if (typeof expected === 'number') expect(parsed).toEqual({ ok: true, value: expected });
      else {
        expect(parsed.ok).toBe(false);
        if (!parsed.ok) {
          expect(parsed.problem.message.includes('does not exist')).toBe(expected === 'impossible');
          expect(parsed.problem.message.includes('outside the years')).toBe(expected === 'outside');
        }
      }
    }), { numRuns: 3000 });
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
