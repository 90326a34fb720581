/**
 * What figure 1's loop allocates per event, by function (`npx tsx bench/alloc-profile.ts`):
 *
 * Builds the benchmark fixture (`BENCH_CUSTOMERS` customers, default 1,000, × 3 grants, two
 * meters), ingests 2 warm-up batches, then `BENCH_EVENTS` events (default 20,000) in batches of
 * 1000 under V8's sampling heap profiler with the objects young and full collections freed
 * included (every 512 bytes on average), and prints the bytes allocated per event in all, then
 * by the function that allocated them (self) and by the functions of Tally's sources on the
 * stack (inclusive), the `top` largest of each (default 30). Sampled: a function's figure moves
 * by a few percent between runs; the total is steady to about 1%. What a young collection costs
 * grows with how often one runs, which is what is allocated per event, and with what is alive
 * when it runs ("Round 25" in docs/benchmark-rounds.md).
 */
import { Session } from 'node:inspector/promises';
import { ingestEvents } from '../src/engine/ingest-events.ts';
import { EventSource } from './events.ts';
import { openFixture } from './fixture.ts';
import { bytesByFunction, printBytesByFunction } from './heap-sampling.ts';

const events = Number(process.env.BENCH_EVENTS ?? 20_000);
const top = Number(process.argv[2] ?? 30);
const fixture = await openFixture('alloc-profile', Number(process.env.BENCH_CUSTOMERS ?? 1000));
const source = new EventSource('ap', fixture.customerIds, 7);
const batches = Array.from({ length: events / 1000 + 2 }, () => source.batch(1000));
for (const b of batches.slice(0, 2)) await ingestEvents(fixture.engine, b);

const session = new Session();
session.connect();
await session.post('HeapProfiler.enable');
// The two `include…` options keep what collections freed, so the profile is what was allocated, not what survived.
// (Node 20's inspector types predate them; V8 reads them.)
const sampling = { samplingInterval: 512, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true };
await session.post('HeapProfiler.startSampling', sampling);
for (const b of batches.slice(2)) await ingestEvents(fixture.engine, b);
const { profile } = await session.post('HeapProfiler.stopSampling');
session.disconnect();

const sums = bytesByFunction(profile.head);
console.log(`${events} events, ${fixture.customerIds.length} customers: ${(sums.total / events).toFixed(0)} bytes allocated per event`);
printBytesByFunction(sums, events, top, 'by the function that allocated (bytes per event):', "by Tally's functions on the stack (bytes per event):");
await fixture.close();
