import type { EngineSettings } from '../engine/context.ts';

const dayMs = 24 * 60 * 60 * 1000;

/**
 * The engine settings the environment may change (see the README's configuration table). A bad
 * value stops the server at start rather than running with a guess.
 */
export function settingsFromEnv(env: NodeJS.ProcessEnv): Partial<EngineSettings> {
  const settings: Partial<EngineSettings> = {};
  const grace = env.TALLY_UNPAID_GRACE_DAYS;
  if (grace !== undefined && grace !== '') {
    if (grace === 'off') settings.unpaidGraceMs = null;
    else if (/^[0-9]{1,3}$/.test(grace)) settings.unpaidGraceMs = Number(grace) * dayMs;
    else throw new Error(`TALLY_UNPAID_GRACE_DAYS must be a number of days or "off", not ${JSON.stringify(grace)}.`);
  }
  const retries = env.TALLY_DUNNING_RETRY_DAYS;
  if (retries !== undefined && retries !== '') {
    const days = retries.split(',').map((d) => d.trim());
    if (!days.every((d) => /^[0-9]{1,3}$/.test(d) && Number(d) > 0) || days.length > 10) {
      throw new Error(`TALLY_DUNNING_RETRY_DAYS must be up to 10 comma-separated positive numbers of days, such as "1,3,5,7".`);
    }
    settings.dunningRetryDays = days.map(Number);
  }
  const action = env.TALLY_DUNNING_FINAL_ACTION;
  if (action !== undefined && action !== '') {
    if (action !== 'mark_uncollectible' && action !== 'cancel_subscription') {
      throw new Error('TALLY_DUNNING_FINAL_ACTION must be "mark_uncollectible" or "cancel_subscription".');
    }
    settings.dunningFinalAction = action;
  }
  const collection = env.TALLY_COLLECTION;
  if (collection !== undefined && collection !== '') {
    if (collection !== 'none' && collection !== 'provider') throw new Error('TALLY_COLLECTION must be "none" or "provider".');
    settings.collection = collection;
  }
  const hot = env.TALLY_HOT_CUSTOMERS;
  if (hot !== undefined && hot !== '') {
    if (!/^[0-9]{1,7}$/.test(hot)) throw new Error(`TALLY_HOT_CUSTOMERS must be a whole number of customers from 0 to 9999999, not ${JSON.stringify(hot)}.`);
    settings.hotCustomers = Number(hot);
  }
  return settings;
}

/** The most TALLY_SQLITE_CACHE_MIB may ask for: 64 GiB. */
const sqliteCacheMibMax = 65_536;

/**
 * SQLite's page cache in MiB from TALLY_SQLITE_CACHE_MIB (undefined when unset: the store's
 * default). A bad value stops the server at start.
 */
export function sqliteCacheMibFromEnv(env: NodeJS.ProcessEnv): number | undefined {
  const value = env.TALLY_SQLITE_CACHE_MIB;
  if (value === undefined || value === '') return undefined;
  if (!/^[0-9]{1,5}$/.test(value) || Number(value) < 1 || Number(value) > sqliteCacheMibMax) {
    throw new Error(`TALLY_SQLITE_CACHE_MIB must be a whole number of MiB from 1 to ${sqliteCacheMibMax}, not ${JSON.stringify(value)}.`);
  }
  return Number(value);
}

/**
 * The HTTP port from PORT: 8080 when unset or empty (an empty PORT was read as 0, a random port),
 * else a whole number from 0 to 65535. A bad value stops the server at start with this message,
 * not the HTTP server's own about a NaN.
 */
export function portFromEnv(env: NodeJS.ProcessEnv): number {
  const value = env.PORT;
  if (value === undefined || value === '') return 8080;
  if (!/^[0-9]{1,5}$/.test(value) || Number(value) > 65_535) throw new Error(`PORT must be a whole number from 0 to 65535, not ${JSON.stringify(value)}.`);
  return Number(value);
}

/**
 * Whether ingestion's writes go to SQLite's writer thread (src/store/sqlite/writer-thread.ts), from
 * TALLY_SQLITE_WRITER_THREAD: `on` or `off` (the default). Undefined when unset. A bad value stops
 * the server at start.
 */
export function sqliteWriterThreadFromEnv(env: NodeJS.ProcessEnv): boolean | undefined {
  const value = env.TALLY_SQLITE_WRITER_THREAD;
  if (value === undefined || value === '') return undefined;
  if (value !== 'on' && value !== 'off') throw new Error(`TALLY_SQLITE_WRITER_THREAD must be "on" or "off", not ${JSON.stringify(value)}.`);
  return value === 'on';
}

/**
 * Whether SQLite's WAL writes are gathered into large ones (src/store/sqlite/wal-coalesce.ts), from
 * TALLY_SQLITE_WAL_COALESCE: `on` (the default, where the library was built) or `off`. Undefined
 * when unset. A bad value stops the server at start.
 */
export function sqliteWalCoalescingFromEnv(env: NodeJS.ProcessEnv): boolean | undefined {
  const value = env.TALLY_SQLITE_WAL_COALESCE;
  if (value === undefined || value === '') return undefined;
  if (value !== 'on' && value !== 'off') throw new Error(`TALLY_SQLITE_WAL_COALESCE must be "on" or "off", not ${JSON.stringify(value)}.`);
  return value === 'on';
}
