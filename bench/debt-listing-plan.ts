/**
 * The debt listing (`GrantQueries.dueDebtSettlements`, run with the due work on every scheduler
 * tick) on a store of many customers, few of them in debt and many with a debt paid off long ago,
 * on SQLite and on a throwaway PostgreSQL, under three layouts of the `accounts` debt rows:
 *
 *   npx tsx bench/debt-listing-plan.ts [customers] [paidOff] [inDebt]    (default 200000 100000 100)
 *
 * - `release`: the index of migration 5, `(customer_id) WHERE code = 'debt' AND balance < 0`, and a
 *   zero `debt` row kept for every paid-off customer (as releases up to migration 51 left them);
 * - `wide`: the index of migration 52, `(customer_id) WHERE code = 'debt'`, with those zero rows
 *   still there (the layout measured and not taken in round 5);
 * - `migration 52`: the same index with the zero rows deleted, as the ledger now keeps them.
 *
 * For each it prints the listing's plan (SQLite `EXPLAIN QUERY PLAN`; PostgreSQL `EXPLAIN
 * (ANALYZE, BUFFERS)` after `ANALYZE` of the database, as autovacuum would have run) and the median time of 30
 * runs through the store's own query. The customers in debt are made by the engine (usage with
 * overage off, then a grant that takes effect later, so the listing has work to return); the
 * other rows are copied from one engine-made customer by SQL, which takes seconds, not hours.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startPostgres } from '../test/support/postgres-server.ts';
import { PgCluster } from './postgres-fixture.ts';
import { openSqliteDatabase } from '../src/store/sqlite/sqlite-database.ts';
import { openPostgresDatabase } from '../src/store/postgres/postgres-database.ts';
import type { SqlDatabase, SqlValue } from '../src/store/sql.ts';
import { createEngine } from '../src/engine/create-engine.ts';
import { createCustomer } from '../src/engine/customers.ts';
import { createGrant } from '../src/engine/grants.ts';
import { createMeter } from '../src/engine/meters.ts';
import { ingestEvents } from '../src/engine/ingest-events.ts';
import { StoreTx } from '../src/store/store.ts';

const [customersArg = '200000', paidOffArg = '100000', inDebtArg = '100'] = process.argv.slice(2);
const customerCount = Number(customersArg);
const paidOffCount = Number(paidOffArg);
const inDebtCount = Number(inDebtArg);
const runs = 30;
const laterMs = Date.parse('2030-01-01T00:00:00Z');
const listingLimit = 100;

function must<T>(outcome: { ok: true; value: T } | { ok: false; error: { code: string; message: string } }): T {
  if (!outcome.ok) throw new Error(`benchmark setup failed: ${outcome.error.code}: ${outcome.error.message}`);
  return outcome.value;
}

/** The rows: `inDebtCount` customers in debt by the engine, the rest copied by SQL, `paidOffCount` of them with a zero debt row. */
async function seed(db: SqlDatabase): Promise<void> {
  const engine = await createEngine(db);
  must(await createMeter(engine, { code: 'units', event_type: 'work', aggregation: 'sum', value_property: 'n', rate: { model: 'per_unit', credits_per_unit: '1' } }));
  const template = must(await createCustomer(engine, { currency: 'USD', external_id: 'template' })).id;
  for (let i = 0; i < inDebtCount; i++) {
    const id = must(await createCustomer(engine, { currency: 'USD', external_id: `owing-${i}` })).id;
    await ingestEvents(engine, [{ id: `owe-${i}`, customer: id, type: 'work', properties: { n: 5 } }]);
    if (i % 2 === 0) must(await createGrant(engine, { customer: id, credits: '20', category: 'paid', source: 'adjustment', effective_at: '2029-01-01T00:00:00Z' }));
  }
  const columns = Object.keys((await db.query(`SELECT * FROM customers WHERE id = ?`, [template]))[0]!);
  const bulk = customerCount - inDebtCount - 1;
  const series = db.dialect === 'postgres' ? `generate_series(1, ${bulk}) AS s(n)`
    : `(WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < ${bulk}) SELECT n FROM s) s`;
  const id = `'cus_bulk_' || s.n`;
  const picked = columns.map((c) => (c === 'id' ? id : c === 'external_id' ? `'bulk-' || s.n` : `t.${c}`));
  await db.transaction(async (c) => {
    await c.run(`INSERT INTO customers (${columns.join(', ')}) SELECT ${picked.join(', ')} FROM customers t CROSS JOIN ${series} WHERE t.id = ?`, [template]);
    // Every customer has some account rows; the paid-off ones also their zero `debt` row.
    await c.run(`INSERT INTO accounts (customer_id, code, balance) SELECT ${id}, 'issued:adjustment', -1000000 FROM ${series}`);
    await c.run(`INSERT INTO accounts (customer_id, code, balance) SELECT ${id}, 'debt', 0 FROM ${series} WHERE s.n <= ?`, [paidOffCount]);
  });
}

const layouts: { name: string; sql: string[] }[] = [
  { name: 'release', sql: [`DROP INDEX accounts_in_debt`, `CREATE INDEX accounts_in_debt ON accounts (customer_id) WHERE code = 'debt' AND balance < 0`] },
  { name: 'wide', sql: [`DROP INDEX accounts_in_debt`, `CREATE INDEX accounts_in_debt ON accounts (customer_id) WHERE code = 'debt'`] },
  { name: 'migration 52', sql: [`DELETE FROM accounts WHERE code = 'debt' AND balance = 0`] },
];

/** The listing's SQL and parameters, as the store sends them, captured from one call. */
async function listingStatement(db: SqlDatabase): Promise<{ sql: string; params: SqlValue[] }> {
  let captured: { sql: string; params: SqlValue[] } | undefined;
  const capturing = Object.create(db) as SqlDatabase;
  capturing.query = async (sql, params) => {
    captured = { sql, params: [...(params ?? [])] };
    return db.query(sql, params);
  };
  await new StoreTx(capturing).grants.dueDebtSettlements(null, laterMs, listingLimit);
  return captured!;
}

async function measure(db: SqlDatabase, label: string): Promise<void> {
  const grants = new StoreTx(db).grants;
  const found = await grants.dueDebtSettlements(null, laterMs, listingLimit);
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = process.hrtime.bigint();
    await grants.dueDebtSettlements(null, laterMs, listingLimit);
    times.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  times.sort((a, b) => a - b);
  const debtRows = Number((await db.query(`SELECT COUNT(*) AS n FROM accounts WHERE code = 'debt'`))[0]!.n);
  const { sql, params } = await listingStatement(db);
  const plan = db.dialect === 'postgres'
    ? (await db.query(`EXPLAIN (ANALYZE, BUFFERS) ${sql}`, params)).map((r) => r['QUERY PLAN'] as string)
    : (await db.query(`EXPLAIN QUERY PLAN ${sql}`, params)).map((r) => `${'  '.repeat(Number(r.parent) === 0 ? 0 : 1)}${r.detail as string}`);
  console.log(`\n${db.dialect}, ${label}: ${debtRows.toLocaleString('en-US')} debt rows, listing returns ${found.length}; median ${times[runs >> 1]!.toFixed(3)} ms (min ${times[0]!.toFixed(3)}, max ${times[runs - 1]!.toFixed(3)}) over ${runs} runs`);
  for (const line of plan) console.log(`  ${line}`);
}

async function compare(db: SqlDatabase): Promise<void> {
  const seedStart = Date.now();
  await seed(db);
  console.log(`\n== ${db.dialect}: ${customerCount.toLocaleString('en-US')} customers, ${inDebtCount} in debt, ${paidOffCount.toLocaleString('en-US')} paid off (seeded in ${((Date.now() - seedStart) / 1000).toFixed(1)} s)`);
  for (const layout of layouts) {
    await db.transaction(async (c) => {
      for (const statement of layout.sql) await c.run(statement);
    });
    if (db.dialect === 'postgres') await db.run(`ANALYZE`);
    await measure(db, layout.name);
  }
}

const dir = mkdtempSync(join(tmpdir(), 'tally-debt-listing-'));
const sqlite = openSqliteDatabase(join(dir, 'tally.db'));
try {
  await compare(sqlite);
} finally {
  await sqlite.close();
  rmSync(dir, { recursive: true, force: true });
}

const server = await startPostgres();
try {
  const cluster = new PgCluster(server.url);
  await cluster.admin(`CREATE DATABASE debt_listing`);
  const pgDb = await openPostgresDatabase(cluster.urlFor('debt_listing'), { max: 2 });
  try {
    await compare(pgDb);
  } finally {
    await pgDb.close();
  }
} finally {
  await server.stop();
}
