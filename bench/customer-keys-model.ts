/**
 * A model of usage events without a per-event customer index on SQLite (`npx tsx
 * bench/customer-keys-model.ts`): what ingestion would gain if the events' customer keys were
 * written to a small tail and merged into the customer-ordered keys in bulk, as an LSM tree does,
 * and what the merge would cost. Nothing in it is the product's layout; it measures whether that
 * layout would pay before it is built ("Round 32" in docs/benchmark-rounds.md).
 *
 * One fixture (`BENCH_CUSTOMERS`, default 1,000, each with three grants, two meters) gets
 * `BENCH_ENTRIES` ledger entries of history (default 10,000,000, three per event, written by
 * figure 5's `preload`). Then, `BENCH_ROUNDS` times (default 2):
 *
 * 1. *As today*: the grown database beside a fresh empty one, batch for batch in the same minutes
 *    (`measurePaired`, batches of `BENCH_BATCH`, default 1000, `BENCH_EVENTS` a side, default
 *    60,000): figure 5's ratio in this shape.
 * 2. *The history apart*: `usage_events` renamed aside with its indexes and an empty one made in
 *    its place, on the grown database and on a fresh empty one, then measured the same way. The
 *    grants, balances, running totals and customers keep their history; only the events' own
 *    B-trees (the row, the customer's key, the id's uniqueness, the posting's id) start small, as
 *    they would if the customer's keys were a tail merged away: the most such a layout could give,
 *    before its merges.
 *
 * `BENCH_CHAIN=1` makes the small table without a key led by the customer, each row chained to the
 * customer's previous one instead (see `chain`).
 *
 * `BENCH_TAIL` events (default 0) are ingested into both databases' empty tables first, untimed:
 * the recent events a merge would leave behind, which the tail's own B-trees hold.
 *
 * Then the merge, with the customer keys narrow (`customer_id, position, row`, `WITHOUT ROWID`):
 * every history event's key in `usage_keys`, and for each of `BENCH_MERGES` (default 60000,200000)
 * that many events ingested, their keys copied into a narrow tail in key order (untimed), and the
 * tail merged into `usage_keys` and emptied in one transaction (timed: wall and CPU per key).
 * `BENCH_PAIRS=0` measures only the merges.
 */
import { ingestEvents } from '../src/engine/ingest-events.ts';
import { EventSource } from './events.ts';
import { openFixture, type Fixture } from './fixture.ts';
import { measurePaired, preload, withBulkCache } from './flat-cost.ts';
import { cpuMsSince } from './stats.ts';

const customers = Number(process.env.BENCH_CUSTOMERS ?? 1000);
const entries = Number(process.env.BENCH_ENTRIES ?? 10_000_000);
const events = Number(process.env.BENCH_EVENTS ?? 60_000);
const batchSize = Number(process.env.BENCH_BATCH ?? 1000);
const rounds = Number(process.env.BENCH_ROUNDS ?? 2);
/** `BENCH_PAIRS=0` skips the paired measurements (the merges alone). */
const pairs = process.env.BENCH_PAIRS !== '0';
const merges = (process.env.BENCH_MERGES ?? '60000,200000').split(',').filter((m) => m !== '').map(Number);
const tail = Number(process.env.BENCH_TAIL ?? 0);
/**
 * `BENCH_CHAIN=1`: the recent table set apart has no key led by the customer at all; instead each
 * row names the customer's previous event (`prev`) and `usage_heads` keeps each customer's newest,
 * both written by a trigger per event (a row rewritten and an upsert per event: dearer than a
 * chain kept per customer per commit would be).
 */
const chain = process.env.BENCH_CHAIN === '1';
const log = (line: string): void => console.log(`${new Date().toISOString().slice(11, 19)} ${line}`);

/** `usage_events` renamed to `usage_events_history` with its indexes; an empty one, indexed alike, in its place. */
async function setHistoryApart(fixture: Fixture): Promise<void> {
  const rows = await fixture.db.query<{ type: string; sql: string | null }>(`SELECT type, sql FROM sqlite_master WHERE tbl_name = 'usage_events'`);
  const table = rows.find((r) => r.type === 'table')!.sql!;
  const indexes = rows.filter((r) => r.type === 'index' && r.sql !== null).map((r) => r.sql!);
  await fixture.db.transaction(async (c) => {
    await c.run(`ALTER TABLE usage_events RENAME TO usage_events_history`);
    if (!chain) {
      await c.run(table);
    } else {
      const keyless = table.replace(/,\s*PRIMARY KEY \(customer_id, position\)/, ', prev INTEGER');
      if (keyless === table) throw new Error(`usage_events has no key led by the customer to drop: ${table}`);
      await c.run(keyless);
      await c.run(`CREATE TABLE IF NOT EXISTS usage_heads (customer_id TEXT PRIMARY KEY, last_row INTEGER NOT NULL) WITHOUT ROWID`);
      await c.run(`CREATE TRIGGER usage_chain AFTER INSERT ON usage_events BEGIN
          UPDATE usage_events SET prev = (SELECT last_row FROM usage_heads WHERE customer_id = NEW.customer_id) WHERE rowid = NEW.rowid;
          INSERT INTO usage_heads (customer_id, last_row) VALUES (NEW.customer_id, NEW.rowid)
            ON CONFLICT (customer_id) DO UPDATE SET last_row = excluded.last_row;
        END`);
    }
    for (const sql of indexes) await c.run(sql.replace(/INDEX (\w+)/, 'INDEX $1_recent'));
  });
}

/** Undoes `setHistoryApart`, the recent rows dropped. */
async function joinHistory(fixture: Fixture): Promise<void> {
  await fixture.db.transaction(async (c) => {
    await c.run(`DROP TABLE usage_events`);
    await c.run(`DROP TABLE IF EXISTS usage_heads`);
    await c.run(`ALTER TABLE usage_events_history RENAME TO usage_events`);
  });
}

/** `BENCH_TAIL` events ingested (untimed) into both databases' empty `usage_events`: the tail a merge would leave. */
async function fillTail(grownApart: Fixture, emptyApart: Fixture, round: number): Promise<void> {
  for (const [side, fixture] of [grownApart, emptyApart].entries()) {
    const source = new EventSource(`tail-${round}-${side}`, fixture.customerIds, 13);
    for (let n = 0; n < tail; n += batchSize) await ingestEvents(fixture.engine, source.batch(Math.min(batchSize, tail - n)));
  }
}

/** Customers whose recent events `readsCompared` reads. */
const readCustomers = 500;

/**
 * A customer's recent events read two ways on the grown database with its history apart: walked
 * back along the chain from the customer's head (a recursive query, one rowid lookup a step), and
 * as many of its history's events read by today's key (`customer_id`, `position` descending).
 * Wall time per customer over `readCustomers` customers, each read once each way, alternating.
 */
async function readsCompared(fixture: Fixture): Promise<string> {
  const walk = `WITH RECURSIVE c(r) AS (SELECT last_row FROM usage_heads WHERE customer_id = ?
      UNION ALL SELECT e.prev FROM usage_events e JOIN c ON e.rowid = c.r WHERE e.prev IS NOT NULL)
    SELECT e.* FROM c JOIN usage_events e ON e.rowid = c.r`;
  const keyed = `SELECT * FROM usage_events_history WHERE customer_id = ? ORDER BY position DESC LIMIT ?`;
  const spent = { walk: 0, keyed: 0, rows: 0 };
  for (let i = 0; i < readCustomers; i++) {
    const customer = fixture.customerIds[(i * 7919) % fixture.customerIds.length]!;
    let t0 = performance.now();
    const walked = await fixture.db.query(walk, [customer]);
    spent.walk += performance.now() - t0;
    t0 = performance.now();
    await fixture.db.query(keyed, [customer, Math.max(1, walked.length)]);
    spent.keyed += performance.now() - t0;
    spent.rows += walked.length;
  }
  const us = (ms: number) => ((1000 * ms) / readCustomers).toFixed(0);
  return `a customer's ${(spent.rows / readCustomers).toFixed(1)} recent events: walked along the chain ${us(spent.walk)} µs, as many by today's key ${us(spent.keyed)} µs`;
}

const ratio = (r: Awaited<ReturnType<typeof measurePaired>>): string =>
  `${Math.round(r.loaded.rate).toLocaleString('en-US')} events/s beside an empty database's ${Math.round(r.empty.rate).toLocaleString('en-US')}: ` +
  `**${((100 * r.loaded.rate) / r.empty.rate).toFixed(1)}%** (${((1e6 / r.loaded.rate)).toFixed(1)} and ${(1e6 / r.empty.rate).toFixed(1)} µs an event)`;

const grown = await openFixture('keys-model', customers);
try {
  const history = await withBulkCache(grown.db, () => preload(grown.db, grown.customerIds, 0, Math.floor(entries / 3), Number.POSITIVE_INFINITY));
  const cacheSize = (await grown.db.query<{ cache_size: bigint }>('PRAGMA cache_size'))[0]!.cache_size;
  log(`${customers.toLocaleString('en-US')} customers, ${history.toLocaleString('en-US')} events of history (${entries.toLocaleString('en-US')} entries), batches of ${batchSize}, page cache ${cacheSize}`);
  for (let round = 0; pairs && round < rounds; round++) {
    const empty = await openFixture('keys-model-empty', customers);
    log(`as today:          ${ratio(await measurePaired(grown, empty, `today-${round}`, events, batchSize, 300_000))}`);
    await empty.close();
    const emptyApart = await openFixture('keys-model-empty-apart', customers);
    await setHistoryApart(grown);
    await setHistoryApart(emptyApart);
    await fillTail(grown, emptyApart, round);
    log(`the history apart${chain ? ', no customer key, chained' : ''}${tail > 0 ? `, ${tail.toLocaleString('en-US')} events in the tail first` : ''}: ${ratio(await measurePaired(grown, emptyApart, `apart-${round}`, events, batchSize, 300_000))}`);
    if (chain) {
      const [row] = await grown.db.query<{ n: bigint; chained: bigint; heads: bigint }>(
        `SELECT count(*) AS n, count(prev) AS chained, (SELECT count(*) FROM usage_heads) AS heads FROM usage_events`);
      log(`  the recent table: ${row!.n} events, ${row!.chained} chained to an earlier one, ${row!.heads} customers' heads`);
      log(`  ${await readsCompared(grown)}`);
    }
    await emptyApart.close();
    await joinHistory(grown);
  }

  const db = grown.db;
  const keys = `customer_id TEXT NOT NULL, position TEXT NOT NULL, row INTEGER NOT NULL, PRIMARY KEY (customer_id, position)`;
  await db.run(`CREATE TABLE usage_keys (${keys}) WITHOUT ROWID`);
  await db.run(`CREATE TABLE usage_keys_tail (${keys}) WITHOUT ROWID`);
  await withBulkCache(db, () => db.run(`INSERT INTO usage_keys SELECT customer_id, position, rowid FROM usage_events ORDER BY customer_id, position`));
  await db.query('PRAGMA wal_checkpoint(TRUNCATE)');
  const source = new EventSource('keys-merge', grown.customerIds, 11);
  for (const size of merges) {
    for (let round = 0; round < rounds; round++) {
      const mark = (await db.query<{ m: bigint }>(`SELECT max(rowid) AS m FROM usage_events`))[0]!.m;
      for (let n = 0; n < size; n += batchSize) await ingestEvents(grown.engine, source.batch(Math.min(batchSize, size - n)));
      const count = await db.run(`INSERT INTO usage_keys_tail SELECT customer_id, position, rowid FROM usage_events WHERE rowid > ?`, [mark]);
      const cpu = process.cpuUsage();
      const started = performance.now();
      await db.transaction(async (c) => {
        await c.run(`INSERT INTO usage_keys SELECT customer_id, position, row FROM usage_keys_tail`);
        await c.run(`DELETE FROM usage_keys_tail`);
      });
      const ms = performance.now() - started;
      const cpuMs = cpuMsSince(cpu);
      log(`merge of ${count.toLocaleString('en-US')} keys (${(count / customers).toFixed(1)} a customer): **${((1000 * ms) / count).toFixed(2)} µs wall a key**, ${((1000 * cpuMs) / count).toFixed(2)} µs CPU`);
    }
  }
} finally {
  await grown.close();
}
