import { describe, expect, it } from 'vitest';
import { dialects } from '../support/databases.ts';
import { must, useEngine } from '../support/engine.ts';
import { createEngine } from '../../src/engine/create-engine.ts';
import type { Engine } from '../../src/engine/context.ts';
import { createTestClock, resumeTestClockAdvances, startTestClockAdvance, stopTestClockAdvances } from '../../src/engine/test-clocks.ts';
import { createCustomer } from '../../src/engine/customers.ts';
import { createPlan } from '../../src/engine/plans.ts';
import { createSubscription } from '../../src/engine/subscriptions.ts';
import { checkLedger, reconcile } from '../../src/engine/reconcile.ts';
import { runDue } from '../../src/engine/due-work.ts';
import { allDueWork } from '../../src/engine/scheduled-work.ts';

let seq = 0;
const code = (name: string) => `${name}_${process.pid}_${++seq}`;

/**
 * A test clock advance is a job (PRODUCT §9): a server that stops while one runs stops it between
 * two transactions and leaves the clock `advancing`; a server that starts takes it up and runs it
 * on to its target, every item once.
 */
describe.each(dialects)('a test clock advance stopped with its server and resumed by the next, on %s', (dialect) => {
  const ctx = useEngine(dialect);
  const size = 100;

  /** `size` customers on a new clock at 2026-01-01, each subscribed to a monthly plan; the clock's id. */
  async function population(engine: Engine): Promise<string> {
    const clock = must(await createTestClock(engine, { frozen_time: '2026-01-01T00:00:00Z' }));
    const plan = must(await createPlan(engine, { code: code('resume'), name: 'Resume', currency: 'USD', interval: 'month', amount: 1500, included_credits: '100' }));
    for (let i = 0; i < size; i++) {
      // Terms of 45 days keep dunning out of each month: renewals and expiries fall due.
      const customer = must(await createCustomer(engine, { currency: 'USD', test_clock: clock.id, net_days: 45 }));
      must(await createSubscription(engine, { customer: customer.id, plan: plan.code }));
    }
    return clock.id;
  }

  async function invoicesOn(engine: Engine, clock: string): Promise<number> {
    const [row] = await engine.store.db.query<{ n: unknown }>(
      `SELECT COUNT(*) AS n FROM invoices i JOIN customers c ON c.id = i.customer_id WHERE c.test_clock_id = ?`, [clock]);
    return Number(row!.n);
  }

  it('stops between transactions, stays advancing, and a server starting runs it on to its target: each renewal once, the books clean', async () => {
    const { engine } = ctx;
    const clock = await population(engine);
    expect(await invoicesOn(engine, clock)).toBe(size);
    const targetMs = Date.parse('2026-04-01T00:00:00Z');
    const started = must(await startTestClockAdvance(engine, clock, { frozen_time: '2026-04-01T00:00:00Z' }, 0));
    expect(started.ran).toBeNull();
    expect(started.clock.advancingToMs).toBe(targetMs);

    // The server stops: the advance ends after its transaction in progress.
    await stopTestClockAdvances(engine);
    const stopped = (await engine.store.read.customers.getClock(clock))!;
    expect(stopped.advancingToMs).toBe(targetMs);
    expect(stopped.frozenTimeMs).toBeLessThan(targetMs);
    // 3 months of renewals for 100 subscriptions (600 items with their allowances' expiries), 100
    // a transaction: it had run one transaction at most before it was told to stop.
    expect(await invoicesOn(engine, clock)).toBeLessThan(size + size * 3);
    expect(must(await reconcile(engine)).discrepancies).toEqual([]);

    // Another server process starts on the same database: it takes the advance up.
    const next = await createEngine(ctx.database.db);
    const resumed = (await resumeTestClockAdvances(next)).filter((r) => r.id === clock);
    expect(resumed).toHaveLength(1);
    const done = await resumed[0]!.done;
    expect(done).toMatchObject({ id: clock, frozenTimeMs: targetMs, advancingToMs: null });
    expect(done!.ran).toBeGreaterThan(0);
    expect(await invoicesOn(engine, clock)).toBe(size + size * 3);
    const [periods] = await engine.store.db.query<{ n: unknown }>(
      `SELECT COUNT(*) AS n FROM subscriptions s JOIN customers c ON c.id = s.customer_id WHERE c.test_clock_id = ? AND s.period_index = 3`, [clock]);
    expect(Number(periods!.n)).toBe(size);
    // Nothing is left due on the way, and nothing more to resume.
    expect(await runDue(next, clock, targetMs, { kinds: allDueWork })).toBe(0);
    expect((await resumeTestClockAdvances(next)).filter((r) => r.id === clock)).toEqual([]);
    const [advanced] = await engine.store.db.query<{ n: unknown }>(`SELECT COUNT(*) AS n FROM domain_events WHERE type = 'test_clock.advanced' AND payload LIKE ?`, [`%${clock}%`]);
    expect(Number(advanced!.n)).toBe(1);
    expect(must(await reconcile(engine)).discrepancies).toEqual([]);
    expect(await checkLedger(engine)).toEqual({ unbalanced: [], discrepancies: [] });
  });

  it('runs on to the end when nothing stops it, and a server starting finds nothing to resume', async () => {
    const { engine } = ctx;
    const clock = await population(engine);
    const started = must(await startTestClockAdvance(engine, clock, { frozen_time: '2026-02-01T00:00:00Z' }, 60_000));
    expect(started.clock).toMatchObject({ frozenTimeMs: Date.parse('2026-02-01T00:00:00Z'), advancingToMs: null });
    expect(started.ran).toBe(2 * size);
    expect((await resumeTestClockAdvances(await createEngine(ctx.database.db))).filter((r) => r.id === clock)).toEqual([]);
  });

  it('ends a run of due work between two transactions once its signal is aborted, with what it ran', async () => {
    const { engine } = ctx;
    const clock = await population(engine);
    const targetMs = Date.parse('2026-02-01T00:00:00Z');
    const stop = new AbortController();
    let items = 0;
    const ran = await runDue(engine, clock, targetMs, {
      kinds: allDueWork,
      perTransaction: 10,
      signal: stop.signal,
      beforeEach: async () => {
        // Told to stop inside the first transaction: it completes, then the run ends.
        items++;
        stop.abort();
      },
    });
    expect(ran).toBe(10);
    expect(items).toBe(10);
    expect(await runDue(engine, clock, targetMs, { kinds: allDueWork })).toBe(2 * size - 10);
  });
});
