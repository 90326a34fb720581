import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

/**
 * How often the checkpointer copies newly committed WAL frames into the database file. Each round
 * that finds new frames syncs the WAL and the database file, and copies each page once however
 * often it was rewritten since the last round: at 25 ms, rounds ran 40 times a second under load,
 * their fsyncs queued with the commits' own, and the pages every commit rewrites (the tables'
 * last pages) were copied back after almost every commit. 250 ms measured 11–16% less CPU per
 * event and 12–19% more events per second on figures 2 and 3 (docs/benchmark-rounds.md, round 5).
 */
export const checkpointIntervalMs = 250;

/**
 * The writer's own checkpoint: once the WAL holds this many frames (64 MiB of 4 KiB pages), the
 * committing connection checkpoints by itself, as SQLite does at 1000 frames by default. The WAL
 * starts again from its beginning only when a write transaction begins after a checkpoint copied
 * every frame; under sustained writes the checkpointer's rounds rarely end with nothing newer, so
 * the WAL fills to this size and the writer's own checkpoint (copying what the rounds have not)
 * lets the next transaction start it again: in figure 3's shape three times in 5 s, in figure 2's
 * about 8% of the writing thread. 4,096, 32,768 and 65,536 frames measured no better, and none at
 * all (a WAL of 1.5 GiB) three times the COMMIT cost (docs/benchmark-rounds.md, "Round 19" and
 * "Round 20").
 */
export const walFramesMax = 16_384;

/**
 * The checkpointer's thread: its own connection to the same file, running a PASSIVE checkpoint
 * on a timer. PASSIVE never blocks the writer or readers and never waits for locks; a round that
 * finds nothing new returns without touching the disk. `synchronous = FULL` makes the
 * checkpoint sync the database file before the WAL can be reused, as the writer's would.
 */
const workerSource = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.path, { fileMustExist: true });
db.pragma('synchronous = FULL');
const checkpoint = db.prepare('PRAGMA wal_checkpoint(PASSIVE)');
const timer = setInterval(() => {
  try { checkpoint.get(); } catch { /* busy or closing: the next round tries again */ }
}, workerData.intervalMs);
parentPort.once('message', () => {
  clearInterval(timer);
  db.close();
  parentPort.close();
});
`;

/**
 * Copies committed WAL frames into the database file on a worker thread, so the thread that
 * serves requests only appends to the WAL and fsyncs it at COMMIT. Checkpointing is
 * about a third of SQLite's write work here; off the request thread it runs on another core.
 * Durability is unchanged: a transaction is durable once its COMMIT has synced the WAL, and the
 * checkpoint never discards a frame before the database file holds it.
 */
export class WalCheckpointer {
  private readonly worker: Worker;
  private readonly exited: Promise<void>;

  constructor(path: string, onFailure: (error: Error) => void, intervalMs = checkpointIntervalMs) {
    this.worker = new Worker(workerSource, {
      eval: true,
      workerData: { path, driver: createRequire(import.meta.url).resolve('better-sqlite3'), intervalMs },
    });
    // The thread must never keep a process alive that has nothing else to do.
    this.worker.unref();
    this.worker.on('error', onFailure);
    this.exited = new Promise((resolve) => this.worker.once('exit', () => resolve()));
  }

  /** Stops the thread and closes its connection; resolves when the thread has exited. */
  async stop(): Promise<void> {
    // Held while stopping, so a caller awaiting close() is not cut short by the process running
    // out of other work and exiting first.
    this.worker.ref();
    this.worker.postMessage('stop');
    await this.exited;
  }
}
