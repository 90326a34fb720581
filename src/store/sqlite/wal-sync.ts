import { closeSync, fdatasync, fstatSync, openSync, statSync } from 'node:fs';

/** Flushes a file's written data to the disk; the default runs `fdatasync` on libuv's thread pool. */
export type SyncFile = (fd: number) => Promise<void>;

const fdatasyncOnPool: SyncFile = (fd) => new Promise((resolve, reject) => {
  fdatasync(fd, (error) => (error ? reject(error) : resolve()));
});

/**
 * Durable commits without an fsync on the request thread.
 *
 * The writer's connection runs with `synchronous = NORMAL`: a COMMIT appends its frames to the
 * WAL (the kernel's page cache) and returns at once, still atomic and consistent after a crash,
 * but not yet durable. This class makes it durable before anyone is told: every commit takes a
 * ticket, and a ticket is honoured by an `fdatasync` of the WAL file that *started after* the
 * commit returned, run on libuv's thread pool. Syncs are strictly one at a time: the commits made
 * while one runs wait for the next, which then covers all of them, so under load one fsync
 * acknowledges every commit of the last few milliseconds (group commit across transactions),
 * and the request thread prepares and commits the next transaction while the disk works.
 *
 * `fdatasync` on a descriptor of our own flushes the file's pages whoever wrote them (Linux syncs
 * the inode). SQLite holds no locks on the WAL file itself (its locks are in the `-shm` file), so
 * this descriptor can be opened and closed freely; it is reopened if the WAL file is ever replaced.
 */
export class WalSync {
  private fd: number | null = null;
  /** The inode `fd` was opened on: a descriptor's file never changes, so it is read once. */
  private ino = 0;
  /** Commits made so far, and the highest of them a finished sync covers. */
  private committed = 0;
  private synced = 0;
  private running: Promise<void> | null = null;
  private readonly waiters: { upTo: number; resolve: () => void; reject: (error: unknown) => void }[] = [];
  /** Syncs run, for tests and benchmarks: fewer than commits means commits were grouped. */
  syncs = 0;

  constructor(private readonly walPath: string, private readonly syncFile: SyncFile = fdatasyncOnPool) {}

  /** Records a commit that has just returned; resolves once it is durable. */
  afterCommit(): Promise<void> {
    this.committed += 1;
    return this.waitFor(this.committed);
  }

  /** True when every commit made so far is durable. */
  get isDurable(): boolean {
    return this.synced >= this.committed;
  }

  /** Resolves once every commit made so far is durable; null (nothing to wait for) when all are. */
  durable(): Promise<void> | null {
    return this.isDurable ? null : this.waitFor(this.committed);
  }

  private waitFor(upTo: number): Promise<void> {
    const done = new Promise<void>((resolve, reject) => this.waiters.push({ upTo, resolve, reject }));
    if (this.running === null) this.running = this.runSyncs();
    return done;
  }

  /** Waits for every sync asked for so far, then closes the descriptor. */
  async close(): Promise<void> {
    await this.durable()?.catch(() => undefined);
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }

  private async runSyncs(): Promise<void> {
    // Let the commits of this turn of the event loop join the first sync.
    await Promise.resolve();
    while (this.waiters.length > 0) {
      const upTo = this.committed;
      try {
        await this.syncFile(this.descriptor());
        this.syncs += 1;
        this.synced = upTo;
        this.settle(upTo, (w) => w.resolve());
      } catch (error) {
        // The commits this sync was to cover are in an unknown state (PostgreSQL's "fsyncgate"):
        // their callers get the error. A later sync may still cover later commits.
        this.synced = upTo;
        this.settle(upTo, (w) => w.reject(error));
      }
    }
    this.running = null;
  }

  /** Settles the waiters for commits up to `upTo`, keeping the later ones in order. */
  private settle(upTo: number, action: (w: WalSync['waiters'][number]) => void): void {
    let kept = 0;
    for (const w of this.waiters) {
      if (w.upTo <= upTo) action(w);
      else this.waiters[kept++] = w;
    }
    this.waiters.length = kept;
  }

  /**
   * The WAL file's descriptor, opened on first use and again if the file at the path was replaced.
   * One `stat` of the path per sync, on the request thread: the descriptor's own inode is kept
   * from when it was opened.
   */
  private descriptor(): number {
    const ino = statSync(this.walPath).ino;
    if (this.fd !== null && ino === this.ino) return this.fd;
    if (this.fd !== null) closeSync(this.fd);
    this.fd = openSync(this.walPath, 'r');
    this.ino = fstatSync(this.fd).ino;
    return this.fd;
  }
}
