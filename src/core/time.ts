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

/** 0000-01-01T00:00:00Z and 9999-12-31T23:59:59.999Z: the instants RFC 3339's four-digit years can write. */
export const timestampMinMs = -62_167_219_200_000;
export const timestampMaxMs = 253_402_300_799_999;

function invalid(message: string): Parsed<number> {
  return { ok: false, problem: { code: 'invalid_timestamp', message } };
}

/**
 * Parses an RFC 3339 timestamp with a `Z` or numeric offset into epoch milliseconds. The check
 * is strict: impossible dates (Feb 30), hours past 23 and leap seconds are refused instead of
 * being rolled over as `Date.parse` would. Fractions finer than a millisecond are truncated. An
 * offset that takes the instant out of the years 0000 to 9999 (UTC) is refused too: Tally writes
 * every time in UTC, and such an instant has no RFC 3339 form there.
 */
export function parseTimestamp(text: unknown): Parsed<number> {
  const example = '2026-01-31T10:00:00Z';
  if (typeof text !== 'string' || text.length > timestampTextLengthMax) {
    return invalid(`Expected an RFC 3339 timestamp like ${example}.`);
  }
  // `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)`, read by character code: every ingested event's
  // timestamp passes here, and a regular expression's match array and captured strings cost more
  // than the rest of the parse.
  const year = digitsAt(text, 0, 4);
  const month = digitsAt(text, 5, 2);
  const day = digitsAt(text, 8, 2);
  const hours = digitsAt(text, 11, 2);
  const minutes = digitsAt(text, 14, 2);
  const seconds = digitsAt(text, 17, 2);
  let ok = year >= 0 && month >= 0 && day >= 0 && hours >= 0 && minutes >= 0 && seconds >= 0
    && text.charCodeAt(4) === dash && text.charCodeAt(7) === dash && text.charCodeAt(10) === letterT
    && text.charCodeAt(13) === colon && text.charCodeAt(16) === colon;
  let at = 19;
  let ms = 0;
  if (ok && text.charCodeAt(at) === dot) {
    const from = ++at;
    while (at < text.length && isDigit(text.charCodeAt(at))) at++;
    const places = at - from;
    ok = places >= 1 && places <= 9;
    // Milliseconds: the first three places, as many as there are, padded with zeros.
    for (let i = 0; i < 3; i++) ms = ms * 10 + (i < places ? text.charCodeAt(from + i) - zero : 0);
  }
  let offsetSign = 1;
  let offsetHours = 0;
  let offsetMinutes = 0;
  if (ok) {
    const mark = text.charCodeAt(at);
    if (mark === letterZ) ok = text.length === at + 1;
    else if (mark === plus || mark === dash) {
      offsetSign = mark === dash ? -1 : 1;
      offsetHours = digitsAt(text, at + 1, 2);
      offsetMinutes = digitsAt(text, at + 4, 2);
      ok = offsetHours >= 0 && text.charCodeAt(at + 3) === colon && offsetMinutes >= 0 && text.length === at + 6;
    } else ok = false;
  }
  if (!ok) return invalid(`"${text}" is not an RFC 3339 timestamp like ${example}.`);
  const validDate = month >= 1 && month <= 12 && day >= 1 && day <= gregorianMonthDays(year, month - 1);
  const validTime = hours <= 23 && minutes <= 59 && seconds <= 59 && offsetHours <= 23 && offsetMinutes <= 59;
  if (!validDate || !validTime) return invalid(`"${text}" names a date or time that does not exist.`);
  // `Date.UTC` reads years 0..99 as 1900..1999; `utcMs` does not, at the cost of a Date object.
  const localMs = year >= 100 ? Date.UTC(year, month - 1, day, hours, minutes, seconds, ms) : utcMs(year, month - 1, day, hours, minutes, seconds, ms);
  const value = localMs - offsetSign * (offsetHours * 60 + offsetMinutes) * 60_000;
  if (value < timestampMinMs || value > timestampMaxMs) return invalid(`"${text}" falls outside the years 0000 to 9999 in UTC.`);
  return { ok: true, value };
}

const zero = 48;
const dash = 45;
const plus = 43;
const colon = 58;
const dot = 46;
const letterT = 84;
const letterZ = 90;

const isDigit = (code: number): boolean => code >= zero && code <= zero + 9;

/** The number written by `count` ASCII digits at `from`, or -1 when any of them is not one (or is past the end). */
function digitsAt(text: string, from: number, count: number): number {
  let value = 0;
  for (let i = from; i < from + count; i++) {
    const code = text.charCodeAt(i);
    if (!isDigit(code)) return -1;
    value = value * 10 + code - zero;
  }
  return value;
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
