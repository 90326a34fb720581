import { randomBytes } from 'node:crypto';

/**
 * Prefixed, time-sortable ids (`cus_01JD…`): 10 Crockford base-32 characters of milliseconds, then
 * 16 of randomness. Within one millisecond the random part is incremented, so ids made by one
 * process sort in creation order.
 */
const alphabet = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

export type IdPrefix = 'cus' | 'grt' | 'evt' | 'inv' | 'sub' | 'txn' | 'ref' | 'cbk' | 'hld' | 'mtr' | 'clk' | 'key' | 'pln' | 'lin' | 'pay' | 'whk' | 'dlv' | 'per' | 'prc' | 'cn' | 'cnu' | 'pat'
  | 'prm' | 'rdm' | 'rfl' | 'rcb';

export interface IdGenerator {
  next(prefix: IdPrefix): string;
}

export function createIdGenerator(nowMs: () => number = Date.now): IdGenerator {
  let lastMs = -1;
  const random = new Uint8Array(16);
  let pool = randomBytes(4096);
  let poolOffset = 0;

  const refill = (): void => {
    if (poolOffset + 16 > pool.length) {
      pool = randomBytes(4096);
      poolOffset = 0;
    }
    for (let i = 0; i < 16; i++) random[i] = pool[poolOffset + i]! & 31;
    poolOffset += 16;
  };

  const increment = (): void => {
    for (let i = 15; i >= 0; i--) {
      if (random[i]! < 31) {
        random[i]! += 1;
        return;
      }
      random[i] = 0;
    }
  };

  return {
    next(prefix) {
      const ms = Math.max(nowMs(), lastMs);
      if (ms === lastMs) increment();
      else refill();
      lastMs = ms;
      let time = '';
      let rest = ms;
      for (let i = 0; i < 10; i++) {
        time = alphabet[rest % 32]! + time;
        rest = Math.floor(rest / 32);
      }
      let tail = '';
      for (let i = 0; i < 16; i++) tail += alphabet[random[i]!];
      return `${prefix}_${time}${tail}`;
    },
  };
}

/**
 * The smallest id of `prefix` made at `ms`: every id made earlier sorts below it. Lets a reader of
 * time-sortable ids ask "everything recorded before this instant".
 */
export function idFloor(prefix: IdPrefix, ms: number): string {
  let time = '';
  let rest = Math.max(0, Math.floor(ms));
  for (let i = 0; i < 10; i++) {
    time = alphabet[rest % 32]! + time;
    rest = Math.floor(rest / 32);
  }
  return `${prefix}_${time}${'0'.repeat(16)}`;
}
