import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type { SqlConnection, SqlRow, SqlValue } from '../sql.ts';

/**
 * A consistent read-only view of a SQLite file, served by a worker thread with its own
 * connection: long reads (a full reconciliation, the ledger check) run there, so the thread that
 * answers requests never waits for them. The worker opens one read transaction (a WAL snapshot)
 * for its whole life, so every query of one check sees the same committed state while writers
 * go on. Rows come back with integers as bigint, as on the main connection.
 */
const workerSource = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.path, { readonly: true, fileMustExist: true });
db.defaultSafeIntegers(true);
db.pragma('busy_timeout = 5000');
db.pragma('cache_size = -' + workerData.cacheKib);
db.exec('BEGIN');
parentPort.on('message', (m) => {
  if (m.op === 'end') {
    try { db.exec('COMMIT'); } catch { /* nothing to commit */ }
    db.close();
    parentPort.close();
    return;
  }
  try {
    const statement = db.prepare(m.sql);
    if (!statement.reader) throw new Error('a read snapshot runs only statements that return rows');
    parentPort.postMessage({ id: m.id, rows: statement.all(...m.params) });
  } catch (error) {
    parentPort.postMessage({ id: m.id, error: error && error.message ? error.message : String(error) });
  }
});
`;

/** The snapshot worker's page cache, in KiB: reconciliation scans more than the request path. */
const snapshotCacheKib = 64 * 1024;

class SnapshotConnection implements SqlConnection {
  readonly dialect = 'sqlite' as const;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (rows: SqlRow[]) => void; reject: (error: Error) => void }>();
  private failure: Error | null = null;

  constructor(private readonly worker: Worker) {
    worker.on('message', (m: { id: number; rows?: SqlRow[]; error?: string }) => {
      const waiting = this.pending.get(m.id);
      if (!waiting) return;
      this.pending.delete(m.id);
      if (m.error !== undefined) waiting.reject(new Error(m.error));
      else waiting.resolve(m.rows ?? []);
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
    if (this.failure) return Promise.reject(this.failure);
    const id = this.nextId++;
    return new Promise<R[]>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (rows: SqlRow[]) => void, reject });
      this.worker.postMessage({ op: 'query', id, sql, params });
    });
  }

  run(): Promise<number> {
    return Promise.reject(new Error('a read snapshot cannot write'));
  }

  async end(): Promise<void> {
    if (this.failure) return;
    const exited = new Promise<void>((resolve) => this.worker.once('exit', () => resolve()));
    this.worker.postMessage({ op: 'end' });
    await exited;
  }
}

/** Runs `fn` over a read snapshot of the file at `path` on its own worker thread, then ends it. */
export async function withReadSnapshot<T>(path: string, fn: (connection: SqlConnection) => Promise<T>): Promise<T> {
  const worker = new Worker(workerSource, {
    eval: true,
    workerData: { path, driver: createRequire(import.meta.url).resolve('better-sqlite3'), cacheKib: snapshotCacheKib },
  });
  const connection = new SnapshotConnection(worker);
  try {
    return await fn(connection);
  } finally {
    await connection.end();
  }
}
