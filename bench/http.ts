import { fork, type ChildProcess } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createApiKey } from '../src/engine/api-keys.ts';
import { authorize } from '../src/engine/authorize.ts';
import type { Engine } from '../src/engine/context.ts';
import { IngestBatcher } from '../src/engine/ingest-batcher.ts';
import { ingestEvents, type IngestResult } from '../src/engine/ingest-events.ts';
import { buildServer } from '../src/server/app.ts';
import { createEngine } from '../src/engine/create-engine.ts';
import { startBareServer } from './bare-server.ts';
import { cutCpuProfile, readCpuProfile, type CpuProfile } from './cpu-profile.ts';
import { EventSource } from './events.ts';
import type { LoadJob, LoadReport } from './load-client.ts';
import { cloneDatabase, copyDatabaseFile, openFixture, type Fixture } from './fixture.ts';
import { mainThreadSchedMs, minorFaults, processCpuMs } from './proc-stat.ts';
import { startTallyServe, type ServerChild } from './serve-process.ts';
import { cpuMsSince, latencySummary } from './stats.ts';

export interface HttpOptions {
  customers: number;
  batch: { eventsPerRequest: number; clients: number; events: number; timeLimitMs: number };
  /** Figure 2's second shape, after the first on the same server: larger batches from more clients. */
  wideBatch: { eventsPerRequest: number; clients: number; events: number; timeLimitMs: number };
  single: { clients: number; requests: number; timeLimitMs: number; baselineRequests: number; baselineTimeLimitMs: number };
  /**
   * Figure 4: `rounds` phases against each server, the two servers' order flipping every round, so
   * that one moment of the machine's other load does not decide the figure.
   */
  authorize: { ratePerSecond: number; warmupMs: number; durationMs: number; sockets: number; rounds: number };
}

export interface PhaseResult {
  report: LoadReport;
  serverCpuMs: number;
  /**
   * Where the server runs in a child process: its main thread's time on a CPU, and the time it
   * was ready to run but waited for a CPU (from /proc).
   */
  serverMainThread?: { onCpuMs: number; waitingMs: number };
  /** The server process's minor page faults over the phase (pages the kernel mapped in on first touch). */
  serverFaults: number;
  /** Accepted events per second of wall time. */
  rate: number;
}

export interface HttpResult {
  batch: PhaseResult;
  wideBatch: PhaseResult;
  single: PhaseResult;
  singleWithoutGroupCommit: PhaseResult;
  /**
   * Figure 4: `tally serve` in its own process, on a copy of the fixture as figures 2–3 left it,
   * one phase per round, in round order.
   */
  authorize: PhaseResult[];
  /** The same phases against a bare Fastify route in its own process: what this machine allows. */
  authorizeBare: PhaseResult[];
  /** The same authorization called in-process, one after another: the engine's share of the latency. */
  authorizeInProcess: { calls: number; p50: number; p99: number; max: number };
}

/**
 * Group commit off, for the baseline of figure 3: every request runs `ingestEvents` in its own
 * store transaction, so each single-event request pays its own COMMIT and fsync, as a
 * row-per-transaction design does. The SQLite adapter still serializes the transactions. The
 * baseline's server runs on a copy of the fixture opened with `durability: 'at-commit'`, so that
 * no sync is shared between its transactions either (the production adapter's pipelined syncs
 * would group them).
 */
function setGroupCommit(enabled: boolean): void {
  const proto = IngestBatcher.prototype as unknown as { submit: (events: readonly unknown[]) => Promise<IngestResult[]>; groupCommitSubmit?: IngestBatcher['submit'] };
  proto.groupCommitSubmit ??= proto.submit;
  proto.submit = enabled
    ? proto.groupCommitSubmit
    : function (this: unknown, events: readonly unknown[]) {
      return ingestEvents((this as { engine: Engine }).engine, events);
    };
}

/** The load generator in a child process (`load-client.ts`): each `run` sends it one job and waits for its report. */
export function startClient(): { child: ChildProcess; run(job: LoadJob): Promise<LoadReport> } {
  const child = fork(fileURLToPath(new URL('./load-client.ts', import.meta.url)), [], { execArgv: process.execArgv, stdio: 'inherit' });
  return {
    child,
    run(job) {
      return new Promise((resolve, reject) => {
        child.once('message', (message: { ok: boolean; report?: LoadReport; error?: string }) => {
          if (message.ok) resolve(message.report!);
          else reject(new Error(`load client failed: ${message.error}`));
        });
        child.send(job);
      });
    },
  };
}

/**
 * The real server in this process on a benchmark fixture (an ingest key, listening on loopback)
 * and the load client to drive it, for the tools that profile the server's own process
 * (`http-batch-profile.ts`, `young-survivors.ts`): `batches` sends `requests` requests of
 * `eventsPerRequest` events from `clients` clients and reports them; `close` stops both.
 */
export async function startIngestServer(fixture: Fixture, shape: { eventsPerRequest: number; clients: number }): Promise<{
  batches(label: string, requests: number, seed: number): Promise<LoadReport>;
  close(): Promise<void>;
}> {
  const app = await buildServer(fixture.engine, { adminKey: 'bench-admin-key' });
  const { child, run } = startClient();
  try {
    const created = await createApiKey(fixture.engine, { name: 'bench', scopes: ['ingest'] });
    if (!created.ok) throw new Error(created.error.message);
    const baseUrl = await app.listen({ port: 0, host: '127.0.0.1' });
    return {
      batches: (label, requests, seed) => run({
        kind: 'events', label, baseUrl, apiKey: created.value.secret, customerIds: fixture.customerIds, ...shape,
        requestsMax: requests, timeLimitMs: 600_000, seed,
      }),
      async close() {
        child.disconnect();
        await app.close();
      },
    };
  } catch (error) {
    child.disconnect();
    await app.close();
    throw error;
  }
}

/** Authorizations through the engine directly, as many as the HTTP phase sent per second. */
async function authorizeDirectly(engine: Engine, customerIds: readonly string[], calls: number): Promise<HttpResult['authorizeInProcess']> {
  const source = new EventSource('authorize-direct', customerIds, 6);
  const samples: number[] = [];
  for (let i = 0; i < calls; i++) {
    const e = source.event();
    const t0 = performance.now();
    const outcome = await authorize(engine, e.customer, { event: { type: e.type, properties: e.properties } });
    samples.push(performance.now() - t0);
    if (!outcome.ok) throw new Error(outcome.error.message);
  }
  return { calls, ...latencySummary(samples) };
}

/** A second of quiet between figure 4's warm-up and its measured phase. */
const quietMs = 1000;
/**
 * Node options that profile a server child from its start, for `authorizeAgainst` to cut down to
 * the measured phase as `<dir>/<name>.cpuprofile`. Node writes one profile per thread (module
 * loader hooks and workers have their own) into a directory kept for this child.
 */
export function cpuProfileOptions(dir: string, name: string): string[] {
  const whole = resolve(dir, `${name}.whole`);
  mkdirSync(whole, { recursive: true });
  return ['--cpu-prof', `--cpu-prof-dir=${whole}`, '--cpu-prof-interval=200'];
}

/** The main thread's profile of a process that ran with `cpuProfileOptions` (thread id 0 in Node's default name). */
export function mainThreadProfile(dir: string, name: string, pid: number): CpuProfile {
  const whole = resolve(dir, `${name}.whole`);
  const file = readdirSync(whole).find((f) => f.endsWith('.cpuprofile') && f.includes(`.${pid}.0.`));
  if (file === undefined) throw new Error(`no main-thread profile of process ${pid} in ${whole}`);
  const profile = readCpuProfile(join(whole, file));
  rmSync(whole, { recursive: true, force: true });
  return profile;
}

export const monotonicUs = (): number => Number(process.hrtime.bigint() / 1000n);

/**
 * Figure 4's phase against a server in a child process started for it: warm-up, a second of
 * quiet, then the measured phase, with the server's CPU time read from /proc around the measured
 * phase alone. With `profile`, the server was started with `cpuProfileOptions(dir, name)`; its
 * main thread's profile, written as it exits, is cut down to the measured phase as
 * `<dir>/<name>.cpuprofile`.
 */
export async function authorizeAgainst(
  start: () => Promise<ServerChild>, client: ReturnType<typeof startClient>, options: Omit<HttpOptions['authorize'], 'rounds'>,
  context: { apiKey: string; customerIds: string[]; profile?: { dir: string; name: string } },
): Promise<PhaseResult> {
  const server = await start();
  let result: PhaseResult;
  let window: [number, number];
  try {
    const job = (durationMs: number, seed: number): LoadJob => ({
      kind: 'authorize', baseUrl: server.baseUrl, apiKey: context.apiKey, customerIds: context.customerIds,
      ratePerSecond: options.ratePerSecond, durationMs, sockets: options.sockets, seed,
    });
    const warm = await client.run(job(options.warmupMs, 6));
    if (warm.httpErrors > 0) throw new Error(`figure 4's warm-up: HTTP errors ${JSON.stringify(warm.statuses)}`);
    await new Promise((resolve) => setTimeout(resolve, quietMs));
    const cpuBefore = processCpuMs(server.pid);
    const faultsBefore = minorFaults(server.pid);
    const mainBefore = mainThreadSchedMs(server.pid);
    const fromUs = monotonicUs();
    const report = await client.run(job(options.durationMs, 5));
    window = [fromUs, monotonicUs()];
    const mainAfter = mainThreadSchedMs(server.pid);
    result = {
      report, serverCpuMs: processCpuMs(server.pid) - cpuBefore, serverFaults: minorFaults(server.pid) - faultsBefore, rate: report.requests / (report.elapsedMs / 1000),
      serverMainThread: { onCpuMs: mainAfter.onCpuMs - mainBefore.onCpuMs, waitingMs: mainAfter.waitingMs - mainBefore.waitingMs },
    };
  } finally {
    await server.stop();
  }
  if (context.profile) {
    const { dir, name } = context.profile;
    writeFileSync(join(dir, `${name}.cpuprofile`), JSON.stringify(cutCpuProfile(mainThreadProfile(dir, name, server.pid), ...window)));
  }
  return result;
}

/**
 * Figures 2–3: a real server (buildServer, the production app) listening on loopback in this
 * process, and the load generator in a child process. Figure 4: `tally serve` in a child process
 * of its own on a copy of the same database, then a bare route likewise, by the same load client.
 */
export async function runHttp(options: HttpOptions, log: (line: string) => void): Promise<HttpResult> {
  const fixture = await openFixture('http', options.customers);
  const app = await buildServer(fixture.engine, { adminKey: 'bench-admin-key' });
  const client = startClient();
  // `BENCH_PROFILE=<dir>`: the server's CPU profile of a named phase, written as <dir>/<name>.cpuprofile.
  const profileDir = process.env.BENCH_PROFILE;
  const session = profileDir ? new Session() : null;
  try {
    const created = await createApiKey(fixture.engine, { name: 'bench', scopes: ['ingest'] });
    if (!created.ok) throw new Error(created.error.message);
    const apiKey = created.value.secret;
    const baseUrl = await app.listen({ port: 0, host: '127.0.0.1' });
    const customerIds = fixture.customerIds;

    if (session) {
      mkdirSync(profileDir!, { recursive: true });
      session.connect();
      await session.post('Profiler.enable');
      await session.post('Profiler.setSamplingInterval', { interval: 200 });
    }
    const phase = async (job: LoadJob, count: (r: LoadReport) => number, profileName?: string): Promise<PhaseResult> => {
      const profiled = session !== null && profileName !== undefined;
      if (profiled) await session.post('Profiler.start');
      const cpu = process.cpuUsage();
      const faults = process.resourceUsage().minorPageFault;
      const report = await client.run(job);
      const serverCpuMs = cpuMsSince(cpu);
      const serverFaults = process.resourceUsage().minorPageFault - faults;
      if (profiled) {
        const { profile } = await session.post('Profiler.stop');
        writeFileSync(join(profileDir!, `${profileName}.cpuprofile`), JSON.stringify(profile));
      }
      return { report, serverCpuMs, serverFaults, rate: count(report) / (report.elapsedMs / 1000) };
    };
    const accepted = (r: LoadReport) => r.statuses.accepted ?? 0;

    log('   warming up the server…');
    await phase({ kind: 'events', label: 'warm', baseUrl, apiKey, customerIds, eventsPerRequest: 100, clients: 4, requestsMax: 200, timeLimitMs: 5_000, seed: 1 }, accepted);

    // Figure 2's second shape runs on a copy of the database as the first shape starts, behind a
    // server of its own, so that both shapes write on the same history.
    const wideDb = await cloneDatabase(fixture, 'http-wide');

    log(`   2. batches of ${options.batch.eventsPerRequest}…`);
    const batch = await phase({ kind: 'events', label: 'batch', baseUrl, apiKey, customerIds, eventsPerRequest: options.batch.eventsPerRequest, clients: options.batch.clients,
      requestsMax: Math.ceil(options.batch.events / options.batch.eventsPerRequest), timeLimitMs: options.batch.timeLimitMs, seed: 2 }, accepted);
    log(`   2. batches of ${options.wideBatch.eventsPerRequest}, ${options.wideBatch.clients} clients, on a copy of the database as the first shape found it…`);
    const wideApp = await buildServer(await createEngine(wideDb.db), { adminKey: 'bench-admin-key' });
    let wideBatch: PhaseResult;
    try {
      const wideUrl = await wideApp.listen({ port: 0, host: '127.0.0.1' });
      wideBatch = await phase({ kind: 'events', label: 'wide', baseUrl: wideUrl, apiKey, customerIds, eventsPerRequest: options.wideBatch.eventsPerRequest, clients: options.wideBatch.clients,
        requestsMax: Math.ceil(options.wideBatch.events / options.wideBatch.eventsPerRequest), timeLimitMs: options.wideBatch.timeLimitMs, seed: 2 }, accepted);
    } finally {
      await wideApp.close();
      await wideDb.remove();
    }

    log('   3. single events, group commit…');
    const single = await phase({ kind: 'events', label: 'single', baseUrl, apiKey, customerIds, eventsPerRequest: 1, clients: options.single.clients,
      requestsMax: options.single.requests, timeLimitMs: options.single.timeLimitMs, seed: 3 }, accepted, 'single');

    log('   3. single events, one transaction per request (baseline)…');
    const baselineDb = await cloneDatabase(fixture, 'http-pertxn', { durability: 'at-commit' });
    const baselineApp = await buildServer(await createEngine(baselineDb.db), { adminKey: 'bench-admin-key' });
    setGroupCommit(false);
    let singleWithoutGroupCommit: PhaseResult;
    try {
      const baselineUrl = await baselineApp.listen({ port: 0, host: '127.0.0.1' });
      singleWithoutGroupCommit = await phase({ kind: 'events', label: 'pertxn', baseUrl: baselineUrl, apiKey, customerIds, eventsPerRequest: 1, clients: options.single.clients,
        requestsMax: options.single.baselineRequests, timeLimitMs: options.single.baselineTimeLimitMs, seed: 4 }, accepted);
    } finally {
      setGroupCommit(true);
      await baselineApp.close();
      await baselineDb.remove();
    }

    const copy = await copyDatabaseFile(fixture, 'http-serve');
    const authorize: PhaseResult[] = [];
    const authorizeBare: PhaseResult[] = [];
    try {
      const rounds = options.authorize.rounds;
      for (let round = 0; round < rounds; round++) {
        const of = rounds > 1 ? `, round ${round + 1} of ${rounds}` : '';
        const tally = async (): Promise<void> => {
          log(`   4. authorize: \`tally serve\` on a copy of the database${of}…`);
          // Only the first round is profiled: one profile per phase name.
          const profiled = profileDir !== undefined && round === 0;
          authorize.push(await authorizeAgainst(() => startTallyServe({ path: copy.path, adminKey: 'bench-admin-key', nodeOptions: profiled ? cpuProfileOptions(profileDir, 'authorize') : [] }),
            client, options.authorize, { apiKey, customerIds, ...(profiled ? { profile: { dir: profileDir, name: 'authorize' } } : {}) }));
        };
        const bare = async (): Promise<void> => {
          log(`   4. authorize: the bare route${of}…`);
          authorizeBare.push(await authorizeAgainst(startBareServer, client, options.authorize, { apiKey, customerIds }));
        };
        if (round % 2 === 0) {
          await tally();
          await bare();
        } else {
          await bare();
          await tally();
        }
      }
    } finally {
      copy.remove();
    }
    const authorizeInProcess = await authorizeDirectly(fixture.engine, customerIds, options.authorize.ratePerSecond);
    return { batch, wideBatch, single, singleWithoutGroupCommit, authorize, authorizeBare, authorizeInProcess };
  } finally {
    session?.disconnect();
    client.child.disconnect();
    await app.close();
    await fixture.close();
  }
}
