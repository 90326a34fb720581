import { getBalance } from '../src/engine/balance.ts';
import { ingestEvents } from '../src/engine/ingest-events.ts';
import type { SqlDatabase } from '../src/store/sql.ts';
import { tailOfRange } from '../src/store/queries/customer-events.ts';
import { allCustomers } from '../src/store/queries/customer-range.ts';
import { EventSource } from './events.ts';
import { openFixture, type Fixture } from './fixture.ts';
import { latencySummary } from './stats.ts';

export interface FlatCostOptions {
  customers: number;
  /**
   * Ledger entries to have stored at each measuring point, ascending (three per synthetic usage
   * event, as ingestion writes them). Loading stops early at `preloadTimeLimitMs` in all.
   */
  preloadSteps: number[];
  preloadTimeLimitMs: number;
  events: number;
  batchSize: number;
  timeLimitMs: number;
  balanceReads: number;
}

export interface IngestMeasure {
  events: number;
  ms: number;
  rate: number;
}

export interface LoadedPoint {
  /** Ledger entries stored when measuring (history plus what earlier measurements ingested). */
  entries: number;
  databaseBytes: number;
  preloadMs: number;
  ingest: IngestMeasure;
  /** A fresh empty database's rate over the same minutes, batch for batch beside `ingest`. */
  emptyIngest: IngestMeasure;
  balance: { p50: number; p99: number; max: number };
}

export interface FlatCostResult {
  /** Balance reads on the first point's empty database. */
  balanceEmpty: { p50: number; p99: number; max: number };
  points: LoadedPoint[];
}

/** Counts a batch's accepted events into a measure, with the time its call took. */
async function timedBatch(fixture: Fixture, batch: Parameters<typeof ingestEvents>[1], into: { events: number; ms: number }): Promise<void> {
  const t0 = performance.now();
  const results = await ingestEvents(fixture.engine, batch);
  into.ms += performance.now() - t0;
  for (const r of results) if (r.status === 'accepted') into.events++;
}

/**
 * The loaded database's ingest rate and a fresh empty one's, batch for batch: the two take turns
 * (which goes first alternates from one pair to the next), so that both are measured over the same
 * minutes of a machine whose speed moves from one minute to the next. Only the ingest calls are
 * timed; each side gets its own events (the same customers, the same mix) and two untimed batches
 * first, which warm the JIT and its statement cache.
 */
export async function measurePaired(loaded: Fixture, empty: Fixture, label: string, events: number, batchSize: number, timeLimitMs: number): Promise<{ loaded: IngestMeasure; empty: IngestMeasure }> {
  const sources = [new EventSource(`${label}-loaded`, loaded.customerIds, 11), new EventSource(`${label}-empty`, empty.customerIds, 11)];
  const fixtures = [loaded, empty];
  const pairs = Math.ceil(events / batchSize);
  const batches = sources.map((source) => Array.from({ length: pairs }, () => source.batch(batchSize)));
  for (const [side, fixture] of fixtures.entries()) {
    for (let w = 0; w < 2; w++) await ingestEvents(fixture.engine, sources[side]!.batch(batchSize));
  }
  const sums = [{ events: 0, ms: 0 }, { events: 0, ms: 0 }];
  const started = performance.now();
  for (let i = 0; i < pairs; i++) {
    if (performance.now() - started > timeLimitMs) break;
    const order = i % 2 === 0 ? [0, 1] : [1, 0];
    for (const side of order) await timedBatch(fixtures[side]!, batches[side]![i]!, sums[side]!);
  }
  const measure = (m: { events: number; ms: number }): IngestMeasure => ({ events: m.events, ms: m.ms, rate: m.events / (m.ms / 1000) });
  return { loaded: measure(sums[0]!), empty: measure(sums[1]!) };
}

async function balanceLatencies(fixture: Fixture, reads: number): Promise<{ p50: number; p99: number; max: number }> {
  const samples: number[] = [];
  const ids = fixture.customerIds;
  for (let i = 0; i < reads; i++) {
    const t0 = performance.now();
    const outcome = await getBalance(fixture.engine, ids[(i * 7919) % ids.length]!);
    samples.push(performance.now() - t0);
    if (!outcome.ok) throw new Error(outcome.error.message);
  }
  return latencySummary(samples);
}

/**
 * Runs a bulk load under a page cache of about 1 GB, then gives the connection back the cache it
 * had (the adapter's own), under which every measurement runs.
 */
export async function withBulkCache<T>(db: SqlDatabase, load: () => Promise<T>): Promise<T> {
  const cacheSize = (await db.query<{ cache_size: bigint }>('PRAGMA cache_size'))[0]!.cache_size;
  await db.run('PRAGMA cache_size = -1000000');
  try {
    return await load();
  } finally {
    await db.run(`PRAGMA cache_size = ${cacheSize}`);
  }
}

/**
 * Writes synthetic history straight into the tables, shaped like what ingestion writes (one usage
 * event row per event, its own posting with three entries; no domain event per usage event), spread over
 * the fixture's customers so that every per-customer index grows. Ids sort before the live ones,
 * as older ids do. SQL does this far faster than the engine could; the balances are left as they
 * are, because only the size of the tables and indexes matters here.
 */
export async function preload(db: SqlDatabase, customerIds: readonly string[], fromEvents: number, toEvents: number, deadline: number): Promise<number> {
  const chunk = 200_000;
  const oldMs = Date.now() - 60 * 86_400_000;
  await db.run('CREATE TEMP TABLE IF NOT EXISTS bench_customers (n INTEGER PRIMARY KEY, id TEXT NOT NULL)');
  await db.run('DELETE FROM bench_customers');
  for (let i = 0; i < customerIds.length; i += 500) {
    const part = customerIds.slice(i, i + 500);
    await db.run(`INSERT INTO bench_customers (n, id) VALUES ${part.map(() => '(?,?)').join(',')}`, part.flatMap((id, j) => [i + j, id]));
  }
  const count = customerIds.length;
  let done = fromEvents;
  while (done < toEvents && performance.now() < deadline) {
    const from = done + 1;
    const to = Math.min(toEvents, done + chunk);
    const series = `WITH RECURSIVE k(v) AS (SELECT ${from} UNION ALL SELECT v + 1 FROM k WHERE v < ${to})`;
    const customer = `(SELECT id FROM bench_customers WHERE n = (k.v * 2654435761) % ${count})`;
    await db.transaction(async (c) => {
      // As ingestion writes a usage charge now: the event's row is its posting (migration 58),
      // its entries on it, found by its customer and position (the charge's id, which sorts before
      // the live ones); no rows in the ledger's tables. History is merged: its keys go to
      // `usage_keys` in bulk, as the merges would have put them (migration 62), with the triggers
      // that chain each live event set aside while the rows go in.
      const triggers = await c.query<{ name: string; sql: string }>(`SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND name IN ('usage_events_chain', 'usage_heads_merge')`);
      for (const t of triggers) await c.run(`DROP TRIGGER ${t.name}`);
      const [{ mark } = { mark: 0n }] = await c.query<{ mark: bigint | null }>(`SELECT COALESCE(MAX(seq), 0) AS mark FROM usage_events`);
      // Every tail so far merged first, so that the history's heads may take over as merged.
      await c.run(`INSERT INTO usage_keys (customer_id, position, seq) SELECT e.customer_id, e.position, e.seq FROM usage_events e WHERE e.seq IN (${tailOfRange(allCustomers).sql})`);
      await c.run(`UPDATE usage_heads SET merged = head, tail = 0, tail_from = NULL WHERE head > merged`);
      await c.run(`${series} INSERT INTO usage_events (customer_id, id, type, timestamp, properties, body_hash, credits, txn_id, rating, recorded_at, position, entries)
        SELECT ${customer}, 'hist-' || v, 'llm', ${oldMs} + v, '{"model":"gpt-4o","tokens":' || (50 + v % 2000) || ',"region":"eu-west-1"}',
          substr(hex(randomblob(32)), 1, 43), 30000, 'txn_0' || printf('%025d', v),
          '[{"meter":"llm_tokens","quantity":"1234","credits":"0.02468"},{"meter":"llm_requests","quantity":"1","credits":"0.005"}]', ${oldMs} + v,
          'txn_0' || printf('%025d', v), '[["grant:grt_0history","-30000"],["consumed:llm_tokens","20000"],["consumed:llm_requests","10000"]]' FROM k`);
      await c.run(`INSERT INTO usage_keys (customer_id, position, seq) SELECT customer_id, position, seq FROM usage_events WHERE seq > ? ORDER BY customer_id, position`, [mark]);
      await c.run(`INSERT INTO usage_heads (customer_id, head, merged, tail, tail_from) SELECT customer_id, MAX(seq), MAX(seq), 0, NULL FROM usage_events WHERE seq > ? GROUP BY customer_id
          ON CONFLICT (customer_id) DO UPDATE SET head = excluded.head, merged = excluded.merged, tail = 0, tail_from = NULL`, [mark]);
      for (const t of triggers) await c.run(t.sql);
    });
    done = to;
  }
  await db.query('PRAGMA wal_checkpoint(TRUNCATE)');
  return done;
}

/**
 * Ledger entries written so far: the rows of `ledger_entries`, and the entries on the event rows
 * after rowid `mark` (the postings ingestion wrote since the last mark), with the mark to use next.
 */
async function entriesWritten(db: SqlDatabase, mark: bigint): Promise<{ entries: bigint; posted: bigint; mark: bigint }> {
  const [row] = await db.query<{ entries: bigint; posted: bigint | null; mark: bigint | null }>(
    `SELECT (SELECT count(*) FROM ledger_entries) AS entries,
        (SELECT SUM(json_array_length(entries)) FROM usage_events WHERE rowid > ? AND entries IS NOT NULL) AS posted,
        (SELECT max(rowid) FROM usage_events) AS mark`, [mark === 0n ? 2n ** 63n - 1n : mark]);
  return { entries: row!.entries, posted: mark === 0n ? 0n : row!.posted ?? 0n, mark: row!.mark ?? 0n };
}

/**
 * Figure 5: the ingest rate and balance-read latency on a database holding more and more ledger
 * history, each beside a fresh empty database's in the same minutes (`measurePaired`). One
 * database grows step by step, so the rate is seen at each size; each step gets an empty database
 * of its own, so that "empty" means the same thing at every step.
 */
export async function runFlatCost(options: FlatCostOptions, log: (line: string) => void): Promise<FlatCostResult> {
  const loaded = await openFixture('flat-loaded', options.customers);
  const points: LoadedPoint[] = [];
  let balanceEmpty: FlatCostResult['balanceEmpty'] | null = null;
  try {
    const deadline = performance.now() + options.preloadTimeLimitMs;
    let historyEvents = 0;
    let ingestedEntries = 0;
    for (const [step, target] of options.preloadSteps.entries()) {
      const wanted = Math.floor(target / 3);
      if (wanted <= historyEvents || performance.now() >= deadline) break;
      log(`   loading history up to ${target.toLocaleString('en-US')} ledger entries…`);
      const t0 = performance.now();
      historyEvents = await withBulkCache(loaded.db, () => preload(loaded.db, loaded.customerIds, historyEvents, wanted, deadline));
      const preloadMs = performance.now() - t0;
      const entries = historyEvents * 3 + ingestedEntries;
      const size = await loaded.db.query<{ n: bigint }>('SELECT page_count * page_size AS n FROM pragma_page_count(), pragma_page_size()');
      const empty = await openFixture(`flat-empty-${step}`, options.customers);
      try {
        const before = await entriesWritten(loaded.db, 0n);
        const paired = await measurePaired(loaded, empty, `flat-${step}`, options.events, options.batchSize, options.timeLimitMs);
        const after = await entriesWritten(loaded.db, before.mark);
        ingestedEntries += Number(after.entries - before.entries) + Number(after.posted);
        const balance = await balanceLatencies(loaded, options.balanceReads);
        balanceEmpty ??= await balanceLatencies(empty, options.balanceReads);
        points.push({ entries, databaseBytes: Number(size[0]!.n), preloadMs, ingest: paired.loaded, emptyIngest: paired.empty, balance });
        log(`   ${entries.toLocaleString('en-US')} entries: ${Math.round(paired.loaded.rate).toLocaleString('en-US')} events/s, an empty database beside it ${Math.round(paired.empty.rate).toLocaleString('en-US')}`);
      } finally {
        await empty.close();
      }
    }
    if (points.length === 0 || balanceEmpty === null) throw new Error('figure 5: no history could be loaded in the time limit');
    return { balanceEmpty, points };
  } finally {
    await loaded.close();
  }
}
