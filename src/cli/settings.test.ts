import { describe, expect, it } from 'vitest';
import { portFromEnv, settingsFromEnv, sqliteCacheMibFromEnv, sqliteWalCoalescingFromEnv, sqliteWriterThreadFromEnv } from './settings.ts';

describe('settings from the environment', () => {
  it('reads the dunning and grace settings, and leaves the defaults alone when unset', () => {
    expect(settingsFromEnv({})).toEqual({});
    expect(settingsFromEnv({ TALLY_UNPAID_GRACE_DAYS: '3', TALLY_DUNNING_RETRY_DAYS: '2, 4', TALLY_DUNNING_FINAL_ACTION: 'cancel_subscription', TALLY_COLLECTION: 'provider' }))
      .toEqual({ unpaidGraceMs: 3 * 86_400_000, dunningRetryDays: [2, 4], dunningFinalAction: 'cancel_subscription', collection: 'provider' });
    expect(settingsFromEnv({ TALLY_UNPAID_GRACE_DAYS: 'off' })).toEqual({ unpaidGraceMs: null });
  });

  it('refuses bad values', () => {
    expect(() => settingsFromEnv({ TALLY_UNPAID_GRACE_DAYS: 'soon' })).toThrow(/TALLY_UNPAID_GRACE_DAYS/);
    expect(() => settingsFromEnv({ TALLY_DUNNING_RETRY_DAYS: '1,0' })).toThrow(/TALLY_DUNNING_RETRY_DAYS/);
    expect(() => settingsFromEnv({ TALLY_DUNNING_FINAL_ACTION: 'forgive' })).toThrow(/FINAL_ACTION/);
    expect(() => settingsFromEnv({ TALLY_COLLECTION: 'stripe' })).toThrow(/TALLY_COLLECTION/);
  });

  it('reads how many customers ingestion keeps in memory, and refuses what is not a whole number up to 9999999', () => {
    expect(settingsFromEnv({ TALLY_HOT_CUSTOMERS: '' })).toEqual({});
    expect(settingsFromEnv({ TALLY_HOT_CUSTOMERS: '50000' })).toEqual({ hotCustomers: 50_000 });
    expect(settingsFromEnv({ TALLY_HOT_CUSTOMERS: '0' })).toEqual({ hotCustomers: 0 });
    for (const bad of ['-1', '1.5', '10000000', '12k', ' 5']) {
      expect(() => settingsFromEnv({ TALLY_HOT_CUSTOMERS: bad }), bad).toThrow(/TALLY_HOT_CUSTOMERS/);
    }
  });

  it('reads the SQLite page cache size in MiB, and refuses what is not a whole number from 1 to 65536', () => {
    expect(sqliteCacheMibFromEnv({})).toBeUndefined();
    expect(sqliteCacheMibFromEnv({ TALLY_SQLITE_CACHE_MIB: '' })).toBeUndefined();
    expect(sqliteCacheMibFromEnv({ TALLY_SQLITE_CACHE_MIB: '128' })).toBe(128);
    expect(sqliteCacheMibFromEnv({ TALLY_SQLITE_CACHE_MIB: '65536' })).toBe(65_536);
    for (const bad of ['0', '65537', '1.5', '-4', '64MiB', ' 64']) {
      expect(() => sqliteCacheMibFromEnv({ TALLY_SQLITE_CACHE_MIB: bad }), bad).toThrow(/TALLY_SQLITE_CACHE_MIB/);
    }
  });

  it('reads whether SQLite gathers its WAL writes, and refuses anything but on or off', () => {
    expect(sqliteWalCoalescingFromEnv({})).toBeUndefined();
    expect(sqliteWalCoalescingFromEnv({ TALLY_SQLITE_WAL_COALESCE: '' })).toBeUndefined();
    expect(sqliteWalCoalescingFromEnv({ TALLY_SQLITE_WAL_COALESCE: 'on' })).toBe(true);
    expect(sqliteWalCoalescingFromEnv({ TALLY_SQLITE_WAL_COALESCE: 'off' })).toBe(false);
    for (const bad of ['1', 'true', 'OFF', ' on']) {
      expect(() => sqliteWalCoalescingFromEnv({ TALLY_SQLITE_WAL_COALESCE: bad }), bad).toThrow(/TALLY_SQLITE_WAL_COALESCE/);
    }
  });

  it('reads whether ingestion writes through the writer thread, and refuses anything but on or off', () => {
    expect(sqliteWriterThreadFromEnv({})).toBeUndefined();
    expect(sqliteWriterThreadFromEnv({ TALLY_SQLITE_WRITER_THREAD: '' })).toBeUndefined();
    expect(sqliteWriterThreadFromEnv({ TALLY_SQLITE_WRITER_THREAD: 'on' })).toBe(true);
    expect(sqliteWriterThreadFromEnv({ TALLY_SQLITE_WRITER_THREAD: 'off' })).toBe(false);
    for (const bad of ['1', 'yes', 'On']) {
      expect(() => sqliteWriterThreadFromEnv({ TALLY_SQLITE_WRITER_THREAD: bad }), bad).toThrow(/TALLY_SQLITE_WRITER_THREAD/);
    }
  });
  it('reads PORT: 8080 unset or empty, a whole number up to 65535, and stops on anything else', () => {
    expect([portFromEnv({}), portFromEnv({ PORT: '' }), portFromEnv({ PORT: '0' }), portFromEnv({ PORT: '65535' })]).toEqual([8080, 8080, 0, 65_535]);
    for (const bad of ['abc', '80.5', '-1', '65536', ' 80', '1e3']) {
      expect(() => portFromEnv({ PORT: bad }), bad).toThrow(`PORT must be a whole number from 0 to 65535, not ${JSON.stringify(bad)}.`);
    }
  });
});
