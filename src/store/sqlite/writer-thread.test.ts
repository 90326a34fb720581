import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openSqliteDatabase } from './sqlite-database.ts';
import type { SqlDatabase } from '../sql.ts';

/**
 * Transactions whose writes the writer thread applies (`TransactionOptions.deferWrites`), on a real
 * file: what the caller is told, in what order, and what happens when the database changes under
 * a group or a group fails with others behind it.
 */
describe('SQLite writer thread', () => {
  const opened: { db: SqlDatabase; dir: string }[] = [];
  afterEach(async () => {
    for (const { db, dir } of opened.splice(0)) {
      await db.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  async function open(): Promise<{ db: SqlDatabase; path: string }> {
    const dir = mkdtempSync(join(tmpdir(), 'tally-writer-'));
    const path = join(dir, 'w.db');
    const db = openSqliteDatabase(path, { writerThread: true });
    opened.push({ db, dir });
    await db.run('CREATE TABLE t (id TEXT PRIMARY KEY, n INTEGER NOT NULL)');
    await db.run('CREATE TABLE total (k TEXT PRIMARY KEY, n INTEGER NOT NULL)');
    await db.run(`INSERT INTO total (k, n) VALUES ('all', 0)`);
    return { db, path };
  }

  const total = async (db: SqlDatabase): Promise<bigint> => (await db.query<{ n: bigint }>(`SELECT n FROM total WHERE k = 'all'`))[0]!.n;

  it('applies a group once its callback returns, tells onCommit before the promise resolves, and the rows are there when it does', async () => {
    const { db } = await open();
    const told: string[] = [];
    const done = db.transaction(async (c) => {
      expect(await c.query(`SELECT COUNT(*) AS n FROM t`)).toEqual([{ n: 0n }]);
      expect(await c.run(`INSERT INTO t (id, n) VALUES (?, ?), (?, ?)`, ['a', 5, 'b', 7n])).toBe(0);
      await c.run(`UPDATE total SET n = n + ? WHERE k = 'all'`, [12]);
      return 'done';
    }, { deferWrites: true, onCommit: () => told.push('commit') }).then((r) => {
      told.push('resolved');
      return r;
    });
    expect(await done).toBe('done');
    expect(told).toEqual(['commit', 'resolved']);
    // Integers stay integers on the writer thread: no REAL crept in.
    expect(await db.query(`SELECT id, n, typeof(n) AS type FROM t ORDER BY id`)).toEqual([
      { id: 'a', n: 5n, type: 'integer' }, { id: 'b', n: 7n, type: 'integer' },
    ]);
    expect(await total(db)).toBe(12n);
  });

  it('is off unless asked for: a database opened without it runs a deferred transaction on its own connection', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tally-writer-'));
    const db = openSqliteDatabase(join(dir, 'w.db'));
    opened.push({ db, dir });
    expect(db.writesOffThread).toBe(false);
    await db.run('CREATE TABLE t (id TEXT PRIMARY KEY, n INTEGER NOT NULL)');
    // Written here, at once: the statement reports the rows it changed (a deferred one says 0).
    const changed = await db.transaction(async (c) => c.run(`INSERT INTO t (id, n) VALUES (?, ?), (?, ?)`, ['a', 1, 'b', 2]), { deferWrites: true });
    expect(changed).toBe(2);
    const { db: on } = await open();
    expect(on.writesOffThread).toBe(true);
  });

  it('refuses a read after a write, and a write whose rows would be read, in a deferred transaction', async () => {
    const { db } = await open();
    await expect(db.transaction(async (c) => {
      await c.run(`INSERT INTO t (id, n) VALUES ('x', 1)`);
      return c.query(`SELECT * FROM t`);
    }, { deferWrites: true })).rejects.toThrow('read after writing');
    await expect(db.transaction(async (c) => c.query(`INSERT INTO t (id, n) VALUES ('y', 1) RETURNING id`), { deferWrites: true }))
      .rejects.toThrow('cannot read what a write returns');
    expect(await db.query(`SELECT COUNT(*) AS n FROM t`)).toEqual([{ n: 0n }]);
  });

  it('builds a group again when another connection committed under it, from what that connection wrote', async () => {
    const { db, path } = await open();
    // The first group starts the writer thread and leaves its baseline after it.
    await db.transaction(async (c) => c.run(`UPDATE total SET n = n + 1 WHERE k = 'all'`), { deferWrites: true });
    const other = openSqliteDatabase(path, { writerThread: false });
    try {
      await other.run(`UPDATE total SET n = 100 WHERE k = 'all'`);
    } finally {
      await other.close();
    }
    // Read-modify-write, as ingestion's hot state does: a stale read would write 2.
    let runs = 0;
    let remembered: bigint | null = 1n;
    await db.transaction(async (c) => {
      runs += 1;
      const now = runs === 1 ? remembered! : (await c.query<{ n: bigint }>(`SELECT n FROM total WHERE k = 'all'`))[0]!.n;
      remembered = null;
      await c.run(`UPDATE total SET n = ? WHERE k = 'all'`, [now + 1n]);
    }, { deferWrites: true });
    expect(runs).toBe(2);
    expect(await total(db)).toBe(101n);
  });

  it('stops the thread while parked and starts it again, counting another connection\'s commit made meanwhile', async () => {
    const { db, path } = await open();
    let first = -1;
    await db.transaction(async (c) => {
      first = c.writeOrder!.number;
      await c.run(`UPDATE total SET n = n + 1 WHERE k = 'all'`);
    }, { deferWrites: true });
    await db.parkWriter!();
    const other = openSqliteDatabase(path, { writerThread: false });
    try {
      await other.run(`UPDATE total SET n = 50 WHERE k = 'all'`);
    } finally {
      await other.close();
    }
    // A new thread takes its baseline after that commit, so nothing sends the group back: the
    // write order is what tells the caller to read again (the hot state's `follows`).
    let followsFirst: boolean | undefined;
    await db.transaction(async (c) => {
      followsFirst = c.writeOrder!.follows(first);
      const now = (await c.query<{ n: bigint }>(`SELECT n FROM total WHERE k = 'all'`))[0]!.n;
      await c.run(`UPDATE total SET n = ? WHERE k = 'all'`, [now + 1n]);
    }, { deferWrites: true });
    expect(await total(db)).toBe(51n);
    // Before the thread stopped, the first group was the last write and the next one followed it.
    expect(followsFirst).toBe(false);
  });

  it('fails the group whose statement fails, with its error, and builds the groups behind it again', async () => {
    const { db } = await open();
    await db.run(`CREATE TRIGGER refuse BEFORE INSERT ON t WHEN NEW.id = 'bad' BEGIN SELECT RAISE(ABORT, 'refused by the test'); END`);
    const runs = new Map<string, number>();
    const group = (id: string) => db.transaction(async (c) => {
      runs.set(id, (runs.get(id) ?? 0) + 1);
      await c.run(`INSERT INTO t (id, n) VALUES (?, 1)`, [id]);
      await c.run(`UPDATE total SET n = n + 1 WHERE k = 'all'`);
    }, { deferWrites: true });
    // All four are sent before the first is answered: the three behind 'bad' were built after it.
    const outcomes = await Promise.allSettled(['ok1', 'bad', 'ok2', 'ok3'].map(group));
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'fulfilled']);
    expect(String((outcomes[1] as PromiseRejectedResult).reason)).toContain('refused by the test');
    expect(runs.get('ok1')).toBe(1);
    expect(runs.get('bad')).toBe(1);
    expect(runs.get('ok2')).toBe(2);
    expect(runs.get('ok3')).toBe(2);
    expect((await db.query(`SELECT id FROM t ORDER BY id`)).map((r) => r.id)).toEqual(['ok1', 'ok2', 'ok3']);
    expect(await total(db)).toBe(3n);
  });

  it('waits for the groups in flight before a transaction of its own connection writes, and before closing', async () => {
    const { db } = await open();
    const sent = Array.from({ length: 20 }, (_, i) =>
      db.transaction(async (c) => c.run(`INSERT INTO t (id, n) VALUES (?, ?)`, [`g${i}`, i]), { deferWrites: true }));
    // Counts what the groups committed: every one of them, whatever order the calls came in.
    const counted = db.transaction(async (c) => {
      const rows = await c.query<{ n: bigint }>(`SELECT COUNT(*) AS n FROM t`);
      await c.run(`UPDATE total SET n = ? WHERE k = 'all'`, [rows[0]!.n]);
      return rows[0]!.n;
    });
    await Promise.all(sent);
    expect(await counted).toBe(20n);
    const last = db.transaction(async (c) => c.run(`INSERT INTO t (id, n) VALUES ('last', 0)`), { deferWrites: true });
    await db.close();
    await last;
    const { db: again } = { db: openSqliteDatabase(opened[0]!.dir + '/w.db', { writerThread: true }) };
    try {
      expect(await again.query(`SELECT COUNT(*) AS n FROM t`)).toEqual([{ n: 21n }]);
    } finally {
      await again.close();
    }
  });
});
