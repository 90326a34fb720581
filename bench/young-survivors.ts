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
import { createApiKey } from '../src/engine/api-keys.ts';
import { buildServer } from '../src/server/app.ts';
import { openFixture } from './fixture.ts';
import { startClient } from './http.ts';
import type { LoadJob } from './load-client.ts';
import { cpuMsSince } from './stats.ts';

interface SampledNode {
  callFrame: { functionName: string; url: string; lineNumber: number };
  selfSize: number;
  children: SampledNode[];
}

const events = Number(process.env.BENCH_EVENTS ?? 60_000);
const perRequest = Number(process.env.BENCH_BATCH ?? 1000);
const clients = Number(process.env.BENCH_CLIENTS ?? 8);
const top = Number(process.argv[2] ?? 25);

const fixture = await openFixture('young-survivors', Number(process.env.BENCH_CUSTOMERS ?? 3000));
const app = await buildServer(fixture.engine, { adminKey: 'bench-admin-key' });
const { child, run } = startClient();
try {
  const created = await createApiKey(fixture.engine, { name: 'bench', scopes: ['ingest'] });
  if (!created.ok) throw new Error(created.error.message);
  const baseUrl = await app.listen({ port: 0, host: '127.0.0.1' });
  const job = (label: string, requests: number, seed: number): LoadJob => ({
    kind: 'events', label, baseUrl, apiKey: created.value.secret, customerIds: fixture.customerIds, eventsPerRequest: perRequest, clients,
    requestsMax: requests, timeLimitMs: 600_000, seed,
  });
  await run(job('warm', 20, 1));

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
  const report = await run(job('timed', Math.ceil(events / perRequest), 2));
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
  const sampled = await run(job('sampled', Math.ceil(events / perRequest), 3));
  const { profile } = await session.post('HeapProfiler.stopSampling');
  session.disconnect();
  const sampledEvents = sampled.statuses.accepted ?? 0;

  const self = new Map<string, number>();
  const inclusive = new Map<string, number>();
  const nameOf = (n: SampledNode): string => `${n.callFrame.functionName || '(anonymous)'} ${n.callFrame.url.replace(/.*\/(src|node_modules)\//, '$1/')}`;
  // Iterative, with each node's distinct functions on the stack (recursion counted once).
  const stack: { node: SampledNode; above: readonly string[] }[] = [{ node: profile.head as unknown as SampledNode, above: [] }];
  while (stack.length > 0) {
    const { node, above } = stack.pop()!;
    const name = nameOf(node);
    self.set(name, (self.get(name) ?? 0) + node.selfSize);
    const onStack = above.includes(name) ? above : [...above, name];
    for (const f of onStack) inclusive.set(f, (inclusive.get(f) ?? 0) + node.selfSize);
    for (const c of node.children) stack.push({ node: c, above: onStack });
  }
  const perEvent = (bytes: number): string => (bytes / sampledEvents).toFixed(0).padStart(7);
  const total = [...self.values()].reduce((a, b) => a + b, 0);
  console.log(`the same load again under the heap profiler: ${perEvent(total).trim()} bytes per event survived a young collection; by the function that allocated them:`);
  for (const [name, bytes] of [...self].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${perEvent(bytes)}  ${name}`);
  console.log("by Tally's functions on the stack:");
  for (const [name, bytes] of [...inclusive].filter(([n]) => n.includes(' src/')).sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${perEvent(bytes)}  ${name}`);
} finally {
  child.disconnect();
  await app.close();
  await fixture.close();
}
