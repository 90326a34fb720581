/**
 * What a tick of the real-clock scheduler costs with nothing due, by the size of the population
 * (`npx tsx bench/idle-tick.ts [customers]`, default 20,000): every due-work kind listed once over
 * the real clock (`runDue` with `allDueWork`, as `startScheduler` runs it each second), ten ticks
 * timed, three times; wall and CPU milliseconds per tick.
 *
 * The customers are `bench/renewals.ts`'s (one subscription each, its allowance granted and its
 * invoice open), moved to the real clock by SQL, the time asked before any of them falls due.
 * `BENCH_IDLE_DEBTORS=1` puts every one of them in debt with no credits left (each grant's balance
 * zeroed and a `debt` row written, by SQL: the shape of a population that used more than it held,
 * overage off); `BENCH_IDLE_TOPUP=1` arms auto top-up for each, above its balance. Neither asks a
 * check, as the engine would not: nothing is due, and a tick should read nothing.
 */
import { openTempDatabase } from './fixture.ts';
import { populate } from './renewals.ts';
import { runDue } from '../src/engine/due-work.ts';
import { allDueWork } from '../src/engine/scheduled-work.ts';

const customers = Number(process.argv[2] ?? 20_000);
const temp = openTempDatabase('idle-tick');
try {
  const { engine } = await populate(temp.db, customers);
  await temp.db.run(`UPDATE customers SET test_clock_id = NULL`);
  for (const table of ['subscriptions', 'invoices', 'grants', 'holds']) {
    const columns = await temp.db.query<{ name: string }>(`PRAGMA table_info(${table})`);
    if (columns.some((c) => c.name === 'test_clock_id')) await temp.db.run(`UPDATE ${table} SET test_clock_id = NULL`);
  }
  if (process.env.BENCH_IDLE_DEBTORS === '1') {
    await temp.db.run(`UPDATE accounts SET balance = 0 WHERE code LIKE 'grant:%'`);
    await temp.db.run(`INSERT INTO accounts (customer_id, code, balance) SELECT id, 'debt', -1000 FROM customers`);
  }
  if (process.env.BENCH_IDLE_TOPUP === '1') {
    await temp.db.run(`UPDATE customers SET topup_threshold = 1000000, topup_credits = 100000000, topup_amount = 1000, topup_armed = 1`);
  }
  // Before the first period ends (a month after bench/renewals.ts's start): nothing is due.
  const upToMs = Date.parse('2026-01-02T00:00:00Z');
  for (let round = 0; round < 3; round++) {
    const cpu = process.cpuUsage();
    const started = performance.now();
    for (let i = 0; i < 10; i++) await runDue(engine, null, upToMs, { kinds: allDueWork });
    const used = process.cpuUsage(cpu);
    console.log(`${customers} real-clock customers: idle tick ${((performance.now() - started) / 10).toFixed(2)} ms wall, ${((used.user + used.system) / 10_000).toFixed(2)} ms CPU`);
  }
} finally {
  await temp.remove();
}
