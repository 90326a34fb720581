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

describe('statements inside a write transaction', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'tally-fail-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  // A failing statement ends its whole transaction in a ROLLBACK, so an INSERT runs as INSERT OR
  // FAIL there and SQLite keeps no statement journal to undo the statement alone (a copy of every
  // page a multi-row INSERT touches). What the transaction sees between the failure and its
  // ROLLBACK shows which way the statement ran; the ROLLBACK keeps nothing either way.
  it('run INSERT as INSERT OR FAIL, and the transaction still keeps nothing when one fails', async () => {
    const db = openSqliteDatabase(join(dir, 'tally.db'));
    try {
      await db.run('CREATE TABLE t (id TEXT PRIMARY KEY)');
      await db.run("INSERT INTO t (id) VALUES ('taken')");
      let seenAfterFailure: unknown[] = [];
      await expect(db.transaction(async (tx) => {
        const failure = await tx.run("INSERT INTO t (id) VALUES ('a'), ('taken')").catch((error: unknown) => error);
        seenAfterFailure = await tx.query('SELECT id FROM t ORDER BY id');
        throw failure;
      })).rejects.toThrow(/UNIQUE/);
      expect(seenAfterFailure).toEqual([{ id: 'a' }, { id: 'taken' }]);
      expect(await db.query('SELECT id FROM t ORDER BY id')).toEqual([{ id: 'taken' }]);
      // A read transaction commits whatever happens, so there an INSERT stays all or nothing.
      await db.reads(async (tx) => {
        await expect(tx.run("INSERT INTO t (id) VALUES ('b'), ('taken')")).rejects.toThrow(/UNIQUE/);
      });
      expect(await db.query('SELECT id FROM t ORDER BY id')).toEqual([{ id: 'taken' }]);
    } finally {
      await db.close();
    }
  });
});
