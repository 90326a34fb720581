import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SqlDatabase } from '../sql.ts';
import { withReadSnapshots } from './read-snapshot.ts';
import { openSqliteDatabase } from './sqlite-database.ts';

/**
 * Sliced checks rely on the WAL being copied back between two snapshots (read-snapshot.ts,
 * `snapshotGapMs`). The checkpointer thread is set to an hour here, so the only checkpoint that
 * can run is the one the snapshot worker makes as a snapshot ends.
 */
describe('read snapshots on SQLite', () => {
  let dir: string;
  let path: string;
  let db: SqlDatabase;
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tally-snapshots-'));
    path = join(dir, 'tally.db');
    db = openSqliteDatabase(path, { checkpointIntervalMs: 3_600_000 });
    await db.run('CREATE TABLE rows (id INTEGER PRIMARY KEY, body TEXT NOT NULL)');
  });
  afterEach(async () => {
    await db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const insert = async (from: number, count: number): Promise<void> => {
    await db.transaction(async (c) => {
      for (let i = from; i < from + count; i++) await c.run('INSERT INTO rows (id, body) VALUES (?, ?)', [i, 'x'.repeat(500)]);
    });
  };

  it('copies the WAL into the database file as each snapshot ends, and every snapshot sees what was committed before it', async () => {
    const count = (snapshot: Parameters<Parameters<SqlDatabase['snapshots']>[0]>[0]) =>
      snapshot(async (c) => (await c.query<{ n: bigint }>('SELECT COUNT(*) AS n FROM rows'))[0]!.n);
    await insert(0, 400);
    // 400 rows of 500 bytes lie in the WAL only: nothing has checkpointed yet.
    const first = statSync(path).size;
    expect(first).toBeLessThan(100_000);
    const counts = await db.snapshots(async (snapshot) => {
      const seen = [await count(snapshot)];
      const second = statSync(path).size;
      expect(second).toBeGreaterThan(first + 150_000);
      await insert(400, 400);
      expect(statSync(path).size).toBe(second);
      seen.push(await count(snapshot));
      expect(statSync(path).size).toBeGreaterThan(second + 150_000);
      return seen;
    });
    expect(counts).toEqual([400n, 800n]);
  });

  it('waits a gap before the next snapshot only after another connection committed during the last', async () => {
    await insert(0, 10);
    const count = (snapshot: Parameters<Parameters<SqlDatabase['snapshots']>[0]>[0]) =>
      snapshot(async (c) => (await c.query<{ n: bigint }>('SELECT COUNT(*) AS n FROM rows'))[0]!.n);
    const timer = (ms: number) => new Promise<'timer'>((resolve) => setTimeout(() => resolve('timer'), ms));
    // Nothing is written: five snapshots one after another wait no gap (an hour each here).
    const quiet = await withReadSnapshots(path, async (snapshot) => {
      const five = (async () => {
        const seen: bigint[] = [];
        for (let i = 0; i < 5; i++) seen.push(await count(snapshot));
        return seen;
      })();
      return Promise.race([five, timer(30_000)]);
    }, { gapMs: 3_600_000 });
    expect(quiet).toEqual([10n, 10n, 10n, 10n, 10n]);
    // A commit while a snapshot is open: the next one starts only after the gap (a second here),
    // so a timer of a fifth of it comes first.
    const written = await withReadSnapshots(path, async (snapshot) => {
      const first = await snapshot(async (c) => {
        await insert(10, 5);
        return (await c.query<{ n: bigint }>('SELECT COUNT(*) AS n FROM rows'))[0]!.n;
      });
      const next = count(snapshot);
      const before = await Promise.race([next, timer(200)]);
      return { first, before, second: await next };
    }, { gapMs: 1_000 });
    expect(written).toEqual({ first: 10n, before: 'timer', second: 15n });
  });
});
