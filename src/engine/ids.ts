import { randomBytes } from 'node:crypto';
import { idAlphabet, idTimeText } from '../core/id-time.ts';

/**
 * Prefixed, time-sortable ids (`cus_01JD…`): 10 Crockford base-32 characters of milliseconds, then
 * 16 of randomness. Within one millisecond the random part is incremented, so ids made by one
 * process sort in creation order. `at` makes ids of a given time instead of the clock's.
 */
/** How many of an `at` id's 16 last characters hold the clock, and the span they count before they wrap. */
const clockPlaces = 4;
const clockPlacesSpan = 32 ** clockPlaces;

export type IdPrefix = 'cus' | 'grt' | 'evt' | 'inv' | 'sub' | 'txn' | 'ref' | 'cbk' | 'hld' | 'mtr' | 'clk' | 'key' | 'pln' | 'lin' | 'pay' | 'whk' | 'dlv' | 'per' | 'prc' | 'cn' | 'cnu' | 'pat'
  | 'prm' | 'rdm' | 'rfl' | 'rcb';

export interface IdGenerator {
  next(prefix: IdPrefix): string;
  /**
   * An id whose time part is `ms` rather than the clock's (`ms` must fit, `fitsIdTime`). Its other
   * 16 characters are the clock's milliseconds modulo 32^4 (about 17 minutes) and 12 of a counter
   * that starts at random and steps once per id: ids made at one `ms` sort about in the order they
   * were made, so an index of them takes new ones at the end of that time's part of it. A usage
   * charge's transaction carries the minute of its event's timestamp this way (migration 56,
   * `usageIdTime`), and the store finds charges by time through the customer's id index.
   */
  at(prefix: IdPrefix, ms: number): string;
}

/** `idAlphabet`'s character codes, by digit. */
const alphabetCodes = Uint16Array.from(idAlphabet, (ch) => ch.charCodeAt(0));

export function createIdGenerator(nowMs: () => number = Date.now): IdGenerator {
  let pool = randomBytes(4096);
  let poolOffset = 0;

  const refill = (random: Uint8Array): void => {
    if (poolOffset + 16 > pool.length) {
      pool = randomBytes(4096);
      poolOffset = 0;
    }
    for (let i = 0; i < 16; i++) random[i] = pool[poolOffset + i]! & 31;
    poolOffset += 16;
  };

  const increment = (random: Uint8Array): void => {
    for (let i = 15; i >= 0; i--) {
      if (random[i]! < 31) {
        random[i]! += 1;
        return;
      }
      random[i] = 0;
    }
  };

  const text = (prefix: IdPrefix, ms: number, random: Uint8Array): string => {
    let tail = '';
    for (let i = 0; i < 16; i++) tail += idAlphabet[random[i]!];
    return `${prefix}_${idTimeText(ms)}${tail}`;
  };

  let lastMs = -1;
  const random = new Uint8Array(16);
  // `at` ids count, in the last 12 of their 16 places (the clock fills the first 4): one step per
  // id, so ids made at one time in one clock millisecond follow the order they were made in, from
  // a random start, so two processes count from unrelated points of 32^12.
  let lastAtClockMs = -1;
  const counterAt = new Uint8Array(16);
  refill(counterAt);
  let atClockText = '';
  let atHead = '';
  let atHeadMs = -1;
  let atHeadPrefix = '';

  return {
    next(prefix) {
      const ms = Math.max(nowMs(), lastMs);
      if (ms === lastMs) increment(random);
      else refill(random);
      lastMs = ms;
      return text(prefix, ms, random);
    },
    at(prefix, ms) {
      const clockMs = Math.max(nowMs(), lastAtClockMs);
      increment(counterAt);
      // A batch's ids share a few times and one clock millisecond: their texts are made once.
      if (clockMs !== lastAtClockMs || atClockText === '') {
        atClockText = '';
        for (let i = 0, rest = clockMs % clockPlacesSpan; i < clockPlaces; i++, rest = Math.floor(rest / 32)) atClockText = idAlphabet[rest % 32]! + atClockText;
      }
      lastAtClockMs = clockMs;
      if (ms !== atHeadMs || prefix !== atHeadPrefix) {
        atHead = `${prefix}_${idTimeText(ms)}`;
        atHeadMs = ms;
        atHeadPrefix = prefix;
      }
      const c = counterAt;
      // One flat string for the counter's 12 places (`+=` per character would make 12).
      const counter = String.fromCharCode(
        alphabetCodes[c[4]!]!, alphabetCodes[c[5]!]!, alphabetCodes[c[6]!]!, alphabetCodes[c[7]!]!, alphabetCodes[c[8]!]!, alphabetCodes[c[9]!]!,
        alphabetCodes[c[10]!]!, alphabetCodes[c[11]!]!, alphabetCodes[c[12]!]!, alphabetCodes[c[13]!]!, alphabetCodes[c[14]!]!, alphabetCodes[c[15]!]!,
      );
      return atHead + atClockText + counter;
    },
  };
}
