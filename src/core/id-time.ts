/**
 * The time part of Tally's ids (`txn_01JD…`, made by src/engine/ids.ts): the 10 characters after
 * the prefix and its `_`, a time in milliseconds in Crockford base 32, most significant first.
 * Two ids of one prefix compare as their times do, so a range of times is a range of ids:
 * [`idFloor(p, a)`, `idFloor(p, b)`) holds exactly the ids of prefix p whose time part is in
 * [a, b). The store uses this to find usage charges by time through their customer's id index
 * (migration 56): a usage charge's id has the minute of its event's timestamp as its time part
 * (`usageIdTime`).
 */
export const idAlphabet = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/** Each character's digit by its code, -1 for any other character. */
const digitOf = new Int8Array(128).fill(-1);
for (let i = 0; i < idAlphabet.length; i++) digitOf[idAlphabet.charCodeAt(i)] = i;

/** The time part's length, in characters. */
export const idTimeLength = 10;

/** The first time the time part cannot hold: 32^10 milliseconds (2^50, after the year 37,000). */
export const idTimeEndMs = 2 ** 50;

/** Whether `ms` fits an id's time part: a whole number of milliseconds from 0 to before `idTimeEndMs`. */
export function fitsIdTime(ms: number): boolean {
  return Number.isSafeInteger(ms) && ms >= 0 && ms < idTimeEndMs;
}

/** The time part for `ms`, which must fit (`fitsIdTime`). */
export function idTimeText(ms: number): string {
  let text = '';
  let rest = ms;
  for (let i = 0; i < idTimeLength; i++) {
    text = idAlphabet[rest % 32]! + text;
    rest = Math.floor(rest / 32);
  }
  return text;
}

/** The time part of an id read back, or null when the id has none (no `_`, too short, another alphabet). */
export function idTimeOf(id: string): number | null {
  const start = id.indexOf('_') + 1;
  if (start === 0 || id.length < start + idTimeLength) return null;
  let ms = 0;
  for (let i = start; i < start + idTimeLength; i++) {
    const code = id.charCodeAt(i);
    const digit = code < 128 ? digitOf[code]! : -1;
    if (digit < 0) return null;
    ms = ms * 32 + digit;
  }
  return ms;
}

/**
 * The smallest id of `prefix` whose time part is `ms` (rounded down; 0 for any earlier time, and
 * below `idTimeEndMs`): every id of that time and after compares at or above it, every earlier one
 * below it. Lets a reader of time-sortable ids ask "everything recorded before this instant".
 */
export function idFloor(prefix: string, ms: number): string {
  return `${prefix}_${idTimeText(Math.max(0, Math.floor(ms)))}`;
}

/** The span a usage charge's id time part is rounded to: a minute. */
export const usageIdSpanMs = 60_000;

/**
 * The time part of a usage charge's id (migration 56): its event's timestamp rounded down to the
 * minute. Events sent together trail the clock by seconds to minutes, so a batch's charges fall
 * into a few minutes, and within a minute the rest of the id follows the clock
 * (src/engine/ids.ts): the ids' index takes them at a few points near its end, where ids made from
 * the timestamp itself would land all over the last minutes' part of it.
 */
export function usageIdTime(effectiveAtMs: number): number {
  return Math.floor(effectiveAtMs / usageIdSpanMs) * usageIdSpanMs;
}
