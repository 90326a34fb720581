import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { dialects, freshDatabase, type FreshDatabase } from '../../test/support/databases.ts';
import type { SqlConnection, SqlDatabase, SqlValue } from './sql.ts';
import { insertShape, insertShapedRows } from './rows.ts';

/** The contract both SQL adapters keep; the store is written against exactly this behaviour. */
describe.each(dialects)('SqlDatabase on %s', (dialect) => {
  let fresh: FreshDatabase;
  let db: SqlDatabase;
  // SQLite serializes writers already; PostgreSQL needs the row lock to make read-modify-write safe.
  const forUpdate = dialect === 'postgres' ? ' FOR UPDATE' : '';

  beforeEach(async () => {
    fresh = await freshDatabase(dialect);
    db = fresh.db;
    await db.run('CREATE TABLE accounts (id TEXT PRIMARY KEY, label TEXT, balance_micro BIGINT NOT NULL)');
  });

  afterEach(async () => {
    await fresh.drop();
  });

  it('reports its dialect', () => {
    expect(db.dialect).toBe(dialect);
  });

  it('round-trips bigints beyond 2^53 exactly, and strings containing ?', async () => {
    const big = 2n ** 62n + 7n;
    const inserted = await db.run('INSERT INTO accounts (id, label, balance_micro) VALUES (?, ?, ?)', [
      'a?1',
      "what's this? '?'",
      big,
    ]);
    expect(inserted).toBe(1);
    await db.run("INSERT INTO accounts (id, label, balance_micro) VALUES (?, 'literal ?', ?)", ['b', -big]);
    await db.run('INSERT INTO accounts (id, label, balance_micro) VALUES (?, ?, ?)', ['c', null, 0]);

    const rows = await db.query('SELECT id, label, balance_micro FROM accounts ORDER BY id');
    expect(rows).toEqual([
      { id: 'a?1', label: "what's this? '?'", balance_micro: big },
      { id: 'b', label: 'literal ?', balance_micro: -big },
      { id: 'c', label: null, balance_micro: 0n },
    ]);
    expect(typeof rows[2]?.balance_micro).toBe('bigint');
  });

  it('binds integer numbers as integers, so BIGINT arithmetic stays exact', async () => {
    const big = 2n ** 60n + 1n;
    await db.run('INSERT INTO accounts (id, balance_micro) VALUES (?, ?)', ['a', big]);
    await db.run('UPDATE accounts SET balance_micro = balance_micro + ? WHERE id = ?', [1, 'a']);
    const rows = await db.query<{ balance_micro: bigint }>('SELECT balance_micro FROM accounts WHERE id = ?', ['a']);
    expect(rows[0]?.balance_micro).toBe(big + 1n);
  });

  it('binds short and long lists of values alike: strings, NULLs, integer numbers as integers', async () => {
    // The SQLite adapter passes up to 8,192 values to the driver as separate arguments and longer
    // lists as one array: both sides of that line, through run and through query. Each row's
    // balance is its integer number plus 2^61, exact only if the number is bound as an integer.
    const big = 2n ** 61n;
    const plusBig = dialect === 'postgres' ? `CAST(? AS BIGINT) + ${big}` : `? + ${big}`;
    for (const rows of [2730, 2732]) {
      await db.run('DELETE FROM accounts');
      const values: SqlValue[] = [];
      for (let i = 0; i < rows; i++) values.push(`k${rows}-${i}`, i % 2 === 0 ? `ünï ✓ ${i}` : null, i);
      await db.run(`INSERT INTO accounts (id, label, balance_micro) VALUES ${Array.from({ length: rows }, () => `(?, ?, ${plusBig})`).join(', ')}`, values);
      const ids = Array.from({ length: rows * 3 }, (_, i) => `k${rows}-${i}`);
      const found = await db.query<{ id: string; label: string | null; balance_micro: bigint }>(
        `SELECT id, label, balance_micro FROM accounts WHERE id IN (${ids.map(() => '?').join(', ')}) ORDER BY balance_micro`, ids);
      expect(found).toEqual(Array.from({ length: rows }, (_, i) => ({ id: `k${rows}-${i}`, label: i % 2 === 0 ? `ünï ✓ ${i}` : null, balance_micro: big + BigInt(i) })));
    }
  });

  it('writes many rows with one shaped insert: exact bigints, NULLs, odd strings, ON CONFLICT', async () => {
    const shape = insertShape('accounts', { id: 'text', label: 'text', balance_micro: 'bigint' },
      ' ON CONFLICT (id) DO UPDATE SET balance_micro = accounts.balance_micro + excluded.balance_micro');
    const big = 2n ** 62n + 7n;
    const labels = ['NULL', '', 'a,b', '{x}', 'say "hi"', 'back\\slash', "it's", 'ünï ✓', ' padded ', null];
    const values: SqlValue[] = [];
    labels.forEach((label, i) => values.push(`k${i}`, label, i % 2 === 0 ? big + BigInt(i) : -i));
    await db.transaction(async (c) => {
      await insertShapedRows(c, shape, values);
      await insertShapedRows(c, shape, []);
      await insertShapedRows(c, shape, ['k0', 'ignored', -big]);
    });
    const rows = await db.query<{ id: string; label: string | null; balance_micro: bigint }>('SELECT id, label, balance_micro FROM accounts ORDER BY id');
    expect(rows).toEqual(labels.map((label, i) => ({ id: `k${i}`, label, balance_micro: i === 0 ? 0n : i % 2 === 0 ? big + BigInt(i) : BigInt(-i) })));
  });

  it('writes shaped inserts of several tables, a table twice, in one transaction: all of them, readable before COMMIT', async () => {
    await db.run('CREATE TABLE labels (id TEXT PRIMARY KEY, label TEXT NOT NULL)');
    const accounts = insertShape('accounts', { id: 'text', label: 'text', balance_micro: 'bigint' },
      ' ON CONFLICT (id) DO UPDATE SET balance_micro = accounts.balance_micro + excluded.balance_micro');
    const labels = insertShape('labels', { id: 'text', label: 'text' });
    const big = 2n ** 62n + 7n;
    const seen = await db.transaction(async (c) => {
      // On PostgreSQL these are queued: the first two go out as one statement, the repeat of
      // `accounts` after them (an upsert may not meet its own row within one statement).
      await insertShapedRows(c, accounts, ['a', 'x', big, 'b', null, -1n]);
      await insertShapedRows(c, labels, ['a', 'it\'s $1']);
      await insertShapedRows(c, accounts, ['a', 'y', 1n]);
      return c.query<{ id: string; balance_micro: bigint }>('SELECT id, balance_micro FROM accounts ORDER BY id');
    });
    expect(seen).toEqual([{ id: 'a', balance_micro: big + 1n }, { id: 'b', balance_micro: -1n }]);
    await db.transaction(async (c) => {
      await insertShapedRows(c, labels, ['b', 'two']);
      await insertShapedRows(c, accounts, ['c', null, 3n]);
    });
    expect(await db.query('SELECT id, label FROM labels ORDER BY id')).toEqual([{ id: 'a', label: "it's $1" }, { id: 'b', label: 'two' }]);
    expect(await db.query('SELECT id FROM accounts ORDER BY id')).toEqual([{ id: 'a' }, { id: 'b' }, { id: 'c' }]);
  });

  it('rolls back a transaction whose last shaped insert fails, with the error, and keeps none of its rows', async () => {
    await db.run('CREATE TABLE labels (id TEXT PRIMARY KEY, label TEXT NOT NULL)');
    const accounts = insertShape('accounts', { id: 'text', label: 'text', balance_micro: 'bigint' });
    const labels = insertShape('labels', { id: 'text', label: 'text' });
    await expect(db.transaction(async (c) => {
      await insertShapedRows(c, accounts, ['a', 'x', 1n]);
      await insertShapedRows(c, labels, ['a', null]);
    })).rejects.toThrow(/null|NOT NULL/i);
    expect(await db.query('SELECT id FROM accounts')).toEqual([]);
    expect(await db.query('SELECT id FROM labels')).toEqual([]);
  });

  it('reads `SELECT *` by the columns a table has now, after a column dropped and another added', async () => {
    await db.run('CREATE TABLE reshaped (id TEXT PRIMARY KEY, a BIGINT, b BIGINT)');
    await db.run('INSERT INTO reshaped (id, a, b) VALUES (?, ?, ?)', ['r', 1n, 2n]);
    expect(await db.query('SELECT * FROM reshaped')).toEqual([{ id: 'r', a: 1n, b: 2n }]);
    await db.run('ALTER TABLE reshaped DROP COLUMN a');
    await db.run('ALTER TABLE reshaped ADD COLUMN a BIGINT');
    await db.run('UPDATE reshaped SET a = 3');
    // As many columns as before, in another order: each value under its own name.
    expect(await db.query('SELECT * FROM reshaped')).toEqual([{ id: 'r', b: 2n, a: 3n }]);
  });

  it('returns changed-row counts from run', async () => {
    for (const id of ['a', 'b', 'c']) {
      await db.run('INSERT INTO accounts (id, balance_micro) VALUES (?, ?)', [id, 10n]);
    }
    expect(await db.run('UPDATE accounts SET balance_micro = balance_micro - ? WHERE id <> ?', [1n, 'c'])).toBe(2);
    expect(await db.run('UPDATE accounts SET balance_micro = 0 WHERE id = ?', ['missing'])).toBe(0);
    expect(await db.run('DELETE FROM accounts')).toBe(3);
  });

  it('supports INSERT … ON CONFLICT DO NOTHING … RETURNING', async () => {
    const sql =
      'INSERT INTO accounts (id, balance_micro) VALUES (?, ?) ON CONFLICT (id) DO NOTHING RETURNING id, balance_micro';
    expect(await db.query(sql, ['a', 5n])).toEqual([{ id: 'a', balance_micro: 5n }]);
    expect(await db.query(sql, ['a', 6n])).toEqual([]);
    expect(await db.run(sql, ['b', 7n])).toBe(1);
  });

  it('counts placeholders past string literals, quoted identifiers and comments', async () => {
    const rows = await db.query(
      `SELECT CAST(? AS TEXT) AS "first?", '?''?' AS literal, /* ? */ CAST(? AS BIGINT) AS second -- ?
       , CAST(? AS TEXT) AS third`,
      ['one', 2n ** 55n, 'three'],
    );
    expect(rows).toEqual([{ 'first?': 'one', literal: "?'?", second: 2n ** 55n, third: 'three' }]);

    const ids = Array.from({ length: 25 }, (_, index) => `id-${index}`);
    for (const id of ids) await db.run('INSERT INTO accounts (id, balance_micro) VALUES (?, ?)', [id, 1n]);
    const placeholders = ids.map(() => '?').join(', ');
    const counted = await db.query<{ count: bigint }>(
      `SELECT COUNT(*) AS count FROM accounts WHERE id IN (${placeholders}) AND balance_micro = ?`,
      [...ids, 1n],
    );
    expect(counted).toEqual([{ count: 25n }]);
  });

  it('commits a transaction and returns its result', async () => {
    const result = await db.transaction(async (tx) => {
      await tx.run('INSERT INTO accounts (id, balance_micro) VALUES (?, ?)', ['a', 1n]);
      return (await tx.query('SELECT id FROM accounts')).length;
    });
    expect(result).toBe(1);
    expect(await db.query('SELECT id FROM accounts')).toEqual([{ id: 'a' }]);
  });

  it('rolls back a transaction that throws, and rethrows its error', async () => {
    await db.run('INSERT INTO accounts (id, balance_micro) VALUES (?, ?)', ['a', 100n]);
    const failure = new Error('boom');
    await expect(
      db.transaction(async (tx) => {
        await tx.run('UPDATE accounts SET balance_micro = 0 WHERE id = ?', ['a']);
        await tx.run('INSERT INTO accounts (id, balance_micro) VALUES (?, ?)', ['b', 1n]);
        throw failure;
      }),
    ).rejects.toBe(failure);
    expect(await db.query('SELECT id, balance_micro FROM accounts')).toEqual([{ id: 'a', balance_micro: 100n }]);
  });

  it('rolls back when a statement inside the transaction fails', async () => {
    await expect(
      db.transaction(async (tx) => {
        await tx.run('INSERT INTO accounts (id, balance_micro) VALUES (?, ?)', ['a', 1n]);
        await tx.run('INSERT INTO accounts (id, balance_micro) VALUES (?, ?)', ['a', 2n]);
      }),
    ).rejects.toThrow();
    expect(await db.query('SELECT id FROM accounts')).toEqual([]);
    // The database is usable afterwards.
    expect(await db.run('INSERT INTO accounts (id, balance_micro) VALUES (?, ?)', ['a', 3n])).toBe(1);
  });

  it('keeps none of a multi-row INSERT that fails on a later row: in a transaction, nothing of the transaction', async () => {
    await db.run('INSERT INTO accounts (id, balance_micro) VALUES (?, ?)', ['taken', 1n]);
    const threeRows = 'INSERT INTO accounts (id, balance_micro) VALUES (?, ?), (?, ?), (?, ?)';
    // Outside a transaction the statement is all or nothing by itself.
    await expect(db.run(threeRows, ['a', 1n, 'b', 2n, 'taken', 3n])).rejects.toThrow();
    expect(await db.query('SELECT id FROM accounts ORDER BY id')).toEqual([{ id: 'taken' }]);
    // Inside one, its first rows and every earlier statement go with the transaction.
    await expect(db.transaction(async (tx) => {
      await tx.run('UPDATE accounts SET balance_micro = 0 WHERE id = ?', ['taken']);
      await tx.run(threeRows, ['c', 1n, 'd', 2n, 'taken', 3n]);
    })).rejects.toThrow();
    expect(await db.query('SELECT id, balance_micro FROM accounts ORDER BY id')).toEqual([{ id: 'taken', balance_micro: 1n }]);
    // An upsert names its own conflict, and keeps deciding it inside a transaction.
    await db.transaction((tx) => tx.run(`${threeRows} ON CONFLICT (id) DO UPDATE SET balance_micro = accounts.balance_micro + excluded.balance_micro`,
      ['e', 1n, 'f', 2n, 'taken', 3n]));
    expect(await db.query('SELECT id, balance_micro FROM accounts ORDER BY id')).toEqual([
      { id: 'e', balance_micro: 1n }, { id: 'f', balance_micro: 2n }, { id: 'taken', balance_micro: 4n }]);
  });

  it('serializes concurrent read-modify-write transactions without losing updates', async () => {
    await db.run('INSERT INTO accounts (id, balance_micro) VALUES (?, ?)', ['counter', 0n]);
    const increment = (tx: SqlConnection) => async () => {
      const [row] = await tx.query<{ balance_micro: bigint }>(
        `SELECT balance_micro FROM accounts WHERE id = ?${forUpdate}`,
        ['counter'],
      );
      // Yield between the read and the write so unserialized transactions would interleave.
      await new Promise((resolve) => setTimeout(resolve, 2));
      await tx.run('UPDATE accounts SET balance_micro = ? WHERE id = ?', [row!.balance_micro + 1n, 'counter']);
    };
    const transactions = 20;
    await Promise.all(Array.from({ length: transactions }, () => db.transaction((tx) => increment(tx)())));
    const [row] = await db.query('SELECT balance_micro FROM accounts WHERE id = ?', ['counter']);
    expect(row).toEqual({ balance_micro: BigInt(transactions) });
  });

  it.runIf(dialect === 'postgres')('re-runs a transaction that fails with a serialization failure', async () => {
    await db.run('INSERT INTO accounts (id, balance_micro) VALUES (?, ?)', ['counter', 0n]);
    let attempts = 0;
    const transactions = 3;
    // Every first attempt reads before any of them writes (a barrier, not a sleep): the writes
    // then conflict for certain, however slowly the pool hands out connections.
    let firstReads = 0;
    let allRead!: () => void;
    const everyoneHasRead = new Promise<void>((resolve) => (allRead = resolve));
    await Promise.all(
      Array.from({ length: transactions }, () => {
        let firstAttempt = true;
        return db.transaction(async (tx) => {
          attempts += 1;
          await tx.run('SET TRANSACTION ISOLATION LEVEL SERIALIZABLE');
          const [row] = await tx.query<{ balance_micro: bigint }>('SELECT balance_micro FROM accounts WHERE id = ?', [
            'counter',
          ]);
          if (firstAttempt) {
            firstAttempt = false;
            firstReads += 1;
            if (firstReads === transactions) allRead();
            await everyoneHasRead;
          }
          await tx.run('UPDATE accounts SET balance_micro = ? WHERE id = ?', [row!.balance_micro + 1n, 'counter']);
        });
      }),
    );
    const [row] = await db.query('SELECT balance_micro FROM accounts WHERE id = ?', ['counter']);
    expect(row).toEqual({ balance_micro: BigInt(transactions) });
    expect(attempts).toBeGreaterThan(transactions);
  });

  it('never shows a transaction’s uncommitted writes to calls outside it', async () => {
    let insideDone!: () => void;
    const inside = new Promise<void>((resolve) => (insideDone = resolve));
    let wroteRow!: () => void;
    const wrote = new Promise<void>((resolve) => (wroteRow = resolve));
    const transaction = db.transaction(async (tx) => {
      await tx.run('INSERT INTO accounts (id, balance_micro) VALUES (?, ?)', ['a', 1n]);
      wroteRow();
      await inside;
    });
    await wrote;
    if (dialect === 'postgres') {
      // PostgreSQL runs the outside call at once on another connection: it must complete, and see
      // nothing, while the transaction is still open (it is held open until this check is done).
      const seenBeforeCommit = await db.query('SELECT id FROM accounts');
      insideDone();
      await transaction;
      expect(seenBeforeCommit).toEqual([]);
      expect(await db.query('SELECT id FROM accounts')).toEqual([{ id: 'a' }]);
    } else {
      // SQLite serializes calls in-process: the outside call is queued and runs only after the
      // commit, so it can only ever see the committed row.
      let committed = false;
      let settledBeforeCommit = false;
      const outside = db.query('SELECT id FROM accounts').then((rows) => {
        settledBeforeCommit = !committed;
        return rows;
      });
      insideDone();
      await transaction;
      committed = true;
      expect(await outside).toEqual([{ id: 'a' }]);
      expect(settledBeforeCommit).toBe(false);
    }
  });

  it('reads one consistent snapshot, whatever is written meanwhile, and refuses writes in it', async () => {
    await db.run('INSERT INTO accounts (id, balance_micro) VALUES (?, ?)', ['a', 1n]);
    const seen = await db.snapshot(async (c) => {
      const before = await c.query('SELECT id, balance_micro FROM accounts ORDER BY id');
      await db.run('INSERT INTO accounts (id, balance_micro) VALUES (?, ?)', ['b', 2n]);
      await db.run('UPDATE accounts SET balance_micro = ? WHERE id = ?', [5n, 'a']);
      const after = await c.query('SELECT id, balance_micro FROM accounts ORDER BY id');
      await expect(c.run('DELETE FROM accounts')).rejects.toThrow();
      return { before, after };
    });
    expect(seen.before).toEqual([{ id: 'a', balance_micro: 1n }]);
    expect(seen.after).toEqual(seen.before);
    expect(await db.query('SELECT id FROM accounts ORDER BY id')).toEqual([{ id: 'a' }, { id: 'b' }]);
  });

  it.runIf(dialect === 'sqlite')('runs a snapshot on another thread: the event loop keeps turning during a long query', async () => {
    // Some hundreds of milliseconds of work for SQLite; on the request thread it would freeze it.
    const heavy = 'WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 3000000) SELECT COUNT(*) AS n FROM r';
    let turns = 0;
    let finished = false;
    const turning = (async () => {
      while (!finished) {
        await new Promise((resolve) => setImmediate(resolve));
        turns += 1;
      }
    })();
    const [row] = await db.snapshot((c) => c.query<{ n: bigint }>(heavy));
    const turnsDuring = turns;
    finished = true;
    await turning;
    expect(row!.n).toBe(3_000_000n);
    expect(turnsDuring).toBeGreaterThan(10);
    // The same query on the request thread's own connection lets nothing else run until it ends.
    turns = 0;
    finished = false;
    const blocked = (async () => {
      while (!finished) {
        await new Promise((resolve) => setImmediate(resolve));
        turns += 1;
      }
    })();
    await db.query(heavy);
    const turnsBlocked = turns;
    finished = true;
    await blocked;
    expect(turnsBlocked).toBeLessThanOrEqual(1);
  });

  it('runs reads together and answers what they read; a throw leaves the database usable', async () => {
    await db.run('INSERT INTO accounts (id, balance_micro) VALUES (?, ?)', ['a', 1n]);
    let leaked: SqlConnection | undefined;
    const rows = await db.reads(async (c) => {
      leaked = c;
      const first = await c.query('SELECT id FROM accounts');
      const second = await c.query('SELECT balance_micro FROM accounts WHERE id = ?', ['a']);
      return [first, second];
    });
    expect(rows).toEqual([[{ id: 'a' }], [{ balance_micro: 1n }]]);
    if (dialect === 'sqlite') await expect(leaked!.query('SELECT 1 AS one')).rejects.toThrow(/already finished/);
    await expect(db.reads(async (c) => {
      await c.query('SELECT id FROM accounts');
      throw new Error('gave up');
    })).rejects.toThrow('gave up');
    await db.transaction((tx) => tx.run('UPDATE accounts SET balance_micro = ? WHERE id = ?', [2n, 'a']));
    expect(await db.reads((c) => c.query('SELECT balance_micro FROM accounts'))).toEqual([{ balance_micro: 2n }]);
  });

  it.runIf(dialect === 'sqlite')('reads one snapshot: a write asked for meanwhile runs after the reads', async () => {
    await db.run('INSERT INTO accounts (id, balance_micro) VALUES (?, ?)', ['a', 1n]);
    let write: Promise<number> | undefined;
    const seen = await db.reads(async (c) => {
      const before = await c.query('SELECT balance_micro FROM accounts');
      write = db.run('UPDATE accounts SET balance_micro = ? WHERE id = ?', [5n, 'a']);
      const after = await c.query('SELECT balance_micro FROM accounts');
      return { before, after };
    });
    expect(seen.after).toEqual(seen.before);
    expect(await write).toBe(1);
    expect(await db.query('SELECT balance_micro FROM accounts')).toEqual([{ balance_micro: 5n }]);
  });

  it.runIf(dialect === 'sqlite')('pipelines commits: the next transaction runs while the last commit is synced, and each caller is told once its own is durable', async () => {
    expect(db.pipelinesCommits).toBe(true);
    const order: string[] = [];
    const first = db.transaction(async (tx) => {
      await tx.run("INSERT INTO accounts VALUES ('a', null, 1)");
    }, { onCommit: () => order.push('first committed') }).then(() => order.push('first told'));
    const second = db.transaction(async (tx) => {
      order.push('second begins');
      await tx.run("INSERT INTO accounts VALUES ('b', null, 2)");
    }, { onCommit: () => order.push('second committed') }).then(() => order.push('second told'));
    await Promise.all([first, second]);
    // The second transaction began before the first was durable (its sync runs on the pool), and
    // no caller was told before its own commit.
    expect(order.indexOf('second begins')).toBeLessThan(order.indexOf('first told'));
    expect(order.indexOf('first committed')).toBeLessThan(order.indexOf('first told'));
    expect(order.indexOf('second committed')).toBeLessThan(order.indexOf('second told'));
    expect(await db.query('SELECT id FROM accounts ORDER BY id')).toEqual([{ id: 'a' }, { id: 'b' }]);
  });

  it('rejects use of a transaction connection after the transaction ends', async () => {
    let leaked: SqlConnection | undefined;
    await db.transaction(async (tx) => {
      leaked = tx;
    });
    await expect(leaked!.query('SELECT 1 AS one')).rejects.toThrow(/already finished/);
  });
});
