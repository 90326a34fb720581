/**
 * What ingestion's hot state (src/engine/hot-state.ts) holds in the heap per kept customer, part
 * by part:
 *
 *   node --expose-gc --import tsx bench/hot-state-memory.ts
 *
 * Builds the benchmark fixture with `BENCH_CUSTOMERS` customers (default 10,000; three grants
 * each, two meters), ingests `BENCH_BATCHES` batches of 1000 events (default 80) so that the hot
 * state fills, then empties it (as any other write would) and ingests the same number again, so
 * that what it keeps was read from the database, as after a restart. Then it lets go of the
 * running totals, the customers, the grants and the rest in turn, collecting garbage after each,
 * and prints what each freed per kept customer. `TALLY_HOT_CUSTOMERS` sets how many are kept
 * (engine/context.ts `hotCustomers`).
 */
import { defaultSettings } from '../src/engine/context.ts';
import { hotStateOf } from '../src/engine/hot-state.ts';
import { ingestEvents } from '../src/engine/ingest-events.ts';
import { EventSource } from './events.ts';
import { openFixture } from './fixture.ts';

const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error('Run with node --expose-gc.');
const customers = Number(process.env.BENCH_CUSTOMERS ?? 10_000);
const batches = Number(process.env.BENCH_BATCHES ?? 80);

const fixture = await openFixture('hot-state-memory', customers);
try {
  if (process.env.TALLY_HOT_CUSTOMERS !== undefined) fixture.engine.settings.hotCustomers = Number(process.env.TALLY_HOT_CUSTOMERS);
  const source = new EventSource('hot', fixture.customerIds);
  for (let b = 0; b < batches; b++) await ingestEvents(fixture.engine, source.batch(1000));
  const hot = hotStateOf(fixture.engine.store.db);
  if (hot === undefined) throw new Error('No hot state: ingestion kept nothing.');
  hot.clear();
  for (let b = 0; b < batches; b++) await ingestEvents(fixture.engine, source.batch(1000));

  const heapUsed = () => {
    gc();
    gc();
    return process.memoryUsage().heapUsed;
  };
  const kept = hot.state.size;
  console.log(`${customers} customers, ${kept} kept (at most ${fixture.engine.settings.hotCustomers}; default ${defaultSettings.hotCustomers}), ${hot.customers.size} references, ${hot.totalsKept} running totals`);
  let before = heapUsed();
  let all = 0;
  const free = (what: string, release: () => void) => {
    release();
    const after = heapUsed();
    all += before - after;
    console.log(`  ${what.padEnd(36)} ${Math.round((before - after) / kept)} B per kept customer`);
    before = after;
  };
  free('running totals (their map and lists)', () => hot.totals.clear());
  free('customer records (by reference)', () => hot.customers.clear());
  free('grants', () => {
    for (const own of hot.state.values()) own.grants = [];
  });
  free('the rest (timelines, the map)', () => hot.state.clear());
  console.log(`  ${'in all'.padEnd(36)} ${Math.round(all / kept)} B per kept customer, ${(all / 2 ** 20).toFixed(1)} MiB`);
} finally {
  await fixture.close();
}
