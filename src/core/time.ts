/**
 * Instants are epoch milliseconds inside Tally and RFC 3339 strings on the wire (PRODUCT §1).
 * This file converts between the two. It never reads the clock: `Date` is used only as a
 * calendar calculator over values it is given.
 */
import type { Parsed } from './decimal.ts';
import { invariant } from './errors.ts';

/** The latest instant a JavaScript Date can hold: the end of a window left open. */
export const endOfTimeMs = 8.64e15;

/** No valid RFC 3339 timestamp with nanoseconds and an offset is longer than this. */
export const timestampTextLengthMax = 40;

const timestampPattern = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:(Z)|([+-])(\d{2}):(\d{2}))$/;

export function daysInMonth(year: number, monthIndex: number): number {
  return new Date(utcMs(year, monthIndex + 1, 1) - 1).getUTCDate();
}

/**
 * Like `Date.UTC`, but years 0..99 mean themselves rather than 1900..1999. Months overflow
 * into years as `Date.UTC` does, which callers adding months rely on.
 */
export function utcMs(year: number, monthIndex: number, day: number, hours = 0, minutes = 0, seconds = 0, ms = 0): number {
  const date = new Date(0);
  date.setUTCFullYear(year, monthIndex, day);
  date.setUTCHours(hours, minutes, seconds, ms);
  return date.getTime();
}

function invalid(message: string): Parsed<number> {
  return { ok: false, problem: { code: 'invalid_timestamp', message } };
}

/**
 * Parses an RFC 3339 timestamp with a `Z` or numeric offset into epoch milliseconds. The check
 * is strict: impossible dates (Feb 30), hours past 23 and leap seconds are refused instead of
 * being rolled over as `Date.parse` would. Fractions finer than a millisecond are truncated.
 */
export function parseTimestamp(text: unknown): Parsed<number> {
  const example = '2026-01-31T10:00:00Z';
  if (typeof text !== 'string' || text.length > timestampTextLengthMax) {
    return invalid(`Expected an RFC 3339 timestamp like ${example}.`);
  }
  const match = timestampPattern.exec(text);
  if (!match) return invalid(`"${text}" is not an RFC 3339 timestamp like ${example}.`);
  const year = Number(match[1]);
  const month = Number(match[2]);
  const day = Number(match[3]);
  const hours = Number(match[4]);
  const minutes = Number(match[5]);
  const seconds = Number(match[6]);
  const fraction = match[7] ?? '';
  const offsetSign = match[9] === '-' ? -1 : 1;
  const offsetHours = match[10] === undefined ? 0 : Number(match[10]);
  const offsetMinutes = match[11] === undefined ? 0 : Number(match[11]);
  const validDate = month >= 1 && month <= 12 && day >= 1 && day <= gregorianMonthDays(year, month - 1);
  const validTime = hours <= 23 && minutes <= 59 && seconds <= 59 && offsetHours <= 23 && offsetMinutes <= 59;
  if (!validDate || !validTime) return invalid(`"${text}" names a date or time that does not exist.`);
  const ms = fraction === '' ? 0 : Number(fraction.slice(0, 3).padEnd(3, '0'));
  // `Date.UTC` reads years 0..99 as 1900..1999; `utcMs` does not, at the cost of a Date object.
  const localMs = year >= 100 ? Date.UTC(year, month - 1, day, hours, minutes, seconds, ms) : utcMs(year, month - 1, day, hours, minutes, seconds, ms);
  return { ok: true, value: localMs - offsetSign * (offsetHours * 60 + offsetMinutes) * 60_000 };
}

const monthDays = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** `daysInMonth` for a year of the proleptic Gregorian calendar (as `Date` counts), month 0..11, without a Date. */
function gregorianMonthDays(year: number, monthIndex: number): number {
  if (monthIndex !== 1) return monthDays[monthIndex]!;
  return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28;
}

/** UTC with a `Z`, and milliseconds only when there are some: `2026-01-31T10:00:00Z`. */
export function formatTimestamp(ms: number): string {
  invariant(Number.isSafeInteger(ms), `Timestamp ${ms} is not a whole number of milliseconds.`);
  return new Date(ms).toISOString().replace(/\.000Z$/, 'Z');
}
