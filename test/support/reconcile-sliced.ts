import { expect } from 'vitest';
import { reconcile, type ReconcileInput } from '../../src/engine/reconcile.ts';
import type { Reconciliation } from '../../src/core/reconciliation.ts';
import type { Engine } from '../../src/engine/context.ts';
import { must } from './engine.ts';

/** A list of discrepancies in one order, whatever order the slices found them in. */
export const sortedDiscrepancies = (r: Pick<Reconciliation, 'discrepancies'>): string[] => r.discrepancies.map((d) => JSON.stringify(d)).sort();

/**
 * `reconcile` as it runs by default (a test's few customers in one slice), and again with every
 * check that walks the customers cutting them into three slices (the first bounded above, the
 * middle one on both sides, the last below): the two must find the same discrepancies and pass
 * the same checks. Returns the default run's. Three, not one customer a slice: on SQLite each
 * snapshot is followed by `snapshotGapMs` without one, and a test's database holds dozens.
 */
export async function reconcileBothWays(engine: Engine, input: ReconcileInput = {}): Promise<Reconciliation> {
  const whole = must(await reconcile(engine, input));
  const customers = await engine.store.read.customers.count();
  const sliced = must(await reconcile(engine, input, { customersPerSlice: Math.max(1, Math.ceil(customers / 3)) }));
  expect(sortedDiscrepancies(sliced), 'the checks read a customer at a time find what they find by default').toEqual(sortedDiscrepancies(whole));
  expect(sliced.checks).toEqual(whole.checks);
  return whole;
}
