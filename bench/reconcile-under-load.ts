import { existsSync, statSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { buildServer } from '../src/server/app.ts';
import { reconcile, type ReconcileProgress } from '../src/engine/reconcile.ts';
import { EventSource } from './events.ts';
import { openFixture } from './fixture.ts';
import { preload } from './flat-cost.ts';
import { latencySummary, ms, rate } from './stats.ts';

/**
 * A full reconciliation of a large SQLite ledger while HTTP ingestion goes on (PRODUCT §13:
 * "reconciliation over 10 million entries completes, and while it runs the server keeps
 * answering, ingest p99 at most doubled").
 *
 *   npx tsx bench/reconcile-under-load.ts [ledger entries, default 3000000]
 *   BENCH_RECONCILE_ALONE=1 …   also times a reconciliation with no ingestion going on
 *
 * History is written straight into the tables (as the flat-cost benchmark does: per event one usage
 * event row, its own posting with three entries), then the real HTTP server
 * takes batches of 20 events from 4 concurrent clients in this process: first alone (8 s of
 * warm-up not counted, then 8 s of baseline), then while `reconcile` runs every check over the
 * whole ledger. Per check it prints the time and, for the checks that walk the customers in
 * slices, how many slices (each its own snapshot) and the longest; then the WAL's peak size and
 * the load average sampled during the run.
 */
const entries = Number(process.argv[2] ?? 3_000_000);
const customers = 1000;
const clients = 4;
const batchSize = 20;
const warmUpMs = 8_000;
const baselineMs = 8_000;
const adminKey = 'bench-admin-key';

const fixture = await openFixture('reconcile-load', customers);
const preloadStarted = performance.now();
const events = await preload(fixture.db, fixture.customerIds, 0, Math.ceil(entries / 3), Infinity);
console.log(`preloaded ${rate(events)} events (${rate(events * 3)} ledger entries) in ${((performance.now() - preloadStarted) / 1000).toFixed(1)} s`);
const app = await buildServer(fixture.engine, { adminKey });
const base = await app.listen({ port: 0, host: '127.0.0.1' });
const source = new EventSource('reconcile-load', fixture.customerIds, 7);

/** Runs the clients until `until` settles; returns each request's latency in ms. */
async function load(until: Promise<unknown>): Promise<number[]> {
  let done = false;
  void until.finally(() => (done = true));
  const samples: number[] = [];
  await Promise.all(Array.from({ length: clients }, async () => {
    while (!done) {
      const body = JSON.stringify({ events: source.batch(batchSize) });
      const t0 = performance.now();
      const response = await fetch(`${base}/v1/events`, { method: 'POST', headers: { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' }, body });
      await response.arrayBuffer();
      if (response.status !== 200) throw new Error(`ingest answered ${response.status}`);
      samples.push(performance.now() - t0);
    }
  }));
  return samples;
}

const summary = (samples: number[]) => {
  const s = latencySummary(samples);
  return `${samples.length} requests, p50 ${ms(s.p50)} ms, p99 ${ms(s.p99)} ms, max ${ms(s.max)} ms`;
};

try {
  // The first seconds of ingestion warm the server up (JIT, caches) and are not counted.
  await load(new Promise((resolve) => setTimeout(resolve, warmUpMs)));
  const baseline = await load(new Promise((resolve) => setTimeout(resolve, baselineMs)));
  console.log(`ingest alone:              ${summary(baseline)}`);
  let slices = { count: 0, longestMs: 0 };
  const onProgress = ({ check, ms: took, slice }: ReconcileProgress) => {
    if (slice) {
      slices = { count: slices.count + 1, longestMs: Math.max(slices.longestMs, slice.ms) };
      return;
    }
    const sliced = slices.count > 0 ? ` (${slices.count} slices, longest ${(slices.longestMs / 1000).toFixed(1)} s)` : '';
    console.log(`  ${check}: ${(took / 1000).toFixed(1)} s${sliced}`);
    slices = { count: 0, longestMs: 0 };
  };
  if (process.env.BENCH_RECONCILE_ALONE === '1') {
    const aloneStarted = performance.now();
    const alone = await reconcile(fixture.engine, {}, { onProgress });
    if (!alone.ok) throw new Error(alone.error.message);
    console.log(`reconciliation alone:      ${((performance.now() - aloneStarted) / 1000).toFixed(1)} s`);
  }
  // The WAL's size, sampled while reconciliation runs: a reader's snapshot keeps it from being reset.
  const walPath = `${fixture.path}-wal`;
  let walPeak = 0;
  const loads: number[] = [];
  const sampler = setInterval(() => { if (existsSync(walPath)) walPeak = Math.max(walPeak, statSync(walPath).size); }, 250);
  const loadSampler = setInterval(() => loads.push(loadavg()[0]!), 10_000);
  const started = performance.now();
  const running = reconcile(fixture.engine, {}, { onProgress });
  const during = await load(running);
  const outcome = await running;
  clearInterval(sampler);
  clearInterval(loadSampler);
  const seconds = (performance.now() - started) / 1000;
  if (!outcome.ok) throw new Error(outcome.error.message);
  console.log(`full reconciliation:       ${seconds.toFixed(1)} s over ${rate(events * 3)} entries (${outcome.value.discrepancies.length} discrepancies: the synthetic history carries no balances)`);
  console.log(`WAL peak while it ran:     ${(walPeak / 2 ** 20).toFixed(0)} MiB`);
  if (loads.length > 0) console.log(`load average (1 min):      ${Math.min(...loads).toFixed(1)}–${Math.max(...loads).toFixed(1)} during it, on ${availableParallelism()} cores`);
  console.log(`ingest during it:          ${summary(during)}`);
  const p99Ratio = latencySummary(during).p99 / latencySummary(baseline).p99;
  console.log(`ingest p99 during / alone: ${p99Ratio.toFixed(2)}`);
} finally {
  await app.close();
  await fixture.close();
}
