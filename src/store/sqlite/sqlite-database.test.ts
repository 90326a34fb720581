import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openSqliteDatabase } from './sqlite-database.ts';

describe('the SQLite page cache', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'tally-cache-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const cacheKib = async (options: Parameters<typeof openSqliteDatabase>[1]): Promise<bigint> => {
    const db = openSqliteDatabase(join(dir, 'tally.db'), options);
    try {
      const rows = await db.query<{ cache_size: bigint }>('PRAGMA cache_size');
      return -rows[0]!.cache_size;
    } finally {
      await db.close();
    }
  };

  it('is 32 MiB unless the caller asks for another size (TALLY_SQLITE_CACHE_MIB)', async () => {
    expect(await cacheKib({})).toBe(32n * 1024n);
    expect(await cacheKib({ pageCacheMib: 128 })).toBe(128n * 1024n);
  });
});
