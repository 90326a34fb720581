/**
 * The narrow SQL surface that the store is written against. Both adapters (better-sqlite3 and
 * pg) implement it, so the store's queries are written once, in the subset of SQL that SQLite and
 * PostgreSQL share: `?` placeholders, `INSERT … ON CONFLICT`, `RETURNING`, BIGINT columns.
 *
 * Every BIGINT column comes back as a JavaScript `bigint` from both adapters; TEXT as `string`;
 * NULL as `null`. Callers convert explicitly at the row-mapping layer.
 */
export type SqlValue = string | bigint | number | null;
export type SqlRow = Record<string, unknown>;
export type Dialect = 'sqlite' | 'postgres';
/** One column of rows passed as a single PostgreSQL array parameter (`$1::text[]`, `$2::bigint[]`). */
export type SqlColumn = readonly (string | null)[];

/**
 * Thrown by a store write that finds, once it holds the row's lock, that a transaction committed
 * since this one read the row has removed it (a plan version nobody had subscribed to, replaced by
 * a new posting of its code). Its code is PostgreSQL's serialization_failure, so the adapter re-runs
 * the whole transaction, which then reads what was committed, as if the two had run one after the
 * other. SQLite never throws it: its writers run one at a time.
 */
export class ConcurrentChange extends Error {
  readonly code = '40001';
}

export interface SqlConnection {
  readonly dialect: Dialect;
  /** Runs a statement that returns rows. */
  query<R extends SqlRow = SqlRow>(sql: string, params?: readonly SqlValue[]): Promise<R[]>;
  /** Runs a statement and returns the number of rows it changed. */
  run(sql: string, params?: readonly SqlValue[]): Promise<number>;
  /**
   * PostgreSQL only (SQLite prepares every statement already): runs a statement whose text never
   * changes as a named prepared statement, parsed and planned once per connection, with whole
   * columns bound as array parameters. Returns the number of rows it changed. The text uses `$n`
   * placeholders, not `?`.
   */
  runPrepared?(sql: string, params: readonly SqlColumn[]): Promise<number>;
  /** PostgreSQL only: `runPrepared` for a statement that returns rows. */
  queryPrepared?<R extends SqlRow = SqlRow>(sql: string, params: readonly SqlColumn[]): Promise<R[]>;
  /**
   * PostgreSQL transactions only: queues an `INSERT` of `runPrepared`'s form (a fixed text whose
   * only `$` signs are its placeholders, no `RETURNING`) instead of sending it. Queued inserts go
   * out together, as one statement of data-modifying CTEs, before the connection's next statement
   * or at COMMIT: one round trip for all of a write step's tables. An error of a queued insert
   * surfaces there, and aborts the transaction as it would have anyway.
   */
  insertLater?(sql: string, params: readonly SqlColumn[]): void;
  /**
   * SQLite write transactions only: where this transaction stands among the database's writes,
   * for state a caller keeps in memory from one transaction to the next (engine/hot-state.ts).
   */
  readonly writeOrder?: WriteOrder;
}

/**
 * A write transaction's place in its database's sequence of writes. Every write transaction takes
 * the next number at its BEGIN; so does every write statement outside one and every commit of
 * another connection (another process on the same file, seen at the next BEGIN). The database
 * remembers the last of them that wrote: a transaction that only read changes nothing here, nor
 * does a write only to a table no kept state reads (`tablesOutsideWriteOrder`, SQLite), nor a
 * committed transaction scoped to some customers (`scopeTo`), which names them instead.
 */
export interface WriteOrder {
  /** The same object for every transaction of one database: a key for state kept beside it. */
  readonly database: object;
  /** This transaction's number. */
  readonly number: number;
  /**
   * True when the last write before this transaction was transaction `n`'s and it committed, or
   * `n` committed without writing and the last write is still the one it found (SQLite keeps the
   * latest few such): what `n` left is what this one finds.
   */
  follows(n: number): boolean;
  /**
   * Declares, before this transaction's first write, that its writes change what ingestion keeps
   * in memory (engine/hot-state.ts: customers' rows, grants and their balances, subscriptions,
   * running totals) only for these customers, and nothing kept for all of them (meters, plans, the
   * latest expiry). Once it commits, the last write stays whose it was (`follows`) and these
   * customers are named by `takeScopedChanges` instead. Declared after a write, or on a transaction
   * that rolls back after writing, it counts for nothing: the transaction is a write like any other.
   * Calls add up.
   */
  scopeTo(customerIds: Iterable<string>): void;
  /**
   * Adds customers to the scope this transaction declared (`scopeTo`), at any point; nothing when
   * it declared none. For a step that writes another customer's rows inside use cases that may or
   * may not be scoped (a referral's reward when an invoice is paid).
   */
  widenScope(customerIds: Iterable<string>): void;
  /**
   * The customers whose kept state transactions scoped to them (`scopeTo`) changed since the last
   * write; taken once, so the next call answers only what was committed after this one. Empty
   * after any other write, which `follows` already tells.
   */
  takeScopedChanges(): ReadonlySet<string>;
  /** Whether this transaction's writes go to the writer thread (`TransactionOptions.deferWrites`). */
  readonly deferred: boolean;
  /**
   * False while transaction `n`'s writes wait for the writer thread (`TransactionOptions.deferWrites`):
   * sent, not yet committed. True once they are (or failed), and for a transaction that never sent any.
   */
  settled(n: number): boolean;
  /** Resolves once every transaction's writes sent to the writer thread are committed or failed. */
  drain(): Promise<void>;
  /**
   * Waits as `drain` does, then resolves to true when another process committed to the database
   * since the writer thread last looked (after that, a write of the writer thread's built on what
   * was read before would be sent back as stale). False without a writer thread, whose BEGIN
   * already counted such a commit.
   */
  verify(): Promise<boolean>;
}

export interface TransactionOptions {
  /**
   * Called right after COMMIT succeeds, before the commit is known to be durable; with deferred
   * writes, once they are sent to the writer thread (the next transaction may begin), and again if
   * the transaction is built again.
   */
  onCommit?: () => void;
  /**
   * SQLite with a writer thread (sqlite/writer-thread.ts): this transaction's writes are applied
   * there while this thread goes on. Its callback reads before it writes, never after, never counts
   * on what a write returns (a deferred `run` resolves to 0), and may be run more than once (a group
   * sent back because the database changed under it is built again from fresh reads). Ignored
   * elsewhere. Ingestion's transactions ask for it.
   */
  deferWrites?: boolean;
}

/** Runs `read` over one consistent, read-only snapshot, ended before it returns. */
export type SnapshotReader = <T>(read: (connection: SqlConnection) => Promise<T>) => Promise<T>;

export interface SqlDatabase extends SqlConnection {
  /**
   * Runs `fn` inside one database transaction and commits it, or rolls back if `fn` throws.
   * SQLite serializes transactions in-process (one writer); PostgreSQL runs them concurrently
   * at READ COMMITTED, and the store takes row locks in a fixed order.
   */
  transaction<T>(fn: (connection: SqlConnection) => Promise<T>, options?: TransactionOptions): Promise<T>;
  /**
   * True when a transaction's promise resolves some time after its COMMIT, once that commit is
   * durable, and the next transaction may begin in between (SQLite's pipelined durability,
   * sqlite/wal-sync.ts). A caller that groups work (the ingest batcher) can then start the next
   * group at `onCommit` rather than wait for the disk.
   */
  readonly pipelinesCommits?: boolean;
  /**
   * True when a transaction that asks for it (`TransactionOptions.deferWrites`) has its writes
   * applied on another thread while the calling thread goes on (SQLite's writer thread). A caller
   * that groups work then keeps a group back for the calling thread to prepare while the writer
   * thread writes the one before.
   */
  readonly writesOffThread?: boolean;
  /**
   * Stops the writer thread while nothing sends it work, giving its memory back; the next
   * transaction that defers its writes starts it again. Absent where there is none.
   */
  parkWriter?(): Promise<void>;
  /** True while the writer thread runs (started by a deferred transaction, not parked since). */
  readonly writerRunning?: boolean;
  /**
   * Runs `fn` over a consistent, read-only view of the database (one snapshot for all its
   * queries) that never blocks the request thread: SQLite reads on a worker thread with its own
   * connection, PostgreSQL in a REPEATABLE READ, READ ONLY transaction. For long checks.
   */
  snapshot<T>(fn: (connection: SqlConnection) => Promise<T>): Promise<T>;
  /**
   * Runs `fn` with a reader of many short snapshots taken one after another, each like
   * `snapshot`: for a check split into slices, so no single snapshot lasts long (on SQLite a
   * reader's snapshot keeps the WAL from being reset; on PostgreSQL it holds back vacuum). SQLite
   * serves them all from one worker thread.
   */
  snapshots<T>(fn: (snapshot: SnapshotReader) => Promise<T>): Promise<T>;
  /**
   * Runs the reads of `fn` (reads only, and short: no waiting on anything but the database) as one
   * read transaction on SQLite: its WAL read lock is taken and released once for all of them, not
   * once per statement (about 6 µs each), and they see one snapshot. It waits behind a running
   * transaction as any call on the database does. PostgreSQL runs them as single statements on
   * the pool, as calls on the database do: a BEGIN and COMMIT would add two round trips.
   */
  reads<T>(fn: (connection: SqlConnection) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}
