import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dialects, freshDatabase, type FreshDatabase } from '../../../test/support/databases.ts';
import type { SqlDatabase } from '../sql.ts';
import { insertShape, insertShapedRows } from '../rows.ts';
import { openPostgresDatabase, projectedUnnest } from './postgres-database.ts';

describe('projectedUnnest', () => {
  it('puts one unnest per array in the select list of a shaped insert, keeping its suffix', () => {
    const shape = insertShape('accounts', { customer_id: 'text', code: 'text', balance: 'bigint' },
      ' ON CONFLICT (customer_id, code) DO UPDATE SET balance = accounts.balance + excluded.balance');
    expect(projectedUnnest(shape.unnestSql)).toBe(
      'INSERT INTO accounts (customer_id, code, balance) SELECT unnest($1::text[]), unnest($2::text[]), unnest($3::bigint[])' +
      ' ON CONFLICT (customer_id, code) DO UPDATE SET balance = accounts.balance + excluded.balance');
  });

  it('leaves every other text as it is', () => {
    for (const sql of ['SELECT * FROM unnest($1::text[])', 'INSERT INTO t (a) VALUES ($1)', 'SELECT 1']) expect(projectedUnnest(sql)).toBe(sql);
  });
});

/** Array parameters as the PostgreSQL adapter sends them (binary `text[]`, literal `bigint[]`). */
describe.runIf(dialects.includes('postgres'))('PostgreSQL array parameters', () => {
  let fresh: FreshDatabase;
  let db: SqlDatabase;

  beforeAll(async () => {
    fresh = await freshDatabase('postgres');
    db = fresh.db;
  });

  afterAll(async () => {
    await fresh.drop();
  });

  const echo = (columns: (string | null)[][], types: string[]) => db.queryPrepared!<{ v: unknown }>(
    `SELECT json_build_array(${types.map((t, i) => `$${i + 1}::${t}[]`).join(', ')})::text AS v`, columns);

  it('sends text elements exactly: plain ASCII, empty, long, quotes, braces, NULL and non-ASCII', async () => {
    const long = 'x'.repeat(70_000);
    const ascii = ['a', '', 'a,b', '{x}', 'say "hi"', 'back\\slash', "it's", 'NULL', long, ' padded '];
    const mixed = ['ünï ✓', 'plain', '😀', ''];
    const withNull = ['a', null, 'ü', null];
    const [row] = await echo([ascii, mixed, withNull, []], ['text', 'text', 'text', 'text']);
    expect(JSON.parse(row!.v as string)).toEqual([ascii, mixed, withNull, []]);
  });

  it('sends bigint elements exactly, beyond 2^53 and negative, with and without NULL', async () => {
    const big = (2n ** 62n + 7n).toString();
    const [row] = await db.queryPrepared!<{ v: string }>(
      'SELECT array_to_string($1::bigint[], \',\', \'null\') AS a, array_to_string($2::bigint[], \',\', \'null\') AS b, cardinality($3::bigint[]) AS c',
      [[big, `-${big}`, '0', '-1'], [big, null, '5'], []]);
    expect(row).toEqual({ a: `${big},-${big},0,-1`, b: `${big},null,5`, c: 0 });
  });

  it('writes a shaped insert of thousands of rows, outside and inside a transaction', async () => {
    await db.run('CREATE TABLE wide (id TEXT PRIMARY KEY, label TEXT, amount BIGINT NOT NULL)');
    const shape = insertShape('wide', { id: 'text', label: 'text', amount: 'bigint' });
    const values = (from: number, count: number) => Array.from({ length: count }, (_, i) => [`k${from + i}`, i % 7 === 0 ? null : `label ${i} ü`, BigInt(i) * 10n ** 15n]).flat();
    await insertShapedRows(db, shape, values(0, 3000));
    await db.transaction(async (c) => insertShapedRows(c, shape, values(3000, 3000)));
    const [sums] = await db.query<{ n: bigint; total: string; nulls: bigint }>('SELECT count(*) AS n, sum(amount)::text AS total, count(*) FILTER (WHERE label IS NULL) AS nulls FROM wide');
    const perBatch = (2999n * 3000n / 2n) * 10n ** 15n;
    expect(sums).toEqual({ n: 6000n, total: String(2n * perBatch), nulls: 2n * 429n });
  });
});

/**
 * JIT compilation is off on Tally's connections: with it, PostgreSQL compiled the reconciliation's
 * closed-periods statement for 48.5 s on a database of 350 subscriptions (docs/ARCHITECTURE.md).
 */
describe.runIf(dialects.includes('postgres'))('PostgreSQL connection settings', () => {
  let fresh: FreshDatabase;

  beforeAll(async () => {
    fresh = await freshDatabase('postgres');
  });

  afterAll(async () => {
    await fresh.drop();
  });

  it('turns JIT compilation off on every connection of the pool, unless the URL sets options itself', async () => {
    const db = await openPostgresDatabase(fresh.url, { max: 3 });
    try {
      // Three at once: three connections of the pool, each asked.
      const settings = await Promise.all([0, 1, 2].map(() => db.transaction((c) => c.query<{ jit: string }>('SHOW jit'))));
      expect(settings.map(([row]) => row!.jit)).toEqual(['off', 'off', 'off']);
    } finally {
      await db.close();
    }
    const url = new URL(fresh.url);
    url.searchParams.set('options', '-c jit=on');
    const own = await openPostgresDatabase(url.toString(), { max: 1 });
    try {
      expect((await own.query<{ jit: string }>('SHOW jit'))[0]!.jit).toBe('on');
    } finally {
      await own.close();
    }
  });
});
