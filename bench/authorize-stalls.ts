/**
 * What stalls the server during figure 4: the real server in this process answering authorize at
 * a fixed rate from the benchmark's load client (a child process), with the event loop's delay and
 * every garbage collection pause recorded over the phase:
 *
 *   npx tsx bench/authorize-stalls.ts
 *
 * `BENCH_RATE` (default 2000) requests per second for `BENCH_SECONDS` (default 5). Prints the
 * client's latency percentiles beside the loop's delay percentiles, the GC pauses by kind, and the
 * CPU of this process (server and checkpointer threads) per request.
 */
import os from 'node:os';
import { monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';
import { createApiKey } from '../src/engine/api-keys.ts';
import { buildServer } from '../src/server/app.ts';
import { openFixture } from './fixture.ts';
import { startClient } from './http.ts';
import type { LoadJob } from './load-client.ts';
import { cpuMsSince } from './stats.ts';

const rate = Number(process.env.BENCH_RATE ?? 2000);
const seconds = Number(process.env.BENCH_SECONDS ?? 5);
const fixture = await openFixture('authorize-stalls', 1000);
const app = await buildServer(fixture.engine, { adminKey: 'bench-admin-key' });
const { child, run } = startClient();
try {
  const created = await createApiKey(fixture.engine, { name: 'bench', scopes: ['ingest', 'read'] });
  if (!created.ok) throw new Error(created.error.message);
  const baseUrl = await app.listen({ port: 0, host: '127.0.0.1' });
  const job = (durationMs: number, seed: number): LoadJob => ({
    kind: 'authorize', baseUrl, apiKey: created.value.secret, customerIds: fixture.customerIds, ratePerSecond: rate, durationMs, sockets: 32, seed,
  });
  await run(job(2000, 1));
  const pauses = new Map<string, number[]>();
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      const kind = String((entry as unknown as { detail?: { kind?: number } }).detail?.kind ?? entry.name);
      const list = pauses.get(kind) ?? [];
      list.push(entry.duration);
      pauses.set(kind, list);
    }
  });
  observer.observe({ entryTypes: ['gc'] });
  const delay = monitorEventLoopDelay({ resolution: 1 });
  delay.enable();
  const cpu = process.cpuUsage();
  const report = await run(job(seconds * 1000, 2));
  const cpuMs = cpuMsSince(cpu);
  delay.disable();
  observer.disconnect();
  const ms = (ns: number) => (ns / 1e6).toFixed(2);
  console.log(`client: ${report.requests} answered, p50 ${report.latencyMs.p50.toFixed(2)} ms, p90 ${report.latencyMs.p90.toFixed(2)}, p99 ${report.latencyMs.p99.toFixed(2)}, max ${report.latencyMs.max.toFixed(1)}; all sockets busy ${JSON.stringify((report as { late?: number }).late)}`);
  console.log(`event loop delay: p50 ${ms(delay.percentile(50))} ms, p99 ${ms(delay.percentile(99))}, max ${ms(delay.max)}`);
  for (const [kind, list] of pauses) {
    list.sort((a, b) => a - b);
    console.log(`gc kind ${kind}: ${list.length} pauses, total ${list.reduce((a, b) => a + b, 0).toFixed(1)} ms, max ${list.at(-1)!.toFixed(2)} ms`);
  }
  console.log(`server process CPU ${((cpuMs * 1000) / report.requests).toFixed(0)} µs per request; load ${os.loadavg()[0]!.toFixed(2)}`);
} finally {
  child.disconnect();
  await app.close();
  await fixture.close();
}
