/**
 * Two checkouts of Tally compared on one PostgreSQL ingestion write step, in one process and on
 * one throwaway server, so that the machine's other load falls on both alike:
 *
 *   npx tsx bench/postgres-trips-ab.ts <checkout A> <checkout B> [rounds]
 *
 * Each checkout gets its own copy of one seeded database (500 customers × 3 grants, the two
 * benchmark meters) and its own pool, and ingests the same events through its own `ingestEvents`
 * in process (no HTTP). Rounds alternate between the two (the order flips every round): groups of
 * 16 events, then groups of 500 (`BENCH_SIZES` to choose others). For each side and group size it prints the statements PostgreSQL
 * ran per group (`pg_stat_statements`, BEGIN and COMMIT included), the round trips (statement
 * texts the clients sent; a text may hold several statements) and the CPU per group: this
 * process plus every PostgreSQL process, read from /proc. `BENCH_STATEMENTS=1` also lists each
 * side's costliest statements, with their planning and execution times.
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import pg from 'pg';
import { startPostgres } from '../test/support/postgres-server.ts';
import { buildTemplate, checkLedger, databaseFromTemplate, PgCluster } from './postgres-fixture.ts';
import { postgresCpuMs, postmasterPid } from './postgres-probe.ts';
import { EventSource } from './events.ts';
import { within } from './deadline.ts';

const [argA, argB, roundsArg = '6'] = process.argv.slice(2);
if (!argA || !argB) throw new Error('usage: npx tsx bench/postgres-trips-ab.ts <checkout A> <checkout B> [rounds]');
const rounds = Number(roundsArg);
const customerCount = 500;
/** Group sizes (`BENCH_SIZES=16,64,500`), and per round and side about 2,000 events of each. */
const sizes = (process.env.BENCH_SIZES ?? '16,500').split(',').map(Number);
const groupsPerRound = (size: number): number => Math.max(2, Math.round(2000 / size));
const runLimitMs = 30 * 60_000;

interface Tally { groups: number; events: number; statements: number; roundTrips: number; engineMs: number; postgresMs: number }

/** Every statement text a client sends is one round trip (node-postgres sends one at a time). */
let roundTrips = 0;
const clientQuery = pg.Client.prototype.query;
pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
  roundTrips++;
  return (clientQuery as (...a: unknown[]) => unknown).apply(this, args);
} as typeof pg.Client.prototype.query;

interface Side {
  label: string;
  database: string;
  url: string;
  ingest(events: unknown[]): Promise<void>;
  source: EventSource;
  tallies: Map<number, Tally>;
  close(): Promise<void>;
}

const server = await startPostgres({ settings: { shared_preload_libraries: 'pg_stat_statements', 'pg_stat_statements.track': 'all', 'pg_stat_statements.track_planning': 'on' } });
try {
  await within('A/B run', runLimitMs, run());
} finally {
  await server.stop();
}

async function run(): Promise<void> {
  const cluster = new PgCluster(server.url);
  await cluster.admin('CREATE EXTENSION IF NOT EXISTS pg_stat_statements');
  const pid = await postmasterPid(server.url);
  if (pid === undefined) throw new Error('The postmaster pid could not be read.');
  const customerIds = await buildTemplate(cluster, 'trips_template', customerCount, 4);
  const sides = [await openSide(cluster, resolve(argA!), 'A', customerIds), await openSide(cluster, resolve(argB!), 'B', customerIds)];
  const admin = new pg.Client({ connectionString: server.url });
  await admin.connect();
  const statementsOf = async (database: string): Promise<number> => {
    const rows = (await admin.query<{ calls: string | null }>(
      `SELECT sum(calls)::text AS calls FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid WHERE d.datname = $1`, [database])).rows;
    return Number(rows[0]?.calls ?? 0);
  };
  const measure = async (side: Side, size: number, groups: number, counted: boolean): Promise<void> => {
    const batches = Array.from({ length: groups }, () => side.source.batch(size));
    const statementsBefore = await statementsOf(side.database);
    const tripsBefore = roundTrips;
    const cpu = process.cpuUsage();
    const postgresBefore = postgresCpuMs(pid);
    for (const batch of batches) await side.ingest(batch);
    const postgresMs = postgresCpuMs(pid) - postgresBefore;
    const used = process.cpuUsage(cpu);
    const trips = roundTrips - tripsBefore;
    const statements = await statementsOf(side.database) - statementsBefore;
    if (!counted) return;
    const t = side.tallies.get(size) ?? { groups: 0, events: 0, statements: 0, roundTrips: 0, engineMs: 0, postgresMs: 0 };
    t.groups += groups;
    t.events += groups * size;
    t.statements += statements;
    t.roundTrips += trips;
    t.engineMs += (used.user + used.system) / 1000;
    t.postgresMs += postgresMs;
    side.tallies.set(size, t);
  };
  try {
    // Warm-up, not counted: statements prepared, code optimized.
    for (const side of sides) for (const size of sizes) await measure(side, size, 20, false);
    for (let round = 0; round < rounds; round++) {
      for (const side of round % 2 === 0 ? sides : [...sides].reverse()) {
        for (const size of sizes) await measure(side, size, groupsPerRound(size), true);
      }
      console.log(`round ${round + 1}/${rounds} done`);
    }
    for (const size of sizes) {
      console.log(`\ngroups of ${size}:`);
      for (const side of sides) {
        const t = side.tallies.get(size)!;
        const perGroup = (ms: number): string => `${(ms / t.groups).toFixed(2)} ms`;
        console.log(`  ${side.label}: ${(t.statements / t.groups).toFixed(2)} statements and ${(t.roundTrips / t.groups).toFixed(2)} round trips per group; CPU per group ${perGroup(t.engineMs + t.postgresMs)} ` +
          `(engine ${perGroup(t.engineMs)} + PostgreSQL ${perGroup(t.postgresMs)}), ${((t.engineMs + t.postgresMs) * 1000 / t.events).toFixed(0)} µs per event`);
      }
    }
    if (process.env.BENCH_STATEMENTS === '1') {
      for (const side of sides) {
        const rows = (await admin.query<{ calls: string; plan_ms: string; exec_ms: string; query: string }>(
          `SELECT calls::text, round((total_plan_time / calls)::numeric, 3)::text AS plan_ms, round((total_exec_time / calls)::numeric, 3)::text AS exec_ms,
             left(regexp_replace(query, '\\s+', ' ', 'g'), 90) AS query
           FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid WHERE d.datname = $1 ORDER BY total_plan_time + total_exec_time DESC LIMIT 12`,
          [side.database])).rows;
        console.log(`\n${side.label}: statements by time (calls, plan ms and execution ms per call)`);
        for (const r of rows) console.log(`  ${r.calls.padStart(7)} ${r.plan_ms.padStart(8)} ${r.exec_ms.padStart(8)}  ${r.query}`);
      }
    }
    for (const side of sides) {
      const check = await checkLedger(side.url);
      const broken = check.chargedTwice + check.unposted + check.balanceMismatches + check.overspentGrants;
      console.log(`${side.label} ledger check: ${broken === 0 && check.entriesSum === 0n ? 'passed' : `FAILED ${JSON.stringify(check, (_k, v) => (typeof v === 'bigint' ? String(v) : v))}`} (${check.usageEvents} events)`);
    }
  } finally {
    await admin.end();
    for (const side of sides) await side.close();
  }
}

async function openSide(cluster: PgCluster, root: string, label: string, customerIds: string[]): Promise<Side> {
  const from = (path: string): string => pathToFileURL(`${root}/${path}`).href;
  const { openPostgresDatabase } = await import(from('src/store/postgres/postgres-database.ts'));
  const { createEngine } = await import(from('src/engine/create-engine.ts'));
  const { ingestEvents } = await import(from('src/engine/ingest-events.ts'));
  const copy = await databaseFromTemplate(cluster, 'trips_template', `trips_${label}`);
  const db = await openPostgresDatabase(copy.url, { max: 4 });
  const engine = await createEngine(db);
  return {
    label,
    database: copy.name,
    url: copy.url,
    async ingest(events) {
      const results = await ingestEvents(engine, events) as { status: string; error?: unknown }[];
      for (const r of results) if (r.status !== 'accepted') throw new Error(`${label}: ${JSON.stringify(r)}`);
    },
    source: new EventSource('trips', customerIds, 7),
    tallies: new Map(),
    async close() {
      await db.close();
      await copy.drop();
    },
  };
}
