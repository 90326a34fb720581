import type { Engine } from '../engine/context.ts';
import { runDue, type DueWorkKind } from '../engine/due-work.ts';
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
}

/**
 * Drives due work from the real clock: runs what has fallen due for customers that are not on a
 * test clock, then waits `intervalMs` and runs again. Ticks never overlap and never queue: a slow
 * tick only delays the next one. Each item runs in its own transaction and is idempotent, and on
 * PostgreSQL the item's customer row is locked while it runs, so several servers can run the
 * scheduler at once without doing anything twice. Housekeeping (the 7-day idempotency retention)
 * runs on the same loop.
 */
export function startScheduler(engine: Engine, options: SchedulerOptions = {}) {
  const intervalMs = options.intervalMs ?? 1000;
  const housekeepingIntervalMs = options.housekeepingIntervalMs ?? 60_000;
  let stopped = false;
  let lastHousekeepingMs = -Infinity;
  let wake: (() => void) | null = null;
  let timer: NodeJS.Timeout | null = null;

  const tick = async () => {
    try {
      const ran = await runDue(engine, null, engine.clock.now(), { kinds: options.kinds ?? allDueWork });
      options.onRan?.(ran);
    } catch (error) {
      console.error('scheduler tick failed:', error instanceof Error ? error.message : error);
    }
    const nowMs = engine.clock.now();
    if (nowMs - lastHousekeepingMs >= housekeepingIntervalMs) {
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
    /** Stops after the tick in progress (if any) finishes; resolves when nothing runs any more. */
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      wake?.();
      await loop;
    },
  };
}
