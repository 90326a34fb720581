import { describe, expect, it } from 'vitest';
import { useEngine } from '../../test/support/engine.ts';
import { runDue, stuckPassesMax, type DueItem, type DueWorkKind } from '../engine/due-work.ts';
import { FailureBackoff, retryFirstMs, retryMaxMs, startScheduler } from './scheduler.ts';

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

  it('stops a tick between two of its transactions: the work after them waits for the next start', async () => {
    // 150 items due, 100 a transaction: the stop comes while the first transaction runs.
    const done = new Set<string>();
    let release!: () => void;
    const blocked = new Promise<void>((resolve) => (release = resolve));
    let entered!: () => void;
    const inFirst = new Promise<void>((resolve) => (entered = resolve));
    const probe: DueWorkKind = {
      kind: 'probe',
      async due(): Promise<DueItem[]> {
        return Array.from({ length: 150 }, (_, i) => `p${String(i).padStart(3, '0')}`).filter((id) => !done.has(id))
          .map((id) => ({ kind: 'probe', id, customerId: 'c', dueAtMs: 0 }));
      },
      async run(_engine, _tx, item) {
        if (done.size === 0) {
          entered();
          await blocked;
        }
        done.add(item.id);
      },
    };
    const ran: number[] = [];
    const scheduler = startScheduler(ctx.engine, { intervalMs: 1, kinds: [probe], onRan: (n) => ran.push(n), housekeepingIntervalMs: 1e9 });
    await inFirst;
    const stopped = scheduler.stop();
    release();
    await stopped;
    expect(done.size).toBe(100);
    expect(ran).toEqual([100]);
  });

  /** Five items due at once, of which `poisoned` throws while `failing` says so. */
  function poisonProbe(poisoned: string) {
    const done = new Set<string>();
    const attempts = new Map<string, number>();
    const state = { failing: true };
    const probe: DueWorkKind = {
      kind: 'probe',
      async due(): Promise<DueItem[]> {
        return ['p1', 'p2', 'p3', 'p4', 'p5'].filter((id) => !done.has(id)).map((id) => ({ kind: 'probe', id, customerId: 'c', dueAtMs: 0 }));
      },
      async run(_engine, _tx, item) {
        attempts.set(item.id, (attempts.get(item.id) ?? 0) + 1);
        if (item.id === poisoned && state.failing) throw new Error(`cannot run ${item.id}`);
        done.add(item.id);
      },
    };
    return { probe, done, attempts, state };
  }

  it('holds back an item that fails and runs the work behind it, trying it again after 1 s, 2 s, … up to 5 minutes', async () => {
    const { probe, done, attempts, state } = poisonProbe('p2');
    let nowMs = 1_000_000;
    const failures: [string, number, number, string][] = [];
    const hold = new FailureBackoff(() => nowMs, (item, error, n, retryAtMs) => failures.push([item.id, n, retryAtMs - nowMs, (error as Error).message]));
    const run = () => runDue(ctx.engine, null, nowMs, { kinds: [probe], hold });

    // The batch of five fails on p2; each then runs alone: four commit, p2 is held back for 1 s.
    expect(await run()).toBe(4);
    expect([...done].sort()).toEqual(['p1', 'p3', 'p4', 'p5']);
    expect(failures).toEqual([['p2', 1, retryFirstMs, 'cannot run p2']]);
    expect(hold.size).toBe(1);
    // Within its wait it is not tried: the run finds nothing else and ends.
    nowMs += retryFirstMs - 1;
    expect(await run()).toBe(0);
    expect(attempts.get('p2')).toBe(2);
    // Then again, and held twice as long; and so on, the wait capped at 5 minutes.
    nowMs += 1;
    expect(await run()).toBe(0);
    expect(failures[1]).toEqual(['p2', 2, 2 * retryFirstMs, 'cannot run p2']);
    for (let i = 0; i < 12; i++) {
      nowMs += failures[failures.length - 1]![2];
      await run();
    }
    expect(failures.map((f) => f[2]).slice(0, 10)).toEqual([1, 2, 4, 8, 16, 32, 64, 128, 256, 300].map((s) => s * 1000));
    expect(failures[failures.length - 1]![2]).toBe(retryMaxMs);
    // Once it can run, it runs when its wait is over, and is held no more.
    state.failing = false;
    nowMs += retryMaxMs;
    expect(await run()).toBe(1);
    expect(done.has('p2')).toBe(true);
    expect(hold.size).toBe(0);
  });

  it('without a hold (a test clock) runs the others, then fails with the item\'s error', async () => {
    const { probe, done } = poisonProbe('p4');
    await expect(runDue(ctx.engine, null, 1, { kinds: [probe] })).rejects.toThrow('cannot run p4');
    expect([...done].sort()).toEqual(['p1', 'p2', 'p3', 'p5']);
  });

  /** Items due at once, of which `stuck` runs without effect: it stays due at its instant, as before it ran. */
  function stuckProbe(stuck: string) {
    const done = new Set<string>();
    let runs = 0;
    const probe: DueWorkKind = {
      kind: 'probe',
      async due(): Promise<DueItem[]> {
        return ['p1', 'p2', 'p3'].filter((id) => !done.has(id)).map((id) => ({ kind: 'probe', id, customerId: 'c', dueAtMs: 0 }));
      },
      async run(_engine, _tx, item) {
        runs += 1;
        if (item.id !== stuck) done.add(item.id);
      },
    };
    return { probe, done, runs: () => runs };
  }

  it('fails an item still due after it ran, rather than listing it for ever: without a hold the run ends with it', async () => {
    const { probe, done, runs } = stuckProbe('p2');
    await expect(runDue(ctx.engine, null, 1, { kinds: [probe] })).rejects.toThrow(
      `Due work probe p2 is still due at 1970-01-01T00:00:00.000Z after it ran ${stuckPassesMax} times.`);
    expect([...done].sort()).toEqual(['p1', 'p3']);
    // The others once, the stuck one in each of `stuckPassesMax` passes.
    expect(runs()).toBe(2 + stuckPassesMax);
  });

  it('holds back an item still due after it ran, and ends the run', async () => {
    const { probe, done, runs } = stuckProbe('p1');
    const failures: [string, string][] = [];
    const hold = new FailureBackoff(() => 1, (item, error) => failures.push([item.id, (error as Error).message]));
    expect(await runDue(ctx.engine, null, 1, { kinds: [probe], hold })).toBe(2 + stuckPassesMax);
    expect([...done].sort()).toEqual(['p2', 'p3']);
    expect(failures).toEqual([['p1', `Due work probe p1 is still due at 1970-01-01T00:00:00.000Z after it ran ${stuckPassesMax} times.`]]);
    expect(runs()).toBe(2 + stuckPassesMax);
  });

  it('runs the work behind a failing item in the same tick, and reports the failure', async () => {
    const { probe, done } = poisonProbe('p3');
    let failed!: (n: [string, number]) => void;
    const failure = new Promise<[string, number]>((resolve) => (failed = resolve));
    let firstTick!: (n: number) => void;
    const ranFirst = new Promise<number>((resolve) => (firstTick = resolve));
    const scheduler = startScheduler(ctx.engine, {
      intervalMs: 5, kinds: [probe], housekeepingIntervalMs: 1e9, onRan: (n) => firstTick(n), onFailure: (item, _error, attempts) => failed([item.id, attempts]),
    });
    try {
      expect(await failure).toEqual(['p3', 1]);
      expect(await ranFirst).toBe(4);
      expect([...done].sort()).toEqual(['p1', 'p2', 'p4', 'p5']);
    } finally {
      await scheduler.stop();
    }
  });
});
