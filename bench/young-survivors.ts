/**
 * What outlives V8's young collections in figure 2's shape, and what those collections cost:
 *
 *   npx tsx bench/young-survivors.ts [top]
 *
 * The real server in this process, batches of usage events posted over loopback by the benchmark's
 * load client (a child process): `BENCH_EVENTS` (default 60,000) in requests of `BENCH_BATCH`
 * events (default 1000) from `BENCH_CLIENTS` clients (default 8) for `BENCH_CUSTOMERS` customers
 * (default 3,000), the load check's shape. During a timed phase it counts the server's garbage
 * collections (`perf_hooks`: each pause, young and full); then it runs the same load again and
 * samples the allocations under V8's heap profiler keeping what full collections freed but not what
 * young ones freed: what is left is what survived at least one young collection (copied, or moved
 * to the old generation). Prints the pauses per event, then the surviving bytes per event by the
 * function that allocated them and by Tally's functions on the stack. A young collection's pause grows with what survives it, and how
 * often one runs with what is allocated per event (`alloc-profile.ts`).
 */
import os from 'node:os';
import { Session } from 'node:inspector/promises';
import { PerformanceObserver, constants } from 'node:perf_hooks';
import { openFixture } from './fixture.ts';
import { bytesByFunction, printBytesByFunction } from './heap-sampling.ts';
import { startIngestServer } from './http.ts';
import { cpuMsSince } from './stats.ts';

const events = Number(process.env.BENCH_EVENTS ?? 60_000);
const perRequest = Number(process.env.BENCH_BATCH ?? 1000);
const clients = Number(process.env.BENCH_CLIENTS ?? 8);
const top = Number(process.argv[2] ?? 25);

const fixture = await openFixture('young-survivors', Number(process.env.BENCH_CUSTOMERS ?? 3000));
const server = await startIngestServer(fixture, { eventsPerRequest: perRequest, clients });
try {
  await server.batches('warm', 20, 1);

  // First the pauses, with nothing else watching; then the same load again under the profiler.
  const pauses = { young: { count: 0, ms: 0 }, full: { count: 0, ms: 0 } };
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      const kind = ((entry as PerformanceEntry & { detail?: { kind?: number } }).detail)?.kind;
      const bucket = kind === constants.NODE_PERFORMANCE_GC_MINOR ? pauses.young : kind === constants.NODE_PERFORMANCE_GC_MAJOR ? pauses.full : null;
      if (bucket === null) continue;
      bucket.count += 1;
      bucket.ms += entry.duration;
    }
  });
  observer.observe({ entryTypes: ['gc'] });
  const cpu = process.cpuUsage();
  const report = await server.batches('timed', Math.ceil(events / perRequest), 2);
  const serverCpuMs = cpuMsSince(cpu);
  // The observer is told of a collection after it, on a later turn: let the last ones arrive.
  await new Promise((resolve) => setTimeout(resolve, 100));
  observer.disconnect();
  const accepted = report.statuses.accepted ?? 0;
  const seconds = report.elapsedMs / 1000;
  const us = (ms: number): string => ((ms * 1000) / accepted).toFixed(1);
  console.log(`${accepted} events accepted in ${seconds.toFixed(2)} s, ${(accepted / seconds).toFixed(0)} events/s, server CPU ${us(serverCpuMs)} µs/event (load ${os.loadavg()[0]!.toFixed(2)})`);
  console.log(`young collections: ${pauses.young.count} (one per ${(accepted / Math.max(1, pauses.young.count)).toFixed(0)} events), ${pauses.young.ms.toFixed(0)} ms of pause, ${(pauses.young.ms / Math.max(1, pauses.young.count)).toFixed(2)} ms each, ${us(pauses.young.ms)} µs/event, ${((100 * pauses.young.ms) / report.elapsedMs).toFixed(1)}% of the phase`);
  console.log(`full collections: ${pauses.full.count}, ${pauses.full.ms.toFixed(0)} ms of pause, ${us(pauses.full.ms)} µs/event`);

  const session = new Session();
  session.connect();
  await session.post('HeapProfiler.enable');
  // Node 20's inspector types predate the two `include…` options; V8 reads them.
  await session.post('HeapProfiler.startSampling', { samplingInterval: 512, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: false } as never);
  const sampled = await server.batches('sampled', Math.ceil(events / perRequest), 3);
  const { profile } = await session.post('HeapProfiler.stopSampling');
  session.disconnect();
  const sampledEvents = sampled.statuses.accepted ?? 0;

  const sums = bytesByFunction(profile.head);
  printBytesByFunction(sums, sampledEvents, top,
    `the same load again under the heap profiler: ${(sums.total / sampledEvents).toFixed(0)} bytes per event survived a young collection; by the function that allocated them:`,
    "by Tally's functions on the stack:");
} finally {
  await server.close();
  await fixture.close();
}
