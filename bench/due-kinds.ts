/**
 * Due work by kind, cost per item as the population grows (issue 10, item 4: renewals, expiries,
 * hold expiries and top-ups found by index in time order and run in batches, the cost per item
 * flat from 1,000 to 100,000 customers):
 *
 *   npx tsx bench/due-kinds.ts [sizes] [kinds|all] [clocks]
 *
 * for example `1000,100000 grant_expiry,hold_expiry test,real` (defaults: `1000,10000`, every
 * kind, the `test` clock).
 *
 * For each kind and size, a fresh SQLite database (the production adapter) holds that many
 * customers, each with one item of the kind falling due, and then the work runs with
 * `synchronous=FULL`; its wall and CPU time are divided by the items it ran. Renewals are part 8's
 * first half (`bench/renewals.ts`). The population is written through the engine's own use cases
 * with `synchronous=OFF` (not measured). On the `test` clock the customers share one test clock,
 * their items fall due an hour after its start, and the clock is advanced past that. On the
 * `real` clock the customers are on the real clock and their items fall due within two seconds
 * of being made ("soon"); once the last is due, the real-clock scheduler (`startScheduler`, as
 * `tally serve` runs it) is started and timed until it has run them all.
 *
 * - `grant_expiry`: a grant of 10 credits expiring soon;
 * - `hold_expiry`: a grant of 10 credits and a hold of 4 expiring soon;
 * - `auto_top_up`: a grant of 1 credit and auto top-up below 5 (a pack of 100 credits for 10.00
 *   USD): the set-up asks a check now, and the advance buys every pack (an invoice and a pending
 *   grant each);
 * - `debt_settlement`: 5 credits used with nothing to pay them (a debt), then a grant of 10 taking
 *   effect soon: due work pays each debt at that grant's time;
 * - `invoice_past_due`: a purchase of 100 credits on terms of 0 days, unpaid: the advance marks
 *   each invoice past due and freezes its credits (the first step of dunning).
 *
 * Each run then checks the work was done (every item ran once, the ledger reconciles) and prints
 * the cost per item at each size and the largest size's against the smallest's (flat: 100%).
 */
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import type { Engine } from '../src/engine/context.ts';
import { createEngine } from '../src/engine/create-engine.ts';
import { createCustomer, setAutoTopUp } from '../src/engine/customers.ts';
import { createGrant } from '../src/engine/grants.ts';
import { createHold } from '../src/engine/holds.ts';
import { ingestEvents } from '../src/engine/ingest-events.ts';
import { createMeter } from '../src/engine/meters.ts';
import { purchaseCredits } from '../src/engine/purchases.ts';
import { reconcile } from '../src/engine/reconcile.ts';
import { advanceTestClock, createTestClock } from '../src/engine/test-clocks.ts';
import { startScheduler } from '../src/scheduler/scheduler.ts';
import type { SqlDatabase } from '../src/store/sql.ts';
import { must, openTempDatabase } from './fixture.ts';
import { cpuMsSince } from './stats.ts';

const start = '2026-03-01T00:00:00.000Z';
const inAnHour = '2026-03-01T01:00:00.000Z';
const target = '2026-03-01T02:00:00.000Z';
/** On the real clock, items fall due this long after they are made. */
const realSoonMs = 2000;

export type DueClock = 'test' | 'real';

/** When a customer's item falls due: `soon` as a timestamp, `soonSeconds` from now. */
interface When {
  soon: string;
  soonSeconds: number;
}

interface Kind {
  kind: string;
  /** Sets up one customer's item; `i` numbers the customers. */
  setUp(engine: Engine, customerId: string, i: number, when: When): Promise<void>;
  /** Whether due work did each customer's item, read back from the store (null if so). */
  check(db: SqlDatabase, customerIds: string[]): Promise<string | null>;
  /** The customers' payment terms (default 30 days, so that nothing else falls due). */
  netDays?: number;
}

const meterCode = 'work';

const kinds: Kind[] = [
  {
    kind: 'grant_expiry',
    async setUp(engine, customer, _i, when) {
      must(await createGrant(engine, { customer, credits: '10', category: 'promotional', source: 'promotion', expires_at: when.soon }));
    },
    async check(db, ids) {
      return countWhere(db, ids, `SELECT COUNT(*) AS n FROM grants WHERE status = 'expired'`);
    },
  },
  {
    kind: 'hold_expiry',
    async setUp(engine, customer, _i, when) {
      must(await createGrant(engine, { customer, credits: '10', category: 'paid', source: 'adjustment' }));
      must(await createHold(engine, { customer, credits: '4', expires_in: when.soonSeconds }));
    },
    async check(db, ids) {
      return countWhere(db, ids, `SELECT COUNT(*) AS n FROM holds WHERE status = 'expired'`);
    },
  },
  {
    kind: 'auto_top_up',
    async setUp(engine, customer) {
      must(await createGrant(engine, { customer, credits: '1', category: 'paid', source: 'adjustment' }));
      must(await setAutoTopUp(engine, customer, { threshold: '5', credits: '100', amount: 1000 }));
    },
    async check(db, ids) {
      return countWhere(db, ids, `SELECT COUNT(*) AS n FROM grants WHERE source = 'purchase'`);
    },
  },
  {
    kind: 'debt_settlement',
    async setUp(engine, customer, i, when) {
      const [result] = await ingestEvents(engine, [{ id: `debt-${i}`, customer, type: meterCode, properties: { n: 5 } }]);
      if (result?.status !== 'accepted') throw new Error(`usage not accepted: ${JSON.stringify(result)}`);
      must(await createGrant(engine, { customer, credits: '10', category: 'paid', source: 'adjustment', effective_at: when.soon }));
    },
    async check(db, ids) {
      return countWhere(db, ids, `SELECT COUNT(*) AS n FROM ledger_transactions WHERE kind = 'debt_paydown'`);
    },
  },
  {
    kind: 'invoice_past_due',
    netDays: 0,
    async setUp(engine, customer) {
      must(await purchaseCredits(engine, customer, { credits: '100', amount: 1000 }));
    },
    async check(db, ids) {
      return countWhere(db, ids, `SELECT COUNT(*) AS n FROM invoices WHERE past_due_at IS NOT NULL`);
    },
  },
];

async function countWhere(db: SqlDatabase, ids: string[], sql: string): Promise<string | null> {
  const rows = await db.query<{ n: number | bigint }>(sql);
  const n = Number(rows[0]!.n);
  return n === ids.length ? null : `${n} of ${ids.length} items done`;
}

export interface DueKindResult {
  kind: string;
  clock: DueClock;
  customers: number;
  setupMs: number;
  advanceMs: number;
  cpuMs: number;
  ran: number;
  rssMiB: number;
  loadAverage: number;
}

export async function runDueKind(kind: Kind, customers: number, clockKind: DueClock = 'test'): Promise<DueKindResult> {
  const temp = openTempDatabase(`due-${kind.kind}`);
  try {
    const setupStarted = performance.now();
    const engine = await createEngine(temp.db);
    await temp.db.run('PRAGMA synchronous = OFF');
    must(await createMeter(engine, { code: meterCode, event_type: meterCode, aggregation: 'sum', value_property: 'n', rate: { model: 'per_unit', credits_per_unit: '1' } }));
    const clock = clockKind === 'test' ? must(await createTestClock(engine, { frozen_time: start })) : null;
    const testWhen: When = { soon: inAnHour, soonSeconds: 3600 };
    const ids: string[] = [];
    let lastDueMs = 0;
    for (let i = 0; i < customers; i++) {
      const customer = must(await createCustomer(engine, { currency: 'USD', net_days: kind.netDays ?? 30, ...(clock ? { test_clock: clock.id } : {}) }));
      ids.push(customer.id);
      let when = testWhen;
      if (clock === null) {
        lastDueMs = Date.now() + realSoonMs;
        when = { soon: new Date(lastDueMs).toISOString(), soonSeconds: realSoonMs / 1000 };
      }
      await kind.setUp(engine, customer.id, i, when);
    }
    await temp.db.run('PRAGMA synchronous = FULL');
    const setupMs = performance.now() - setupStarted;
    // On the real clock: wait until the last item made is due (a wait for time itself, not for work).
    if (clock === null) await new Promise((resolve) => setTimeout(resolve, Math.max(0, lastDueMs + 50 - Date.now())));
    const cpu = process.cpuUsage();
    const started = performance.now();
    let ran: number;
    if (clock !== null) ran = must(await advanceTestClock(engine, clock.id, { frozen_time: target })).ran;
    else ran = await schedulerRuns(engine, customers);
    const advanceMs = performance.now() - started;
    const cpuMs = cpuMsSince(cpu);
    const problem = await kind.check(temp.db, ids);
    if (problem !== null) throw new Error(`${kind.kind} at ${customers} on the ${clockKind} clock: ${problem}`);
    const report = must(await reconcile(engine));
    if (report.discrepancies.length > 0) throw new Error(`${kind.kind} at ${customers}: reconciliation found ${JSON.stringify(report.discrepancies.slice(0, 3))}`);
    return { kind: kind.kind, clock: clockKind, customers, setupMs, advanceMs, cpuMs, ran, rssMiB: process.memoryUsage().rss / 2 ** 20, loadAverage: os.loadavg()[0]! };
  } finally {
    await temp.remove();
  }
}

/**
 * Starts the real-clock scheduler as `tally serve` does (its ticks a second apart by default; here
 * 10 ms, so no time is spent between ticks waiting) and stops it once its ticks have run `items`
 * due items in all. Returns how many they ran.
 */
async function schedulerRuns(engine: Engine, items: number): Promise<number> {
  let ran = 0;
  let failed: unknown = null;
  let done: () => void = () => {};
  const finished = new Promise<void>((resolve) => { done = resolve; });
  const scheduler = startScheduler(engine, {
    intervalMs: 10,
    onRan: (n) => {
      ran += n;
      if (ran >= items) done();
    },
    onFailure: (_item, error) => {
      failed = error;
      done();
    },
  });
  // The scheduler's own timer does not keep a process alive (a server's listening socket does).
  const alive = setInterval(() => {}, 1000);
  await finished;
  clearInterval(alive);
  await scheduler.stop();
  if (failed !== null) throw failed;
  return ran;
}

export async function runDueKinds(sizes: number[], names: string[] | null, say: (line: string) => void, clocks: DueClock[] = ['test']): Promise<DueKindResult[]> {
  const chosen = names === null ? kinds : kinds.filter((k) => names.includes(k.kind));
  const results: DueKindResult[] = [];
  say(`   ${'kind'.padEnd(17)} ${'clock'.padEnd(5)} ${'customers'.padStart(9)} ${'items'.padStart(7)} ${'run'.padStart(9)} ${'ms/item'.padStart(8)} ${'CPU ms/item'.padStart(12)}`);
  for (const kind of chosen) {
    for (const clockKind of clocks) {
      const own: DueKindResult[] = [];
      for (const n of sizes) {
        const r = await runDueKind(kind, n, clockKind);
        own.push(r);
        say(`   ${kind.kind.padEnd(17)} ${clockKind.padEnd(5)} ${n.toLocaleString('en-US').padStart(9)} ${r.ran.toLocaleString('en-US').padStart(7)} ${`${(r.advanceMs / 1000).toFixed(2)} s`.padStart(9)} ${(r.advanceMs / r.ran).toFixed(3).padStart(8)} ${(r.cpuMs / r.ran).toFixed(3).padStart(12)}   (RSS ${r.rssMiB.toFixed(0)} MiB; setup ${(r.setupMs / 1000).toFixed(0)} s, not timed; load average ${r.loadAverage.toFixed(2)})`);
      }
      const [first, last] = [own[0]!, own[own.length - 1]!];
      if (own.length > 1) {
        const wall = (last.advanceMs / last.ran) / (first.advanceMs / first.ran);
        const cpu = (last.cpuMs / last.ran) / (first.cpuMs / first.ran);
        say(`   ${kind.kind.padEnd(17)} ${clockKind.padEnd(5)} cost per item at ${last.customers.toLocaleString('en-US')} / at ${first.customers.toLocaleString('en-US')}: ${(wall * 100).toFixed(0)}% by wall time, ${(cpu * 100).toFixed(0)}% by CPU time (flat: 100%)`);
      }
      results.push(...own);
    }
  }
  return results;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const sizes = (process.argv[2] ?? '1000,10000').split(',').map(Number);
  const names = process.argv[3] && process.argv[3] !== 'all' ? process.argv[3].split(',') : null;
  const clocks = (process.argv[4] ?? 'test').split(',') as DueClock[];
  await runDueKinds(sizes, names, (line) => console.log(line), clocks);
}
