import { fail, invalid, notFound, ok, type Outcome } from '../core/errors.ts';
import type { TestClockRecord } from '../store/records.ts';
import type { Store, StoreTx } from '../store/store.ts';
import { Changes, type Engine } from './context.ts';
import { FieldCheck } from './input.ts';
import { limits } from './limits.ts';
import { runDue, type DueWorkKind } from './due-work.ts';
import { allDueWork } from './scheduled-work.ts';

export interface CreateTestClockInput {
  frozen_time: string;
  name?: string | undefined;
}

export async function createTestClock(engine: Engine, input: CreateTestClockInput): Promise<Outcome<TestClockRecord>> {
  const check = new FieldCheck();
  const frozenTimeMs = check.keptTime('frozen_time', input.frozen_time);
  if (check.errors.length || frozenTimeMs === null) return invalid(check.errors);
  return engine.store.transaction(async (tx) => {
    const clock: TestClockRecord = { id: engine.ids.next('clk'), name: input.name ?? null, frozenTimeMs, createdAtMs: engine.clock.now(), advancingToMs: null };
    await tx.customers.insertClock(clock);
    const changes = new Changes(engine);
    changes.event('test_clock.created', null, { test_clock: clock.id }, clock.createdAtMs);
    await changes.flush(tx);
    return ok(clock);
  });
}

export type AdvanceOutcome = TestClockRecord & { ran: number };

/** The longest error message a failed advance keeps. */
const advanceErrorLengthMax = 1000;

/**
 * Moves a test clock forward and runs, in time order, everything that falls due for its customers
 * on the way; each item runs with the clock set to the item's own instant. Resolves when all of it
 * has run. While it runs the clock reads `status: advancing` (its `advancing_to` is stored, so
 * every server sees it); after, `ready`. An advance whose due work throws leaves the clock where
 * the work got to, `internal_failure` with the error (`failure`), until the next advance starts
 * (which runs on from there) or another reaches its target; it throws the error here.
 */
export async function advanceTestClock(engine: Engine, id: string, input: { frozen_time: string }, kinds?: DueWorkKind[]): Promise<Outcome<AdvanceOutcome>> {
  const checked = await checkAdvance(engine, id, input);
  if (!checked.ok) return checked;
  await markAdvancing(engine, id, checked.value);
  return ok((await runAdvance(engine, id, input.frozen_time, checked.value, kinds))!);
}

async function checkAdvance(engine: Engine, id: string, input: { frozen_time: string }): Promise<Outcome<number>> {
  const check = new FieldCheck();
  const targetMs = check.keptTime('frozen_time', input.frozen_time);
  if (check.errors.length || targetMs === null) return invalid(check.errors);
  const clock = await engine.store.read.customers.getClock(id);
  if (!clock) return notFound('test_clock', id);
  if (targetMs < clock.frozenTimeMs) return fail('clock_cannot_go_back', 'A test clock only moves forward.', { fields: [{ field: 'frozen_time', code: 'clock_cannot_go_back', message: 'earlier than the current frozen_time' }] });
  // One request may not queue up centuries of renewals and retries: a clock goes further in steps.
  if (targetMs - clock.frozenTimeMs > limits.testClockAdvanceMsMax) {
    return invalid([{ field: 'frozen_time', code: 'out_of_range', message: 'at most 10 years (3,660 days) after the current frozen_time in one advance' }]);
  }
  return ok(targetMs);
}

/** Stores the advance's target, so every server reads the clock as `advancing` until it is done. */
async function markAdvancing(engine: Engine, id: string, targetMs: number): Promise<TestClockRecord> {
  return engine.store.transaction(async (tx) => {
    const current = await tx.customers.getClockForUpdate(id);
    if (current && targetMs > (current.advancingToMs ?? -Infinity)) await tx.customers.setClockAdvancing(id, targetMs);
    // A new advance runs on from where a failed one stopped: the clock is no longer failed.
    if (current && (current.advanceError ?? null) !== null) await tx.customers.setClockFailure(id, null);
    return (await tx.customers.getClock(id))!;
  });
}

/**
 * Runs an advance to `targetMs`; with `signal`, it can be stopped between two transactions, and
 * then answers null and leaves the clock `advancing` (its `advancing_to` stays stored), for a
 * server to resume (`resumeTestClockAdvances`).
 */
async function runAdvance(engine: Engine, id: string, frozenTime: string, targetMs: number, kinds?: DueWorkKind[], signal?: AbortSignal): Promise<AdvanceOutcome | null> {
  let ran: number;
  // The clock's time as this advance has locked and set it, per store transaction: the clock row
  // stays locked until the transaction ends, so items at an instant already reached need not
  // read it again (a transaction runs up to a hundred items, mostly at one instant).
  const reached = new WeakMap<StoreTx, number>();
  try {
    ran = await runDue(engine, id, targetMs, {
      kinds: kinds ?? allDueWork,
      ...(signal === undefined ? {} : { signal }),
      beforeEach: async (tx, item) => {
        const known = reached.get(tx);
        if (known !== undefined && item.dueAtMs <= known) return;
        const current = await tx.customers.getClockForUpdate(id);
        if (!current) return;
        if (item.dueAtMs > current.frozenTimeMs) await tx.customers.setClockTime(id, item.dueAtMs);
        reached.set(tx, Math.max(item.dueAtMs, current.frozenTimeMs));
      },
    });
  } catch (error) {
    // The clock stays where the work got to, failed with the error (`internal_failure`, as
    // Stripe's test clocks name it); it is no longer advancing (a new advance runs on from there).
    // Before, it read `ready` short of its target, which a client polling for `ready` took for done.
    const message = (error instanceof Error ? error.message : String(error)).slice(0, advanceErrorLengthMax);
    await engine.store.transaction(async (tx) => {
      await finishAdvance(tx, id, targetMs, false);
      const atMs = engine.clock.now();
      await tx.customers.setClockFailure(id, { error: message, atMs });
      const changes = new Changes(engine);
      changes.event('test_clock.internal_failure', null, { test_clock: id, frozen_time: frozenTime, error: message }, atMs);
      await changes.flush(tx);
    });
    throw error;
  }
  // Stopped (the server is stopping): not done, so still advancing.
  if (signal?.aborted === true) return null;
  const advanced = await engine.store.transaction(async (tx) => {
    const clock = await finishAdvance(tx, id, targetMs, true);
    const changes = new Changes(engine);
    changes.event('test_clock.advanced', null, { test_clock: id, frozen_time: frozenTime, ran }, engine.clock.now());
    await changes.flush(tx);
    return clock;
  });
  return { ...advanced, ran };
}

/**
 * Another advance of this clock (from another server) may have gone further meanwhile; the clock
 * only moves forward, so an earlier target leaves it where it is. The clock is ready again unless
 * an advance to a later target is still running.
 */
async function finishAdvance(tx: StoreTx, id: string, targetMs: number, reached: boolean): Promise<TestClockRecord> {
  const current = await tx.customers.getClockForUpdate(id);
  if (reached && current && targetMs > current.frozenTimeMs) await tx.customers.setClockTime(id, targetMs);
  // An advance that reached its target went through where a failed one stopped.
  if (reached && current && (current.advanceError ?? null) !== null) await tx.customers.setClockFailure(id, null);
  if (current && current.advancingToMs !== null && current.advancingToMs !== undefined && current.advancingToMs <= targetMs) {
    await tx.customers.setClockAdvancing(id, null);
  }
  return (await tx.customers.getClock(id))!;
}

/**
 * An advance as a job (as Stripe's test clocks run): the advance starts at once and this waits
 * for it at most `waitMs`. Done by then: the clock is `ready`, with what ran. Failed by then: the
 * clock as it reads, `internal_failure`. Otherwise it answers `advancing` and the job goes on in
 * the background; `GET /v1/test_clocks/{id}` reads `status` until it is `ready` (or
 * `internal_failure`). The outcome of a bad request (unknown clock, going back) is returned at once.
 */
export async function startTestClockAdvance(
  engine: Engine, id: string, input: { frozen_time: string }, waitMs: number,
): Promise<Outcome<{ clock: TestClockRecord; ran: number | null }>> {
  const checked = await checkAdvance(engine, id, input);
  if (!checked.ok) return checked;
  const marked = await markAdvancing(engine, id, checked.value);
  const job = inBackground(engine, id, (signal) => runAdvance(engine, id, input.frozen_time, checked.value, undefined, signal));
  let timer: NodeJS.Timeout | undefined;
  const finished = waitMs > 0
    ? await Promise.race([
      job.then((done) => done, () => 'failed' as const),
      new Promise<null>((resolve) => { timer = setTimeout(() => resolve(null), waitMs); }),
    ])
    : null;
  clearTimeout(timer);
  if (finished === 'failed') return ok({ clock: (await engine.store.read.customers.getClock(id))!, ran: null });
  if (finished) return ok({ clock: finished, ran: finished.ran });
  return ok({ clock: marked, ran: null });
}

/** An advance this process runs in the background, and how to stop it. */
interface BackgroundAdvance {
  readonly clockId: string;
  readonly stop: AbortController;
  /** Settles when it has ended: done, stopped or failed (a failure is logged). */
  readonly ended: Promise<void>;
}

/** The background advances of each store's server process. */
const backgroundAdvances = new WeakMap<Store, Set<BackgroundAdvance>>();

function runningIn(engine: Engine): Set<BackgroundAdvance> {
  let running = backgroundAdvances.get(engine.store);
  if (running === undefined) backgroundAdvances.set(engine.store, (running = new Set()));
  return running;
}

function inBackground(engine: Engine, clockId: string, run: (signal: AbortSignal) => Promise<AdvanceOutcome | null>): Promise<AdvanceOutcome | null> {
  const running = runningIn(engine);
  const stop = new AbortController();
  const job = run(stop.signal);
  const advance: BackgroundAdvance = {
    clockId,
    stop,
    ended: job.then(
      () => undefined,
      (error: unknown) => console.error(`test clock ${clockId}: advance failed:`, error instanceof Error ? error.message : error),
    ),
  };
  running.add(advance);
  void advance.ended.then(() => running.delete(advance));
  return job;
}

/**
 * Stops this process's background advances between two of their transactions and waits for
 * them (a server stopping, before its database closes). Each clock stays `advancing`, its work
 * partly done; `resumeTestClockAdvances` takes it up when a server starts.
 */
export async function stopTestClockAdvances(engine: Engine): Promise<void> {
  const running = [...runningIn(engine)];
  for (const advance of running) advance.stop.abort();
  await Promise.all(running.map((advance) => advance.ended));
}

/**
 * Takes up, in the background, every advance a server left unfinished: each clock still
 * `advancing` (its target stored) that this process does not advance already runs on to its
 * target. Claims make each item run once, should another server still be advancing it too.
 * Returns each one started, with its end.
 */
export async function resumeTestClockAdvances(engine: Engine): Promise<{ id: string; done: Promise<AdvanceOutcome | null> }[]> {
  const left = await engine.store.read.customers.advancingClocks();
  const advancing = new Set([...runningIn(engine)].map((advance) => advance.clockId));
  const started: { id: string; done: Promise<AdvanceOutcome | null> }[] = [];
  for (const clock of left) {
    const targetMs = clock.advancingToMs!;
    if (advancing.has(clock.id)) continue;
    const done = inBackground(engine, clock.id, (signal) => runAdvance(engine, clock.id, new Date(targetMs).toISOString(), targetMs, undefined, signal));
    started.push({ id: clock.id, done });
  }
  return started;
}
