/**
 * The PostgreSQL figures of PRODUCT §13, each beside a naive baseline measured in the same run:
 *
 *   1. in-process batched ingest (`ingestEvents`, batches of 500) with 1, and then several,
 *      batches in flight over a pool of connections, on disjoint and on overlapping customers;
 *   2. single-event HTTP requests from 64 concurrent clients against one and against two real
 *      `tally serve` processes on the same database (each with its group commit);
 *   3. the baseline: one transaction per event that row-locks the customer, 64 workers.
 *
 * It starts its own throwaway PostgreSQL (fsync on, synchronous_commit on: durable acks) and gives
 * each measurement a fresh copy of one seeded template database. Every loop is bounded by a count
 * and a time limit; child processes are killed and PostgreSQL stopped on the way out.
 *
 * A diagnostic row sends each customer to one server only, to show what cross-process customer
 * locks cost. `runPostgresBench({ quick })` returns the report lines; run directly
 * (`npx tsx bench/postgres.ts`, `BENCH_QUICK=1` for small counts) it prints them.
 * `BENCH_PG_IN_FLIGHT=8` changes how many batches are in flight at once (default 4).
 */
import { fork, type ChildProcess } from 'node:child_process';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { createApiKey } from '../src/engine/api-keys.ts';
import { createEngine } from '../src/engine/create-engine.ts';
import { ingestEvents } from '../src/engine/ingest-events.ts';
import { openPostgresDatabase } from '../src/store/postgres/postgres-database.ts';
import { startPostgres, type PostgresServer } from '../test/support/postgres-server.ts';
import { freePort, ServerProcess } from '../test/support/server-processes.ts';
import { EventSource } from './events.ts';
import type { LoadJob, LoadReport } from './load-client.ts';
import { loadClientName } from './load-client-name.ts';
import { within } from './deadline.ts';
import { buildTemplate, checkLedger, databaseFromTemplate, describeCheck, PgCluster } from './postgres-fixture.ts';
import { runNaive, type NaiveResult } from './postgres-naive.ts';
import { ActivitySampler, cpuSnapshot, describeCpu, postmasterPid, type CpuReport } from './postgres-probe.ts';
import { ms, rate } from './stats.ts';

export interface PostgresBenchOptions {
  quick: boolean;
}

/** Batches in flight at once for the concurrent batched figures (`BENCH_PG_IN_FLIGHT`, default 4). */
const inFlight = Math.max(2, Number(process.env.BENCH_PG_IN_FLIGHT ?? 4) || 4);

const sizes = (quick: boolean) => quick
  ? {
    customers: 500,
    naive: { workers: 64, events: 10_000, timeLimitMs: 4_000 },
    batched: { batchSize: 500, events: 20_000, timeLimitMs: 5_000, inFlight },
    http: { clients: 64, requests: 40_000, timeLimitMs: 4_000, warmupRequests: 500 },
  }
  : {
    customers: 500,
    naive: { workers: 64, events: 40_000, timeLimitMs: 12_000 },
    batched: { batchSize: 500, events: 100_000, timeLimitMs: 25_000, inFlight },
    http: { clients: 64, requests: 300_000, timeLimitMs: 15_000, warmupRequests: 2_000 },
  };

/**
 * Hang guards (bench/deadline.ts) on every step, beyond its own time limit: a copy of the template
 * database, warm-up, the ledger check and the drop; for HTTP also two server start-ups (each may
 * take a while on a loaded machine) and the warm-up requests.
 */
const startLimitMs = 180_000;
const seedLimitMs = 600_000;
const phaseOverheadMs = 180_000;
const httpOverheadMs = 360_000;
const stopLimitMs = 90_000;

const adminKey = 'bench-postgres-admin-key';
const cores = os.cpus().length;

interface Figure {
  name: string;
  value: number;
  target: string;
  met?: boolean;
}

interface BatchedResult {
  accepted: number;
  statuses: Record<string, number>;
  errors: number;
  firstError?: string;
  elapsedMs: number;
  rate: number;
  batchLatencyMs: { p50: number; p99: number };
  cpu: CpuReport;
  sessions: string;
  check: string;
}

export interface HttpResult {
  accepted: number;
  statuses: Record<string, number>;
  httpErrors: number;
  requests: number;
  elapsedMs: number;
  rate: number;
  latency: string;
  cpu: CpuReport;
  sessions: string;
  check: string;
}

/** Everything started here, so that an interrupted run still cleans up. */
const children = new Set<ChildProcess>();
function killChildren(): void {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
}

export async function runPostgresBench(options: PostgresBenchOptions): Promise<string[]> {
  const size = sizes(options.quick);
  const lines: string[] = [];
  const say = (line = ''): void => {
    lines.push(line);
  };
  const progress = (line: string): void => {
    process.stderr.write(`   [postgres] ${line}\n`);
  };
  const startedAt = performance.now();

  // An interrupt runs the exit handlers (this file's, startPostgres's and ServerProcess's), which
  // kill the server processes and the load generator and stop PostgreSQL.
  const onSignal = (): void => process.exit(130);
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  process.on('exit', killChildren);

  let server: PostgresServer | undefined;
  try {
    progress('starting PostgreSQL…');
    server = await within('starting PostgreSQL', startLimitMs, startPostgres());
    const cluster = new PgCluster(server.url);
    const version = (await cluster.admin<{ v: string }>("SELECT current_setting('server_version') AS v"))[0]?.v ?? '?';
    const settings = (await cluster.admin<{ name: string; setting: string }>(
      `SELECT name, current_setting(name) AS setting FROM pg_settings WHERE name IN ('fsync', 'synchronous_commit', 'shared_buffers', 'wal_level', 'commit_delay')`))
      .map((r) => `${r.name}=${r.setting}`).join(', ');
    const pgPid = await postmasterPid(server.url);

    progress(`seeding the template database (${size.customers} customers × 3 grants, 2 meters)…`);
    const template = `bench_template_${process.pid}`;
    const t0 = performance.now();
    const customerIds = await within('seeding the template database', seedLimitMs, buildTemplate(cluster, template, size.customers, 8));
    const seedMs = performance.now() - t0;

    say(`PostgreSQL ${version} (throwaway cluster on a temp dir, started by the bench): ${settings}; every measurement on a fresh copy of one seeded database (seeded in ${(seedMs / 1000).toFixed(1)} s)`);
    say(`${cores} cores (${os.cpus()[0]?.model ?? 'unknown'}): the load generator, the server process(es) and PostgreSQL all share them, so every figure is a lower bound of what separate machines would give.`);
    say(`${size.customers} customers × 3 grants, each event rated by a per-unit and a graduated meter and deducted in the transaction that stores it.${options.quick ? ' BENCH_QUICK: small counts, figures are indicative only.' : ''}`);
    say(`Machine before the PostgreSQL part: load average ${os.loadavg().map((n) => n.toFixed(2)).slice(0, 2).join(' (1 min), ')} (5 min)`);
    say();

    // 3. The naive baseline first: everything else is shown against it.
    progress(`naive baseline: one row-locked transaction per event, ${size.naive.workers} workers…`);
    const naive = await within('the naive baseline', size.naive.timeLimitMs + phaseOverheadMs,
      measureNaive(cluster, template, customerIds, size.naive, pgPid));

    // 1. In-process batched ingest.
    const b = size.batched;
    progress(`batched in-process, 1 batch in flight…`);
    const batchedLimitMs = b.timeLimitMs + phaseOverheadMs;
    const serial = await within('batched, 1 in flight', batchedLimitMs, measureBatched(cluster, template, customerIds, { ...b, inFlight: 1, disjoint: true, label: 'b1' }, pgPid));
    progress(`batched in-process, ${b.inFlight} batches in flight on disjoint customers…`);
    const disjoint = await within('batched, disjoint', batchedLimitMs, measureBatched(cluster, template, customerIds, { ...b, disjoint: true, label: 'bdis' }, pgPid));
    progress(`batched in-process, ${b.inFlight} batches in flight on overlapping customers…`);
    const overlapping = await within('batched, overlapping', batchedLimitMs, measureBatched(cluster, template, customerIds, { ...b, disjoint: false, label: 'bovl' }, pgPid));

    // 2. Single-event HTTP, one and two server processes.
    progress(`HTTP single events, ${size.http.clients} clients, 1 server process…`);
    const httpLimitMs = size.http.timeLimitMs + httpOverheadMs;
    const http1 = await within('HTTP, 1 server', httpLimitMs, measureHttp(cluster, template, customerIds, { ...size.http, instances: 1 }, pgPid));
    progress(`HTTP single events, ${size.http.clients} clients, 2 server processes…`);
    const http2 = await within('HTTP, 2 servers', httpLimitMs, measureHttp(cluster, template, customerIds, { ...size.http, instances: 2 }, pgPid));
    progress(`HTTP single events, ${size.http.clients} clients, 2 server processes, each customer's events sent to one process…`);
    const http2routed = await within('HTTP, 2 servers, routed', httpLimitMs, measureHttp(cluster, template, customerIds, { ...size.http, instances: 2, routed: true }, pgPid));

    const figures: Figure[] = [
      { name: 'batched, 1 batch in flight', value: serial.rate, target: '' },
      { name: `batched, ${b.inFlight} in flight, disjoint customers`, value: disjoint.rate, target: '≥ 20,000', met: disjoint.rate >= 20_000 },
      { name: `batched, ${b.inFlight} in flight, overlapping`, value: overlapping.rate, target: '≥ 20,000', met: overlapping.rate >= 20_000 },
      { name: 'HTTP single-event, 1 server', value: http1.rate, target: '' },
      { name: 'HTTP single-event, 2 servers', value: http2.rate, target: '≥ 5,000', met: http2.rate >= 5_000 },
      { name: 'HTTP single-event, 2 servers, routed', value: http2routed.rate, target: '(diagnostic)' },
    ];
    say(`PostgreSQL figures (events/s), each against the naive baseline measured in this run (one row-locked transaction per event, ${size.naive.workers} workers)`);
    const header = `   ${'figure'.padEnd(40)} ${'value'.padStart(9)} ${'baseline'.padStart(9)} ${'ratio'.padStart(7)}   target`;
    say(header);
    for (const f of figures) {
      const target = f.met === undefined ? f.target : `${f.target}: ${f.met ? 'met' : 'NOT met'}`;
      say(`   ${f.name.padEnd(40)} ${rate(f.value).padStart(9)} ${rate(naive.rate).padStart(9)} ${`${(f.value / naive.rate).toFixed(1)}×`.padStart(7)}   ${target}`);
    }
    say(`   ${'naive baseline (row-per-transaction)'.padEnd(40)} ${rate(naive.rate).padStart(9)} ${''.padStart(9)} ${''.padStart(7)}   PRODUCT: such a design manages < 1,000: ${naive.rate < 1000 ? 'so here' : `not so here (${rate(naive.rate)})`}`);
    const busiest = Math.max(...[naive, serial, disjoint, overlapping, http1, http2, http2routed].map((r) => r.cpu.elsewhereCores));
    if (busiest > 0.15) {
      say(`   WARNING: processes outside this benchmark used up to ${busiest.toFixed(2)} of the ${cores} cores during a measurement: these figures are depressed; rerun on a quiet machine.`);
    } else say(`   Other processes on the machine used at most ${busiest.toFixed(2)} cores during any measurement.`);
    say();

    say(`Baseline: one transaction per event (BEGIN, SELECT customer FOR UPDATE, read grants + balances, read meter totals, 6 INSERT/UPSERTs, COMMIT), ${size.naive.workers} workers, plain pg`);
    say(`   ${rate(naive.accepted)} events in ${(naive.elapsedMs / 1000).toFixed(1)} s, errors ${naive.errors}${naive.firstError ? ` (first: ${naive.firstError})` : ''}; latency p50 ${ms(naive.latencyMs.p50)} ms, p99 ${ms(naive.latencyMs.p99)} ms`);
    say(`   ${naive.cpu.text}`);
    say(`   ${naive.sessions}`);
    say(`   ${naive.check}`);
    for (const [label, r] of [['1 batch in flight', serial], [`${b.inFlight} in flight, disjoint customer sets (~${Math.round(size.customers / b.inFlight)} customers each)`, disjoint],
      [`${b.inFlight} in flight, each over all ${size.customers} customers`, overlapping]] as const) {
      say(`Batched in-process (ingestEvents, batches of ${b.batchSize}), ${label}: pool of ${label.startsWith('1 ') ? 2 : b.inFlight + 1} connections`);
      say(`   ${rate(r.accepted)} accepted in ${(r.elapsedMs / 1000).toFixed(1)} s ${JSON.stringify(r.statuses)}, errors ${r.errors}${r.firstError ? ` (first: ${r.firstError})` : ''}; per batch p50 ${ms(r.batchLatencyMs.p50)} ms, p99 ${ms(r.batchLatencyMs.p99)} ms`);
      say(`   ${r.cpu.text}`);
      say(`   ${r.sessions}`);
      say(`   ${r.check}`);
    }
    for (const [label, r] of [['1 server process', http1], ['2 server processes on one database', http2],
      ['2 server processes, each customer routed to one of them (a diagnostic: no customer lock is ever contended across processes)', http2routed]] as const) {
      say(`HTTP single-event requests, ${size.http.clients} keep-alive clients (${loadClientName()}, one load-generator process), ${label}; group commit in each process, pool of 20`);
      say(`   ${rate(r.accepted)} accepted of ${rate(r.requests)} requests in ${(r.elapsedMs / 1000).toFixed(1)} s ${JSON.stringify(r.statuses)}, HTTP errors ${r.httpErrors}; ${r.latency}`);
      say(`   ${r.cpu.text}`);
      say(`   ${r.sessions}`);
      say(`   ${r.check}`);
    }
    say(`PostgreSQL part finished in ${((performance.now() - startedAt) / 1000).toFixed(0)} s; load average now ${os.loadavg()[0]!.toFixed(2)}.`);
    return lines;
  } finally {
    killChildren();
    if (server) await within('stopping PostgreSQL', stopLimitMs, server.stop());
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
    process.removeListener('exit', killChildren);
  }
}

async function measureNaive(cluster: PgCluster, template: string, customerIds: string[], options: { workers: number; events: number; timeLimitMs: number }, pgPid: number | undefined): Promise<NaiveResult & { cpu: CpuReport; sessions: string; check: string }> {
  const database = await databaseFromTemplate(cluster, template, 'naive');
  try {
    const sampler = new ActivitySampler(cluster.adminUrl, [database.name]);
    await sampler.start();
    const before = cpuSnapshot(pgPid);
    const result = await runNaive(database.url, customerIds, options);
    const after = cpuSnapshot(pgPid);
    const sessions = await sampler.stop();
    const check = describeCheck(await checkLedger(database.url), result.accepted);
    return { ...result, cpu: describeCpu(before, after, 'bench process', cores, result.accepted), sessions, check };
  } finally {
    await database.drop();
  }
}

async function measureBatched(
  cluster: PgCluster,
  template: string,
  customerIds: string[],
  options: { batchSize: number; events: number; timeLimitMs: number; inFlight: number; disjoint: boolean; label: string },
  pgPid: number | undefined,
): Promise<BatchedResult> {
  const database = await databaseFromTemplate(cluster, template, options.label);
  const db = await openPostgresDatabase(database.url, { max: options.inFlight + 1 });
  try {
    const engine = await createEngine(db);
    const groups = Array.from({ length: options.inFlight }, (_, w) =>
      options.disjoint ? customerIds.filter((_, i) => i % options.inFlight === w) : customerIds);
    const sources = groups.map((group, w) => new EventSource(`${options.label}-${process.pid}-w${w}`, group, 100 + w));
    const perWorker = Math.ceil(options.events / options.batchSize / options.inFlight);
    // Two untimed batches per worker warm the JIT, the connections and the statement cache.
    let acknowledged = 0;
    await Promise.all(sources.map(async (s) => {
      for (let i = 0; i < 2; i++) {
        const results = await ingestEvents(engine, s.batch(options.batchSize));
        acknowledged += results.filter((r) => r.status === 'accepted').length;
      }
    }));
    const batches = sources.map((s) => Array.from({ length: perWorker }, () => s.batch(options.batchSize)));

    const statuses: Record<string, number> = {};
    const latencies: number[] = [];
    let errors = 0;
    let firstError: string | undefined;
    let accepted = 0;
    const sampler = new ActivitySampler(cluster.adminUrl, [database.name]);
    await sampler.start();
    const before = cpuSnapshot(pgPid);
    const started = performance.now();
    const deadline = started + options.timeLimitMs;
    await Promise.all(batches.map(async (list) => {
      for (const batch of list) {
        if (performance.now() >= deadline) break;
        const t0 = performance.now();
        try {
          const results = await ingestEvents(engine, batch);
          latencies.push(performance.now() - t0);
          for (const r of results) {
            statuses[r.status] = (statuses[r.status] ?? 0) + 1;
            if (r.status === 'accepted') accepted++;
          }
        } catch (error) {
          errors++;
          firstError ??= `${(error as { code?: string }).code ?? ''} ${(error as Error).message}`.trim();
        }
      }
    }));
    const elapsedMs = performance.now() - started;
    const after = cpuSnapshot(pgPid);
    const sessions = await sampler.stop();
    latencies.sort((a, b) => a - b);
    const check = describeCheck(await checkLedger(database.url), acknowledged + accepted);
    return {
      accepted, statuses, errors, firstError, elapsedMs, rate: accepted / (elapsedMs / 1000),
      batchLatencyMs: { p50: latencies[Math.floor(latencies.length / 2)] ?? 0, p99: latencies[Math.max(0, Math.ceil(latencies.length * 0.99) - 1)] ?? 0 },
      cpu: describeCpu(before, after, 'bench process (engine)', cores, accepted), sessions, check,
    };
  } finally {
    await db.close();
    await database.drop();
  }
}

/** The HTTP load generator (bench/load-client.ts) in a child process; several jobs may run at once. */
function startLoadClient(): { child: ChildProcess; run(jobs: LoadJob[], timeoutMs: number): Promise<LoadReport[]> } {
  const child = fork(fileURLToPath(new URL('./load-client.ts', import.meta.url)), [], { execArgv: process.execArgv, stdio: 'inherit' });
  children.add(child);
  child.once('exit', () => children.delete(child));
  return {
    child,
    run(jobs, timeoutMs) {
      return new Promise((resolve, reject) => {
        const reports: LoadReport[] = [];
        const done = (error?: Error): void => {
          clearTimeout(timer);
          child.removeListener('message', onMessage);
          child.removeListener('exit', onExit);
          if (error) reject(error);
          else resolve(reports);
        };
        const onMessage = (message: { ok: boolean; report?: LoadReport; error?: string }): void => {
          if (!message.ok) return done(new Error(`load client failed: ${message.error}`));
          reports.push(message.report!);
          if (reports.length === jobs.length) done();
        };
        const onExit = (): void => done(new Error('the load client exited'));
        const timer = setTimeout(() => done(new Error(`the load client did not finish within ${timeoutMs} ms`)), timeoutMs);
        child.on('message', onMessage);
        child.once('exit', onExit);
        for (const job of jobs) child.send(job);
      });
    },
  };
}

async function distinctFreePorts(count: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < count) ports.add(await freePort());
  return [...ports];
}

/** Part 2's measurement, exported for bench/postgres-http-ab.ts; `checkout` runs the servers of another checkout. */
export async function measureHttp(
  cluster: PgCluster,
  template: string,
  customerIds: string[],
  options: { clients: number; requests: number; timeLimitMs: number; warmupRequests: number; instances: number; routed?: boolean; checkout?: string },
  pgPid: number | undefined,
): Promise<HttpResult> {
  const database = await databaseFromTemplate(cluster, template, `http${options.instances}${options.routed ? 'r' : ''}`);
  const servers: ServerProcess[] = [];
  let client: ReturnType<typeof startLoadClient> | undefined;
  try {
    // An ingest-scope key, as a production client would use (the server caches its lookup).
    const db = await openPostgresDatabase(database.url, { max: 1 });
    let apiKey: string;
    try {
      const created = await createApiKey(await createEngine(db), { name: 'bench', scopes: ['ingest'] });
      if (!created.ok) throw new Error(created.error.message);
      apiKey = created.value.secret;
    } finally {
      await db.close();
    }
    const ports = await distinctFreePorts(options.instances);
    // The per-key rate limit (1,000 requests a second per instance by default) is off: this
    // measures what the servers sustain, and the one benchmark key would otherwise be refused with 429.
    const started = await Promise.allSettled(ports.map((port) => ServerProcess.start({ port, databaseUrl: database.url, adminKey, env: { TALLY_RATE_LIMIT_MAX: '0' }, ...(options.checkout ? { cwd: options.checkout } : {}) })));
    for (const s of started) if (s.status === 'fulfilled') servers.push(s.value);
    const failed = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failed) throw failed.reason;
    client = startLoadClient();

    // Routed: server i gets the events of every customer whose index ≡ i (mod servers), as a
    // load balancer hashing on the customer would send them.
    const customersOf = (i: number): string[] => options.routed ? customerIds.filter((_, k) => k % servers.length === i) : customerIds;
    const jobs = (label: string, clients: number, requests: number, timeLimitMs: number, seed: number): LoadJob[] => servers.map((s, i) => ({
      kind: 'events', label: `${label}-s${i}`, baseUrl: s.baseUrl, apiKey, customerIds: customersOf(i), eventsPerRequest: 1,
      clients: Math.max(1, Math.floor(clients / servers.length)), requestsMax: Math.ceil(requests / servers.length), timeLimitMs, seed: seed + i,
    }));
    const tag = `${options.instances}${options.routed ? 'r' : ''}`;
    const warm = await client.run(jobs(`warm${tag}`, 16, options.warmupRequests, 5_000, 10), 60_000);
    const warmAccepted = warm.reduce((n, r) => n + (r.statuses.accepted ?? 0), 0);

    const pids: Record<string, number | undefined> = { 'load generator': client.child.pid };
    servers.forEach((s, i) => { pids[servers.length === 1 ? 'server' : `server ${i + 1}`] = s.pid; });
    const sampler = new ActivitySampler(cluster.adminUrl, [database.name]);
    await sampler.start();
    const before = cpuSnapshot(pgPid, pids);
    const reports = await client.run(jobs(`single${tag}`, options.clients, options.requests, options.timeLimitMs, 20), options.timeLimitMs + 60_000);
    const after = cpuSnapshot(pgPid, pids);
    const sessions = await sampler.stop();

    const statuses: Record<string, number> = {};
    for (const r of reports) for (const [k, n] of Object.entries(r.statuses)) statuses[k] = (statuses[k] ?? 0) + n;
    const accepted = statuses.accepted ?? 0;
    const elapsedMs = Math.max(...reports.map((r) => r.elapsedMs));
    const latency = reports.length === 1
      ? `latency p50 ${ms(reports[0]!.latencyMs.p50)} ms, p99 ${ms(reports[0]!.latencyMs.p99)} ms`
      : `latency p50 ${reports.map((r) => ms(r.latencyMs.p50)).join(' / ')} ms, p99 ${reports.map((r) => ms(r.latencyMs.p99)).join(' / ')} ms (per server)`;
    const dead = servers.filter((s) => !s.running);
    if (dead.length > 0) throw new Error(`a server process died during the measurement:\n${dead.map((s) => s.recentOutput).join('\n')}`);
    const check = describeCheck(await checkLedger(database.url), warmAccepted + accepted);
    return {
      accepted, statuses, httpErrors: reports.reduce((n, r) => n + r.httpErrors, 0), requests: reports.reduce((n, r) => n + r.requests, 0),
      elapsedMs, rate: accepted / (elapsedMs / 1000), latency, cpu: describeCpu(before, after, 'bench process', cores, accepted), sessions, check,
    };
  } finally {
    if (client?.child.connected) client.child.disconnect();
    await Promise.all(servers.map((s) => s.kill('SIGKILL')));
    await database.drop();
  }
}

// Run directly: print the report.
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const lines = await runPostgresBench({ quick: process.env.BENCH_QUICK === '1' });
  for (const line of lines) console.log(line);
}
