import { fail, invalid, notFound, ok, type Outcome } from '../core/errors.ts';
import type { TestClockRecord } from '../store/records.ts';
import { Changes, type Engine } from './context.ts';
import { FieldCheck } from './input.ts';
import { runDue, type DueWorkKind } from './due-work.ts';
import { allDueWork } from './scheduled-work.ts';

export interface CreateTestClockInput {
  frozen_time: string;
  name?: string | undefined;
}

export async function createTestClock(engine: Engine, input: CreateTestClockInput): Promise<Outcome<TestClockRecord>> {
  const check = new FieldCheck();
  const frozenTimeMs = check.timestamp('frozen_time', input.frozen_time);
  if (check.errors.length || frozenTimeMs === null) return invalid(check.errors);
  return engine.store.transaction(async (tx) => {
    const clock: TestClockRecord = { id: engine.ids.next('clk'), name: input.name ?? null, frozenTimeMs, createdAtMs: engine.clock.now() };
    await tx.customers.insertClock(clock);
    const changes = new Changes(engine);
    changes.event('test_clock.created', null, { test_clock: clock.id }, clock.createdAtMs);
    await changes.flush(tx);
    return ok(clock);
  });
}

/**
 * Moves a test clock forward and runs, synchronously and in time order, everything that falls due
 * for its customers on the way; each item runs with the clock set to the item's own instant.
 */
export async function advanceTestClock(engine: Engine, id: string, input: { frozen_time: string }, kinds?: DueWorkKind[]): Promise<Outcome<TestClockRecord & { ran: number }>> {
  const check = new FieldCheck();
  const targetMs = check.timestamp('frozen_time', input.frozen_time);
  if (check.errors.length || targetMs === null) return invalid(check.errors);
  const clock = await engine.store.read.customers.getClock(id);
  if (!clock) return notFound('test_clock', id);
  if (targetMs < clock.frozenTimeMs) return fail('clock_cannot_go_back', 'A test clock only moves forward.', { fields: [{ field: 'frozen_time', code: 'clock_cannot_go_back', message: 'earlier than the current frozen_time' }] });
  const ran = await runDue(engine, id, targetMs, {
    kinds: kinds ?? allDueWork,
    beforeEach: async (tx, item) => {
      const current = await tx.customers.getClockForUpdate(id);
      if (current && item.dueAtMs > current.frozenTimeMs) await tx.customers.setClockTime(id, item.dueAtMs);
    },
  });
  const advanced = await engine.store.transaction(async (tx) => {
    // Another advance of this clock (from another server) may have gone further meanwhile; the
    // clock only moves forward, so an earlier target leaves it where it is.
    const current = await tx.customers.getClockForUpdate(id);
    if (current && targetMs > current.frozenTimeMs) await tx.customers.setClockTime(id, targetMs);
    const changes = new Changes(engine);
    changes.event('test_clock.advanced', null, { test_clock: id, frozen_time: input.frozen_time, ran }, engine.clock.now());
    await changes.flush(tx);
    return (await tx.customers.getClock(id))!;
  });
  return ok({ ...advanced, ran });
}
