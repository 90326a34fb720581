import { createRequire } from 'node:module';
import { setTimeout as sleep } from 'node:timers/promises';
import { Worker } from 'node:worker_threads';
import type { SnapshotReader, SqlConnection, SqlRow, SqlValue } from '../sql.ts';

/**
 * Consistent read-only views of a SQLite file, served by a worker thread with its own
 * connection: long reads (a full reconciliation, the ledger check) run there, so the thread that
 * answers requests never waits for them. Each snapshot is one read transaction on the worker (a
 * WAL snapshot): every query in it sees the same committed state while writers go on. One worker
 * serves any number of snapshots one after another, so a check split into many short snapshots
 * starts the thread once. Rows come back with integers as bigint, as on the main connection.
 */
const workerSource = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.path, { readonly: true, fileMustExist: true });
db.defaultSafeIntegers(true);
db.pragma('busy_timeout = 5000');
db.pragma('cache_size = -' + workerData.cacheKib);
const dataVersion = db.prepare('PRAGMA data_version').pluck();
// Copies the WAL into the database file as each snapshot ends (see snapshotGapMs). A checkpoint
// writes, so it needs a connection that may; without one (a read-only file) the checkpointer
// thread of the process that writes does it on its own schedule.
let checkpoint = null;
try {
  const writer = new Database(workerData.path, { fileMustExist: true });
  writer.pragma('busy_timeout = 0');
  writer.pragma('synchronous = FULL');
  checkpoint = { db: writer, statement: writer.prepare('PRAGMA wal_checkpoint(PASSIVE)') };
} catch { /* read-only: no checkpoints from here */ }
parentPort.on('message', (m) => {
  if (m.op === 'end') {
    if (db.inTransaction) db.exec('COMMIT');
    db.close();
    if (checkpoint) checkpoint.db.close();
    parentPort.close();
    return;
  }
  try {
    if (m.op === 'begin') {
      db.exec('BEGIN');
      // The snapshot starts with its first read: this one.
      parentPort.postMessage({ id: m.id, rows: [], version: dataVersion.get() });
      return;
    }
    if (m.op === 'commit') {
      if (db.inTransaction) db.exec('COMMIT');
      if (checkpoint) {
        try { checkpoint.statement.get(); } catch { /* busy: the checkpointer thread is at it */ }
      }
      parentPort.postMessage({ id: m.id, rows: [], version: dataVersion.get() });
      return;
    }
    const statement = db.prepare(m.sql);
    if (!statement.reader) throw new Error('a read snapshot runs only statements that return rows');
    parentPort.postMessage({ id: m.id, rows: statement.all(...m.params) });
  } catch (error) {
    parentPort.postMessage({ id: m.id, error: error && error.message ? error.message : String(error) });
  }
});
`;

/**
 * The snapshot worker's page cache, in KiB. A slice of a reconciliation check reads its
 * customers' transactions and entries several times (one query per rule); the entries of those
 * customers lie scattered through the file, and the pages the first query read serve the later
 * ones while they are cached; pages that leave it are read again from the system's file cache.
 * The cache counts in the server's resident set while a check runs, and what it held is not all
 * handed back after: at 256 MiB the ledger check over 100,000 customers took a fresh server from
 * 125 to 459 MiB (414 after), past PRODUCT §13's 300 MB; at 32, 16 and 8 MiB to 210, 191 and 170,
 * each in about 7 s. Over 10 million entries a full reconciliation under ingestion took 140 s at
 * 8 MiB against 133 s at 256 (docs/benchmark-rounds.md, "Round 27"), in slices sized by time a little
 * smaller.
 */
const snapshotCacheKib = 8 * 1024;

/**
 * How long the worker holds no snapshot between two, when the database was written while the
 * first was open. While a snapshot is open the checkpointer can copy the WAL back only as far as
 * the snapshot, and the WAL is restarted only once it has all been copied back and no reader
 * still uses it; snapshots taken back to back under steady writes would leave no such moment, and
 * the WAL would grow as if one snapshot lasted throughout. So the worker itself checkpoints as
 * each snapshot ends (PASSIVE, on a connection of its own, before the snapshot's caller goes on),
 * whatever the checkpointer thread's interval, and the gap leaves time for the next write to
 * restart the WAL. A snapshot during which no other connection committed (SQLite's
 * `data_version`, read as it starts and after it ends) left nothing behind it to copy back or
 * restart, so the next one starts at once: a check on a quiet server waits for no gap.
 */
export const snapshotGapMs = 100;

/** A query's rows; a snapshot's start and end also carry the worker connection's `data_version`. */
interface WorkerReply {
  rows: SqlRow[];
  version?: bigint;
}

/** The worker's connection; it answers queries only inside a snapshot (`active`). */
class SnapshotConnection implements SqlConnection {
  readonly dialect = 'sqlite' as const;
  private active = false;
  /** True from a snapshot's call until it has ended, gap included. */
  private busy = false;
  private lastEndedMs = -Infinity;
  /** Whether another connection committed while the last snapshot was open. */
  private writtenDuringLast = false;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (reply: WorkerReply) => void; reject: (error: Error) => void }>();
  private failure: Error | null = null;

  constructor(private readonly worker: Worker, private readonly gapMs: number) {
    worker.on('message', (m: WorkerReply & { id: number; error?: string }) => {
      const waiting = this.pending.get(m.id);
      if (!waiting) return;
      this.pending.delete(m.id);
      if (m.error !== undefined) waiting.reject(new Error(m.error));
      else waiting.resolve(m);
    });
    const fail = (error: Error) => {
      this.failure = error;
      for (const waiting of this.pending.values()) waiting.reject(error);
      this.pending.clear();
    };
    worker.on('error', fail);
    worker.on('exit', () => fail(new Error('the read snapshot has ended')));
  }

  query<R extends SqlRow = SqlRow>(sql: string, params: readonly SqlValue[] = []): Promise<R[]> {
    if (!this.active) return Promise.reject(new Error('This read snapshot has already ended.'));
    return this.send({ op: 'query', sql, params }).then((reply) => reply.rows as R[]);
  }

  run(): Promise<number> {
    return Promise.reject(new Error('a read snapshot cannot write'));
  }

  /** Runs `read` inside one read transaction of the worker. */
  async snapshot<T>(read: (connection: SqlConnection) => Promise<T>): Promise<T> {
    if (this.busy) throw new Error('A read snapshot is already open on this worker; snapshots run one after another.');
    this.busy = true;
    try {
      const gapLeftMs = this.lastEndedMs + this.gapMs - performance.now();
      if (this.writtenDuringLast && gapLeftMs > 0) await sleep(gapLeftMs);
      const began = await this.send({ op: 'begin' });
      this.active = true;
      try {
        return await read(this);
      } finally {
        this.active = false;
        if (!this.failure) {
          const ended = await this.send({ op: 'commit' });
          this.writtenDuringLast = ended.version !== began.version;
        }
        this.lastEndedMs = performance.now();
      }
    } finally {
      this.busy = false;
    }
  }

  async end(): Promise<void> {
    if (this.failure) return;
    const exited = new Promise<void>((resolve) => this.worker.once('exit', () => resolve()));
    this.worker.postMessage({ op: 'end' });
    await exited;
  }

  private send(message: { op: string; sql?: string; params?: readonly SqlValue[] }): Promise<WorkerReply> {
    if (this.failure) return Promise.reject(this.failure);
    const id = this.nextId++;
    return new Promise<WorkerReply>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ ...message, id });
    });
  }
}

/**
 * Runs `fn` with a reader of snapshots of the file at `path`, all served by one worker thread,
 * then ends the thread. Each call of the reader is one snapshot, closed before it returns, so a
 * caller that keeps each call short lets the WAL be reset between them. `gapMs` replaces
 * `snapshotGapMs` (for tests).
 */
export async function withReadSnapshots<T>(
  path: string,
  fn: (snapshot: SnapshotReader) => Promise<T>,
  options: { gapMs?: number } = {},
): Promise<T> {
  const worker = new Worker(workerSource, {
    eval: true,
    workerData: { path, driver: createRequire(import.meta.url).resolve('better-sqlite3'), cacheKib: snapshotCacheKib },
  });
  const connection = new SnapshotConnection(worker, options.gapMs ?? snapshotGapMs);
  try {
    return await fn((read) => connection.snapshot(read));
  } finally {
    await connection.end();
  }
}
