import type { Engine } from './context.ts';
import { ingestEvents, ingestRequests, type IngestOptions, type IngestResult } from './ingest-events.ts';
import { hotStateOf } from './hot-state.ts';

/**
 * How many times a request is left out of a group because another transaction held one of its
 * customers (`ingestRequests`' `skipLocked`); the group that takes it after that waits for the lock.
 */
export const lockedDeferralsMax = 2;

/**
 * How long the writer thread may have nothing to write before it is stopped, giving back its
 * connection's page cache and its thread's memory (the next group starts it again, in tens of
 * milliseconds). A server that ingests steadily keeps it; one whose load has stopped (and which
 * then runs a reconciliation, say) does not carry its 30–40 MiB into that work
 * (docs/benchmark-rounds.md, "Round 39").
 */
export const writerIdleParkMsDefault = 500;

/** How groups are formed; every field has a default. */
export interface BatcherSettings {
  /** Events per combined transaction (default 5000); requests beyond it wait for the next group. */
  groupEventsMax?: number;
  /** Groups between their start and their durable acknowledgement: 4 where the store pipelines commits, else 1. */
  groupsInFlightMax?: number;
  /**
   * Told of every store transaction as it starts, with its events and requests (the server's
   * group-size histogram): each group (a request left out of one, its customer locked elsewhere,
   * is counted again in the group that takes it), and each request retried on its own after its
   * group failed.
   */
  onGroup?: (events: number, requests: number) => void;
  /** See `writerIdleParkMsDefault`. */
  writerIdleParkMs?: number;
}

interface Request {
  events: readonly unknown[];
  resolve: (r: IngestResult[]) => void;
  reject: (e: unknown) => void;
  /** Groups that left it out, their customers locked elsewhere. */
  deferrals: number;
}

/**
 * Group commit for ingestion. Requests that arrive while a store transaction is running wait and
 * are then written together in the next one: one commit (one fsync) acknowledges all of them, so
 * many small concurrent requests cost about what one batch does. A request is answered only after
 * the transaction holding its events has committed durably.
 *
 * Where the store pipelines its commits (SQLite: `Store.pipelinesCommits`), the next group starts
 * as soon as the previous one has committed, while the previous group's WAL sync is still running,
 * so the thread prepares and commits the next group instead of waiting on the disk; at most
 * `groupsInFlightMax` groups are between their start and their durable acknowledgement. Elsewhere
 * (PostgreSQL) one group runs at a time: its COMMIT is its durability. There, another server's
 * group may hold some of a group's customers locked; the requests with an event of theirs are left
 * out and go in the next group instead of the whole group waiting (`ingestRequests`).
 */
export class IngestBatcher {
  private queue: Request[] = [];
  /** A group is between its start and its COMMIT; the next one waits for that COMMIT. */
  private committing = false;
  private inFlight = 0;
  private scheduled = false;
  /** Armed once the last group in flight has finished with nothing waiting (`parkWhenIdle`). */
  private idleTimer: NodeJS.Timeout | null = null;

  private readonly groupEventsMax: number;
  private readonly groupsInFlightMax: number;
  private readonly onGroup: BatcherSettings['onGroup'];
  private readonly writerIdleParkMs: number;

  constructor(
    private readonly engine: Engine,
    private readonly options: IngestOptions = {},
    settings: BatcherSettings = {},
  ) {
    this.groupEventsMax = settings.groupEventsMax ?? 5000;
    this.groupsInFlightMax = settings.groupsInFlightMax ?? (engine.store.pipelinesCommits ? 4 : 1);
    this.onGroup = settings.onGroup;
    this.writerIdleParkMs = settings.writerIdleParkMs ?? writerIdleParkMsDefault;
  }

  submit(events: readonly unknown[]): Promise<IngestResult[]> {
    return new Promise((resolve, reject) => {
      this.queue.push({ events, resolve, reject, deferrals: 0 });
      this.schedule();
    });
  }

  /**
   * Starts the next group on a later turn of the event loop, after the requests already received
   * have been read, so that they join it.
   */
  private schedule(): void {
    if (this.scheduled || this.committing || this.inFlight >= this.groupsInFlightMax || this.queue.length === 0) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.startGroup();
    });
  }

  private startGroup(): void {
    if (this.committing || this.inFlight >= this.groupsInFlightMax || this.queue.length === 0) return;
    if (this.idleTimer !== null) {
      clearTimeout(this.idleTimer);
      this.idleTimer = null;
    }
    const group: Request[] = [];
    let count = 0;
    // With a writer thread, at most half the events waiting go in this group (at least one
    // request): the rest make the next group, which this thread rates while the writer thread
    // writes this one. Taking all of them would leave nothing to do meanwhile, and with a few
    // clients each waiting for its answer, the two threads would take turns instead of working
    // together.
    let limit = this.groupEventsMax;
    const deferWrites = this.defersWrites();
    if (deferWrites) {
      let waiting = 0;
      for (const r of this.queue) waiting += r.events.length;
      limit = Math.min(limit, Math.ceil(waiting / 2));
    }
    while (this.queue.length > 0 && (group.length === 0 || count + this.queue[0]!.events.length <= limit)) {
      const next = this.queue.shift()!;
      group.push(next);
      count += next.events.length;
    }
    this.onGroup?.(count, group.length);
    this.committing = true;
    this.inFlight += 1;
    const committed = (): void => {
      if (!this.committing) return;
      this.committing = false;
      this.schedule();
    };
    void this.commit(group, deferWrites, committed).finally(() => {
      this.inFlight -= 1;
      committed();
      this.schedule();
      this.parkWhenIdle();
    });
  }

  /**
   * With the writer thread running, nothing in flight and nothing waiting, stops it after `writerIdleParkMs`
   * unless a group starts first. Stopping waits for the store's mutex, so it never cuts into a
   * transaction; a failure to stop loses nothing (the thread runs on, idle).
   */
  private parkWhenIdle(): void {
    if (this.inFlight > 0 || this.queue.length > 0 || this.idleTimer !== null || this.engine.store.db.writerRunning !== true) return;
    this.idleTimer = setTimeout(() => {
      this.idleTimer = null;
      if (this.inFlight === 0 && this.queue.length === 0) this.engine.store.parkWriter().catch(() => undefined);
    }, this.writerIdleParkMs);
    this.idleTimer.unref();
  }

  /**
   * Whether a group's writes go to the writer thread: while the hot state has room and the last
   * batch found nine in ten of its customers there. Otherwise its customers are often ones the hot
   * state does not hold, read from the database, which must first catch up with every group on its
   * way (`HotState.settle`), so each group would wait for the one before and the handoff would only
   * add (at 20,000 customers 12% fewer events a second, docs/benchmark-rounds.md, "Round 22"); the
   * request thread then writes them, as without the thread. So the first batches, and those after
   * the hot state was emptied, are written here until it has filled.
   */
  private defersWrites(): boolean {
    if (!this.engine.store.writesOffThread) return false;
    const hot = hotStateOf(this.engine.store.db);
    if (hot === undefined) return false;
    if (hot.hasRoom) return hot.mostlyKept;
    // Its memory back while it has nothing to do (PRODUCT §13's 300 MB with 100,000 customers).
    // A failure to stop it loses nothing: the thread runs on, idle.
    this.engine.store.parkWriter().catch(() => undefined);
    return false;
  }

  private async commit(group: Request[], deferWrites: boolean, onCommit: () => void): Promise<void> {
    try {
      // Another process's group may hold some of these customers (PostgreSQL): the requests it
      // holds wait for the next group rather than holding this one, up to `lockedDeferralsMax`
      // times each; a group with a request left out that often waits for the locks.
      const skipLocked = group.every((g) => g.deferrals < lockedDeferralsMax);
      const replies = await ingestRequests(this.engine, group.map((g) => g.events), {
        ...this.options, onCommit, skipLocked, deferWrites,
      });
      const again: Request[] = [];
      group.forEach((g, i) => {
        const reply = replies[i]!;
        if (reply !== null) g.resolve(reply);
        else {
          g.deferrals += 1;
          again.push(g);
        }
      });
      // First in the queue, in their order: the next group takes them.
      if (again.length > 0) this.queue.unshift(...again);
    } catch (error) {
      // One request's failure must not fail its neighbours: retry each on its own.
      if (group.length === 1) {
        group[0]!.reject(error);
        return;
      }
      for (const g of group) {
        try {
          this.onGroup?.(g.events.length, 1);
          g.resolve(await ingestEvents(this.engine, g.events, this.options));
        } catch (own) {
          g.reject(own);
        }
      }
    }
  }
}
