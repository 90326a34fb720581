/**
 * Part 6's single-event HTTP phase for two checkouts, alternated on one throwaway PostgreSQL:
 *
 *   npx tsx bench/postgres-http-ab.ts <checkout A> <checkout B> [rounds]   (default 4)
 *
 * Each round runs the phase once per checkout, the order flipped every round: a fresh copy of one
 * seeded database (1,000 customers × 3 grants), the checkout's own `src/cli/main.ts serve` in
 * `BENCH_INSTANCES` processes (default 2), 64 single-event clients from one load generator for
 * `BENCH_SECONDS` (default 8), `BENCH_ROUTED=1` sending each customer's events to one process.
 * A side's servers run its code; the load generator and the database are the same for both, so
 * a change is read from the per-round differences rather than from runs minutes apart on a
 * machine whose load moves.
 */
import { resolve } from 'node:path';
import { startPostgres } from '../test/support/postgres-server.ts';
import { buildTemplate, PgCluster } from './postgres-fixture.ts';
import { measureHttp, type HttpResult } from './postgres.ts';
import { percentile } from './stats.ts';

const [a, b] = [process.argv[2], process.argv[3]].map((dir) => resolve(dir ?? '.'));
const rounds = Number(process.argv[4] ?? 4);
const instances = Number(process.env.BENCH_INSTANCES ?? 2);
const routed = process.env.BENCH_ROUTED === '1';
const seconds = Number(process.env.BENCH_SECONDS ?? 8);

const server = await startPostgres();
try {
  const cluster = new PgCluster(server.url);
  const template = `http_ab_${process.pid}`;
  const customerIds = await buildTemplate(cluster, template, 1000, 8);
  const sides = [{ label: 'A', dir: a!, rates: [] as number[] }, { label: 'B', dir: b!, rates: [] as number[] }];
  const diffs: number[] = [];
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? sides : [...sides].reverse();
    const got: Record<string, HttpResult> = {};
    for (const side of order) {
      got[side.label] = await measureHttp(cluster, template, customerIds,
        { clients: 64, requests: 1_000_000, timeLimitMs: seconds * 1000, warmupRequests: 500, instances, routed, checkout: side.dir }, undefined);
      side.rates.push(got[side.label]!.rate);
      if (got[side.label]!.httpErrors > 0) throw new Error(`${side.label}: ${got[side.label]!.httpErrors} HTTP errors`);
    }
    diffs.push(got.B!.rate - got.A!.rate);
    console.log(`round ${round + 1} (${order.map((s) => s.label).join(' then ')}): A ${got.A!.rate.toFixed(0)}, B ${got.B!.rate.toFixed(0)} events/s; ${got.A!.check} / ${got.B!.check}`);
  }
  const median = (values: number[]) => percentile([...values].sort((x, y) => x - y), 0.5);
  console.log(`${instances} server(s)${routed ? ', routed' : ''}, ${rounds} rounds: A median ${median(sides[0]!.rates).toFixed(0)}, B median ${median(sides[1]!.rates).toFixed(0)} events/s; B − A per round median ${median(diffs).toFixed(0)} (${Math.min(...diffs).toFixed(0)} to ${Math.max(...diffs).toFixed(0)})`);
} finally {
  await server.stop();
}
