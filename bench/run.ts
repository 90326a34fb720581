/**
 * `npm run bench`: every figure of PRODUCT §13 that runs on SQLite, each printed beside a baseline
 * measured in the same run. `BENCH_QUICK=1` runs every part with small counts (about half a minute).
 * Every loop is bounded by a count and by a time limit, so the whole run stays under ten minutes.
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';
import Database from 'better-sqlite3';
import { runFlatCost } from './flat-cost.ts';
import { runHttp, type PhaseResult } from './http.ts';
import { loadClientName } from './load-client-name.ts';
import { runInProcess } from './in-process.ts';
import { ms, pct, rate } from './stats.ts';
import { runPostgresBench } from './postgres.ts';
import { runWebhooksBench } from './webhooks.ts';
import { runDueKinds } from './due-kinds.ts';
import { runRenewals } from './renewals.ts';

const quick = process.env.BENCH_QUICK === '1';

const config = quick
  ? {
    inProcess: { customers: 1000, batchSize: 1000, events: 20_000, timeLimitMs: 30_000, warmupBatches: 2 },
    http: {
      customers: 1000,
      batch: { eventsPerRequest: 500, clients: 4, events: 20_000, timeLimitMs: 15_000 },
      wideBatch: { eventsPerRequest: 1000, clients: 8, events: 20_000, timeLimitMs: 15_000 },
      single: { clients: 64, requests: 40_000, timeLimitMs: 3_000, baselineRequests: 10_000, baselineTimeLimitMs: 2_000 },
      authorize: { ratePerSecond: 2000, warmupMs: 1_000, durationMs: 2_000, sockets: 32, rounds: 1 },
    },
    flat: { customers: 1000, preloadSteps: [100_000, 300_000], preloadTimeLimitMs: 20_000, events: 10_000, batchSize: 1000, timeLimitMs: 20_000, balanceReads: 1000 },
    webhooks: { deliveries: 1000, ingest: { customers: 200, batchSize: 500, batchesPerPhase: 4, rounds: 2 } },
    renewals: [300, 1000],
  }
  : {
    inProcess: { customers: 1000, batchSize: 1000, events: 200_000, timeLimitMs: 120_000, warmupBatches: 5 },
    http: {
      customers: 1000,
      batch: { eventsPerRequest: 500, clients: 4, events: 150_000, timeLimitMs: 45_000 },
      wideBatch: { eventsPerRequest: 1000, clients: 8, events: 150_000, timeLimitMs: 45_000 },
      single: { clients: 64, requests: 300_000, timeLimitMs: 15_000, baselineRequests: 50_000, baselineTimeLimitMs: 8_000 },
      authorize: { ratePerSecond: 2000, warmupMs: 2_000, durationMs: 5_000, sockets: 32, rounds: Number(process.env.BENCH_AUTHORIZE_ROUNDS ?? 3) },
    },
    flat: { customers: 1000, preloadSteps: [1_000_000, 3_000_000, 10_000_000], preloadTimeLimitMs: 240_000, events: 30_000, batchSize: 1000, timeLimitMs: 30_000, balanceReads: 5000 },
    webhooks: { deliveries: 1000, ingest: { customers: 1000, batchSize: 500, batchesPerPhase: 20, rounds: 3 } },
    // 100,000 takes about 10 minutes more (most of it creating the subscriptions): BENCH_RENEWALS_LARGE=1.
    renewals: process.env.BENCH_RENEWALS_LARGE === '1' ? [1000, 10_000, 100_000] : [1000, 10_000],
  };

const verdict = (ok: boolean): string => (ok ? 'met' : 'NOT met');
const say = (line = ''): void => console.log(line);

/** What else was running: the load average and, where the kernel reports it, CPU pressure. */
function machineLoad(): string {
  const [one, five] = os.loadavg();
  let pressure = '';
  try {
    const some = /some avg10=([\d.]+)/.exec(readFileSync('/proc/pressure/cpu', 'utf8'));
    if (some) pressure = `, CPU pressure ${some[1]}% (avg10)`;
  } catch {
    // Not Linux, or no PSI: the load average alone will do.
  }
  return `load average ${one!.toFixed(2)} (1 min), ${five!.toFixed(2)} (5 min)${pressure}`;
}

function cpuShare(p: PhaseResult): string {
  const seconds = p.report.elapsedMs / 1000;
  const faults = p.report.requests ? `, ${(p.serverFaults / p.report.requests).toFixed(2)} page faults per request` : '';
  return `CPU: server ${(p.serverCpuMs / 1000 / seconds * 100).toFixed(0)}% of a core${faults}, load generator ${(p.report.clientCpuMs / 1000 / seconds * 100).toFixed(0)}% of a core`;
}

/** The server process's CPU time per request answered in a phase, in microseconds. */
function cpuPerRequest(p: PhaseResult): string {
  return p.report.requests ? Math.round((p.serverCpuMs * 1000) / p.report.requests).toString() : '-';
}

/**
 * The same, with its main thread's time on a CPU and waiting for one, per request, where they were
 * measured (a server in a child process).
 */
function cpuPerRequestWithMain(p: PhaseResult): string {
  const main = p.serverMainThread;
  if (main === undefined || !p.report.requests) return `${cpuPerRequest(p)} µs of CPU per request`;
  const us = (ms: number) => Math.round((ms * 1000) / p.report.requests);
  return `${cpuPerRequest(p)} µs of CPU per request (main thread ${us(main.onCpuMs)} on a CPU, ${us(main.waitingMs)} waiting for one)`;
}

async function main(): Promise<void> {
  const startedAt = new Date();
  const sqliteVersion = (new Database(':memory:').prepare('SELECT sqlite_version() AS v').get() as { v: string }).v;
  say(`Tally benchmark${quick ? ' (BENCH_QUICK: small counts, figures are indicative only)' : ''}`);
  say(`${startedAt.toISOString()} · ${os.cpus().length} cores (${os.cpus()[0]?.model ?? 'unknown'}) · ${Math.round(os.totalmem() / 2 ** 30)} GiB · Node ${process.version} · SQLite ${sqliteVersion} · ${os.platform()} ${os.release()}`);
  say(`SQLite: file database in a temp dir, journal_mode=WAL. Engine and same-rows baseline: the production adapter (each commit synced before it is acknowledged, the fsync on the thread pool); the floor: synchronous=FULL, as PRODUCT §13 defines it.`);
  say(`Machine before the run: ${machineLoad()}`);
  say();
  if (process.env.BENCH_ONLY === 'webhooks') return webhooksPart();
  if (process.env.BENCH_ONLY === 'renewals') return renewalsPart();
  if (process.env.BENCH_ONLY === 'http') return httpPart(null);

  say(`1. In-process ingest with real-time deduction, SQLite`);
  const c1 = config.inProcess;
  say(`   ${c1.customers} customers × 3 grants, a per-unit and a graduated meter on each event, batches of ${c1.batchSize}, ${rate(c1.events)} events`);
  const r1 = await runInProcess(c1);
  say(`   engine (ingestEvents)       ${rate(r1.engineRate).padStart(8)} events/s   (${rate(r1.events)} events in ${(r1.engineMs / 1000).toFixed(1)} s; ${JSON.stringify(r1.statuses)})`);
  say(`   floor (PRODUCT §13)         ${rate(r1.floorRate).padStart(8)} events/s   (better-sqlite3 directly: per event one event row keyed by id, a debit and a credit entry, the grant's balance updated; ${c1.batchSize} per transaction)`);
  say(`   engine / floor              ${pct(r1.ratio).padStart(8)}            target ≥ 70%: ${verdict(r1.ratio >= 0.7)}; absolute target ≥ 80,000 events/s: ${verdict(r1.engineRate >= 80_000)}`);
  say(`   CPU per event (all threads)  engine ${r1.engineCpuUsPerEvent.toFixed(1)} µs, floor ${r1.floorCpuUsPerEvent.toFixed(1)} µs → ratio by CPU time ${pct(r1.floorCpuUsPerEvent / r1.engineCpuUsPerEvent)}`);
  say(`   secondary: same rows bare   ${rate(r1.rawRate).padStart(8)} events/s   (the engine's own ${r1.rowsPerEvent.toFixed(2)} rows/event written back with bare batched INSERTs after the engine's run, alternating with a floor of their own: what the layout costs, apart from the engine's work) → engine/same-rows ${pct(r1.rawRatio)}, same-rows/their floor ${pct(r1.rawFloorRatio)}`);
  say(`   CPU: one thread serves the calls, a second thread checkpoints the WAL; no load generator. ${machineLoad()}`);
  say();

  await httpPart(r1);

  const c5 = config.flat;
  say(`5. Flat cost: ingest and balance reads as ledger history grows, against an empty database`);
  const r5 = await runFlatCost(c5, say);
  say(`   ${'ledger entries'.padStart(14)} ${'database'.padStart(9)} ${'ingest events/s'.padStart(16)} ${'empty beside'.padStart(13)} ${'vs empty'.padStart(9)} ${'vs first'.padStart(9)}   balance read p50 / p99`);
  const first = r5.points[0]!;
  say(`   ${'empty'.padStart(14)} ${''.padStart(9)} ${rate(first.emptyIngest.rate).padStart(16)} ${''.padStart(13)} ${''.padStart(9)} ${''.padStart(9)}   ${ms(r5.balanceEmpty.p50)} / ${ms(r5.balanceEmpty.p99)} ms   (beside the first point; empty rate / floor of figure 1: ${pct(first.emptyIngest.rate / r1.floorRate)})`);
  for (const point of r5.points) {
    say(`   ${rate(point.entries).padStart(14)} ${`${(point.databaseBytes / 2 ** 30).toFixed(2)} GiB`.padStart(9)} ${rate(point.ingest.rate).padStart(16)} ${rate(point.emptyIngest.rate).padStart(13)} ${pct(point.ingest.rate / point.emptyIngest.rate).padStart(9)} ${pct(point.ingest.rate / first.ingest.rate).padStart(9)}   ${ms(point.balance.p50)} / ${ms(point.balance.p99)} ms   (history loaded in ${(point.preloadMs / 1000).toFixed(0)} s)`);
  }
  say(`   each point's rate is measured batch for batch beside a fresh empty database's ("empty beside"), the two taking turns, so both see the same minutes of the machine`);
  // runFlatCost returns at least one point (it throws otherwise).
  const last = r5.points[r5.points.length - 1]!;
  say(`   largest: ${rate(last.entries)} entries → ${pct(last.ingest.rate / last.emptyIngest.rate)} of the empty rate beside it; target within 10%: ${verdict(last.ingest.rate >= 0.9 * last.emptyIngest.rate)}${last.entries >= 10_000_000 ? '' : quick ? ' (BENCH_QUICK loads far fewer than the 10 million of the target)' : ' (fewer than the 10 million of the target fitted in the time limit)'}`);
  say(`   from ${rate(first.entries)} to ${rate(last.entries)} entries the rate moved by ${pct(last.ingest.rate / first.ingest.rate - 1)}; balance reads (in-process getBalance, ${c5.balanceReads} reads) stay O(grants + accounts)`);
  say(`   ${machineLoad()}`);
  say();

  await webhooksPart();
  await renewalsPart();

  if (process.env.BENCH_SKIP_POSTGRES === '1') {
    say('6. PostgreSQL: skipped (BENCH_SKIP_POSTGRES=1)');
  } else {
    say('6. PostgreSQL (a throwaway server started for the run): batched and single-event ingest, one and two server instances, against a naive one-transaction-per-event baseline');
    for (const line of await runPostgresBench({ quick })) say(line);
  }
  say();
  say(`Finished in ${((Date.now() - startedAt.getTime()) / 1000).toFixed(0)} s.`);
}

/**
 * Part 8 alone with `BENCH_ONLY=renewals`. Each population runs in process; the largest also runs
 * in the real server (built: `npm run build:server`) on a copy of the same database, which gives
 * the server's resident set with that many customers. Then the other kinds of due work (grant and
 * hold expiries, auto top-ups, debt settlements, invoices falling past due) at the same sizes, on
 * a test clock's advance and under the real-clock scheduler.
 */
async function renewalsPart(): Promise<void> {
  say(`8. Due work: subscription renewals on one test clock (renewal with allowance grant and fee invoice, then the old allowance's expiry), cost per item as the population grows`);
  say(`   ${'subscriptions'.padStart(13)} ${'advance'.padStart(9)} ${'renewals/s'.padStart(11)} ${'ms/renewal'.padStart(11)} ${'CPU ms/renewal'.padStart(15)}   RSS after`);
  const renewalRuns = [];
  for (const n of config.renewals) {
    const withServer = n === config.renewals[config.renewals.length - 1];
    const r = await runRenewals(n, { server: withServer });
    renewalRuns.push(r);
    say(`   ${rate(n).padStart(13)} ${`${(r.advanceMs / 1000).toFixed(1)} s`.padStart(9)} ${rate(r.perSecond).padStart(11)} ${(r.advanceMs / n).toFixed(2).padStart(11)} ${(r.cpuMs / n).toFixed(2).padStart(15)}   ${r.rssMiB.toFixed(0)} MiB   (${r.ran} items ran; setup ${(r.setupMs / 1000).toFixed(0)} s, not timed; load average ${r.loadAverage.toFixed(2)} as it ended)`);
    if (r.server) {
      const s = r.server;
      say(`   ${'server'.padStart(13)} ${`${(s.advanceMs / 1000).toFixed(1)} s`.padStart(9)} ${rate(n / (s.advanceMs / 1000)).padStart(11)} ${(s.advanceMs / n).toFixed(2).padStart(11)} ${(s.cpuMs / n).toFixed(2).padStart(15)}   \`tally serve\` on the same database, advanced over HTTP as a job (load average ${s.loadAverage.toFixed(2)} as it ended)`);
      say(`   server RSS with ${rate(n)} customers: ${s.rssIdleMiB.toFixed(0)} MiB started, ${s.rssAfterMiB.toFixed(0)} MiB after the renewals, ${s.rssPeakMiB.toFixed(0)} MiB at most; target ≤ 300 MB with 100,000 customers ${n >= 100_000 ? verdict(s.rssPeakMiB * 2 ** 20 <= 300e6) : '(not measured at 100,000: BENCH_RENEWALS_LARGE=1)'}`);
    }
  }
  const smallest = renewalRuns[0]!;
  const largest = renewalRuns[renewalRuns.length - 1]!;
  say(`   cost per renewal at ${rate(largest.subscriptions)} / at ${rate(smallest.subscriptions)}: ${pct((largest.advanceMs / largest.subscriptions) / (smallest.advanceMs / smallest.subscriptions))} by wall time, ${pct((largest.cpuMs / largest.subscriptions) / (smallest.cpuMs / smallest.subscriptions))} by CPU time (flat: 100%)`);
  const tenK = renewalRuns.find((r) => r.subscriptions === 10_000);
  const hundredK = renewalRuns.find((r) => r.subscriptions === 100_000);
  if (tenK) say(`   10,000 renewals in ${(tenK.advanceMs / 1000).toFixed(1)} s: target ≤ 6 s ${verdict(tenK.advanceMs <= 6_000)}`);
  if (hundredK) say(`   100,000 renewals in ${(hundredK.advanceMs / 1000).toFixed(1)} s: target ≤ 60 s ${verdict(hundredK.advanceMs <= 60_000)}`);
  say(`   the other kinds of due work (\`bench/due-kinds.ts\`), each customer with one item falling due: on one test clock at the same instant, the clock advanced past it; on the real clock within two seconds of being made, the real-clock scheduler started once all are due`);
  await runDueKinds(config.renewals, null, say, ['test', 'real']);
  say(`   ${machineLoad()}`);
  say();
}

/**
 * Figures 2–4; alone with `BENCH_ONLY=http` (then without figure 1, so without the floor ratios).
 * `BENCH_PROFILE=<dir>` also writes the server's CPU profile of figures 3 and 4 there (figure 4's
 * from `tally serve --cpu-prof`, cut down to the measured phase).
 */
async function httpPart(r1: { floorRate: number; engineRate: number } | null): Promise<void> {
  say(`2–4. HTTP over loopback, the load generator in a child process (${loadClientName()}): figures 2–3 against the production server (buildServer) in this process, figure 4 against \`tally serve\` in its own process`);
  const r2 = await runHttp(config.http, say);
  const b = r2.batch;
  say();
  say(`2. HTTP ingest, batches of ${config.http.batch.eventsPerRequest}, ${config.http.batch.clients} concurrent keep-alive clients`);
  say(`   accepted                    ${rate(b.rate).padStart(8)} events/s   (${rate(b.report.events)} events, ${b.report.requests} requests, latency p50 ${ms(b.report.latencyMs.p50)} ms, p99 ${ms(b.report.latencyMs.p99)} ms, HTTP errors ${b.report.httpErrors})`);
  if (r1) {
    say(`   floor (figure 1, same run)  ${rate(r1.floorRate).padStart(8)} events/s   → HTTP/floor ${pct(b.rate / r1.floorRate)}   (HTTP/in-process engine ${pct(b.rate / r1.engineRate)})`);
    say(`   target ≥ 30,000 events/s: ${verdict(b.rate >= 30_000)}; ≥ 35% of the floor: ${verdict(b.rate >= 0.35 * r1.floorRate)}. ${cpuShare(b)}`);
  } else say(`   target ≥ 30,000 events/s: ${verdict(b.rate >= 30_000)} (the floor ratio needs figure 1: run without BENCH_ONLY). ${cpuShare(b)}`);
  const w = r2.wideBatch;
  const wide = config.http.wideBatch;
  say(`   batches of ${wide.eventsPerRequest}, ${wide.clients} clients ${rate(w.rate).padStart(8)} events/s   (on a copy of the database as the first shape found it, a server of its own, the same event stream: ${rate(w.report.events)} events, latency p50 ${ms(w.report.latencyMs.p50)} ms, p99 ${ms(w.report.latencyMs.p99)} ms, HTTP errors ${w.report.httpErrors}${r1 ? `; HTTP/floor ${pct(w.rate / r1.floorRate)}` : ''}; ${cpuShare(w)})`);
  say();
  const s = r2.single;
  const n = r2.singleWithoutGroupCommit;
  say(`3. HTTP single-event requests, ${config.http.single.clients} concurrent clients, durable acks`);
  say(`   group commit                ${rate(s.rate).padStart(8)} events/s   (${rate(s.report.events)} requests, p50 ${ms(s.report.latencyMs.p50)} ms, p99 ${ms(s.report.latencyMs.p99)} ms, HTTP errors ${s.report.httpErrors}; ${cpuShare(s)}; server ${cpuPerRequest(s)} µs of CPU per request)`);
  say(`   baseline: one txn per event ${rate(n.rate).padStart(8)} events/s   (same requests, group commit off, on a copy of the database whose every COMMIT syncs by itself: one COMMIT + fsync each; p50 ${ms(n.report.latencyMs.p50)} ms, p99 ${ms(n.report.latencyMs.p99)} ms; ${cpuShare(n)})`);
  say(`   ratio                       ${(s.rate / n.rate).toFixed(1).padStart(7)}×            target ≥ 10,000 events/s: ${verdict(s.rate >= 10_000)}${r1 ? `; HTTP single/floor ${pct(s.rate / r1.floorRate)}` : ''}`);
  say();
  const c4 = config.http.authorize;
  // The round whose p99 is the median is the figure; every round is printed beside it.
  const a = medianByP99(r2.authorize);
  const bare = medianByP99(r2.authorizeBare);
  const rounds = r2.authorize.length;
  say(`4. Authorize over HTTP (an event priced against both meters), offered at ${c4.ratePerSecond} requests/s for ${c4.durationMs / 1000} s, open loop, after ${c4.warmupMs / 1000} s of warm-up and 1 s of quiet${rounds > 1 ? `; ${rounds} rounds, each server started afresh, the order of the two flipping every round, the round with the median p99 shown` : ''}`);
  say(`   \`tally serve\` (dist/cli/main.js) in its own process on a copy of the database figures 2–3 wrote, rate limit off; the baseline: a bare Fastify route in its own process answering a constant reply of the same shape and length`);
  say(`   achieved                    ${rate(a.rate).padStart(8)} requests/s (${a.report.requests} answered, HTTP errors ${a.report.httpErrors}, sent while all ${c4.sockets} sockets were busy: ${a.report.late ?? 0})`);
  say(`   latency                     p50 ${ms(a.report.latencyMs.p50)} ms, p90 ${ms(a.report.latencyMs.p90)} ms, p99 ${ms(a.report.latencyMs.p99)} ms, max ${ms(a.report.latencyMs.max)} ms; server ${cpuPerRequestWithMain(a)}`);
  say(`   baseline: bare route        p50 ${ms(bare.report.latencyMs.p50)} ms, p90 ${ms(bare.report.latencyMs.p90)} ms, p99 ${ms(bare.report.latencyMs.p99)} ms, max ${ms(bare.report.latencyMs.max)} ms; server ${cpuPerRequestWithMain(bare)} (${bare.report.requests} answered, HTTP errors ${bare.report.httpErrors}, all sockets busy: ${bare.report.late ?? 0})`);
  if (rounds > 1) {
    const each = (phases: readonly PhaseResult[]): string => phases.map((p) => `${ms(p.report.latencyMs.p99)} ms (${Math.round((p.serverCpuMs * 1000) / p.report.requests)} µs)`).join(', ');
    say(`   every round, p99 (server CPU per request): \`tally serve\` ${each(r2.authorize)}; bare route ${each(r2.authorizeBare)}`);
  }
  const d = r2.authorizeInProcess;
  say(`   baseline: in-process        p50 ${ms(d.p50)} ms, p99 ${ms(d.p99)} ms, max ${ms(d.max)} ms (authorize() called directly in this process, ${d.calls} calls one after another)`);
  say(`   target p99 ≤ 2 ms${rounds > 1 ? ' (the median round)' : ''}: ${verdict(a.report.latencyMs.p99 <= 2)} (bare route's p99 ${ms(bare.report.latencyMs.p99)} ms: ${verdict(bare.report.latencyMs.p99 <= 2)} on this machine). Tally ${cpuShare(a)}. Bare route ${cpuShare(bare)}`);
  say(`   ${machineLoad()}`);
  say();
}

/** The phase whose p99 is the median of the rounds' (the lower middle one of an even count). */
function medianByP99(phases: readonly PhaseResult[]): PhaseResult {
  const sorted = [...phases].sort((x, y) => x.report.latencyMs.p99 - y.report.latencyMs.p99);
  return sorted[Math.floor((sorted.length - 1) / 2)]!;
}

/** Part 7 alone with `BENCH_ONLY=webhooks`. */
async function webhooksPart(): Promise<void> {
  say(`7. Webhooks: delivery from the outbox to a local receiver, and ingestion with a dead and a hanging endpoint (SQLite)`);
  for (const line of await runWebhooksBench(config.webhooks)) say(line);
  say(`   ${machineLoad()}`);
  say();
}

await main();
