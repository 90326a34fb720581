/**
 * Where one PostgreSQL batched write step spends its CPU, in process on one throwaway server:
 *
 *   npx tsx bench/postgres-explain.ts [groups] [size] [out.cpuprofile]
 *
 * Seeds the benchmark's database (500 customers × 3 grants, the two meters), warms up, then
 * ingests `groups` groups of `size` events (default 40 × 500) through `ingestEvents` and prints
 * the CPU of this process and of each PostgreSQL process (by its title: backends, WAL writer,
 * checkpointer…, read from /proc), and `EXPLAIN (ANALYZE, BUFFERS, WAL)` of one group's folded
 * insert (`BENCH_EXPLAIN=read`: its one read, which a group of up to 64 customers and events
 * takes), run in its place (so it is executed too), and the tables' inserted, updated and HOT-updated
 * row counts. With a path, the main thread's CPU profile
 * of the measured groups is written there. `BENCH_PG_SETTINGS="name=value,…"` starts the server
 * with more settings; `BENCH_PERF=<file>` records the measured groups' backends with `perf record -g`;
 * `BENCH_SQL="…"` runs on the database before anything is ingested (a layout change).
 */
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import pg from 'pg';
import { startPostgres } from '../test/support/postgres-server.ts';
import { buildTemplate, checkLedger, databaseFromTemplate, PgCluster } from './postgres-fixture.ts';
import { postmasterPid } from './postgres-probe.ts';
import { EventSource } from './events.ts';
import { within } from './deadline.ts';
import { startCpuProfile } from './cpu-profile.ts';
import { openPostgresDatabase } from '../src/store/postgres/postgres-database.ts';
import { createEngine } from '../src/engine/create-engine.ts';
import { ingestEvents } from '../src/engine/ingest-events.ts';

const [groupsArg = '40', sizeArg = '500', profilePath] = process.argv.slice(2);
const groups = Number(groupsArg);
const size = Number(sizeArg);
const settings = Object.fromEntries((process.env.BENCH_PG_SETTINGS ?? '').split(',').filter((s) => s !== '').map((s) => s.split('=') as [string, string]));

/** Which of a group's statements is explained: the folded insert, or (`BENCH_EXPLAIN=read`) the one read of a small group. */
const explained = process.env.BENCH_EXPLAIN === 'read'
  ? { prefix: 'SELECT\n  (SELECT json_agg', name: 'one read' }
  : { prefix: 'WITH w1 AS (INSERT', name: 'folded insert' };
let explainNext = false;
let plan: string[] | undefined;
const clientQuery = pg.Client.prototype.query;
pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
  const config = args[0] as { text?: string; values?: unknown[] } | undefined;
  if (explainNext && typeof config === 'object' && config?.text?.startsWith(explained.prefix)) {
    explainNext = false;
    const promise = (clientQuery as (...a: unknown[]) => Promise<pg.QueryResult>).call(this,
      { text: `EXPLAIN (ANALYZE, BUFFERS, WAL, VERBOSE false) ${config.text}`, values: config.values });
    return promise.then((r) => { plan = r.rows.map((row: Record<string, string>) => row['QUERY PLAN']!); return r; });
  }
  return (clientQuery as (...a: unknown[]) => unknown).apply(this, args);
} as typeof pg.Client.prototype.query;

const ticks = 100;
function processes(parent: number): Map<number, { title: string; ms: number }> {
  const out = new Map<number, { title: string; ms: number }>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(f[1]) !== parent && Number(name) !== parent) continue;
      const title = readFileSync(`/proc/${name}/cmdline`, 'utf8').replace(/\0/g, ' ').trim();
      out.set(Number(name), { title, ms: (Number(f[11]) + Number(f[12])) * 1000 / ticks });
    } catch { /* gone */ }
  }
  return out;
}

const server = await startPostgres({ settings });
try {
  await within('explain run', 20 * 60_000, run());
} finally {
  await server.stop();
}

async function run(): Promise<void> {
  const cluster = new PgCluster(server.url);
  const pid = (await postmasterPid(server.url))!;
  const customerIds = await buildTemplate(cluster, 'explain_template', 500, 4);
  const copy = await databaseFromTemplate(cluster, 'explain_template', 'explain');
  if (process.env.BENCH_SQL) {
    const c = new pg.Client({ connectionString: copy.url });
    await c.connect();
    await c.query(process.env.BENCH_SQL);
    await c.end();
  }
  const db = await openPostgresDatabase(copy.url, { max: 4 });
  const engine = await createEngine(db);
  const source = new EventSource('explain', customerIds, 7);
  const ingest = async (): Promise<void> => {
    const results = await ingestEvents(engine, source.batch(size)) as { status: string }[];
    for (const r of results) if (r.status !== 'accepted') throw new Error(JSON.stringify(r));
  };
  for (let i = 0; i < 20; i++) await ingest();
  const before = processes(pid);
  const backends = [...before].filter(([, p]) => p.title.includes(copy.name)).map(([p]) => p);
  const perf = process.env.BENCH_PERF ? spawn('perf', ['record', '-g', '-o', process.env.BENCH_PERF, '-p', backends.join(',')], { stdio: 'ignore' }) : undefined;
  const perfExited = perf ? new Promise((done) => perf.once('exit', done)) : undefined;
  if (perf) await new Promise((done) => setTimeout(done, 1000));
  const cpu = process.cpuUsage();
  const stop = await startCpuProfile(profilePath);
  for (let i = 0; i < groups; i++) await ingest();
  await stop();
  if (perf) { perf.kill('SIGINT'); await perfExited; }
  const used = process.cpuUsage(cpu);
  const after = processes(pid);
  const events = groups * size;
  const byTitle = new Map<string, number>();
  for (const [p, a] of after) {
    const title = a.title.replace(/ \d+\.\d+\.\d+\.\d+\(\d+\).*$/, ' backend').replace(/^postgres: /, '');
    byTitle.set(title, (byTitle.get(title) ?? 0) + a.ms - (before.get(p)?.ms ?? 0));
  }
  const engineUs = (used.user + used.system) / events;
  let pgMs = 0;
  for (const ms of byTitle.values()) pgMs += ms;
  console.log(`${events} events in groups of ${size}: engine ${engineUs.toFixed(1)} µs/event (user ${(used.user / events).toFixed(1)}, system ${(used.system / events).toFixed(1)}), PostgreSQL ${(pgMs * 1000 / events).toFixed(1)} µs/event`);
  for (const [title, ms] of [...byTitle].sort((a, b) => b[1] - a[1])) if (ms > 0) console.log(`  ${(ms * 1000 / events).toFixed(1).padStart(7)} µs/event  ${title}`);
  explainNext = true;
  await ingest();
  console.log(`\nEXPLAIN (ANALYZE, BUFFERS, WAL) of one group's ${explained.name}:\n${(plan ?? ['(not captured)']).join('\n')}`);
  const stats = new pg.Client({ connectionString: copy.url });
  await stats.connect();
  await new Promise((done) => setTimeout(done, 1000)); // statistics are reported when a backend goes idle
  const tables = (await stats.query<{ relname: string; n_tup_ins: string; n_tup_upd: string; n_tup_hot_upd: string }>(
    `SELECT relname, n_tup_ins::text, n_tup_upd::text, n_tup_hot_upd::text FROM pg_stat_user_tables WHERE relname IN ('usage_events', 'ledger_transactions', 'ledger_entries', 'accounts', 'meter_totals') ORDER BY relname`)).rows;
  await stats.end();
  console.log('\nrows inserted, updated and HOT-updated (no index entry) since the copy was made:');
  for (const t of tables) console.log(`  ${t.relname.padEnd(20)} ${t.n_tup_ins.padStart(8)} ${t.n_tup_upd.padStart(8)} ${t.n_tup_hot_upd.padStart(8)}`);
  const check = await checkLedger(copy.url);
  console.log(`ledger check: ${check.chargedTwice + check.unposted + check.balanceMismatches + check.overspentGrants === 0 && check.entriesSum === 0n ? 'passed' : 'FAILED'}`);
  await db.close();
  await copy.drop();
}
