import { limits } from './limits.ts';
import type { Engine } from './context.ts';

/** Records deleted per statement: short deletes, so a large backlog never holds the table long. */
const deleteBatch = 1000;

/**
 * Deletes Idempotency-Key records older than the 7-day retention (PRODUCT §12), so the table
 * stops growing. Run by the scheduler; returns how many records went. A record past retention is
 * also ignored by a new claim before this has run, so a late replay never sees it.
 */
export async function purgeIdempotencyRecords(engine: Engine, nowMs: number): Promise<number> {
  let total = 0;
  for (;;) {
    const deleted = await engine.store.read.access.deleteIdempotentBefore(nowMs - limits.idempotencyRetentionMs, deleteBatch);
    total += deleted;
    if (deleted < deleteBatch) return total;
  }
}
