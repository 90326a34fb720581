/**
 * Figure 4's floor alone: its phases (2,000 requests/s offered, 2 s of warm-up, 1 s of quiet, 5 s
 * measured, 32 sockets, the benchmark's load client) against the bare route of
 * `bare-server.ts`, `BENCH_ROUNDS` times (default 3), each round in a fresh server process:
 *
 *   npx tsx bench/authorize-floor.ts
 *
 * Prints each round's latency percentiles, the server's CPU per request (and its main thread's
 * time on a CPU and waiting for one), the client's, and the load average before and after: the
 * p99 this machine allows at figure 4's rate before any of Tally's work. `BENCH_PROFILE=<dir>` writes each round's main-thread
 * profile of the measured phase as `<dir>/bare-<round>.cpuprofile`.
 */
import os from 'node:os';
import { startBareServer } from './bare-server.ts';
import { authorizeAgainst, cpuProfileOptions, startClient } from './http.ts';
import { ms } from './stats.ts';

async function measureAlone(rounds: number): Promise<void> {
  const client = startClient();
  const dir = process.env.BENCH_PROFILE;
  try {
    const customerIds = Array.from({ length: 1000 }, (_, i) => `cus_${i}`);
    for (let round = 1; round <= rounds; round++) {
      const loadBefore = os.loadavg()[0]!;
      const { report, serverCpuMs, serverMainThread } = await authorizeAgainst(() => startBareServer(dir ? cpuProfileOptions(dir, `bare-${round}`) : []), client,
        { ratePerSecond: 2000, warmupMs: 2000, durationMs: 5000, sockets: 32 }, { apiKey: 'bench-key', customerIds, ...(dir ? { profile: { dir, name: `bare-${round}` } } : {}) });
      const l = report.latencyMs;
      console.log(`round ${round}: p50 ${ms(l.p50)} ms, p90 ${ms(l.p90)} ms, p99 ${ms(l.p99)} ms, max ${ms(l.max)} ms; server ${Math.round((serverCpuMs * 1000) / report.requests)} µs CPU per request (main thread ${Math.round((serverMainThread!.onCpuMs * 1000) / report.requests)} on a CPU, ${Math.round((serverMainThread!.waitingMs * 1000) / report.requests)} waiting for one), client ${Math.round((report.clientCpuMs * 1000) / report.requests)} µs; ${report.requests} answered, HTTP errors ${report.httpErrors}, all sockets busy ${report.late}; load average ${loadBefore.toFixed(2)} → ${os.loadavg()[0]!.toFixed(2)}`);
    }
  } finally {
    client.child.disconnect();
  }
}

await measureAlone(Number(process.env.BENCH_ROUNDS ?? 3));
