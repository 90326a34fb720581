/**
 * The two ways a SQLite commit is made durable, compared in one process so that the machine's
 * other load falls on both alike:
 *
 *   npx tsx bench/durability-ab.ts [rounds]
 *
 * Two fixtures (1,000 customers × 3 grants, two meters), one opened with `durability:
 * 'at-commit'` (`synchronous = FULL`, COMMIT syncs on the request thread) and one with the
 * default `pipelined` (wal-sync.ts), each behind its own real server, driven by the benchmark's
 * load client in a child process. Each round runs, on both servers in turn (the order flips every
 * round), 3 s of single-event requests from 64 clients (figure 3) and 3 s of batches of 500 from
 * 4 clients (figure 2). Prints events per second and this process's CPU per event (server and
 * checkpointer threads, the fsync pool) for each, summed over the rounds.
 */
import { createApiKey } from '../src/engine/api-keys.ts';
import { buildServer } from '../src/server/app.ts';
import type { SqliteOptions } from '../src/store/sqlite/sqlite-database.ts';
import { openFixture } from './fixture.ts';
import { startClient } from './http.ts';
import type { LoadJob } from './load-client.ts';
import { cpuMsSince, rate } from './stats.ts';

const rounds = Number(process.argv[2] ?? 4);
const client = startClient();

async function openSide(durability: NonNullable<SqliteOptions['durability']>) {
  const fixture = await openFixture(`durability-${durability}`, 1000, { durability });
  const app = await buildServer(fixture.engine, { adminKey: 'bench-admin-key' });
  const key = await createApiKey(fixture.engine, { name: 'bench', scopes: ['ingest'] });
  if (!key.ok) throw new Error(key.error.message);
  const baseUrl = await app.listen({ port: 0, host: '127.0.0.1' });
  const totals = { single: { events: 0, ms: 0, cpuMs: 0 }, batch: { events: 0, ms: 0, cpuMs: 0 } };
  let seed = 10;
  const job = (kind: 'single' | 'batch'): LoadJob => ({
    kind: 'events', label: kind, baseUrl, apiKey: key.value.secret, customerIds: fixture.customerIds,
    eventsPerRequest: kind === 'single' ? 1 : 500, clients: kind === 'single' ? 64 : 4,
    requestsMax: 1_000_000, timeLimitMs: 3000, seed: seed++,
  });
  return {
    durability,
    totals,
    async phase(kind: 'single' | 'batch') {
      const cpu = process.cpuUsage();
      const report = await client.run(job(kind));
      totals[kind].cpuMs += cpuMsSince(cpu);
      totals[kind].events += report.statuses.accepted ?? 0;
      totals[kind].ms += report.elapsedMs;
      if (report.httpErrors > 0) throw new Error(`${durability}: ${report.httpErrors} HTTP errors ${JSON.stringify(report.statuses)}`);
    },
    async close() {
      await app.close();
      await fixture.close();
    },
  };
}

const sides = [await openSide('at-commit'), await openSide('pipelined')];
try {
  for (const side of sides) await side.phase('batch');
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? sides : [...sides].reverse();
    for (const kind of ['single', 'batch'] as const) for (const side of order) await side.phase(kind);
  }
  for (const kind of ['single', 'batch'] as const) {
    for (const side of sides) {
      const t = side.totals[kind];
      console.log(`${kind.padEnd(6)} ${side.durability.padEnd(9)} ${rate(t.events / (t.ms / 1000)).padStart(7)} events/s, ${((t.cpuMs * 1000) / t.events).toFixed(0)} µs of CPU per event`);
    }
  }
} finally {
  client.child.disconnect();
  for (const side of sides) await side.close();
}
