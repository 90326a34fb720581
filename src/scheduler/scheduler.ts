import type { Engine } from '../engine/context.ts';
import { runDue, type DueHold, type DueItem, type DueWorkKind } from '../engine/due-work.ts';
import { allDueWork } from '../engine/scheduled-work.ts';
import { purgeIdempotencyRecords } from '../engine/idempotency-retention.ts';

export interface SchedulerOptions {
  /** Time between the end of one tick and the start of the next (default 1 s). */
  intervalMs?: number;
  kinds?: DueWorkKind[];
  /** Told how many due items each tick ran (the server counts them in `tally_due_work_total`). */
  onRan?: (items: number) => void;
  /** How often expired Idempotency-Key records are deleted (default once a minute). */
  housekeepingIntervalMs?: number;
  /** Told of each item that failed, and when it is tried again (the server counts them in `tally_due_work_failures_total`). */
  onFailure?: (item: DueItem, error: unknown, attempts: number, retryAtMs: number) => void;
}

/** The first wait before a failed item is tried again, doubled at each failure up to `retryMaxMs`. */
export const retryFirstMs = 1000;
/** The longest wait: an item that failed while the database was away runs at most this long after it is back. */
export const retryMaxMs = 5 * 60_000;

/**
 * The scheduler's hold on failed items (`DueHold`): an item that fails on its own is tried again
 * after 1 s, then 2, 4, … up to 5 minutes, and meanwhile the work listed behind it runs. In
 * memory, per server: another server tries on its own terms, and a restart tries at once.
 */
export class FailureBackoff implements DueHold {
  private readonly failing = new Map<string, { attempts: number; untilMs: number }>();

  constructor(private readonly now: () => number, private readonly report: SchedulerOptions['onFailure'] = undefined) {}

  private static key(item: DueItem): string {
    return `${item.kind}\u0000${item.id}\u0000${item.dueAtMs}`;
  }

  /** Items failing now (tried again later, or waiting for it). */
  get size(): number {
    return this.failing.size;
  }

  holds(item: DueItem): boolean {
    if (this.failing.size === 0) return false;
    const failing = this.failing.get(FailureBackoff.key(item));
    return failing !== undefined && failing.untilMs > this.now();
  }

  failed(item: DueItem, error: unknown): void {
    const key = FailureBackoff.key(item);
    const attempts = (this.failing.get(key)?.attempts ?? 0) + 1;
    const untilMs = this.now() + Math.min(retryMaxMs, retryFirstMs * 2 ** Math.min(attempts - 1, 30));
    this.failing.set(key, { attempts, untilMs });
    this.report?.(item, error, attempts, untilMs);
  }

  ran(items: readonly DueItem[]): void {
    if (this.failing.size === 0) return;
    for (const item of items) this.failing.delete(FailureBackoff.key(item));
  }
}

/**
 * Drives due work from the real clock: runs what has fallen due for customers that are not on a
 * test clock, then waits `intervalMs` and runs again. Ticks never overlap and never queue: a slow
 * tick only delays the next one. Items run in bulk (many per transaction, `runDue`), each claimed
 * and idempotent, and on PostgreSQL their customers' rows are locked while they run, so several
 * servers can run the scheduler at once without doing anything twice. A stop ends the tick in
 * progress after its transaction. Housekeeping (the 7-day idempotency retention) runs on the same
 * loop.
 */
export function startScheduler(engine: Engine, options: SchedulerOptions = {}) {
  const intervalMs = options.intervalMs ?? 1000;
  const housekeepingIntervalMs = options.housekeepingIntervalMs ?? 60_000;
  let stopped = false;
  let lastHousekeepingMs = -Infinity;
  let wake: (() => void) | null = null;
  let timer: NodeJS.Timeout | null = null;
  // Ends a tick's run between two transactions once the scheduler stops: a month boundary's work
  // is not waited for (what is left stays due, for the next start).
  const stopping = new AbortController();

  const hold = new FailureBackoff(() => engine.clock.now(), (item, error, attempts, retryAtMs) => {
    console.error(`due work ${item.kind} ${item.id} failed (attempt ${attempts}; tried again at ${new Date(retryAtMs).toISOString()}):`, error instanceof Error ? error.message : error);
    options.onFailure?.(item, error, attempts, retryAtMs);
  });
  const tick = async () => {
    try {
      const ran = await runDue(engine, null, engine.clock.now(), { kinds: options.kinds ?? allDueWork, hold, signal: stopping.signal });
      options.onRan?.(ran);
    } catch (error) {
      console.error('scheduler tick failed:', error instanceof Error ? error.message : error);
    }
    const nowMs = engine.clock.now();
    if (!stopped && nowMs - lastHousekeepingMs >= housekeepingIntervalMs) {
      lastHousekeepingMs = nowMs;
      try {
        await purgeIdempotencyRecords(engine, nowMs);
      } catch (error) {
        console.error('idempotency clean-up failed:', error instanceof Error ? error.message : error);
      }
    }
  };

  const pause = () => new Promise<void>((resolve) => {
    wake = resolve;
    timer = setTimeout(resolve, intervalMs);
    timer.unref();
  });

  const loop = (async () => {
    await pause();
    while (!stopped) {
      await tick();
      if (stopped) break;
      await pause();
    }
  })();

  return {
    /** Stops the tick in progress (if any) after its transaction; resolves when nothing runs any more. */
    async stop() {
      stopped = true;
      stopping.abort();
      if (timer) clearTimeout(timer);
      wake?.();
      await loop;
    },
  };
}
