/**
 * The load client, node:http against the bare-socket client (load-client.ts), on one server:
 *
 *   npx tsx bench/client-ab.ts [bare|tally]   (BENCH_ROUNDS, default 6)
 *   BENCH_PHASE=single npx tsx bench/client-ab.ts tally
 *
 * `bare` (the default) is a Fastify server with nothing but the authorize route answering
 * `{"allowed":true}`: the reference of what any server costs per request on this machine. `tally`
 * is the real server on the benchmark fixture (1,000 customers). The server runs in this process;
 * two load clients (child processes, `BENCH_CLIENT=http` and the default) take turns offering
 * figure 4's authorize phase (2,000 requests/s, 32 sockets, 3 s), the client going first
 * alternating. Prints, per client, the medians over the rounds of the server's CPU per request,
 * the client's own CPU per request and the p99: a client change is told apart from a server one.
 * `BENCH_PHASE=single` (real server only) offers figure 3's phase instead: single events from 64
 * closed-loop clients for 3 s, and also prints the events answered per second.
 */
import Fastify from 'fastify';
import { createApiKey } from '../src/engine/api-keys.ts';
import { buildServer } from '../src/server/app.ts';
import { openFixture, type Fixture } from './fixture.ts';
import { startClient } from './http.ts';
import type { LoadJob, LoadReport } from './load-client.ts';
import { percentile } from './stats.ts';

const kind = process.argv[2] ?? 'bare';
const rounds = Number(process.env.BENCH_ROUNDS ?? 6);
const phaseMs = 3000;
const single = process.env.BENCH_PHASE === 'single';
if (single && kind !== 'tally') throw new Error('BENCH_PHASE=single needs the real server: npx tsx bench/client-ab.ts tally');

let fixture: Fixture | null = null;
let close: () => Promise<void>;
let baseUrl: string;
let apiKey = 'bench-key';
let customerIds = Array.from({ length: 1000 }, (_, i) => `cus_${i}`);
if (kind === 'tally') {
  fixture = await openFixture('client-ab', 1000);
  const app = await buildServer(fixture.engine, { adminKey: 'bench-admin-key' });
  const key = await createApiKey(fixture.engine, { name: 'bench', scopes: ['ingest'] });
  if (!key.ok) throw new Error(key.error.message);
  apiKey = key.value.secret;
  customerIds = fixture.customerIds;
  baseUrl = await app.listen({ port: 0, host: '127.0.0.1' });
  close = async () => {
    await app.close();
    await fixture!.close();
  };
} else {
  const app = Fastify();
  app.post('/v1/customers/:id/authorize', async () => ({ allowed: true }));
  baseUrl = await app.listen({ port: 0, host: '127.0.0.1' });
  close = () => app.close();
}

const clients: { label: string; run(job: LoadJob): Promise<LoadReport>; disconnect(): void; serverUs: number[]; clientUs: number[]; p99Ms: number[]; perSecond: number[] }[] = [];
for (const label of ['http', 'raw']) {
  process.env.BENCH_CLIENT = label;
  const client = startClient();
  clients.push({ label, run: client.run, disconnect: () => client.child.disconnect(), serverUs: [], clientUs: [], p99Ms: [], perSecond: [] });
}
delete process.env.BENCH_CLIENT;

const job = (seed: number): LoadJob => single
  ? { kind: 'events', label: `client-ab-${seed}`, baseUrl, apiKey, customerIds, eventsPerRequest: 1, clients: 64, requestsMax: 1_000_000, timeLimitMs: phaseMs, seed }
  : { kind: 'authorize', baseUrl, apiKey, customerIds, ratePerSecond: 2000, durationMs: phaseMs, sockets: 32, seed };
try {
  for (const client of clients) await client.run(job(1));
  for (let round = 0; round < rounds; round++) {
    for (const client of round % 2 === 0 ? clients : [...clients].reverse()) {
      const cpu = process.cpuUsage();
      const report = await client.run(job(10 + round));
      const used = process.cpuUsage(cpu);
      if (report.httpErrors > 0) throw new Error(`${client.label}: ${report.httpErrors} HTTP errors ${JSON.stringify(report.statuses)}`);
      client.serverUs.push((used.user + used.system) / report.requests);
      client.clientUs.push((report.clientCpuMs * 1000) / report.requests);
      client.p99Ms.push(report.latencyMs.p99);
      client.perSecond.push((report.requests * 1000) / report.elapsedMs);
    }
  }
  const median = (values: number[], digits: number) => {
    const sorted = [...values].sort((a, b) => a - b);
    return `${percentile(sorted, 0.5).toFixed(digits)} (${sorted[0]!.toFixed(digits)}–${sorted.at(-1)!.toFixed(digits)})`;
  };
  console.log(`${kind} server, ${single ? 'single events' : 'authorize'}, ${rounds} rounds, median (min–max):`);
  for (const client of clients) {
    console.log(`  client ${client.label}: server CPU ${median(client.serverUs, 0)} µs per request, client CPU ${median(client.clientUs, 0)} µs, p99 ${median(client.p99Ms, 2)} ms, ${median(client.perSecond, 0)} requests/s`);
  }
} finally {
  for (const client of clients) client.disconnect();
  await close();
}
