/**
 * Billing periods anchored on the subscription start (PRODUCT §6). Period `i` runs from
 * `addIntervals(anchor, interval, i)` to `addIntervals(anchor, interval, i + 1)`, end exclusive.
 * Every boundary is computed from the anchor, never from the previous boundary, so a month-end
 * anchor survives short months: Jan 31 → Feb 29 → Mar 31, not Mar 29.
 */
import { invariant } from './errors.ts';
import { daysInMonth, utcMs } from './time.ts';

export type Interval = 'month' | 'year';

export interface Period {
  index: number;
  startMs: number;
  endMs: number;
}

const dayMs = 86_400_000;

function monthsPer(interval: Interval): number {
  return interval === 'year' ? 12 : 1;
}

/** Months since year 0, the single calendar coordinate that month arithmetic needs. */
function monthOrdinal(ms: number): number {
  const date = new Date(ms);
  return date.getUTCFullYear() * 12 + date.getUTCMonth();
}

/**
 * The anchor moved by `count` months or years in UTC, keeping the time of day and clamping the
 * day of month to the target month's length (a Feb 29 anchor renews on Feb 28 in other years).
 */
export function addIntervals(anchorMs: number, interval: Interval, count: number): number {
  invariant(Number.isSafeInteger(count), `Interval count ${count} must be an integer.`);
  const anchor = new Date(anchorMs);
  const timeOfDayMs = anchorMs - Math.floor(anchorMs / dayMs) * dayMs;
  const target = monthOrdinal(anchorMs) + count * monthsPer(interval);
  const year = Math.floor(target / 12);
  const monthIndex = target - year * 12;
  const day = Math.min(anchor.getUTCDate(), daysInMonth(year, monthIndex));
  return utcMs(year, monthIndex, day) + timeOfDayMs;
}

/**
 * The period containing `atMs`; instants before the anchor belong to period 0. The index is
 * estimated from the calendar difference in months and then corrected by at most a step or two,
 * so the cost does not grow with the age of the subscription.
 */
export function periodAt(anchorMs: number, interval: Interval, atMs: number): Period {
  const step = monthsPer(interval);
  let index = atMs <= anchorMs ? 0 : Math.floor((monthOrdinal(atMs) - monthOrdinal(anchorMs)) / step);
  // The estimate is off by at most one period either way (day-of-month and time of day); the
  // loops are bounded to make a broken estimate fail loudly instead of spinning.
  for (let attempts = 0; index > 0 && addIntervals(anchorMs, interval, index) > atMs; attempts += 1) {
    invariant(attempts < 3, 'Period index estimate was too high.');
    index -= 1;
  }
  for (let attempts = 0; addIntervals(anchorMs, interval, index + 1) <= atMs; attempts += 1) {
    invariant(attempts < 3, 'Period index estimate was too low.');
    index += 1;
  }
  return { index, startMs: addIntervals(anchorMs, interval, index), endMs: addIntervals(anchorMs, interval, index + 1) };
}

/** The month `calendarMonthAt` found last: ingestion asks for the same month event after event. */
let lastMonth = { startMs: 0, endMs: 0 };

/** The UTC calendar month containing `atMs`, end exclusive. */
export function calendarMonthAt(atMs: number): { startMs: number; endMs: number } {
  if (atMs >= lastMonth.startMs && atMs < lastMonth.endMs) return { startMs: lastMonth.startMs, endMs: lastMonth.endMs };
  const date = new Date(atMs);
  const year = date.getUTCFullYear();
  const monthIndex = date.getUTCMonth();
  const month = { startMs: utcMs(year, monthIndex, 1), endMs: utcMs(year, monthIndex + 1, 1) };
  // NaN bounds (an instant out of Date's range) never match the test above.
  lastMonth = { startMs: month.startMs, endMs: month.endMs };
  return month;
}
