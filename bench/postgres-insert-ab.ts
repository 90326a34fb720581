/**
 * One write step's folded insert (the five to seven `unnest` inserts of a batch sent as one
 * statement) in four forms, on one throwaway PostgreSQL, alternating statement by statement so
 * that the machine's other load falls on all alike:
 *
 *   npx tsx bench/postgres-insert-ab.ts [rounds] [size]
 *
 * It seeds the benchmark's database (500 customers × 3 grants, the two meters), ingests 20
 * batches of `size` events (default 500) through `ingestEvents`, and captures the next batch's
 * folded insert without committing it. Then, each round, each form runs once on one connection
 * inside BEGIN … ROLLBACK, and the CPU its backend used for it is read from /proc: rows from
 * `SELECT * FROM unnest(…)` (a function scan, materialized first) or from `SELECT unnest(…), …`
 * (the select list, streamed); array parameters as pg's text literals or as the adapter sends
 * them (`arrayParameters`). This process's CPU to build the statement's Bind message in each
 * parameter form is measured alongside, with pg-protocol's serializer.
 *
 * `BENCH_SQL_B="…"` compares a layout change instead: after the warm-up the database is copied,
 * the SQL is run on the copy, and the captured statement (as the adapter sends it) runs on both,
 * alternating, each on its own connection.
 */
import { readFileSync } from 'node:fs';
import pg from 'pg';
import { serialize } from 'pg-protocol';
import { startPostgres } from '../test/support/postgres-server.ts';
import { buildTemplate, databaseFromTemplate, PgCluster } from './postgres-fixture.ts';
import { EventSource } from './events.ts';
import { within } from './deadline.ts';
import { arrayParameters, openPostgresDatabase } from '../src/store/postgres/postgres-database.ts';
import { createEngine } from '../src/engine/create-engine.ts';
import { ingestEvents } from '../src/engine/ingest-events.ts';
import type { SqlColumn } from '../src/store/sql.ts';

/** pg's own conversion of a parameter (arrays to `{…}` literals; a Buffer as it is), as `client.query` applies it. */
const pgUtils = (await import('pg/lib/utils.js' as string)).default as { prepareValue(v: unknown): unknown };

const [roundsArg = '30', sizeArg = '500'] = process.argv.slice(2);
const rounds = Number(roundsArg);
const size = Number(sizeArg);

/** The folded insert of the next write step, held back: the step then fails and rolls back. */
let captured: { text: string; values: unknown[] } | undefined;
let capture = false;
const clientQuery = pg.Client.prototype.query;
pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
  const config = args[0] as { text?: string; values?: unknown[] } | undefined;
  if (capture && typeof config === 'object' && config?.text?.startsWith('WITH w1 AS (INSERT')) {
    captured = { text: config.text, values: config.values ?? [] };
    capture = false;
    return Promise.reject(new Error('captured'));
  }
  return (clientQuery as (...a: unknown[]) => unknown).apply(this, args);
} as typeof pg.Client.prototype.query;

function backendCpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) * 10;
}

/** A binary 1-D array back into its elements (text, or int8 as decimal text). */
function decodeArray(b: Buffer): (string | null)[] {
  if (b.readInt32BE(0) === 0) return [];
  const oid = b.readUInt32BE(8);
  const n = b.readInt32BE(12);
  const out: (string | null)[] = [];
  for (let i = 0, o = 20; i < n; i++) {
    const len = b.readInt32BE(o);
    o += 4;
    if (len < 0) { out.push(null); continue; }
    out.push(oid === 25 ? b.toString('utf8', o, o + len) : b.readBigInt64BE(o).toString());
    o += len;
  }
  return out;
}

/** `{1,2,3}` back into its elements (the adapter's form of a bigint[] with no NULL). */
const decodeLiteral = (s: string): string[] => (s === '{}' ? [] : s.slice(1, -1).split(','));

const server = await startPostgres();
try {
  await within('insert A/B', 20 * 60_000, run());
} finally {
  await server.stop();
}

async function run(): Promise<void> {
  const cluster = new PgCluster(server.url);
  const ids = await buildTemplate(cluster, 'insert_ab_template', 500, 4);
  const copy = await databaseFromTemplate(cluster, 'insert_ab_template', 'insert_ab');
  const db = await openPostgresDatabase(copy.url, { max: 1 });
  const engine = await createEngine(db);
  const source = new EventSource('insert-ab', ids, 7);
  for (let i = 0; i < 20; i++) await ingestEvents(engine, source.batch(size));
  capture = true;
  await ingestEvents(engine, source.batch(size)).catch(() => {});
  await db.close();
  if (captured === undefined) throw new Error('No folded insert was captured.');
  const columns: SqlColumn[] = captured.values.map((v) => (Buffer.isBuffer(v) ? decodeArray(v) : typeof v === 'string' ? decodeLiteral(v) : v as SqlColumn));
  const projected = captured.text;
  const fromScan = projected.replace(/SELECT ((?:unnest\(\$\d+::[a-z]+\[\]\)(?:, )?)+)/g,
    (_m, list: string) => `SELECT * FROM unnest(${list.replace(/unnest\((\$\d+::[a-z]+\[\])\)/g, '$1')})`);
  const textParams = columns as unknown[];
  const binaryParams = arrayParameters(projected, columns);
  const forms: [string, string, unknown[]][] = [
    ['FROM unnest(…), text arrays', fromScan, textParams],
    ['FROM unnest(…), adapter arrays', fromScan, binaryParams],
    ['SELECT unnest(…), text arrays', projected, textParams],
    ['SELECT unnest(…), adapter arrays', projected, binaryParams],
  ];
  const rows = columns.reduce((n, c) => Math.max(n, c.length), 0);
  console.log(`one folded insert of a batch of ${size} events (${columns.length} array parameters, longest ${rows} rows), ${rounds} rounds`);

  const layoutB = process.env.BENCH_SQL_B;
  const copyB = layoutB === undefined ? undefined : await databaseFromTemplate(cluster, copy.name, 'insert_ab_b');
  if (copyB !== undefined) {
    const c = new pg.Client({ connectionString: copyB.url });
    await c.connect();
    await c.query(layoutB!);
    await c.query('VACUUM ANALYZE');
    await c.end();
    forms.splice(0, forms.length, ['A: as it is', projected, binaryParams], ['B: BENCH_SQL_B', projected, binaryParams]);
  }
  const clients = new Map<string, { client: pg.Client; pid: number }>();
  const connect = async (url: string): Promise<{ client: pg.Client; pid: number }> => {
    const client = new pg.Client({ connectionString: url });
    client.on('error', () => {});
    await client.connect();
    return { client, pid: Number((await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid) };
  };
  const a = await connect(copy.url);
  for (const [label] of forms) clients.set(label, label.startsWith('B:') ? await connect(copyB!.url) : a);
  try {
    const backendMs = new Map<string, number>();
    for (let round = -2; round < rounds; round++) {
      for (const [label, text, values] of round % 2 === 0 ? forms : [...forms].reverse()) {
        const { client, pid } = clients.get(label)!;
        await client.query('BEGIN');
        const before = backendCpuMs(pid);
        await client.query({ name: label.replace(/\W+/g, '_'), text, values });
        if (round >= 0) backendMs.set(label, (backendMs.get(label) ?? 0) + backendCpuMs(pid) - before);
        await client.query('ROLLBACK');
      }
    }
    console.log('PostgreSQL backend CPU per statement (bind and execute):');
    for (const [label, ms] of backendMs) console.log(`  ${label.padEnd(34)} ${(ms / rounds).toFixed(2)} ms`);
  } finally {
    for (const { client } of new Set(clients.values())) await client.end();
  }
  if (copyB !== undefined) {
    await copyB.drop();
    await copy.drop();
    return;
  }

  const bindUs = { text: 0, adapter: 0 };
  const binds = 200;
  for (let round = 0; round < 6; round++) {
    for (const form of round % 2 === 0 ? ['text', 'adapter'] as const : ['adapter', 'text'] as const) {
      const cpu = process.cpuUsage();
      for (let i = 0; i < binds; i++) {
        const values = form === 'text' ? columns : arrayParameters(projected, columns);
        serialize.bind({ statement: 'x', values: values as never, valueMapper: (v: unknown) => pgUtils.prepareValue(v) });
      }
      const used = process.cpuUsage(cpu);
      if (round > 0) bindUs[form] += (used.user + used.system) / binds;
    }
  }
  console.log(`this process, building the Bind message: text arrays ${(bindUs.text / 5 / 1000).toFixed(2)} ms, adapter arrays ${(bindUs.adapter / 5 / 1000).toFixed(2)} ms`);
  await copy.drop();
}

