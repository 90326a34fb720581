/**
 * Ways of opening the SQLite store compared in one process, so that the machine's other load falls
 * on all of them alike:
 *
 *   npx tsx bench/durability-ab.ts [rounds] [side side…]
 *
 * A side is `at-commit` (`synchronous = FULL`, COMMIT syncs on the request thread) or `pipelined`
 * (the default, wal-sync.ts), optionally with `/checkpoint=<ms>`, the checkpointer thread's
 * interval (wal-checkpointer.ts); the default sides are `at-commit pipelined`. Each side gets its
 * own fixture (1,000 customers × 3 grants, two meters) behind its own real server, driven by the
 * benchmark's load client in a child process. Each round runs, on every server in turn (the order
 * rotating every round), 3 s of single-event requests from 64 clients (figure 3) and 3 s of batches
 * of 500 from 4 clients (figure 2). After each phase the process idles for 1 s (longer if a side
 * checkpoints less often) before its CPU is read, so the checkpoints a phase leaves behind are
 * counted on its side and do not run in the next one. Prints events per second and this process's
 * CPU per event (server and checkpointer threads, the fsync pool) for each, summed over the rounds.
 */
import { createApiKey } from '../src/engine/api-keys.ts';
import { buildServer } from '../src/server/app.ts';
import type { SqliteOptions } from '../src/store/sqlite/sqlite-database.ts';
import { openFixture } from './fixture.ts';
import { startClient } from './http.ts';
import type { LoadJob } from './load-client.ts';
import { cpuMsSince, rate } from './stats.ts';

const rounds = Number(process.argv[2] ?? 4);
const specs = process.argv.length > 3 ? process.argv.slice(3) : ['at-commit', 'pipelined'];
const client = startClient();

/** `pipelined/checkpoint=250` → the options it names. */
function optionsOf(spec: string): SqliteOptions {
  const [durability, ...settings] = spec.split('/');
  if (durability !== 'at-commit' && durability !== 'pipelined') throw new Error(`unknown side ${spec}`);
  const options: SqliteOptions = { durability };
  for (const setting of settings) {
    const [name, value] = setting.split('=');
    if (name !== 'checkpoint' || !Number.isInteger(Number(value))) throw new Error(`unknown setting ${setting}`);
    options.checkpointIntervalMs = Number(value);
  }
  return options;
}
const settleMs = Math.max(1000, ...specs.map((spec) => 4 * (optionsOf(spec).checkpointIntervalMs ?? 0)));

async function openSide(label: string) {
  const fixture = await openFixture(`durability-${label.replace(/[^a-z0-9-]/g, '-')}`, 1000, optionsOf(label));
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
    label,
    totals,
    async phase(kind: 'single' | 'batch') {
      const cpu = process.cpuUsage();
      const report = await client.run(job(kind));
      await new Promise((done) => setTimeout(done, settleMs));
      totals[kind].cpuMs += cpuMsSince(cpu);
      totals[kind].events += report.statuses.accepted ?? 0;
      totals[kind].ms += report.elapsedMs;
      if (report.httpErrors > 0) throw new Error(`${label}: ${report.httpErrors} HTTP errors ${JSON.stringify(report.statuses)}`);
    },
    async close() {
      await app.close();
      await fixture.close();
    },
  };
}

const sides = [];
for (const spec of specs) sides.push(await openSide(spec));
try {
  for (const side of sides) await side.phase('batch');
  for (let round = 0; round < rounds; round++) {
    const order = [...sides.slice(round % sides.length), ...sides.slice(0, round % sides.length)];
    for (const kind of ['single', 'batch'] as const) for (const side of order) await side.phase(kind);
  }
  for (const kind of ['single', 'batch'] as const) {
    for (const side of sides) {
      const t = side.totals[kind];
      console.log(`${kind.padEnd(6)} ${side.label.padEnd(24)} ${rate(t.events / (t.ms / 1000)).padStart(7)} events/s, ${((t.cpuMs * 1000) / t.events).toFixed(0)} µs of CPU per event`);
    }
  }
} finally {
  client.child.disconnect();
  for (const side of sides) await side.close();
}
