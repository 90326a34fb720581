import os from 'node:os';
import type { Engine } from '../src/engine/context.ts';
import { createEngine } from '../src/engine/create-engine.ts';
import { createCustomer } from '../src/engine/customers.ts';
import { recordPayment } from '../src/engine/invoices.ts';
import { createPlan } from '../src/engine/plans.ts';
import { createSubscription } from '../src/engine/subscriptions.ts';
import { advanceTestClock, createTestClock } from '../src/engine/test-clocks.ts';
import type { SqlDatabase } from '../src/store/sql.ts';
import { must, openTempDatabase } from './fixture.ts';
import { processCpuMs, procStatusMiB } from './proc-stat.ts';
import { startTallyServe, type ServerChild } from './serve-process.ts';
import { cpuMsSince } from './stats.ts';

export interface RenewalResult {
  subscriptions: number;
  setupMs: number;
  /** Wall time of the test clock advance that renewed every subscription once. */
  advanceMs: number;
  cpuMs: number;
  ran: number;
  perSecond: number;
  /** Resident set size of this process after the advance, in MiB. */
  rssMiB: number;
  /** The machine's 1-minute load average as the advance ended (the machine may be shared). */
  loadAverage: number;
}

/** Where the clock stands before the advance, and where the advance takes it (past one period end). */
export const startTime = '2026-01-01T00:00:00.000Z';
export const targetTime = '2026-02-01T00:00:01.000Z';

/**
 * The population of part 8 (`npm run bench`): `subscriptions` customers on one test clock, each subscribed to a
 * monthly plan with an allowance and rollover, its first invoice paid (as customers pay: 30 days'
 * terms, so no invoice falls past due within the month and the advance runs renewals and expiries
 * only, not dunning). Written with `synchronous=OFF`, as it is not measured.
 */
export async function populate(db: SqlDatabase, subscriptions: number): Promise<{ engine: Engine; clockId: string }> {
  const engine = await createEngine(db);
  await db.run('PRAGMA synchronous = OFF');
  const clock = must(await createTestClock(engine, { frozen_time: startTime }));
  must(await createPlan(engine, { code: 'pro', name: 'Pro', currency: 'USD', interval: 'month', amount: 2000, included_credits: '1000', rollover: { max_credits: '100' } }));
  for (let i = 0; i < subscriptions; i++) {
    const customer = must(await createCustomer(engine, { currency: 'USD', external_id: `renew-${i}`, test_clock: clock.id, net_days: 30 }));
    const sub = must(await createSubscription(engine, { customer: customer.id, plan: 'pro' }));
    const [period] = await engine.store.read.billing.periods(sub.id);
    must(await recordPayment(engine, period!.invoiceId!, { amount: 2000 }));
  }
  await db.run('PRAGMA synchronous = FULL');
  return { engine, clockId: clock.id };
}

/**
 * Part 8, in process: the clock advanced past the period end renews every subscription
 * (overage check, rollover, allowance grant, fee invoice) and expires the old allowances, all in
 * time order, with the production setting `synchronous=FULL`. With `server`, the populated
 * database is first copied (`VACUUM INTO`) and the same advance then runs in the real server on
 * the copy (`runServerRenewals`), so both start from the same state and it is written once.
 */
export async function runRenewals(subscriptions: number, options: { server?: boolean } = {}): Promise<RenewalResult & { server?: ServerRenewalResult }> {
  const temp = openTempDatabase('renewals');
  try {
    const setupStarted = performance.now();
    const { engine, clockId } = await populate(temp.db, subscriptions);
    const setupMs = performance.now() - setupStarted;
    const copyPath = `${temp.dir}/server-copy.db`;
    if (options.server) await temp.db.run(`VACUUM INTO '${copyPath}'`);
    const cpu = process.cpuUsage();
    const started = performance.now();
    const advanced = must(await advanceTestClock(engine, clockId, { frozen_time: targetTime }));
    const advanceMs = performance.now() - started;
    const result = {
      subscriptions,
      setupMs,
      advanceMs,
      cpuMs: cpuMsSince(cpu),
      ran: advanced.ran,
      perSecond: subscriptions / (advanceMs / 1000),
      rssMiB: process.memoryUsage().rss / 2 ** 20,
      loadAverage: os.loadavg()[0]!,
    };
    if (!options.server) return result;
    return { ...result, server: await runServerRenewals(subscriptions, { path: copyPath, clockId, setupMs }) };
  } finally {
    await temp.remove();
  }
}

export interface ServerRenewalResult {
  subscriptions: number;
  setupMs: number;
  /** Wall time from the advance request to the clock reading `ready`. */
  advanceMs: number;
  /** CPU time of the server process (all its threads) over the advance. */
  cpuMs: number;
  /** The server's resident set once started on the populated database, before the advance. */
  rssIdleMiB: number;
  /** Its resident set once the advance is done, and the most it held at any moment (VmHWM). */
  rssAfterMiB: number;
  rssPeakMiB: number;
  /** The machine's 1-minute load average as the advance ended. */
  loadAverage: number;
}

const adminKey = 'bench-renewals-admin-key';

/**
 * Part 8 in the real server, and its memory with that many customers: the population is written
 * as above, then `tally serve` (the built `dist/cli/main.js`, as `npm start` runs it) is started on
 * that database file, and the test clock is advanced over HTTP as a job, polled until `ready`.
 * Resident set and CPU time are read from /proc for the server process (Linux).
 */
export async function runServerRenewals(
  subscriptions: number, populated?: { path: string; clockId: string; setupMs: number },
): Promise<ServerRenewalResult> {
  const temp = populated ? null : openTempDatabase('renewals-server');
  let server: ServerChild | null = null;
  try {
    const setupStarted = performance.now();
    const { clockId } = populated ?? await populate(temp!.db, subscriptions);
    const setupMs = populated?.setupMs ?? performance.now() - setupStarted;
    const path = populated?.path ?? temp!.path;
    await temp?.db.close();
    server = await startTallyServe({ path, adminKey, startupTimeoutMs: 120_000 });
    const { pid, baseUrl: base } = server;
    const rssIdleMiB = procStatusMiB(pid, 'VmRSS');
    const cpuBefore = processCpuMs(pid);
    const started = performance.now();
    const advance = await fetch(`${base}/v1/test_clocks/${clockId}/advance`, {
      method: 'POST', headers: { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' }, body: JSON.stringify({ frozen_time: targetTime }),
    });
    if (!advance.ok) throw new Error(`advance answered ${advance.status}: ${await advance.text()}`);
    await waitFor(async () => {
      const clock = await (await fetch(`${base}/v1/test_clocks/${clockId}`, { headers: { authorization: `Bearer ${adminKey}` } })).json() as { status: string };
      return clock.status === 'ready';
    }, 3_600_000, 'the advance did not finish', 250);
    const advanceMs = performance.now() - started;
    return {
      subscriptions,
      setupMs,
      advanceMs,
      cpuMs: processCpuMs(pid) - cpuBefore,
      rssIdleMiB,
      rssAfterMiB: procStatusMiB(pid, 'VmRSS'),
      rssPeakMiB: procStatusMiB(pid, 'VmHWM'),
      loadAverage: os.loadavg()[0]!,
    };
  } finally {
    await server?.stop();
    await temp?.remove();
  }
}

async function waitFor(check: () => Promise<boolean>, timeoutMs: number, message: string, pollMs = 50): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(message);
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
}
