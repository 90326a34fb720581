/**
 * Where figure 5's rate goes as the ledger grows:
 *
 *   npx tsx bench/flat-cost-profile.ts
 *
 * One benchmark fixture (`BENCH_CUSTOMERS` customers, default 1,000, each with three grants, two
 * meters) grows through `BENCH_STEPS` ledger entries (default 0, 1,000,000 and 10,000,000), its
 * history written with figure 5's own bulk SQL (`preload` of flat-cost.ts). At each step, after
 * three untimed batches, `BENCH_BATCHES` batches of 1000 events (default 30) are ingested with
 * every SQL statement and COMMIT timed (`statement-times.ts`). Printed per step: the database's
 * size, events per second, the CPU per event of the whole process and of its main thread alone
 * (from /proc; the difference is the other threads': the WAL checkpointer, the WAL's sync on the
 * thread pool, V8's helpers), the page cache in effect, and the statements' wall time over the
 * step's events.
 */
import { ingestEvents } from '../src/engine/ingest-events.ts';
import { EventSource } from './events.ts';
import { openFixture } from './fixture.ts';
import { preload, withBulkCache } from './flat-cost.ts';
import { statFields, ticksPerSecond } from './proc-stat.ts';
import { timeStatements } from './statement-times.ts';

const customers = Number(process.env.BENCH_CUSTOMERS ?? 1000);
const steps = (process.env.BENCH_STEPS ?? '0,1000000,10000000').split(',').map(Number);
const batches = Number(process.env.BENCH_BATCHES ?? 30);
const batchSize = 1000;

/** This process's main thread: user and system CPU in ms (Linux, its task's stat). */
function mainThreadCpuMs(): { user: number; system: number } {
  const fields = statFields(process.pid, process.pid) ?? [];
  return { user: (Number(fields[11]) * 1000) / ticksPerSecond, system: (Number(fields[12]) * 1000) / ticksPerSecond };
}

const fixture = await openFixture('flat-cost-profile', customers);
try {
  let historyEvents = 0;
  for (const entries of steps) {
    if (entries > 0) {
      historyEvents = await withBulkCache(fixture.db, () => preload(fixture.db, fixture.customerIds, historyEvents, Math.floor(entries / 3), Number.POSITIVE_INFINITY));
    }
    const source = new EventSource(`flat-profile-${entries}`, fixture.customerIds, 11);
    for (let w = 0; w < 3; w++) await ingestEvents(fixture.engine, source.batch(batchSize));
    const cache = (await fixture.db.query<{ cache_size: bigint }>('PRAGMA cache_size'))[0]!.cache_size;
    const statements = timeStatements(fixture.db);
    const work = Array.from({ length: batches }, () => source.batch(batchSize));
    const events = batches * batchSize;
    const cpu = process.cpuUsage();
    const main = mainThreadCpuMs();
    const started = performance.now();
    for (const batch of work) await ingestEvents(fixture.engine, batch);
    const ms = performance.now() - started;
    const used = process.cpuUsage(cpu);
    const mainAfter = mainThreadCpuMs();
    const size = (await fixture.db.query<{ n: bigint }>('SELECT page_count * page_size AS n FROM pragma_page_count(), pragma_page_size()'))[0]!.n;
    const perEvent = (ms: number) => ((ms * 1000) / events).toFixed(1);
    console.log(`${entries.toLocaleString('en-US')} entries of history (database ${(Number(size) / 2 ** 20).toFixed(0)} MiB, page cache ${cache} as set by PRAGMA): ` +
      `${Math.round((events / ms) * 1000).toLocaleString('en-US')} events/s, wall ${perEvent(ms)} µs per event; ` +
      `CPU per event: process user ${perEvent(used.user / 1000)} + system ${perEvent(used.system / 1000)} µs, ` +
      `main thread user ${perEvent(mainAfter.user - main.user)} + system ${perEvent(mainAfter.system - main.system)} µs`);
    for (const line of statements().slice(0, 8)) console.log(`   ${line}`);
  }
} finally {
  await fixture.close();
}
