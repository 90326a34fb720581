import { readdirSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { createApiKey } from '../src/engine/api-keys.ts';
import { createEngine } from '../src/engine/create-engine.ts';
import { IngestBatcher } from '../src/engine/ingest-batcher.ts';
import type { IngestResult } from '../src/engine/ingest-events.ts';
import { buildServer } from '../src/server/app.ts';
import type { Metrics } from '../src/server/metrics.ts';
import { cloneDatabase, openFixture } from './fixture.ts';
import { startClient } from './http.ts';
import type { LoadJob } from './load-client.ts';
import { machineBusyMs, mainThreadSchedMs, processCpuMs, statFields, ticksPerSecond } from './proc-stat.ts';
import { cpuMsSince } from './stats.ts';

/**
 * HTTP on a thread of its own, measured against the production server (docs/benchmark-rounds.md,
 * "Round 40"): the lever BENCHMARKS.md named for figure 3, "HTTP off the thread that writes".
 *
 *   npx tsx bench/http-edge.ts        # figure 3's shape: single events from 64 clients
 *   BENCH_PER_REQUEST=1000 BENCH_CLIENTS=8 BENCH_REQUESTS=100000 npx tsx bench/http-edge.ts   # figure 2's
 *
 * Each round runs both sides on a copy of the same starting database, each after 500 requests of
 * warm-up, the production side second:
 * - `edge`: a worker thread (`http-edge-worker.ts`) owns the listening socket, parses and
 *   validates each request with the production route's schema, and hands its events to this
 *   thread, which runs them through an `IngestBatcher` (group commit) as the production route
 *   does, and hands back the results; the thread serializes the reply. Messages go both ways
 *   gathered per turn of the event loop (`BENCH_EDGE_IMMEDIATE=1`: each at once). The API key is
 *   compared as a string on the edge where the production authenticator looks it up, and no
 *   metrics are kept, so this side does a little less than the production route;
 * - `production`: `buildServer` in this thread, as figure 3 measures it.
 * Prints events per second, the process's CPU per request, the groups committed a second and their
 * size, the CPU per request of each thread that took 3 µs or more (`main` is this thread; the
 * others by thread id: V8's helpers, the WAL checkpointer, the edge thread), the machine's busy
 * share, the load client's, and how long this thread waited for a core (/proc).
 *
 * `BENCH_MODES=production` (or `edge`) runs one side; `BENCH_CUSTOMERS`, `BENCH_ROUNDS`.
 */
const customers = Number(process.env.BENCH_CUSTOMERS ?? 1000);
const requests = Number(process.env.BENCH_REQUESTS ?? 40000);
const perRequest = Number(process.env.BENCH_PER_REQUEST ?? 1);
const clients = Number(process.env.BENCH_CLIENTS ?? 64);
const rounds = Number(process.env.BENCH_ROUNDS ?? 2);
const modes = (process.env.BENCH_MODES ?? 'edge,production').split(',');

function threadCpuMs(): Map<number, number> {
  const byThread = new Map<number, number>();
  for (const tid of readdirSync(`/proc/${process.pid}/task`)) {
    const f = statFields(process.pid, Number(tid));
    if (f) byThread.set(Number(tid), ((Number(f[11]) + Number(f[12])) * 1000) / ticksPerSecond);
  }
  return byThread;
}

function threadsPerRequest(before: Map<number, number>, requests: number): string {
  const out: string[] = [];
  for (const [tid, ms] of threadCpuMs()) {
    const us = ((ms - (before.get(tid) ?? 0)) * 1000) / requests;
    if (us >= 3) out.push(`${tid === process.pid ? 'main' : tid} ${us.toFixed(1)}`);
  }
  return out.join(', ');
}

const fixture = await openFixture('edge', customers);
const created = await createApiKey(fixture.engine, { name: 'bench', scopes: ['ingest'] });
if (!created.ok) throw new Error(created.error.message);
const apiKey = created.value.secret;
const client = startClient();
const job = (baseUrl: string, seed: number, requestsMax = Math.ceil(requests / perRequest)): LoadJob => ({
  kind: 'events', label: 'edge', baseUrl, apiKey, customerIds: fixture.customerIds, eventsPerRequest: perRequest, clients, requestsMax, timeLimitMs: 600_000, seed,
});

/** Groups the batcher committed (its `onGroup`), counted over the measured phase. */
const groups = { count: 0, events: 0 };

async function measure(side: string, url: string, seed: number, countGroups: () => Promise<{ count: number; sum: number }>): Promise<void> {
  await client.run(job(url, 100 + seed, 500));
  const groupsBefore = await countGroups();
  const cpu = process.cpuUsage();
  const threads = threadCpuMs();
  const busy = machineBusyMs();
  const clientCpu = processCpuMs(client.child.pid!);
  const waited = mainThreadSchedMs(process.pid).waitingMs;
  const report = await client.run(job(url, seed));
  const cpuMs = cpuMsSince(cpu);
  const machine = (machineBusyMs() - busy) / report.elapsedMs;
  const clientShare = (processCpuMs(client.child.pid!) - clientCpu) / report.elapsedMs;
  const mainWaited = (mainThreadSchedMs(process.pid).waitingMs - waited) / report.elapsedMs;
  const groupsAfter = await countGroups();
  const groupCount = groupsAfter.count - groupsBefore.count;
  const rate = (report.statuses.accepted ?? 0) / (report.elapsedMs / 1000);
  console.log(`${side}: ${rate.toFixed(0)} events/s, process CPU ${((cpuMs * 1000) / report.requests).toFixed(1)} µs/request ${JSON.stringify(report.statuses)}; ${(groupCount / (report.elapsedMs / 1000)).toFixed(0)} groups/s of ${((groupsAfter.sum - groupsBefore.sum) / groupCount).toFixed(1)} events`);
  console.log(`  by thread, µs/request: ${threadsPerRequest(threads, report.requests)}; machine busy ${(machine * 100).toFixed(0)}% of a core, load client ${(clientShare * 100).toFixed(0)}%, main thread waiting for a core ${(mainWaited * 100).toFixed(0)}% of the time`);
}

async function production(seed: number): Promise<void> {
  const copy = await cloneDatabase(fixture, `edge-production-${seed}`);
  const app = await buildServer(await createEngine(copy.db), { adminKey: 'bench-admin-key' });
  try {
    const histogram = (app as unknown as { metrics: Metrics }).metrics.ingestGroups;
    const countGroups = async () => {
      const values = (await histogram.get()).values;
      return { count: values.find((v) => v.metricName?.endsWith('_count'))!.value, sum: values.find((v) => v.metricName?.endsWith('_sum'))!.value };
    };
    await measure('production', await app.listen({ port: 0, host: '127.0.0.1' }), seed, countGroups);
  } finally {
    await app.close();
    await copy.remove();
  }
}

async function edge(seed: number): Promise<void> {
  const copy = await cloneDatabase(fixture, `edge-thread-${seed}`);
  const batcher = new IngestBatcher(await createEngine(copy.db), {}, {
    onGroup: (events) => {
      groups.count += 1;
      groups.events += events;
    },
  });
  const workerUrl = new URL('./http-edge-worker.ts', import.meta.url).href;
  // The thread loads TypeScript through tsx's API: a worker does not inherit tsx's loader.
  const worker = new Worker(`const { register } = await import('tsx/esm/api'); register(); await import(${JSON.stringify(workerUrl)});`, { eval: true, workerData: { apiKey } });
  let replies: [number, IngestResult[]][] = [];
  const url = await new Promise<string>((resolve, reject) => {
    worker.once('error', reject);
    worker.on('message', (message: { url: string } | [number, unknown[]][]) => {
      if (!Array.isArray(message)) return resolve(message.url);
      for (const [id, events] of message) {
        void batcher.submit(events).then((results) => {
          if (process.env.BENCH_EDGE_IMMEDIATE === '1') {
            worker.postMessage([[id, results]]);
            return;
          }
          if (replies.length === 0) {
            setImmediate(() => {
              worker.postMessage(replies);
              replies = [];
            });
          }
          replies.push([id, results]);
        });
      }
    });
  });
  try {
    await measure('edge', url, seed, async () => ({ count: groups.count, sum: groups.events }));
  } finally {
    await worker.terminate();
    await copy.remove();
  }
}

for (let round = 0; round < rounds; round++) {
  if (modes.includes('edge')) await edge(10 + round);
  if (modes.includes('production')) await production(10 + round);
}
client.child.disconnect();
await fixture.close();
