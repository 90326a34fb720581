/**
 * The writer thread (src/store/sqlite/writer-thread.ts) against writing on the request thread, in
 * process, alternated so that the machine's other load falls on both alike:
 *
 *   npx tsx bench/writer-thread-ab.ts [rounds]    (default 2)
 *
 * Each round runs both sides (`off` first in even rounds), each on a fresh fixture of
 * `BENCH_CUSTOMERS` customers (default 1,000, × 3 grants, two meters: bench/fixture.ts):
 * `BENCH_CLIENTS` clients (default 4) each sending batches of `BENCH_SIZE` events (default 500),
 * one after another, through the ingest batcher as the server does, until `BENCH_EVENTS` events
 * (default 150,000) are in, after 10 batches of warm-up. `BENCH_DIRECT=1` calls `ingestEvents`
 * from each client instead, with every call's writes deferred (`deferWrites`), to read the thread
 * without the batcher's grouping. Prints events per second and the process's CPU per event (all
 * threads) of each side, and the hot state's customer reads (from memory, from the database).
 */
import { IngestBatcher } from '../src/engine/ingest-batcher.ts';
import { ingestEvents } from '../src/engine/ingest-events.ts';
import { hotStateCounts } from '../src/engine/hot-state.ts';
import { EventSource } from './events.ts';
import { openFixture } from './fixture.ts';

const rounds = Number(process.argv[2] ?? 2);
const customers = Number(process.env.BENCH_CUSTOMERS ?? 1000);
const clients = Number(process.env.BENCH_CLIENTS ?? 4);
const size = Number(process.env.BENCH_SIZE ?? 500);
const total = Number(process.env.BENCH_EVENTS ?? 150_000);
const direct = process.env.BENCH_DIRECT === '1';

async function side(writerThread: boolean): Promise<string> {
  const fixture = await openFixture(writerThread ? 'writer-on' : 'writer-off', customers, { writerThread });
  try {
    const source = new EventSource('w', fixture.customerIds, 7);
    const batcher = new IngestBatcher(fixture.engine);
    const send = (events: unknown[]) => (direct ? ingestEvents(fixture.engine, events, { deferWrites: true }) : batcher.submit(events));
    for (let i = 0; i < 10; i++) await send(source.batch(size));
    let sent = 0;
    const started = performance.now();
    const cpu = process.cpuUsage();
    await Promise.all(Array.from({ length: clients }, async () => {
      while (sent < total) {
        sent += size;
        await send(source.batch(size));
      }
    }));
    const ms = performance.now() - started;
    const used = process.cpuUsage(cpu);
    const counts = hotStateCounts(fixture.engine.store.db);
    return `${Math.round((sent / ms) * 1000).toLocaleString('en-US')} events/s, ${((used.user + used.system) / sent).toFixed(1)} µs CPU/event; customers from memory ${counts.memory}, from the database ${counts.database}`;
  } finally {
    await fixture.close();
  }
}

console.log(`${customers} customers, ${clients} clients × batches of ${size}, ${total} events, ${direct ? 'ingestEvents directly' : 'through the batcher'}`);
for (let r = 0; r < rounds; r++) {
  for (const on of r % 2 === 0 ? [false, true] : [true, false]) {
    console.log(`round ${r + 1}, writer thread ${on ? 'on ' : 'off'}: ${await side(on)}`);
  }
}
