import type { Engine } from '../engine/context.ts';
import { runDue, type DueWorkKind } from '../engine/due-work.ts';
import { allDueWork } from '../engine/scheduled-work.ts';

/**
 * Drives due work from the real clock: every `intervalMs`, runs what has fallen due for customers
 * that are not on a test clock. Each item runs in its own transaction and is idempotent, and on
 * PostgreSQL the item's customer row is locked while it runs, so several servers can run the
 * scheduler at once without doing anything twice.
 */
export function startScheduler(engine: Engine, options: { intervalMs?: number; kinds?: DueWorkKind[] } = {}) {
  const intervalMs = options.intervalMs ?? 1000;
  let stopped = false;
  let running: Promise<void> = Promise.resolve();

  const tick = async () => {
    try {
      await runDue(engine, null, engine.clock.now(), { kinds: options.kinds ?? allDueWork });
    } catch (error) {
      console.error('scheduler tick failed:', error instanceof Error ? error.message : error);
    }
  };
  const timer = setInterval(() => {
    if (stopped) return;
    running = running.then(tick);
  }, intervalMs);
  timer.unref();

  return {
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running;
    },
  };
}
