/**
 * Checkouts of Tally compared on the server's CPU per HTTP request over real sockets, in one run
 * and alternated, so that the machine's other load falls on all of them alike:
 *
 *   npx tsx bench/http-ab.ts <checkout A> <checkout B> [more checkouts…]   (BENCH_ROUNDS, default 4)
 *
 * Each checkout's server runs in its own child process (so no side's optimized code is shaped by
 * another's) with its own benchmark fixture (`BENCH_CUSTOMERS`, default 1,000), listening on
 * loopback; one load client (`load-client.ts`, another child process) drives them in turn. Every
 * round runs, on each side, figure 4's authorize phase (2,000 requests/s offered for 3 s, 32
 * sockets) and figure 3's single-event ingest (64 clients, closed loop, 3 s), or the phases
 * `BENCH_PHASES` names (`batch`: figure 2's batches of 500 from 4 clients, 3 s, or the shape
 * `BENCH_BATCH=<events>x<clients>` gives, `1000x8` say); each round starts
 * with the next side. A server's CPU time is read from its own process before and after each phase
 * (after `BENCH_SETTLE_MS` of idle time, so that work a server defers past the phase, such as WAL
 * checkpoints, is counted on its side and does not fall into the next phase). `BENCH_SUBSCRIBED=1`
 * subscribes every customer first (`subscribe-all.ts`), so each authorization prices from a
 * subscription timeline. A checkout written `<checkout>#<flag>,<flag>` runs its server with those
 * node flags (`/work/main#--max-semi-space-size=32`), so one checkout can be compared with itself. Prints, per side, the median over the rounds (and the range) of the CPU
 * per request of each phase, of the authorize p99 and of single events answered per second: on a
 * shared machine one round can be far off, and the median holds.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { startClient } from './http.ts';
import type { LoadJob, LoadReport } from './load-client.ts';
import { percentile } from './stats.ts';
import { subscribeAll } from './subscribe-all.ts';

const phaseMs = 3000;
/** `BENCH_SETTLE_MS`: idle time after each phase before the server's CPU is read (default none). */
const settleMs = Number(process.env.BENCH_SETTLE_MS ?? 0);

type Phase = 'authorize' | 'single' | 'batch';
/** `BENCH_PHASES`: which phases each round runs, of `authorize`, `single` and `batch` (figure 2's: 500 events a request, 4 clients). */
const phases = (process.env.BENCH_PHASES ?? 'authorize,single').split(',') as Phase[];
/** `BENCH_BATCH`: the batch phase's events per request and clients, `<events>x<clients>` (default figure 2's `500x4`). */
const [batchEvents, batchClients] = (process.env.BENCH_BATCH ?? '500x4').split('x').map(Number) as [number, number];
/** Events per request of each phase, to state the batch phase per event. */
const eventsPer: Record<Phase, number> = { authorize: 1, single: 1, batch: batchEvents };

interface Served {
  baseUrl: string;
  apiKey: string;
  customerIds: string[];
}

/** A server child: the fixture and server of one checkout; answers each message with its CPU time so far. */
async function serve(root: string): Promise<void> {
  const from = (path: string): string => pathToFileURL(`${root}/${path}`).href;
  const { openFixture } = await import(from('bench/fixture.ts'));
  const { buildServer } = await import(from('src/server/app.ts'));
  const { createApiKey } = await import(from('src/engine/api-keys.ts'));
  const writerThread = process.env.TALLY_SQLITE_WRITER_THREAD === 'on';
  const cacheMib = process.env.TALLY_SQLITE_CACHE_MIB;
  const fixture = await openFixture('http-ab', Number(process.env.BENCH_CUSTOMERS ?? 1000), {
    ...(writerThread ? { writerThread } : {}),
    ...(cacheMib === undefined ? {} : { pageCacheMib: Number(cacheMib) }),
  });
  if (process.env.BENCH_SUBSCRIBED === '1') await subscribeAll(from, fixture);
  const app = await buildServer(fixture.engine, { adminKey: 'bench-admin-key' });
  const key = await createApiKey(fixture.engine, { name: 'bench', scopes: ['ingest'] });
  if (!key.ok) throw new Error(key.error.message);
  const served: Served = { baseUrl: await app.listen({ port: 0, host: '127.0.0.1' }), apiKey: key.value.secret, customerIds: fixture.customerIds };
  process.send!(served);
  process.on('message', () => process.send!(process.cpuUsage()));
  process.on('disconnect', () => {
    void app.close().then(() => fixture.close()).then(() => process.exit(0));
  });
}

interface Side {
  label: string;
  root: string;
  job(phase: Phase, seed: number): LoadJob;
  cpuUs(): Promise<number>;
  /** Per counted round: the server's CPU µs per request of each phase, and the authorize p99. */
  cpuUsPerRequest: Record<Phase, number[]>;
  authorizeP99Ms: number[];
  /** Per counted round: single events answered per second, and events of the batch phase. */
  singlePerSecond: number[];
  batchPerSecond: number[];
  child: ChildProcess;
}

async function openSide(spec: string, label: string): Promise<Side> {
  // `<checkout>#<node flag>,<node flag>`: that side's server process runs with those flags too.
  const [root, flags = ''] = spec.split('#') as [string, string?];
  // A flag written NAME=value is set in the server's environment (`TALLY_SQLITE_WRITER_THREAD=on`).
  const given = flags.split(',').filter((f) => f !== '');
  const execArgv = [...process.execArgv, ...given.filter((f) => !/^[A-Z_]+=/.test(f))];
  const env = { ...process.env, ...Object.fromEntries(given.filter((f) => /^[A-Z_]+=/.test(f)).map((f) => [f.slice(0, f.indexOf('=')), f.slice(f.indexOf('=') + 1)])) };
  const child = fork(fileURLToPath(import.meta.url), ['--serve', root], { execArgv, env, stdio: 'inherit' });
  const served = await new Promise<Served>((done) => child.once('message', (m) => done(m as Served)));
  const common = { baseUrl: served.baseUrl, apiKey: served.apiKey, customerIds: served.customerIds };
  return {
    label,
    root,
    job: (phase, seed) => phase === 'authorize'
      ? { kind: 'authorize', ...common, ratePerSecond: 2000, durationMs: phaseMs, sockets: 32, seed }
      : phase === 'single'
        ? { kind: 'events', label: `single-${label}`, ...common, eventsPerRequest: 1, clients: 64, requestsMax: 1_000_000, timeLimitMs: phaseMs, seed }
        : { kind: 'events', label: `batch-${label}`, ...common, eventsPerRequest: batchEvents, clients: batchClients, requestsMax: 1_000_000, timeLimitMs: phaseMs, seed },
    cpuUs: () => new Promise((done) => {
      child.once('message', (m) => done((m as NodeJS.CpuUsage).user + (m as NodeJS.CpuUsage).system));
      child.send('cpu');
    }),
    cpuUsPerRequest: { authorize: [], single: [], batch: [] },
    authorizeP99Ms: [],
    singlePerSecond: [],
    batchPerSecond: [],
    child,
  };
}

if (process.argv[2] === '--serve') {
  await serve(process.argv[3]!);
} else {
  const roots = process.argv.slice(2);
  if (roots.length < 2) throw new Error('usage: npx tsx bench/http-ab.ts <checkout A> <checkout B> [more checkouts…]');
  await compare(roots.map((spec) => { const [root, flags] = spec.split('#'); return flags === undefined ? resolve(root!) : `${resolve(root!)}#${flags}`; }), Number(process.env.BENCH_ROUNDS ?? 4));
}

async function compare(roots: string[], rounds: number): Promise<void> {
  const client = startClient();
  async function measure(side: Side, phase: Phase, seed: number, counted: boolean): Promise<void> {
    const cpuBeforeUs = await side.cpuUs();
    const report: LoadReport = await client.run(side.job(phase, seed));
    // Work a server defers past the phase (its WAL checkpoints) is counted, and kept out of the next phase.
    if (settleMs > 0) await new Promise((done) => setTimeout(done, settleMs));
    const cpuUs = await side.cpuUs() - cpuBeforeUs;
    if (report.httpErrors > 0 || Object.keys(report.statuses).some((s) => s.startsWith('http_'))) {
      throw new Error(`${side.label} ${phase}: unexpected replies ${JSON.stringify(report.statuses)}, HTTP errors ${report.httpErrors}`);
    }
    if (!counted) return;
    side.cpuUsPerRequest[phase].push(cpuUs / (report.requests * eventsPer[phase]));
    if (phase === 'authorize') side.authorizeP99Ms.push(report.latencyMs.p99);
    else if (phase === 'single') side.singlePerSecond.push(report.requests / (report.elapsedMs / 1000));
    else side.batchPerSecond.push((report.requests * eventsPer[phase]) / (report.elapsedMs / 1000));
  }

  const sides: Side[] = [];
  for (const [i, root] of roots.entries()) sides.push(await openSide(root, String.fromCharCode(65 + i)));
  try {
    // Warm-up, not counted: statements prepared, validators and serializers compiled, code optimized.
    for (const side of sides) {
      for (const [i, phase] of phases.entries()) await measure(side, phase, 1 + i, false);
    }
    for (let round = 0; round < rounds; round++) {
      // Each round starts with the next side: with two, A B, then B A.
      for (const side of [...sides.slice(round % sides.length), ...sides.slice(0, round % sides.length)]) {
        for (const [i, phase] of phases.entries()) await measure(side, phase, 10 + 100 * i + round, true);
      }
    }
    const spread = (values: number[], digits: number) => {
      const sorted = [...values].sort((a, b) => a - b);
      return `median ${percentile(sorted, 0.5).toFixed(digits)} (${sorted[0]!.toFixed(digits)}–${sorted[sorted.length - 1]!.toFixed(digits)})`;
    };
    console.log(`server CPU per request in µs (per event for batches) and authorize p99 in ms over ${rounds} rounds: median (min–max)`);
    // Each round's difference from A, measured minutes apart at most: the machine's load moves
    // both sides of a pair alike, so the paired median is steadier than the difference of medians.
    const [first] = sides;
    const fromA = (side: Side, phase: Phase) => spread(side.cpuUsPerRequest[phase].map((us, round) => us - first!.cpuUsPerRequest[phase][round]!), 1);
    for (const side of sides) {
      const paired = (phase: Phase) => (side === first ? '' : `; minus A's in the same round: ${fromA(side, phase)} µs`);
      console.log(`${side.label} ${side.root}`);
      if (phases.includes('authorize')) console.log(`  authorize ${spread(side.cpuUsPerRequest.authorize, 0)} µs${paired('authorize')}; p99 ${spread(side.authorizeP99Ms, 2)} ms`);
      if (phases.includes('single')) console.log(`  single-event ingest ${spread(side.cpuUsPerRequest.single, 0)} µs${paired('single')}; ${spread(side.singlePerSecond, 0)} events/s`);
      if (phases.includes('batch')) console.log(`  batches of ${batchEvents}, ${batchClients} clients: ${spread(side.cpuUsPerRequest.batch, 1)} µs per event${paired('batch')}; ${spread(side.batchPerSecond, 0)} events/s`);
    }
  } finally {
    client.child.disconnect();
    for (const side of sides) side.child.disconnect();
  }
}
