/**
 * What the hot path's keys cost, measured on the rows alone (`npx tsx bench/layout-keys.ts [batches]`).
 *
 * A model of the five tables usage ingestion writes, with the columns and indexes of the current
 * schema (src/store/migrations.ts): per event one `usage_events` row, one usage transaction in
 * `ledger_transactions` and its three `ledger_entries` (the paying grant and two `consumed:<meter>`
 * credits), and per customer of a batch the `accounts` and `meter_totals` upserts. It is written with
 * better-sqlite3 directly, 1000 events over 1,000 customers per transaction, WAL with
 * `synchronous=NORMAL` (the production writer's setting; the fsync is left out of every side alike),
 * so that only the layout differs between the variants:
 *
 * - `text`: today's keys, prefixed time-sortable ids of 30 characters (`cus_…`, `txn_…`);
 * - `integer`: customers and transactions keyed by integers inside (the prefixed id kept only at the
 *   API), in every table and index above;
 * - `text, usage out of ledger_transactions' customer indexes`: both customer-led indexes of
 *   `ledger_transactions` made partial (`WHERE kind <> 'usage'`), as a read path through
 *   `usage_events` would allow;
 * - `text, usage moved`: the same, plus the index on `usage_events (customer_id, timestamp)` that
 *   those reads by customer and time would then need;
 * - `integer, usage out`: integer keys and usage out of both indexes.
 *
 * The variants' batches alternate (the order rotating every batch) so that the machine's other load
 * falls on all alike; after 20 warm-up batches per side it prints CPU and wall time per event, and
 * each variant's size on disk.
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import os from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { random } from './events.ts';

const batches = Number(process.argv[2] ?? 120);
const warmup = 20;
const customers = 1000;
const eventsPerBatch = 1000;
const alphabet = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

interface Variant {
  label: string;
  integer: boolean;
  usageOutOfTransactionIndexes: boolean;
  /** An index on `usage_events (customer_id, timestamp)`: what the time-window reads would need instead. */
  usageEventsByTime: boolean;
}

const variants: Variant[] = [
  { label: 'text', integer: false, usageOutOfTransactionIndexes: false, usageEventsByTime: false },
  { label: 'integer', integer: true, usageOutOfTransactionIndexes: false, usageEventsByTime: false },
  { label: 'text, usage out', integer: false, usageOutOfTransactionIndexes: true, usageEventsByTime: false },
  { label: 'text, usage moved', integer: false, usageOutOfTransactionIndexes: true, usageEventsByTime: true },
  { label: 'integer, usage out', integer: true, usageOutOfTransactionIndexes: true, usageEventsByTime: false },
];

class Side {
  readonly dir = mkdtempSync(join(tmpdir(), 'tally-bench-keys-'));
  readonly db: Database.Database;
  readonly spent = { wallMs: 0, cpuUs: 0, events: 0 };
  private readonly write: (n: number) => void;
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
    this.db = new Database(join(this.dir, 'keys.db'));
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('cache_size = -65536');
    this.db.exec(`
      CREATE TABLE accounts (customer_id ${key} NOT NULL, code TEXT NOT NULL, balance INTEGER NOT NULL, PRIMARY KEY (customer_id, code));
      CREATE TABLE ledger_transactions (id ${key} PRIMARY KEY, customer_id ${key} NOT NULL, kind TEXT NOT NULL, cause_type TEXT NOT NULL,
        cause_id TEXT NOT NULL, refs TEXT NOT NULL, effective_at INTEGER NOT NULL, created_at INTEGER NOT NULL);
      CREATE INDEX ledger_transactions_customer ON ledger_transactions (customer_id, id)${usageOut};
      CREATE INDEX ledger_transactions_effective ON ledger_transactions (customer_id, effective_at)${usageOut};
      CREATE INDEX ledger_transactions_cause ON ledger_transactions (cause_id) WHERE kind <> 'usage';
      CREATE TABLE ledger_entries (txn_id ${key} NOT NULL, seq INTEGER NOT NULL, customer_id ${key} NOT NULL, account TEXT NOT NULL,
        amount INTEGER NOT NULL, PRIMARY KEY (txn_id, seq));
      CREATE INDEX ledger_entries_account ON ledger_entries (customer_id, account) WHERE account NOT LIKE 'consumed:%';
      CREATE TABLE usage_events (customer_id ${key} NOT NULL, id TEXT NOT NULL, type TEXT NOT NULL, timestamp INTEGER NOT NULL,
        properties TEXT NOT NULL, body_hash TEXT NOT NULL, credits INTEGER NOT NULL, txn_id ${key}, rating TEXT NOT NULL,
        recorded_at INTEGER NOT NULL, PRIMARY KEY (customer_id, id));
      CREATE UNIQUE INDEX usage_events_id_unique ON usage_events (id);
      ${variant.usageEventsByTime ? 'CREATE INDEX usage_events_time ON usage_events (customer_id, timestamp);' : ''}
      CREATE TABLE meter_totals (customer_id ${key} NOT NULL, meter_id TEXT NOT NULL, period_start INTEGER NOT NULL,
        quantity INTEGER NOT NULL, credits INTEGER NOT NULL, PRIMARY KEY (customer_id, meter_id, period_start));
    `);
    const ids = Array.from({ length: customers }, (_, i) => (variant.integer ? i + 1 : `cus_01JD${chars(22)}`));
    const grants = new Map(ids.map((c) => [c, `grant:grt_01JD${chars(22)}`]));
    const insertEvent = this.db.prepare('INSERT INTO usage_events VALUES (?,?,?,?,?,?,?,?,?,?)');
    const insertTxn = this.db.prepare('INSERT INTO ledger_transactions VALUES (?,?,?,?,?,?,?,?)');
    const insertEntry = this.db.prepare('INSERT INTO ledger_entries VALUES (?,?,?,?,?)');
    const account = this.db.prepare(
      'INSERT INTO accounts VALUES (?,?,?) ON CONFLICT (customer_id, code) DO UPDATE SET balance = balance + excluded.balance');
    const total = this.db.prepare(
      'INSERT INTO meter_totals VALUES (?,?,?,?,?) ON CONFLICT (customer_id, meter_id, period_start) DO UPDATE SET quantity = quantity + excluded.quantity, credits = credits + excluded.credits');
    const properties = '{"model":"gpt-4o","region":"eu-west-1","tokens":1234}';
    const rating = '[{"meter":"tokens","quantity":"1234","credits":"24.68"},{"meter":"calls","quantity":"1","credits":"1"}]';
    const hash = 'h'.repeat(43);
    this.write = this.db.transaction((n: number) => {
      const touched = new Map<string | number, number>();
      const nowMs = Date.now();
      for (let i = 0; i < n; i++) {
        const customer = ids[Math.floor(rand() * customers)]!;
        const seq = ++this.nextTxn;
        const txn = variant.integer ? seq : `txn_01JE${seq.toString(32).padStart(8, '0')}${chars(14)}`;
        const eventId = `ev-${this.nextEvent++}`;
        const at = nowMs - Math.floor(rand() * 60_000);
        insertEvent.run(customer, eventId, 'llm', at, properties, hash, 25_680_000, txn, rating, nowMs);
        insertTxn.run(txn, customer, 'usage', 'usage_event', eventId, '{}', at, nowMs);
        insertEntry.run(txn, 1, customer, grants.get(customer)!, -25_680_000);
        insertEntry.run(txn, 2, customer, 'consumed:tokens', 24_680_000);
        insertEntry.run(txn, 3, customer, 'consumed:calls', 1_000_000);
        touched.set(customer, (touched.get(customer) ?? 0) + 1);
      }
      for (const [customer, k] of touched) {
        account.run(customer, grants.get(customer)!, -k);
        account.run(customer, 'consumed:tokens', k);
        account.run(customer, 'consumed:calls', k);
        total.run(customer, 'mtr_tokens', 0, k, k);
        total.run(customer, 'mtr_calls', 0, k, k);
      }
    });
  }

  batch(measured: boolean): void {
    const cpu = process.cpuUsage();
    const started = performance.now();
    this.write(eventsPerBatch);
    if (!measured) return;
    this.spent.wallMs += performance.now() - started;
    const used = process.cpuUsage(cpu);
    this.spent.cpuUs += used.user + used.system;
    this.spent.events += eventsPerBatch;
  }

  close(): number {
    const bytes = statSync(join(this.dir, 'keys.db')).size + statSync(join(this.dir, 'keys.db-wal')).size;
    this.db.close();
    rmSync(this.dir, { recursive: true, force: true });
    return bytes;
  }
}

console.log(`load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}; ${batches} batches of ${eventsPerBatch} per variant, ${warmup} of them warm-up`);
const sides = variants.map((v, i) => new Side(v, 11 + i));
for (let b = 0; b < batches; b++) {
  for (let k = 0; k < sides.length; k++) sides[(b + k) % sides.length]!.batch(b >= warmup);
}
const base = sides[0]!.spent.cpuUs / sides[0]!.spent.events;
for (const side of sides) {
  const cpu = side.spent.cpuUs / side.spent.events;
  const wall = (side.spent.wallMs * 1000) / side.spent.events;
  const mib = side.close() / 2 ** 20;
  console.log(`${side.variant.label.padEnd(20)} CPU ${cpu.toFixed(1).padStart(6)} µs/event (${((100 * cpu) / base).toFixed(0)}% of text), wall ${wall.toFixed(1).padStart(6)} µs/event, ${mib.toFixed(0)} MiB`);
}
console.log(`load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
