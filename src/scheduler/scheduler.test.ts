import { describe, expect, it } from 'vitest';
import { useEngine } from '../../test/support/engine.ts';
import type { DueItem, DueWorkKind } from '../engine/due-work.ts';
import { startScheduler } from './scheduler.ts';

const nextTimer = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The real-clock driver: ticks never overlap or queue, and each tick reports the work it ran. */
describe('scheduler', () => {
  const ctx = useEngine('sqlite');

  it('waits a full interval after a slow tick instead of running queued ticks back to back', async () => {
    const intervalMs = 20;
    const ticks: { startMs: number; endMs: number }[] = [];
    let release!: () => void;
    const slowTickDone = new Promise<void>((resolve) => (release = resolve));
    let enoughTicks!: () => void;
    const enough = new Promise<void>((resolve) => (enoughTicks = resolve));
    // One kind with nothing due: each tick lists it once. The first listing is held far longer
    // than the interval, as a slow tick would be.
    const probe: DueWorkKind = {
      kind: 'probe',
      async due(): Promise<DueItem[]> {
        const tick = { startMs: performance.now(), endMs: 0 };
        ticks.push(tick);
        if (ticks.length === 1) await slowTickDone;
        tick.endMs = performance.now();
        if (ticks.length === 4) enoughTicks();
        return [];
      },
      async run() {},
    };
    const scheduler = startScheduler(ctx.engine, { intervalMs, kinds: [probe], housekeepingIntervalMs: 1e9 });
    try {
      while (ticks.length === 0) await nextTimer(intervalMs);
      for (let i = 0; i < 10; i++) await nextTimer(intervalMs);
      expect(ticks).toHaveLength(1);
      release();
      await enough;
    } finally {
      await scheduler.stop();
    }
    // From the end of each tick to the start of the next, a whole interval (a timer may fire up to
    // a millisecond early): nothing was queued behind the slow tick.
    for (let i = 1; i < ticks.length; i++) expect(ticks[i]!.startMs - ticks[i - 1]!.endMs).toBeGreaterThanOrEqual(intervalMs - 1);
  });

  it('reports how many items each tick ran, and stops after the tick in progress', async () => {
    let pending = 3;
    const ran: number[] = [];
    const probe: DueWorkKind = {
      kind: 'probe',
      async due(): Promise<DueItem[]> {
        return pending > 0 ? [{ kind: 'probe', id: `p${pending}`, customerId: 'c', dueAtMs: 0 }] : [];
      },
      async run() {
        pending -= 1;
      },
    };
    const scheduler = startScheduler(ctx.engine, { intervalMs: 5, kinds: [probe], onRan: (n) => ran.push(n), housekeepingIntervalMs: 1e9 });
    while (ran.length < 2) await nextTimer(5);
    await scheduler.stop();
    const after = ran.length;
    await nextTimer(20);
    expect(ran.length).toBe(after);
    expect(ran[0]).toBe(3);
    expect(ran.slice(1).every((n) => n === 0)).toBe(true);
  });
});
