import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type { Dialect, SnapshotReader, SqlConnection, SqlDatabase, SqlRow, SqlValue, TransactionOptions, WriteOrder } from '../sql.ts';
import { WalCheckpointer, walFramesMax } from './wal-checkpointer.ts';
import { withReadSnapshots } from './read-snapshot.ts';
import { WalSync } from './wal-sync.ts';
import { coalesceWalWrites, loadWalCoalescing } from './wal-coalesce.ts';
import { WriterRetry, WriterThread, type QueuedWrite } from './writer-thread.ts';

type Statement = Database.Statement<unknown[], unknown>;

/** Turns one raw row (an array in column order) into the row object callers receive. */
type RowBuilder = ((values: readonly unknown[]) => SqlRow) & { columnCount: number };

/**
 * A prepared statement and, for statements that return rows, the builder of its row objects.
 * Rows are fetched as arrays and turned into objects by a function compiled for the statement's
 * columns: better-sqlite3 sets each column on each row object by name, which costs a third more.
 */
interface Prepared {
  statement: Statement;
  build: RowBuilder | null;
  /** Whether the statement leaves the database as it is (better-sqlite3's `readonly`, read once). */
  readonly: boolean;
  /** Whether it changes the schema (`schemaChange`): preparing it empties the caches. */
  schema: boolean;
  /** Whether it writes only a table outside the write order (`writesOutsideWriteOrder`). */
  neutral: boolean;
}

/**
 * The most customers named by scoped transactions (`WriteOrder.takeScopedChanges`) kept between two
 * ingestions; past it the last write becomes one no transaction follows, and the next ingestion
 * reads everything, as after any other write.
 */
export const scopedChangesMax = 4096;

/**
 * Tables whose writes do not count in the write order (`WriteOrder`): no state kept from one
 * transaction to the next reads them (ingestion's hot state keeps customers, grants, balances,
 * subscriptions, plans, meters and running totals), and no trigger on them writes another table
 * (`test/engine/hot-state.test.ts` checks the schema for one). Each is written outside ingestion
 * as often as requests or deliveries come: an `Idempotency-Key` is claimed and completed around
 * every POST that carries one, which the SDK sends with every POST, and the webhook worker records
 * each fan-out and attempt. Counted, each would empty the hot state, and every next ingestion would
 * read all of its customers again. A Stripe event's record (`stripe_events`) is written before its
 * invoice's customer is known: outside the write order, the transaction is scoped to that customer
 * after it (`WriteOrder.scopeTo`). The Stripe push worker, once a second on a server with Stripe,
 * writes its jobs (`stripe_pushes`), its cursors (`integration_cursors`) and an invoice's Stripe
 * id (`invoices`: no kept state reads an invoice; a grant it pays for is a row of `grants`).
 */
const tablesOutsideWriteOrder = new Set([
  'idempotency_keys', 'webhook_endpoints', 'webhook_deliveries', 'webhook_attempts', 'domain_events', 'stripe_events',
  'stripe_pushes', 'integration_cursors', 'invoices',
]);
const writtenTable = /^\s*(?:INSERT(?:\s+OR\s+[A-Z]+)?\s+INTO|REPLACE\s+INTO|UPDATE(?:\s+OR\s+[A-Z]+)?|DELETE\s+FROM)\s+"?([A-Za-z_][A-Za-z0-9_]*)"?[\s(]/i;

/**
 * Whether a statement writes only a table of `tablesOutsideWriteOrder`: a single INSERT, UPDATE or
 * DELETE naming it first (what it reads besides does not matter). Any other form counts.
 */
export function writesOutsideWriteOrder(sql: string): boolean {
  const table = writtenTable.exec(sql)?.[1];
  return table !== undefined && tablesOutsideWriteOrder.has(table.toLowerCase());
}

/**
 * Read-only commits `follows` remembers (`SqliteDatabase.readOnlyCommits`): the latest few, enough
 * for the transactions that only read between two ingestions (a webhook fan-out finding nothing).
 */
const readOnlyCommitsMax = 16;

/** Statements that change the schema (migrations, tests that roll one back): preparing one empties the caches of every other. */
const schemaChange = /^\s*(ALTER|CREATE|DROP)\b/i;

/** Prepared statements kept per SQL text; the store's SQL is a small fixed set, so this is a ceiling. */
const statementCacheEntriesMax = 500;

/**
 * The text a statement runs as inside a write transaction: `INSERT INTO …` as `INSERT OR FAIL INTO …`.
 * With SQLite's default conflict resolution (ABORT) a statement that fails undoes its own changes
 * and leaves the transaction open, so inside a transaction SQLite first copies every page a
 * multi-row INSERT touches into a statement journal. Here a failing statement always ends its
 * whole transaction in a ROLLBACK (`transaction`, and no caller catches a statement's error inside
 * a transaction), so that journal would never be read; FAIL stops the statement at the same row
 * without it. Outside a transaction the statement is its own transaction, which FAIL would commit
 * half-done, so autocommit statements keep their text. An upsert's `ON CONFLICT` still decides the
 * conflicts it names, and an upsert keeps its journal all the same (its DO UPDATE checks
 * constraints with ABORT whatever the INSERT says). Counted: 2,724 journal page writes for 200
 * plain multi-row INSERTs, none with FAIL; 402 for 200 upserts either way.
 */
function inTransactionText(sql: string): string {
  return sql.startsWith('INSERT INTO ') ? `INSERT OR FAIL INTO ${sql.slice('INSERT INTO '.length)}` : sql;
}

/**
 * The writer's page cache in MiB unless the caller says otherwise (SQLite's default is 2 MiB): the
 * indexes' upper levels and the pages a batch shares stay in memory. 64 MiB measured no faster here
 * (load checks at 25,000 and 100,000 customers, figure 5 at 10 million entries) and took a fifth
 * of the server's 300 MB (docs/benchmark-rounds.md, "Round 16").
 */
const pageCacheMibDefault = 32;
/** SQLite's own default, restored if the checkpointer thread fails. */
const defaultWalAutocheckpointFrames = 1000;

/**
 * Opens (creating if missing) a SQLite database file, or `':memory:'`, as a `SqlDatabase`.
 *
 * better-sqlite3 is synchronous, so every statement runs on the calling thread; the promises only
 * wait for the mutex and, with pipelined durability, for the WAL sync (a write is told once it is
 * durable, a read starts once everything committed is). Transactions are serialized in-process with a mutex because their callback is
 * async: while one is open, calls on the database itself (not on the transaction's connection)
 * wait their turn, so they never see or join another caller's uncommitted writes. A callback
 * must therefore use the connection it is given, never the database: a call on the database from
 * inside its own transaction would wait for itself forever.
 */
/** The size the WAL file is cut back to when SQLite resets it (64 MiB). */
const walSizeLimitBytes = 64 * 1024 * 1024;

export interface SqliteOptions {
  /**
   * How a commit is made durable before its caller is told. `pipelined` (the default for a file):
   * COMMIT only appends to the WAL (`synchronous = NORMAL`), and the caller's promise resolves
   * once an `fdatasync` of the WAL on a pool thread has covered it (wal-sync.ts), so the request
   * thread never waits on the disk. `at-commit`: `synchronous = FULL`, COMMIT itself syncs, on
   * the request thread. Either way an acknowledged transaction is durable.
   */
  durability?: 'pipelined' | 'at-commit';
  /** How often the checkpointer thread copies the WAL into the database file (wal-checkpointer.ts). */
  checkpointIntervalMs?: number;
  /** The page cache in MiB (`pageCacheMibDefault` unless set; TALLY_SQLITE_CACHE_MIB in `tally serve`). */
  pageCacheMib?: number;
  /**
   * Whether a commit's WAL frames are written in a few large writes rather than two system calls
   * each (wal-coalesce.ts; on unless false, and only where the library was built;
   * TALLY_SQLITE_WAL_COALESCE in `tally serve`).
   */
  walCoalescing?: boolean;
  /**
   * Whether transactions that ask for it (`TransactionOptions.deferWrites`: ingestion's) have
   * their writes applied by the writer thread (writer-thread.ts) while this thread goes on; off
   * unless true, and only for a file with pipelined durability (TALLY_SQLITE_WRITER_THREAD in
   * `tally serve`). Off by default: on two cores shared with the clients it measured no consistent
   * gain for batches of 1000 from 8 clients, and took 10–30 µs more CPU per event and 20–60 MiB more
   * memory (docs/benchmark-rounds.md, "Round 23").
   */
  writerThread?: boolean;
}

export function openSqliteDatabase(path: string, options: SqliteOptions = {}): SqlDatabase {
  if (isFile(path)) mkdirSync(dirname(path), { recursive: true });
  const pipelined = isFile(path) && (options.durability ?? 'pipelined') === 'pipelined';
  const coalescing = isFile(path) && (options.walCoalescing ?? true) && loadWalCoalescing();
  const db = new Database(path);
  try {
    // Before the WAL is first opened, so that its writes are gathered from the start.
    if (coalescing) coalesceWalWrites(db);
    db.defaultSafeIntegers(true);
    db.pragma('journal_mode = WAL');
    // FULL makes every COMMIT durable before it returns, also in WAL mode. NORMAL leaves the WAL
    // unsynced at COMMIT (still atomic and consistent after a crash); WalSync syncs it before
    // any caller is told.
    db.pragma(pipelined ? 'synchronous = NORMAL' : 'synchronous = FULL');
    db.pragma('busy_timeout = 5000');
    db.pragma('foreign_keys = OFF');
    // Statement journals (kept so one failing statement can be undone inside a transaction) and
    // temporary indexes live in memory rather than in temp files. This is not about durability:
    // the WAL and its fsync at COMMIT are untouched.
    db.pragma('temp_store = MEMORY');
    db.pragma(`cache_size = -${(options.pageCacheMib ?? pageCacheMibDefault) * 1024}`);
    // While a long read snapshot (a reconciliation check) is open, the WAL cannot be reset and
    // grows with every commit; once it is reset, this gives the disk space back.
    db.pragma(`journal_size_limit = ${walSizeLimitBytes}`);
  } catch (error) {
    db.close();
    throw error;
  }
  return new SqliteDatabase(
    db,
    isFile(path) ? startCheckpointer(db, path, options.checkpointIntervalMs) : null,
    isFile(path) ? path : null,
    pipelined ? new WalSync(`${path}-wal`) : null,
    pipelined && options.writerThread === true
      ? { cacheKib: Math.ceil(((options.pageCacheMib ?? pageCacheMibDefault) * 1024) / writerPageCacheShare), coalesce: coalescing }
      : null,
  );
}

/**
 * The writer thread's page cache is the request thread's divided by this: it holds the pages a
 * group writes, the request thread's those its reads and every other write use. Together they stay
 * within PRODUCT §13's 300 MB (docs/benchmark-rounds.md, "Round 22": the load check's default shape 269
 * and 292 MiB at most, against 304–315 with a full-size cache and V8's default young generation).
 */
const writerPageCacheShare = 2;

/** How the writer thread is set up, when the database has one (`SqliteOptions.writerThread`). */
interface WriterSettings {
  cacheKib: number;
  coalesce: boolean;
}

/**
 * How many times a transaction with deferred writes is built again after the writer thread sent it
 * back (`WriterRetry`) before it runs on this thread's connection instead.
 */
const deferredAttemptsMax = 3;

function isFile(path: string): boolean {
  return path !== ':memory:' && path !== '' && !path.startsWith('file:');
}

/**
 * Hands checkpointing to a worker thread (see wal-checkpointer.ts). The writer keeps a far
 * higher automatic checkpoint threshold as a safety net, and falls back to SQLite's default if
 * the thread cannot run.
 */
function startCheckpointer(db: Database.Database, path: string, intervalMs: number | undefined): WalCheckpointer | null {
  try {
    const checkpointer = new WalCheckpointer(path, () => {
      if (db.open) db.pragma(`wal_autocheckpoint = ${defaultWalAutocheckpointFrames}`);
    }, intervalMs);
    db.pragma(`wal_autocheckpoint = ${walFramesMax}`);
    return checkpointer;
  } catch {
    return null;
  }
}

class SqliteDatabase implements SqlDatabase {
  readonly dialect: Dialect = 'sqlite';
  private readonly db: Database.Database;
  private readonly statements = new Map<string, Prepared>();
  /**
   * Per SQL text as given, the statement as it runs inside a write transaction
   * (`inTransactionText`); the entry of `statements` itself where the text is the same.
   */
  private readonly transactionStatements = new Map<string, Prepared>();
  private readonly begin: Statement;
  private readonly beginRead: Statement;
  private readonly commit: Statement;
  private readonly rollback: Statement;
  /** True while a transaction (or a call queued behind one) holds the mutex. */
  private locked = false;
  private readonly waiters: Array<() => void> = [];
  private closed = false;
  /** The write order's counter (`WriteOrder`): the number last taken. */
  private numbers = 0;
  /**
   * The number of the last transaction or statement that wrote (a statement that is not read-only
   * ran in it), and whether it committed. A transaction that only read leaves both as they were.
   */
  private lastWriter = -1;
  private lastWriterCommitted = true;
  /**
   * Transactions that committed without writing (the latest `readOnlyCommitsMax`),
   * each with the last write it found, committed: `follows` holds for one while that write stays
   * the last. An ingestion that wrote nothing (every event a duplicate, as a sender retrying a
   * batch sends) leaves what the write before it left. One that failed is never here: it may
   * have changed what is kept in memory before it failed.
   */
  private readonly readOnlyCommits = new Map<number, number>();
  /** The open write transaction's number (while `writing`), and whether it has written yet. */
  private writing = false;
  private transactionNumber = -1;
  private transactionWrote = false;
  /**
   * The customers the open write transaction declared its writes scoped to (`WriteOrder.scopeTo`),
   * or null: its writes are like any other.
   */
  private transactionScope: Set<string> | null = null;
  /** Customers whose kept state scoped transactions changed since the last write (`WriteOrder.takeScopedChanges`). */
  private scopedChanges = new Set<string>();
  /** `PRAGMA data_version` as last read: it changes when another connection commits. */
  private dataVersion: number;
  private readonly readDataVersion: Statement;
  /** The writer thread, started by the first transaction that defers its writes (null until then, or without one). */
  private writer: WriterThread | null = null;
  /** While a transaction with deferred writes runs: the writes it queued, in order. */
  private deferredWrites: QueuedWrite[] | null = null;
  /** Transactions whose writes were sent to the writer thread and are not yet answered. */
  private readonly inFlight = new Set<number>();
  /**
   * Whether this connection wrote since the writer thread last took its baseline: the next group
   * asks it to take one again first, or it would take the change for another process's.
   */
  private wroteSinceBaseline = false;
  /** Whether the writer thread committed since this connection last read its `data_version`. */
  private writerCommittedSinceLook = false;

  constructor(
    db: Database.Database,
    private readonly checkpointer: WalCheckpointer | null,
    private readonly path: string | null,
    /** Null when COMMIT syncs by itself (or there is no file). */
    private readonly walSync: WalSync | null,
    /** Null when transactions never defer their writes to a writer thread. */
    private readonly writerSettings: WriterSettings | null = null,
  ) {
    this.db = db;
    // IMMEDIATE takes the write lock up front, so a transaction never fails half-way on an
    // upgrade from a read lock when another process writes to the same file.
    this.begin = db.prepare('BEGIN IMMEDIATE');
    // DEFERRED: takes only the WAL read lock, at the first read.
    this.beginRead = db.prepare('BEGIN DEFERRED');
    this.commit = db.prepare('COMMIT');
    this.rollback = db.prepare('ROLLBACK');
    this.readDataVersion = db.prepare('PRAGMA data_version').pluck();
    this.dataVersion = this.readDataVersion.get() as number;
  }

  async query<R extends SqlRow = SqlRow>(sql: string, params?: readonly SqlValue[]): Promise<R[]> {
    if (!this.locked && (this.walSync === null || this.walSync.isDurable)) return this.queryNow<R>(sql, params);
    await this.acquire();
    try {
      const pending = this.walSync?.durable();
      if (pending) await pending;
      return this.queryNow<R>(sql, params);
    } finally {
      this.release();
    }
  }

  async run(sql: string, params?: readonly SqlValue[]): Promise<number> {
    let changed: number;
    if (!this.locked && (this.writer === null || this.writer.idle)) changed = this.runNow(sql, params);
    else {
      await this.acquire();
      try {
        // The writer thread holds the write lock while it applies a group: wait for it here
        // rather than in SQLite's busy handler, which would hold this thread.
        await this.writer?.drain();
        changed = this.runNow(sql, params);
      } finally {
        this.release();
      }
    }
    // A writing autocommit statement is a transaction of its own: told only once it is durable.
    if (this.walSync !== null && (changed > 0 || !this.prepare(sql, false).statement.readonly)) await this.walSync.afterCommit();
    return changed;
  }

  get pipelinesCommits(): boolean {
    return this.walSync !== null;
  }

  get writesOffThread(): boolean {
    return this.writerSettings !== null && this.writer?.broken !== true;
  }

  get writerRunning(): boolean {
    return this.writer !== null && !this.writer.broken;
  }

  transaction<T>(fn: (connection: SqlConnection) => Promise<T>, options?: TransactionOptions): Promise<T> {
    if (options?.deferWrites === true && this.writerSettings !== null) return this.deferredTransaction(fn, options);
    return this.inlineTransaction(fn, options);
  }

  /** A transaction on this connection: its reads and writes here, on this thread. */
  private async inlineTransaction<T>(fn: (connection: SqlConnection) => Promise<T>, options?: TransactionOptions): Promise<T> {
    await this.acquire();
    let result: T;
    try {
      this.assertOpen();
      await this.writer?.drain();
      this.begin.run();
      // Another process's commit since the last look counts as a write of its own. With a writer
      // thread this connection's `data_version` also moves for the thread's commits: the two
      // connections' views together tell (`otherProcessCommitted`).
      if (this.writer !== null && !this.writer.broken) await this.verifyWriter();
      else {
        const dataVersion = this.readDataVersion.get() as number;
        if (dataVersion !== this.dataVersion) this.lastWriteFollowedByNone();
        this.dataVersion = dataVersion;
      }
      this.transactionNumber = ++this.numbers;
      this.transactionWrote = false;
      this.transactionScope = null;
      const connection = new SqliteTransactionConnection(this, new SqliteWriteOrder(this, this.transactionNumber));
      this.writing = true;
      try {
        result = await fn(connection);
        connection.active = false;
        this.writing = false;
        this.commit.run();
        if (!this.transactionWrote) this.committedReadOnly(this.transactionNumber);
        else {
          // Scoped: the last write stays whose it was, and its customers are named instead.
          const scope = this.transactionScope as Set<string> | null;
          if (scope === null) this.lastWriterCommitted = true;
          else {
            for (const id of scope) this.scopedChanges.add(id);
            // Named customers are kept until an ingestion takes them: a bound on them, past which the
            // writes count as any other (a process that takes holds and grants and never ingests).
            if (this.scopedChanges.size > scopedChangesMax) this.lastWriteFollowedByNone();
          }
        }
      } catch (error) {
        connection.active = false;
        this.writing = false;
        // A scoped transaction that wrote and failed: any write's rule, every kept state emptied.
        if (this.transactionWrote && this.transactionScope !== null) this.lastWriteFollowedByNone();
        // SQLite rolls back by itself after some errors (e.g. SQLITE_FULL); a second ROLLBACK
        // would throw and hide the original error.
        if (this.db.inTransaction) this.rollback.run();
        throw error;
      }
    } finally {
      this.release();
    }
    // The next transaction may start while this one's sync runs (it is released above); this
    // caller is told only once its commit is durable.
    const durable = this.walSync?.afterCommit();
    options?.onCommit?.();
    await durable;
    return result;
  }

  /**
   * A transaction whose writes the writer thread applies (writer-thread.ts, docs/ARCHITECTURE.md,
   * "The writer thread"). `fn` runs here as in any transaction, but its reads are single
   * statements on this connection, each seeing what is committed, and its writes are queued;
   * once it returns they go to the writer thread, the mutex is released (the next transaction may
   * start) and `onCommit` is called; the promise resolves once the writer thread has committed them
   * durably. What `fn` wrote counts as committed from then on for the write order (the hot state
   * of the next ingestion builds on it); a group that then fails makes the last write one that no
   * transaction follows.
   *
   * `fn` must not read after it has written (its reads would not see its writes) and must not
   * count on what a write returns (a deferred `run` resolves to 0). It may be run more than once:
   * a group the writer thread sends back (`WriterRetry`: the database changed under it, or an
   * earlier group failed) is built again from fresh reads, up to `deferredAttemptsMax` times, and
   * then on this connection.
   */
  private async deferredTransaction<T>(fn: (connection: SqlConnection) => Promise<T>, options: TransactionOptions): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      if (attempt >= deferredAttemptsMax || this.writer?.broken === true) return this.fallbackTransaction(fn, options);
      await this.acquire();
      let result: T;
      let sent: Promise<void> | null = null;
      let number = -1;
      try {
        this.assertOpen();
        const writer = await this.startWriter();
        if (this.wroteSinceBaseline) await this.verifyWriter();
        const epoch = writer.epoch;
        number = this.transactionNumber = ++this.numbers;
        this.transactionWrote = false;
        this.transactionScope = null;
        const writes: QueuedWrite[] = [];
        const connection = new SqliteTransactionConnection(this, new SqliteWriteOrder(this, number, true));
        this.deferredWrites = writes;
        this.writing = true;
        try {
          result = await fn(connection);
        } finally {
          connection.active = false;
          this.writing = false;
          this.deferredWrites = null;
        }
        // A group that failed since this one began: what this one read of the hot state may be untrue.
        if (writer.epoch !== epoch) continue;
        if (writes.length > 0) {
          sent = writer.post(epoch, writes);
          this.inFlight.add(number);
          if (this.transactionWrote) this.lastWriterCommitted = true;
        } else this.committedReadOnly(number);
      } finally {
        this.release();
      }
      if (sent === null) return result;
      options.onCommit?.();
      try {
        await sent;
        return result;
      } catch (error) {
        if (!(error instanceof WriterRetry)) throw error;
      } finally {
        this.inFlight.delete(number);
      }
    }
  }

  /**
   * A deferred transaction run on this connection instead: the writer thread sent it back too often,
   * or failed. What the hot state holds was built on groups that did not commit, so the last write
   * becomes one no transaction follows, before and after: this connection's commits look to the
   * writer thread like another connection's, and a change of another process's between this commit
   * and the thread's next look would otherwise pass for one of them.
   */
  private async fallbackTransaction<T>(fn: (connection: SqlConnection) => Promise<T>, options: TransactionOptions): Promise<T> {
    this.lastWriteFollowedByNone();
    try {
      return await this.inlineTransaction(fn, options);
    } finally {
      if (this.writer !== null && !this.writer.broken) this.lastWriteFollowedByNone();
    }
  }

  /**
   * The writer thread, started if it is not running; for the mutex holder. A thread just started
   * takes its baseline before anything more is read here, and a commit of another process's made
   * while no thread ran, which this connection would have seen at its next BEGIN, is counted now.
   */
  private async startWriter(): Promise<WriterThread> {
    if (this.writer !== null) return this.writer;
    const writer = this.newWriter();
    this.writer = writer;
    // The thread's first look is its baseline; this connection's look after it counts, exactly,
    // what other processes committed while no thread ran (nothing but this connection wrote here).
    await writer.verify();
    const dataVersion = this.readDataVersion.get() as number;
    if (dataVersion !== this.dataVersion) this.lastWriteFollowedByNone();
    this.dataVersion = dataVersion;
    this.wroteSinceBaseline = false;
    this.writerCommittedSinceLook = false;
    return writer;
  }

  /**
   * Stops the writer thread while nothing sends it groups (the ingest batcher once the hot state is
   * full), giving back its connection's page cache and its thread's memory; the next deferred
   * transaction starts it again. Another process's commit before it stops is counted here
   * (`otherProcessCommitted`); one after, at this connection's next BEGIN or the next thread's start.
   */
  async parkWriter(): Promise<void> {
    if (this.writer === null || this.writer.broken) return;
    await this.acquire();
    try {
      const writer = this.writer;
      if (writer === null || writer.broken) return;
      await this.verifyWriter();
      this.writer = null;
      await writer.stop();
    } finally {
      this.release();
    }
  }

  private newWriter(): WriterThread {
    return new WriterThread({
      path: this.path!,
      cacheKib: this.writerSettings!.cacheKib,
      coalesce: this.writerSettings!.coalesce,
      journalSizeLimit: walSizeLimitBytes,
      autocheckpointFrames: this.checkpointer === null ? defaultWalAutocheckpointFrames : walFramesMax,
      onFailure: () => {
        // The next ingestion reads everything afresh.
        this.lastWriteFollowedByNone();
        // Every group still unanswered was sent after the failed one, in its epoch: none of them
        // will be written, so none is on its way any more (`settled`).
        this.inFlight.clear();
      },
      onCommitted: () => {
        this.writerCommittedSinceLook = true;
      },
    });
  }

  /**
   * Transaction `n` ended without writing, committed (nothing of it failed): remembered with the
   * last write it found, if that one committed (`readOnlyCommits`). With the writer thread, a
   * group on its way counts as committed until it fails, and its failure makes the last write one
   * nothing follows (`lastWriteFollowedByNone`), so a read-only commit after it is followed no more.
   */
  private committedReadOnly(n: number): void {
    if (!this.lastWriterCommitted) return;
    this.readOnlyCommits.set(n, this.lastWriter);
    if (this.readOnlyCommits.size > readOnlyCommitsMax) this.readOnlyCommits.delete(this.readOnlyCommits.keys().next().value as number);
  }

  /**
   * `WriteOrder.follows` for this database: the last write was transaction `n`'s, and it
   * committed; or `n` committed without writing, and the last write is still the one it found.
   */
  follows(n: number): boolean {
    if (this.lastWriter === n) return this.lastWriterCommitted;
    return this.readOnlyCommits.get(n) === this.lastWriter;
  }

  /** `WriteOrder.settled`: transaction `n`'s writes are not waiting for the writer thread. */
  settled(n: number): boolean {
    return !this.inFlight.has(n);
  }

  /** `WriteOrder.drain`: resolves once the writer thread has answered every group sent to it. */
  drainWriter(): Promise<void> {
    return this.writer?.drain() ?? Promise.resolve();
  }

  /**
   * `WriteOrder.verify`: waits for the writer thread's groups, then has it take the database's
   * present state as its baseline; true (and the last write one no transaction follows) when
   * another connection committed since its last. Without a writer thread, BEGIN's own look at
   * `data_version` already counted any such commit: false.
   */
  async verifyWriter(): Promise<boolean> {
    const writer = this.writer;
    if (writer === null || writer.broken) return false;
    await writer.drain();
    const foreign = await this.otherProcessCommitted(writer);
    if (foreign) this.lastWriteFollowedByNone();
    return foreign;
  }

  /**
   * Whether another process committed since the last look, with a writer thread beside this
   * connection; for the mutex holder, the thread drained. Each connection's `data_version` moves
   * for the other's commits as for another process's, so each alone may be unsure; together they
   * are not, as long as one of them has not itself committed since its last look:
   * - the thread's view (its baseline, which its own commits leave as it was) counts this
   *   connection's commits and other processes'; exact when this connection has not written since;
   * - this connection's view counts the thread's commits and other processes'; exact when the
   *   thread has not committed since this connection last looked.
   * The thread looks first and takes a new baseline: a commit after it is the thread's to see at
   * its next group (`stale`); this connection looks after, so a commit between the two looks is
   * counted here. When both have committed since (ingestion on both connections in turn, rare), a
   * change is taken as another process's.
   */
  private async otherProcessCommitted(writer: WriterThread): Promise<boolean> {
    const threadSaw = await writer.verify();
    const dataVersion = this.readDataVersion.get() as number;
    const connectionSaw = dataVersion !== this.dataVersion;
    let foreign: boolean;
    if (!this.wroteSinceBaseline) foreign = threadSaw;
    else if (!this.writerCommittedSinceLook) foreign = connectionSaw;
    else foreign = threadSaw || connectionSaw;
    this.dataVersion = dataVersion;
    this.wroteSinceBaseline = false;
    this.writerCommittedSinceLook = false;
    return foreign;
  }

  /**
   * Makes the last write one that no transaction follows (`follows` is false for every transaction
   * so far): a write outside any transaction, another process's commit, a group that failed. The
   * next ingestion then reads everything afresh.
   */
  private lastWriteFollowedByNone(): void {
    this.lastWriter = ++this.numbers;
    this.lastWriterCommitted = true;
    this.scopedChanges.clear();
  }

  /** `WriteOrder.scopeTo`: for the open inline write transaction `n`, before its first write. */
  scopeTo(n: number, customerIds: Iterable<string>): void {
    if (!this.writing || n !== this.transactionNumber || this.deferredWrites !== null) return;
    if (this.transactionWrote && this.transactionScope === null) return;
    this.transactionScope ??= new Set();
    for (const id of customerIds) this.transactionScope.add(id);
  }

  /** `WriteOrder.widenScope`: for the open inline write transaction `n`, when it declared a scope. */
  widenScope(n: number, customerIds: Iterable<string>): void {
    if (!this.writing || n !== this.transactionNumber || this.transactionScope === null) return;
    for (const id of customerIds) this.transactionScope.add(id);
  }

  /** `WriteOrder.takeScopedChanges`. */
  takeScopedChanges(): ReadonlySet<string> {
    if (this.scopedChanges.size === 0) return this.scopedChanges;
    const taken = this.scopedChanges;
    this.scopedChanges = new Set();
    return taken;
  }

  /**
   * Numbers a statement that may write (`WriteOrder`): the open write transaction's, or one of its
   * own. A write only to a table outside the write order (`neutral`) leaves the last write whose it
   * was, in a transaction or outside one: a transaction that wrote nothing else is one that only read.
   */
  private wrote(neutral: boolean): void {
    if (this.deferredWrites === null) this.wroteSinceBaseline = true;
    if (neutral) return;
    if (!this.writing) this.lastWriteFollowedByNone();
    else if (!this.transactionWrote) {
      this.transactionWrote = true;
      // Scoped (`WriteOrder.scopeTo`): the last write stays whose it was until the commit names its customers.
      if (this.transactionScope !== null) return;
      this.lastWriter = this.transactionNumber;
      this.lastWriterCommitted = false;
      this.scopedChanges.clear();
    }
  }

  async reads<T>(fn: (connection: SqlConnection) => Promise<T>): Promise<T> {
    await this.acquire();
    try {
      this.assertOpen();
      // Nothing is read that is not yet durable: a reply built on a commit whose sync is still
      // running could tell somebody of a write a crash would lose. Holding the mutex, no new
      // commit can come in between.
      const pending = this.walSync?.durable();
      if (pending) await pending;
      this.beginRead.run();
      const connection = new SqliteTransactionConnection(this);
      try {
        return await fn(connection);
      } finally {
        connection.active = false;
        if (this.db.inTransaction) this.commit.run();
      }
    } finally {
      this.release();
    }
  }

  /**
   * A consistent read-only view on a worker thread with its own connection (read-snapshot.ts):
   * long reads never block the thread that answers requests. An in-memory database has no file
   * to share, so it is read through this connection instead.
   */
  async snapshot<T>(fn: (connection: SqlConnection) => Promise<T>): Promise<T> {
    return this.snapshots((snapshot) => snapshot(fn));
  }

  /** Short snapshots one after another, all on one worker thread (read-snapshot.ts). */
  async snapshots<T>(fn: (snapshot: SnapshotReader) => Promise<T>): Promise<T> {
    this.assertOpen();
    // The worker's connection reads the file as it stands; what it finds must be durable too.
    await this.walSync?.durable();
    if (this.path === null) return fn((read) => read(this));
    return withReadSnapshots(this.path, fn);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.acquire();
    try {
      this.closed = true;
      this.statements.clear();
      this.transactionStatements.clear();
      // The checkpointer's connection closes first, so that closing this last one checkpoints
      // the WAL completely and removes it.
      await this.writer?.stop();
      await this.walSync?.close();
      await this.checkpointer?.stop();
      this.db.close();
    } finally {
      this.release();
    }
  }

  /**
   * Runs a row-returning statement without the mutex; for the lock holder only. `inTransaction`:
   * inside the lock holder's transaction, which rolls back whole if the statement fails.
   */
  queryNow<R>(sql: string, params: readonly SqlValue[] | undefined, inTransaction = false): R[] {
    const prepared = this.prepare(sql, inTransaction);
    const statement = prepared.statement;
    if (this.deferredWrites !== null) {
      if (prepared.readonly) {
        if (this.deferredWrites.length > 0) throw new Error('A transaction whose writes are deferred read after writing.');
      } else {
        if (statement.reader) throw new Error('A transaction whose writes are deferred cannot read what a write returns.');
        this.defer(sql, params);
        return [];
      }
    }
    if (!prepared.readonly) this.wrote(prepared.neutral);
    if (!statement.reader) {
      // A statement without RETURNING has no rows; run it rather than making callers choose.
      runStatement(statement, params);
      return [];
    }
    const rows = allRows(statement, params);
    let build = prepared.build;
    if (build === null) return rows as R[];
    const values = rows as unknown[][];
    // SQLite re-prepares a statement after a schema change, and `SELECT *` may then return
    // other columns: a row of another width gets the builder compiled again.
    if (values.length > 0 && values[0]!.length !== build.columnCount) build = prepared.build = rowBuilder(statement);
    if (build === null) return values.map((row) => Object.fromEntries(statement.columns().map((c, i) => [c.name, row[i]]))) as R[];
    const out = new Array<R>(values.length);
    for (let i = 0; i < values.length; i++) out[i] = build(values[i]!) as R;
    return out;
  }

  /** Runs a statement and returns the rows it changed, without the mutex; for the lock holder only. */
  runNow(sql: string, params: readonly SqlValue[] | undefined, inTransaction = false): number {
    const prepared = this.prepare(sql, inTransaction);
    if (this.deferredWrites !== null && !prepared.readonly) {
      this.defer(sql, params);
      return 0;
    }
    if (!prepared.readonly) this.wrote(prepared.neutral);
    return runStatement(prepared.statement, params);
  }

  /** Queues a write of the open deferred transaction, as it runs in a transaction (`inTransactionText`). */
  private defer(sql: string, params: readonly SqlValue[] | undefined): void {
    this.wrote(false);
    this.deferredWrites!.push({ sql: inTransactionText(sql), params: params === undefined || params.length === 0 ? null : params });
  }

  private prepare(sql: string, inTransaction: boolean): Prepared {
    const cache = inTransaction ? this.transactionStatements : this.statements;
    let prepared = cache.get(sql);
    if (prepared === undefined) {
      this.assertOpen();
      const text = inTransaction ? inTransactionText(sql) : sql;
      if (inTransaction && text === sql) {
        // The same text either way: one prepared statement for both.
        prepared = this.prepare(sql, false);
      } else {
        const statement = this.db.prepare(text);
        prepared = {
          statement, build: statement.reader ? rowBuilder(statement) : null, readonly: statement.readonly, schema: schemaChange.test(sql),
          neutral: !statement.readonly && writesOutsideWriteOrder(sql),
        };
      }
      if (cache.size >= statementCacheEntriesMax) {
        // Maps iterate in insertion order, so the first key is the oldest entry.
        const oldest = cache.keys().next().value as string;
        cache.delete(oldest);
      }
      cache.set(sql, prepared);
    }
    if (prepared.schema) {
      // SQLite prepares a statement again after a schema change, but a row builder keeps the
      // columns it was made for: `SELECT *` after a column dropped and another added reads as
      // many columns in another order. Every other statement is prepared afresh after this one.
      this.statements.clear();
      this.transactionStatements.clear();
      cache.set(sql, prepared);
    }
    return prepared;
  }

  private acquire(): Promise<void> {
    if (!this.locked) {
      this.locked = true;
      return Promise.resolve();
    }
    return new Promise<void>((resolve) => this.waiters.push(resolve));
  }

  /** Hands the mutex straight to the next waiter, so it never looks free while others queue. */
  private release(): void {
    const next = this.waiters.shift();
    if (next === undefined) this.locked = false;
    else next();
  }

  private assertOpen(): void {
    if (this.closed) throw new Error('The SQLite database is closed.');
  }
}

/** The connection handed to a transaction callback: it already holds the mutex. */
class SqliteTransactionConnection implements SqlConnection {
  readonly dialect: Dialect = 'sqlite';
  active = true;
  constructor(private readonly database: SqliteDatabase, readonly writeOrder?: WriteOrder) {}

  /**
   * Whether this is a write transaction's connection (it has a `writeOrder`): its statements run
   * as `inTransactionText` makes them, since a failure rolls the whole transaction back. A read
   * transaction ends in COMMIT whatever happens, so its statements keep their own text.
   */
  private get rollsBackOnFailure(): boolean {
    return this.writeOrder !== undefined;
  }

  async query<R extends SqlRow = SqlRow>(sql: string, params?: readonly SqlValue[]): Promise<R[]> {
    this.assertActive();
    return this.database.queryNow<R>(sql, params, this.rollsBackOnFailure);
  }

  async run(sql: string, params?: readonly SqlValue[]): Promise<number> {
    this.assertActive();
    return this.database.runNow(sql, params, this.rollsBackOnFailure);
  }

  private assertActive(): void {
    if (!this.active) throw new Error('This transaction has already finished; use the database.');
  }
}

class SqliteWriteOrder implements WriteOrder {
  constructor(readonly database: SqliteDatabase, readonly number: number, readonly deferred = false) {}

  follows(n: number): boolean {
    return this.database.follows(n);
  }

  scopeTo(customerIds: Iterable<string>): void {
    this.database.scopeTo(this.number, customerIds);
  }

  widenScope(customerIds: Iterable<string>): void {
    this.database.widenScope(this.number, customerIds);
  }

  takeScopedChanges(): ReadonlySet<string> {
    return this.database.takeScopedChanges();
  }

  settled(n: number): boolean {
    return this.database.settled(n);
  }

  drain(): Promise<void> {
    return this.database.drainWriter();
  }

  verify(): Promise<boolean> {
    return this.database.verifyWriter();
  }
}

/**
 * Compiles `(row) => ({ col0: row[0], col1: row[1], … })` for a statement's columns and puts the
 * statement in raw (array) mode. A later column of the same name wins, as it does when
 * better-sqlite3 builds the object. Returns null, leaving the statement in object mode, for a
 * column named `__proto__`, which an object literal would not create as a plain property.
 */
function rowBuilder(statement: Statement): RowBuilder | null {
  let names: string[];
  try {
    names = statement.columns().map((column) => column.name);
  } catch {
    return null;
  }
  if (names.includes('__proto__')) {
    statement.raw(false);
    return null;
  }
  statement.raw(true);
  const body = `return {${names.map((name, i) => `${JSON.stringify(name)}: row[${i}]`).join(', ')}};`;
  const build = new Function('row', body) as RowBuilder;
  build.columnCount = names.length;
  return build;
}

function runStatement(statement: Statement, params: readonly SqlValue[] | undefined): number {
  if (params === undefined || params.length === 0) return statement.run().changes;
  const values = bindable(params);
  return (values.length <= spreadValuesMax ? statement.run(...values) : statement.run(values)).changes;
}

function allRows(statement: Statement, params: readonly SqlValue[] | undefined): unknown[] {
  if (params === undefined || params.length === 0) return statement.all();
  const values = bindable(params);
  return values.length <= spreadValuesMax ? statement.all(...values) : statement.all(values);
}

/**
 * The most values passed to better-sqlite3 as separate arguments rather than as one array. It
 * binds an argument as it finds it, but reads an array through V8's generic element access, one
 * lookup per value: spread, a 400-row insert of six columns takes about a quarter less time
 * (docs/benchmark-rounds.md, "Round 20"). Every argument is a slot on the stack, so a longer list (a
 * statement may take up to SQLite's 32,766) goes as an array.
 */
const spreadValuesMax = 8192;

/**
 * better-sqlite3 binds every JavaScript number as REAL, which would turn `amount + ?` into
 * floating-point arithmetic on BIGINT columns. Integer-valued numbers are bound as INTEGER
 * instead; the array is copied only when such a number is present.
 */
function bindable(params: readonly SqlValue[]): unknown[] {
  let copy: SqlValue[] | undefined;
  for (let i = 0; i < params.length; i++) {
    const value = params[i];
    if (typeof value === 'number' && Number.isInteger(value)) {
      copy ??= params.slice();
      copy[i] = BigInt(value);
    }
  }
  return (copy ?? params) as unknown[];
}
