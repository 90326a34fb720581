/**
 * What the hot path's keys and layout cost, measured on the rows alone
 * (`npx tsx bench/layout-keys.ts [batches]`).
 *
 * A model of the five tables usage ingestion writes, with the columns and indexes of the current
 * schema (src/store/migrations.ts): per event one `usage_events` row, one usage transaction in
 * `ledger_transactions` and its three `ledger_entries` (the paying grant and two `consumed:<meter>`
 * credits), and per customer of a batch the `accounts` and `meter_totals` upserts. It is written with
 * better-sqlite3 directly, 1000 events per transaction (`BENCH_BATCH_EVENTS`) over `BENCH_CUSTOMERS`
 * customers (1,000 by default: about 630 of them touched per batch, 1.6 events each; 100 gives 10
 * events per customer per batch), WAL with `synchronous=NORMAL` (the production writer's setting;
 * the fsync is left out of every side alike), so that only the layout differs between the variants:
 *
 * - `text`: the keys of the schema before migrations 55–56, prefixed time-sortable ids of 30
 *   characters (`cus_…`, `txn_…`), every usage charge in the time index and its grant entry in
 *   the account index;
 * - `current`: today's schema, usage charges out of the time index (migration 56), all their
 *   entries out of the account index (migration 55), `accounts` and `meter_totals` clustered by
 *   their key (migration 57): the layout figure 1 writes; `integer, current` the same with
 *   integer keys;
 * - `integer`: customers and transactions keyed by integers inside (the prefixed id kept only at the
 *   API), in every table and index above;
 * - `usage out`: both customer-led indexes of `ledger_transactions` made partial
 *   (`WHERE kind <> 'usage'`), as a read path through `usage_events` would allow;
 * - `usage moved`: the same, plus the index on `usage_events (customer_id, timestamp)` that those
 *   reads by customer and time would then need;
 * - `usage moved, by txn`: the same, plus `usage_events (customer_id, txn_id)`, by which a
 *   transaction's events are found (what "each event charged exactly once" needs once a
 *   transaction charges many events);
 * - `integer, usage out`: integer keys and usage out of both indexes;
 * - `coalesced`: the ledger posting coalesced per customer per batch, one usage transaction with
 *   one entry per account touched (the deltas summed), each event row carrying its own allocation
 *   (`paid_by`, compact text `<grant id>:<micro-credits>`) and the id of the transaction that
 *   charged it;
 * - `coalesced, by time`: the same with `usage_events (customer_id, timestamp)`, which the reads by
 *   time window (overage per phase, usage reports, frozen-grant checks) would need once a
 *   transaction's `effective_at` no longer is its event's time;
 * - `coalesced, usage moved`: the same, and the coalesced transactions out of `ledger_transactions`'
 *   customer indexes as in `usage moved`; `integer, coalesced, usage moved` with integer keys too;
 * - `coalesced, event indexes`: coalesced with both `usage_events` indexes (by customer and time, by
 *   customer and transaction);
 * - `without rowid`: `accounts` and `meter_totals` as `WITHOUT ROWID` tables (the primary key is the
 *   table, with no rowid table beside it);
 * - `8 KiB pages`, `16 KiB pages`: today's layout with a larger page (`BENCH_PAGE_SIZE` sets the
 *   page of every other variant, 4096 by default);
 * - `event posting`: the usage event's row is its own posting, with no ledger transaction and no
 *   entries per event: it carries its allocation (`paid_by`), and per customer a batch the balances
 *   and running totals are upserted as in every variant; the indexes are today's `usage_events`
 *   ones (by customer and event id, and the id's uniqueness). What the rows would cost if PRODUCT
 *   §2's transaction per change of credits were given up for usage;
 * - `floor`: the floor of PRODUCT §13 as `bench/floor.ts` writes it (an event row keyed by its id,
 *   two entries by integer key, the grant's balance updated per event), in this harness, so that
 *   every variant can be read against it.
 *
 * `BENCH_VARIANTS=text,coalesced,…` picks variants by key (`text` always runs first: every ratio is
 * to it). Every side gets the same stream of customers. The variants' batches alternate (the order
 * rotating every batch) so that the machine's other load falls on all alike. SQLite's own
 * checkpoints are off; after each batch a PASSIVE checkpoint, timed apart, copies the batch's WAL
 * frames back (as the server's checkpointer thread does), and its frame count is the batch's.
 * After 20 warm-up batches per side (`BENCH_WARMUP=n`: more, to measure on a larger history; the
 * `batches` argument counts them too) it prints per event: CPU of the whole process for the write
 * and for the checkpoint, CPU of the main thread for the write alone
 * (`/proc/self/task/<pid>/schedstat`), wall time of the write, WAL frames and KiB, rows written, and
 * the ratio of write + checkpoint CPU to `text`'s: overall, as the median (with range) over rounds
 * of 10 batches, and in the last round; then each variant's size on disk, and the load average
 * before and after.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import os from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { random } from './events.ts';

const batches = Number(process.argv[2] ?? 120);
const warmup = Number(process.env.BENCH_WARMUP ?? 20);
const batchesPerRound = 10;
const customers = Number(process.env.BENCH_CUSTOMERS ?? 1000);
const defaultPageSize = Number(process.env.BENCH_PAGE_SIZE ?? 4096);
const eventsPerBatch = Number(process.env.BENCH_BATCH_EVENTS ?? 1000);
const alphabet = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const eventCredits = 25_680_000;

interface Variant {
  key: string;
  label: string;
  integer: boolean;
  usageOutOfTransactionIndexes: boolean;
  /** An index on `usage_events (customer_id, timestamp)`: what the time-window reads would need instead. */
  usageEventsByTime: boolean;
  /** An index on `usage_events (customer_id, txn_id)`: a transaction's events, found from it. */
  usageEventsByTransaction: boolean;
  /** One usage transaction per customer per batch; each event row carries `paid_by` and `txn_id`. */
  coalesced: boolean;
  /** `accounts` and `meter_totals` keyed by their primary key alone. */
  withoutRowid: boolean;
  pageSize: number;
  /** Today's partial indexes: usage charges out of the time index, their entries out of the account index. */
  currentIndexes: boolean;
  /** No ledger transaction or entries per usage event: the event row carries its allocation. */
  eventPosting: boolean;
  /** The floor's own tables and writes instead of the engine's. */
  floor: boolean;
}

const plain = {
  integer: false, usageOutOfTransactionIndexes: false, usageEventsByTime: false, usageEventsByTransaction: false,
  coalesced: false, withoutRowid: false, pageSize: defaultPageSize, currentIndexes: false, eventPosting: false, floor: false,
};
const allVariants: Variant[] = [
  { ...plain, key: 'text', label: 'text' },
  { ...plain, key: 'current', label: 'current', currentIndexes: true, withoutRowid: true },
  { ...plain, key: 'integer', label: 'integer', integer: true },
  { ...plain, key: 'integer-current', label: 'integer, current', integer: true, currentIndexes: true, withoutRowid: true },
  { ...plain, key: 'usage-out', label: 'text, usage out', usageOutOfTransactionIndexes: true },
  { ...plain, key: 'usage-moved', label: 'text, usage moved', usageOutOfTransactionIndexes: true, usageEventsByTime: true },
  {
    ...plain, key: 'usage-moved-by-txn', label: 'text, usage moved, by txn', usageOutOfTransactionIndexes: true,
    usageEventsByTime: true, usageEventsByTransaction: true,
  },
  { ...plain, key: 'integer-usage-out', label: 'integer, usage out', integer: true, usageOutOfTransactionIndexes: true },
  { ...plain, key: 'coalesced', label: 'text, coalesced', coalesced: true },
  { ...plain, key: 'coalesced-by-time', label: 'text, coalesced, by time', coalesced: true, usageEventsByTime: true },
  {
    ...plain, key: 'coalesced-moved', label: 'text, coalesced, usage moved', coalesced: true, usageOutOfTransactionIndexes: true,
    usageEventsByTime: true,
  },
  {
    ...plain, key: 'integer-coalesced-moved', label: 'integer, coalesced, usage moved', integer: true, coalesced: true,
    usageOutOfTransactionIndexes: true, usageEventsByTime: true,
  },
  {
    ...plain, key: 'coalesced-indexed', label: 'text, coalesced, event indexes', coalesced: true,
    usageEventsByTime: true, usageEventsByTransaction: true,
  },
  { ...plain, key: 'without-rowid', label: 'text, without rowid', withoutRowid: true },
  { ...plain, key: 'page-8k', label: 'text, 8 KiB pages', pageSize: 8192 },
  { ...plain, key: 'page-16k', label: 'text, 16 KiB pages', pageSize: 16384 },
  { ...plain, key: 'event-posting', label: 'text, event posting', currentIndexes: true, withoutRowid: true, eventPosting: true },
  {
    ...plain, key: 'integer-event-posting', label: 'integer, event posting', integer: true, currentIndexes: true, withoutRowid: true,
    eventPosting: true,
  },
  { ...plain, key: 'floor', label: 'floor', floor: true },
];
const chosen = process.env.BENCH_VARIANTS?.split(',').map((k) => k.trim());
const unknown = chosen?.filter((k) => !allVariants.some((v) => v.key === k)) ?? [];
if (unknown.length > 0) throw new Error(`unknown variants ${unknown.join(', ')}; known: ${allVariants.map((v) => v.key).join(', ')}`);
const variants = allVariants.filter((v) => v.key === 'text' || !chosen || chosen.includes(v.key));

const schedstat = `/proc/self/task/${process.pid}/schedstat`;
const mainThreadNs = existsSync(schedstat) ? (): number => Number(readFileSync(schedstat, 'utf8').split(' ')[0]) : (): number => 0;

interface Spent { wallMs: number; cpuUs: number; mainUs: number; checkpointUs: number; frames: number; rows: number; events: number; customers: number }
const nothingSpent = (): Spent => ({ wallMs: 0, cpuUs: 0, mainUs: 0, checkpointUs: 0, frames: 0, rows: 0, events: 0, customers: 0 });

class Side {
  readonly dir = mkdtempSync(join(tmpdir(), 'tally-bench-keys-'));
  readonly db: Database.Database;
  readonly spent = nothingSpent();
  /** What each round of `batchesPerRound` measured batches spent, for the per-round ratios. */
  readonly rounds: Spent[] = [];
  private readonly write: (n: number) => { rows: number; customers: number };
  private readonly checkpoint: Database.Statement;
  private nextTxn = 0;
  private nextEvent = 0;

  constructor(readonly variant: Variant, seed: number) {
    const rand = random(seed);
    const chars = (n: number): string => {
      let s = '';
      for (let i = 0; i < n; i++) s += alphabet[Math.floor(rand() * 32)];
      return s;
    };
    const key = variant.integer ? 'INTEGER' : 'TEXT';
    const usageOut = variant.usageOutOfTransactionIndexes ? ` WHERE kind <> 'usage'` : '';
    const timeUsageOut = usageOut || variant.currentIndexes ? ` WHERE kind <> 'usage'` : '';
    const entriesUsageOut = variant.currentIndexes ? ' AND account_indexed = 1' : '';
    const withoutRowid = variant.withoutRowid ? ' WITHOUT ROWID' : '';
    this.db = new Database(join(this.dir, 'keys.db'));
    // The page size of a new database holds only if it is set before WAL mode and the first table.
    this.db.pragma(`page_size = ${variant.pageSize}`);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('cache_size = -65536');
    this.db.pragma('wal_autocheckpoint = 0');
    this.checkpoint = this.db.prepare('PRAGMA wal_checkpoint(PASSIVE)');
    if (variant.floor) {
      this.write = this.floorWriter(rand, chars);
      return;
    }
    this.db.exec(`
      CREATE TABLE accounts (customer_id ${key} NOT NULL, code TEXT NOT NULL, balance INTEGER NOT NULL, PRIMARY KEY (customer_id, code))${withoutRowid};
      CREATE TABLE ledger_transactions (id ${key} PRIMARY KEY, customer_id ${key} NOT NULL, kind TEXT NOT NULL, cause_type TEXT NOT NULL,
        cause_id TEXT NOT NULL, refs TEXT NOT NULL, effective_at INTEGER NOT NULL, created_at INTEGER NOT NULL);
      CREATE INDEX ledger_transactions_customer ON ledger_transactions (customer_id, id)${usageOut};
      CREATE INDEX ledger_transactions_effective ON ledger_transactions (customer_id, effective_at)${timeUsageOut};
      CREATE INDEX ledger_transactions_cause ON ledger_transactions (cause_id) WHERE kind <> 'usage';
      CREATE TABLE ledger_entries (txn_id ${key} NOT NULL, seq INTEGER NOT NULL, customer_id ${key} NOT NULL, account TEXT NOT NULL,
        amount INTEGER NOT NULL, account_indexed INTEGER NOT NULL, PRIMARY KEY (txn_id, seq));
      CREATE INDEX ledger_entries_account ON ledger_entries (customer_id, account) WHERE account NOT LIKE 'consumed:%'${entriesUsageOut};
      CREATE TABLE usage_events (customer_id ${key} NOT NULL, id TEXT NOT NULL, type TEXT NOT NULL, timestamp INTEGER NOT NULL,
        properties TEXT NOT NULL, body_hash TEXT NOT NULL, credits INTEGER NOT NULL, txn_id ${key}, rating TEXT NOT NULL,
        ${variant.coalesced || variant.eventPosting ? 'paid_by TEXT NOT NULL,' : ''} recorded_at INTEGER NOT NULL, PRIMARY KEY (customer_id, id));
      CREATE UNIQUE INDEX usage_events_id_unique ON usage_events (id);
      ${variant.usageEventsByTime ? 'CREATE INDEX usage_events_time ON usage_events (customer_id, timestamp);' : ''}
      ${variant.usageEventsByTransaction ? 'CREATE INDEX usage_events_txn ON usage_events (customer_id, txn_id);' : ''}
      CREATE TABLE meter_totals (customer_id ${key} NOT NULL, meter_id TEXT NOT NULL, period_start INTEGER NOT NULL,
        quantity INTEGER NOT NULL, credits INTEGER NOT NULL, PRIMARY KEY (customer_id, meter_id, period_start))${withoutRowid};
    `);
    const pageSize = this.db.pragma('page_size', { simple: true });
    if (pageSize !== variant.pageSize) throw new Error(`${variant.label}: page size ${String(pageSize)}, not ${variant.pageSize}`);
    const ids = Array.from({ length: customers }, (_, i) => (variant.integer ? i + 1 : `cus_01JD${chars(22)}`));
    const grants = new Map(ids.map((c) => [c, `grant:grt_01JD${chars(22)}`]));
    const paidBy = new Map(ids.map((c) => [c, `${grants.get(c)!.slice('grant:'.length)}:${eventCredits}`]));
    const insertEvent = this.db.prepare(`INSERT INTO usage_events VALUES (?,?,?,?,?,?,?,?,?,?${variant.coalesced || variant.eventPosting ? ',?' : ''})`);
    const insertTxn = this.db.prepare('INSERT INTO ledger_transactions VALUES (?,?,?,?,?,?,?,?)');
    const insertEntry = this.db.prepare('INSERT INTO ledger_entries VALUES (?,?,?,?,?,?)');
    const usageIndexed = variant.currentIndexes ? 0 : 1;
    const account = this.db.prepare(
      'INSERT INTO accounts VALUES (?,?,?) ON CONFLICT (customer_id, code) DO UPDATE SET balance = balance + excluded.balance');
    const total = this.db.prepare(
      'INSERT INTO meter_totals VALUES (?,?,?,?,?) ON CONFLICT (customer_id, meter_id, period_start) DO UPDATE SET quantity = quantity + excluded.quantity, credits = credits + excluded.credits');
    const properties = '{"model":"gpt-4o","region":"eu-west-1","tokens":1234}';
    const rating = '[{"meter":"tokens","quantity":"1234","credits":"24.68"},{"meter":"calls","quantity":"1","credits":"1"}]';
    const hash = 'h'.repeat(43);
    const newTxn = (): string | number => {
      const seq = ++this.nextTxn;
      return variant.integer ? seq : `txn_01JE${seq.toString(32).padStart(8, '0')}${chars(14)}`;
    };
    const postUsage = (txn: string | number, customer: string | number, causeType: string, causeId: string, k: number, at: number, nowMs: number): number => {
      let rows = insertTxn.run(txn, customer, 'usage', causeType, causeId, '{}', at, nowMs).changes;
      rows += insertEntry.run(txn, 1, customer, grants.get(customer)!, -eventCredits * k, usageIndexed).changes;
      rows += insertEntry.run(txn, 2, customer, 'consumed:tokens', 24_680_000 * k, usageIndexed).changes;
      rows += insertEntry.run(txn, 3, customer, 'consumed:calls', 1_000_000 * k, usageIndexed).changes;
      return rows;
    };
    this.write = this.db.transaction((n: number) => {
      const touched = new Map<string | number, { events: number; txn: string | number; firstEvent: string; lastAt: number }>();
      const nowMs = Date.now();
      let rows = 0;
      for (let i = 0; i < n; i++) {
        const customer = ids[Math.floor(rand() * customers)]!;
        const eventId = `ev-${this.nextEvent++}`;
        const at = nowMs - Math.floor(rand() * 60_000);
        let seen = touched.get(customer);
        if (!seen) touched.set(customer, (seen = { events: 0, txn: variant.coalesced ? newTxn() : 0, firstEvent: eventId, lastAt: at }));
        seen.events++;
        seen.lastAt = Math.max(seen.lastAt, at);
        if (variant.coalesced) {
          rows += insertEvent.run(customer, eventId, 'llm', at, properties, hash, eventCredits, seen.txn, rating, paidBy.get(customer)!, nowMs).changes;
          continue;
        }
        if (variant.eventPosting) {
          rows += insertEvent.run(customer, eventId, 'llm', at, properties, hash, eventCredits, null, rating, paidBy.get(customer)!, nowMs).changes;
          continue;
        }
        const txn = newTxn();
        rows += insertEvent.run(customer, eventId, 'llm', at, properties, hash, eventCredits, txn, rating, nowMs).changes;
        rows += postUsage(txn, customer, 'usage_event', eventId, 1, at, nowMs);
      }
      for (const [customer, seen] of touched) {
        const k = seen.events;
        if (variant.coalesced) rows += postUsage(seen.txn, customer, 'usage_batch', seen.firstEvent, k, seen.lastAt, nowMs);
        rows += account.run(customer, grants.get(customer)!, -k).changes;
        rows += account.run(customer, 'consumed:tokens', k).changes;
        rows += account.run(customer, 'consumed:calls', k).changes;
        rows += total.run(customer, 'mtr_tokens', 0, k, k).changes;
        rows += total.run(customer, 'mtr_calls', 0, k, k).changes;
      }
      return { rows, customers: touched.size };
    });
  }

  /** The floor's tables and its per-event writes (`bench/floor.ts`), over the same customers. */
  private floorWriter(rand: () => number, chars: (n: number) => string): (n: number) => { rows: number; customers: number } {
    this.db.exec(`
      CREATE TABLE events (id TEXT PRIMARY KEY, customer_id TEXT NOT NULL, grant_id TEXT NOT NULL, timestamp TEXT NOT NULL, credits INTEGER NOT NULL);
      CREATE TABLE entries (id INTEGER PRIMARY KEY, event_id TEXT NOT NULL, account TEXT NOT NULL, amount INTEGER NOT NULL);
      CREATE TABLE grants (id TEXT PRIMARY KEY, customer_id TEXT NOT NULL, balance INTEGER NOT NULL);
    `);
    const ids = Array.from({ length: customers }, () => `cus_01JD${chars(22)}`);
    const seed = this.db.prepare('INSERT INTO grants VALUES (?, ?, ?)');
    this.db.transaction(() => {
      for (const id of ids) seed.run(`grant:${id}`, id, 100_000_000_000);
    })();
    const insertEvent = this.db.prepare('INSERT INTO events VALUES (?, ?, ?, ?, ?)');
    const insertEntry = this.db.prepare('INSERT INTO entries VALUES (?, ?, ?, ?)');
    const updateGrant = this.db.prepare('UPDATE grants SET balance = balance - ? WHERE id = ?');
    let nextEntry = 1;
    return this.db.transaction((n: number) => {
      const touched = new Set<string>();
      const nowMs = Date.now();
      for (let i = 0; i < n; i++) {
        const customer = ids[Math.floor(rand() * customers)]!;
        touched.add(customer);
        const eventId = `ev-${this.nextEvent++}`;
        const grant = `grant:${customer}`;
        insertEvent.run(eventId, customer, grant, new Date(nowMs - Math.floor(rand() * 60_000)).toISOString(), eventCredits);
        insertEntry.run(nextEntry++, eventId, grant, -eventCredits);
        insertEntry.run(nextEntry++, eventId, 'consumed', eventCredits);
        updateGrant.run(eventCredits, grant);
      }
      return { rows: 4 * n, customers: touched.size };
    });
  }

  batch(measured: boolean): void {
    const cpu = process.cpuUsage();
    const main = mainThreadNs();
    const started = performance.now();
    const { rows, customers: touched } = this.write(eventsPerBatch);
    const wallMs = performance.now() - started;
    const mainUs = (mainThreadNs() - main) / 1000;
    const used = process.cpuUsage(cpu);
    const checkpointCpu = process.cpuUsage();
    const { log: frames } = this.checkpoint.get() as { busy: number; log: number; checkpointed: number };
    const checkpointUsed = process.cpuUsage(checkpointCpu);
    if (!measured) return;
    const spent: Spent = {
      wallMs, cpuUs: used.user + used.system, mainUs, checkpointUs: checkpointUsed.user + checkpointUsed.system,
      frames, rows, events: eventsPerBatch, customers: touched,
    };
    if (this.spent.events % (batchesPerRound * eventsPerBatch) === 0) this.rounds.push(nothingSpent());
    for (const into of [this.spent, this.rounds.at(-1)!]) {
      for (const k of Object.keys(spent) as (keyof Spent)[]) into[k] += spent[k];
    }
  }

  close(): number {
    const bytes = statSync(join(this.dir, 'keys.db')).size + statSync(join(this.dir, 'keys.db-wal')).size;
    this.db.close();
    rmSync(this.dir, { recursive: true, force: true });
    return bytes;
  }
}

const load = (): string => os.loadavg().map((l) => l.toFixed(2)).join(' ');
const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const cpuPerEvent = (s: Spent): number => (s.cpuUs + s.checkpointUs) / s.events;

console.log(`load average ${load()}; ${batches} batches of ${eventsPerBatch} per variant, ${warmup} of them warm-up; ${customers} customers`);
const sides = variants.map((v) => new Side(v, 11));
for (let b = 0; b < batches; b++) {
  for (let k = 0; k < sides.length; k++) sides[(b + k) % sides.length]!.batch(b >= warmup);
}
const base = sides[0]!;
const touchedPerBatch = (base.spent.customers * eventsPerBatch) / base.spent.events;
console.log(`${touchedPerBatch.toFixed(0)} customers touched per batch, ${(eventsPerBatch / touchedPerBatch).toFixed(2)} events per customer per batch`);
console.log('per event: CPU = process, write + checkpoint (write / checkpoint); main = main thread, write; wall = write');
for (const side of sides) {
  const s = side.spent;
  const cpu = cpuPerEvent(s);
  const ratios = side.rounds.map((r, i) => cpuPerEvent(r) / cpuPerEvent(base.rounds[i]!));
  const mib = side.close() / 2 ** 20;
  console.log(
    `${side.variant.label.padEnd(32)} CPU ${cpu.toFixed(1).padStart(6)} µs (${(s.cpuUs / s.events).toFixed(1)} / ${(s.checkpointUs / s.events).toFixed(1)}),`
    + ` main ${(s.mainUs / s.events).toFixed(1).padStart(6)} µs, wall ${((s.wallMs * 1000) / s.events).toFixed(1).padStart(6)} µs,`
    + ` ${(s.frames / s.events).toFixed(2)} WAL frames (${((s.frames * (side.variant.pageSize + 24)) / 1024 / s.events).toFixed(2)} KiB),`
    + ` ${(s.rows / s.events).toFixed(2)} rows; ${((100 * cpu) / cpuPerEvent(base.spent)).toFixed(0)}% of text`
    + ` (rounds: median ${(100 * median(ratios)).toFixed(0)}%, ${(100 * Math.min(...ratios)).toFixed(0)}–${(100 * Math.max(...ratios)).toFixed(0)}%, last ${(100 * ratios.at(-1)!).toFixed(0)}%), ${mib.toFixed(0)} MiB`,
  );
}
console.log(`load average ${load()}`);
