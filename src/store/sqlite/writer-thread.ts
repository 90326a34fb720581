import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type { SqlValue } from '../sql.ts';

/**
 * The writer thread: a worker with its own connection to the database file that runs the writes
 * of ingestion's transactions, so that the thread answering requests rates and allocates the next
 * group of events while SQLite writes the last one (docs/ARCHITECTURE.md, "The writer thread").
 *
 * A group arrives as the statements its transaction queued, in order. The worker runs them between
 * BEGIN IMMEDIATE and COMMIT with `synchronous = FULL`, so a group's COMMIT returns (and other
 * connections see it) only once it is on the disk; then it answers. Groups are applied one at a
 * time, in the order they were sent.
 *
 * Each group carries the epoch it was built in. A group fails, and so does every later group of its
 * epoch or an earlier one, when:
 * - a statement fails (the worker answers `error`: the caller's transaction fails with it);
 * - the database changed under the group (`stale`): `PRAGMA data_version` on the worker's
 *   connection, read once the write lock is held, differs from the baseline it last took. The
 *   baseline is taken when the worker starts and whenever the main connection asks (`verify`,
 *   after its own writes, and where a caller wants to know of other processes' commits before it
 *   reads); the worker's own commits leave it as it was (a connection's own commits do not move
 *   it). A change since is another connection's commit, which the group's reads (made before it,
 *   on the main connection) may not have seen;
 * - an earlier group of its epoch failed (`cascade`): it was built on that group's state in memory.
 * The caller builds a `stale` or `cascade` group again from fresh reads, in a new epoch.
 *
 * If the thread itself dies, every group not yet answered is sent back (`stopped`) and built again
 * on the main connection. One that had committed before the thread died then finds its events
 * stored and answers them as duplicates: each is charged once all the same.
 */
const workerSource = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.path, { fileMustExist: true });
db.defaultSafeIntegers(true);
if (workerData.coalesce) {
  try { db.prepare('SELECT tally_wal_coalesce_enable()').get(); } catch { /* not loaded: plain writes */ }
}
db.pragma('synchronous = FULL');
db.pragma('busy_timeout = 5000');
db.pragma('foreign_keys = OFF');
db.pragma('temp_store = MEMORY');
db.pragma('cache_size = -' + workerData.cacheKib);
db.pragma('journal_size_limit = ' + workerData.journalSizeLimit);
db.pragma('wal_autocheckpoint = ' + workerData.autocheckpointFrames);
const begin = db.prepare('BEGIN IMMEDIATE');
const commit = db.prepare('COMMIT');
const rollback = db.prepare('ROLLBACK');
const dataVersion = db.prepare('PRAGMA data_version').pluck();
const statements = [];
let baseline = dataVersion.get();
let failedEpoch = -1;
const spreadValuesMax = ${8192};
function run(statement, params) {
  if (params === null || params.length === 0) return statement.run();
  for (let i = 0; i < params.length; i++) {
    const value = params[i];
    if (typeof value === 'number' && Number.isInteger(value)) params[i] = BigInt(value);
  }
  return params.length <= spreadValuesMax ? statement.run(...params) : statement.run(params);
}
function fail(m, outcome, error) {
  failedEpoch = Math.max(failedEpoch, m.epoch);
  parentPort.postMessage({ id: m.id, outcome, message: error ? String(error.message || error) : null, code: error && error.code ? String(error.code) : null });
}
parentPort.on('message', (m) => {
  if (m.op === 'stop') {
    db.close();
    parentPort.close();
    return;
  }
  if (m.op === 'verify') {
    const version = dataVersion.get();
    const changed = version !== baseline;
    baseline = version;
    parentPort.postMessage({ id: m.id, outcome: 'ok', changed });
    return;
  }
  try {
    for (const text of m.texts) statements[text.key] = db.prepare(text.sql);
  } catch (error) {
    fail(m, 'error', error);
    return;
  }
  if (m.epoch <= failedEpoch) {
    fail(m, 'cascade', null);
    return;
  }
  try {
    begin.run();
    const version = dataVersion.get();
    if (version !== baseline) {
      rollback.run();
      baseline = version;
      fail(m, 'stale', null);
      return;
    }
    for (let i = 0; i < m.keys.length; i++) run(statements[m.keys[i]], m.params[i]);
    commit.run();
    parentPort.postMessage({ id: m.id, outcome: 'ok' });
  } catch (error) {
    if (db.inTransaction) {
      try { rollback.run(); } catch { /* rolled back by SQLite already */ }
    }
    fail(m, 'error', error);
  }
});
`;

/**
 * The writer thread's young generation in MiB. With V8's default the load check's default shape
 * (3,000 customers) reached 304–315 MiB of server RSS; with this and the halved page cache
 * (`writerPageCacheShare`, sqlite-database.ts) 269 and 292 MiB, at the same rate within the
 * machine's spread.
 */
const writerYoungGenerationMb = 8;

/** A group that must be built again from fresh reads: the database changed under it, or an earlier group failed. */
export class WriterRetry extends Error {
  constructor(readonly outcome: 'stale' | 'cascade' | 'stopped') {
    super(`The writer thread did not apply the group (${outcome}).`);
  }
}

/** A statement queued for the writer thread: its text as it runs in a transaction, and its values. */
export interface QueuedWrite {
  sql: string;
  params: readonly SqlValue[] | null;
}

export interface WriterThreadOptions {
  path: string;
  cacheKib: number;
  journalSizeLimit: number;
  autocheckpointFrames: number;
  coalesce: boolean;
  /**
   * Told of a group that did not commit (any outcome but `ok`), and of the thread's failure: what
   * the caller kept in memory of later groups is no longer true.
   */
  onFailure: () => void;
  /** Told of each group the worker committed, as its answer arrives (before its caller is). */
  onCommitted: () => void;
}

interface Reply {
  id: number;
  outcome: 'ok' | 'error' | 'stale' | 'cascade';
  /** `verify`: whether another connection committed since the baseline. */
  changed?: boolean;
  message?: string | null;
  code?: string | null;
}

/** The main thread's side of the writer thread: sends groups, tells each caller how its group ended. */
export class WriterThread {
  private readonly worker: Worker;
  private readonly exited: Promise<void>;
  private nextId = 0;
  private readonly waiting = new Map<number, { epoch: number; group: boolean; resolve: (reply: Reply) => void; reject: (error: unknown) => void }>();
  /** Statement texts the worker has prepared, by text: each is sent once, then named by its key. */
  private readonly keys = new Map<string, number>();
  /** Groups are built in an epoch; a failed group ends its epoch (see `workerSource`). */
  epoch = 0;
  /** Set when the thread failed or stopped: nothing more is sent. */
  broken = false;
  private drained: { promise: Promise<void>; resolve: () => void } | null = null;

  constructor(private readonly options: WriterThreadOptions) {
    this.worker = new Worker(workerSource, {
      eval: true,
      // The groups it receives are short-lived: a small young generation keeps the thread's heap,
      // and the server's resident memory, small (docs/benchmark-rounds.md, "Round 22").
      resourceLimits: { maxYoungGenerationSizeMb: writerYoungGenerationMb },
      workerData: {
        path: options.path,
        driver: createRequire(import.meta.url).resolve('better-sqlite3'),
        cacheKib: options.cacheKib,
        journalSizeLimit: options.journalSizeLimit,
        autocheckpointFrames: options.autocheckpointFrames,
        coalesce: options.coalesce,
      },
    });
    this.worker.unref();
    this.worker.on('message', (reply: Reply) => this.settle(reply));
    this.worker.on('error', (error) => this.fail(error));
    this.exited = new Promise((resolve) => this.worker.once('exit', () => {
      this.fail(new WriterRetry('stopped'));
      resolve();
    }));
  }

  /** True while no group or request is waiting for the worker. */
  get idle(): boolean {
    return this.waiting.size === 0;
  }

  /**
   * Sends a group built in `epoch`; resolves once it has committed durably, rejects with its
   * error, or with `WriterRetry` when it must be built again.
   */
  post(epoch: number, writes: readonly QueuedWrite[]): Promise<void> {
    const texts: { key: number; sql: string }[] = [];
    const keys = new Array<number>(writes.length);
    const params = new Array<readonly SqlValue[] | null>(writes.length);
    for (let i = 0; i < writes.length; i++) {
      const write = writes[i]!;
      let key = this.keys.get(write.sql);
      if (key === undefined) {
        key = this.keys.size;
        this.keys.set(write.sql, key);
        texts.push({ key, sql: write.sql });
      }
      keys[i] = key;
      params[i] = write.params;
    }
    return this.send({ op: 'group', epoch, texts, keys, params }, epoch).then(() => undefined);
  }

  /**
   * Has the worker take the database's present state as its baseline; true when another
   * connection (this process's main connection included) committed since the last one. Call it
   * with nothing in flight (`drain`).
   */
  async verify(): Promise<boolean> {
    return (await this.send({ op: 'verify' }, this.epoch)).changed === true;
  }

  /** Resolves once every group sent so far has been answered. */
  drain(): Promise<void> {
    if (this.idle) return Promise.resolve();
    if (this.drained === null) {
      let resolve!: () => void;
      const promise = new Promise<void>((r) => (resolve = r));
      this.drained = { promise, resolve };
    }
    return this.drained.promise;
  }

  /** Waits for every group sent, then stops the thread and closes its connection. */
  async stop(): Promise<void> {
    await this.drain();
    if (this.broken) return this.exited;
    this.broken = true;
    this.worker.ref();
    this.worker.postMessage({ op: 'stop' });
    await this.exited;
  }

  private send(message: Record<string, unknown>, epoch: number): Promise<Reply> {
    if (this.broken) return Promise.reject(new WriterRetry('stopped'));
    const id = this.nextId++;
    return new Promise<Reply>((resolve, reject) => {
      this.waiting.set(id, { epoch, group: message.op === 'group', resolve, reject });
      // Held while groups are outstanding, so a process that awaits one is not cut short.
      if (this.waiting.size === 1) this.worker.ref();
      this.worker.postMessage({ ...message, id });
    });
  }

  private settle(reply: Reply): void {
    const waiter = this.waiting.get(reply.id);
    if (waiter === undefined) return;
    this.waiting.delete(reply.id);
    if (reply.outcome === 'ok') {
      if (waiter.group) this.options.onCommitted();
      waiter.resolve(reply);
    }
    else {
      this.epoch = Math.max(this.epoch, waiter.epoch + 1);
      this.options.onFailure();
      if (reply.outcome === 'error') waiter.reject(Object.assign(new Error(reply.message ?? 'The writer thread failed.'), reply.code ? { code: reply.code } : {}));
      else waiter.reject(new WriterRetry(reply.outcome));
    }
    this.afterSettle();
  }

  private fail(error: unknown): void {
    if (this.waiting.size > 0 || !this.broken) this.options.onFailure();
    this.broken = true;
    const waiting = [...this.waiting.values()];
    this.waiting.clear();
    for (const w of waiting) w.reject(error instanceof WriterRetry ? error : new WriterRetry('stopped'));
    this.afterSettle();
  }

  private afterSettle(): void {
    if (this.waiting.size > 0) return;
    this.worker.unref();
    const drained = this.drained;
    this.drained = null;
    drained?.resolve();
  }
}
