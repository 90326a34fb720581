/**
 * The server's resident memory while ingesting for the customers of an existing SQLite database
 * (`npm run build:server && npx tsx bench/ingest-memory.ts <tally.db> [batches]`):
 *
 * Copies the database (one a load check wrote, say: `bench/load-check.ts` with
 * `BENCH_KEEP_DATABASE=<dir>`) to a temporary directory, starts this checkout's `tally serve` on
 * the copy, and sends `batches` (default 300) batches of 1000 events over its customers at random
 * from 8 clients, `bench/load-check.ts`'s shape without making the customers first, so each run
 * takes a minute rather than four and runs can be alternated. Samples the server's resident set
 * every 100 ms (`/proc/<pid>/status`: `VmRSS`, and its anonymous and file-backed parts) and
 * prints it at start, at its highest and at the end, with events per second and the server's
 * CPU per event. Run from two checkouts (each its own `dist/`) to compare them;
 * `BENCH_NODE_OPTIONS` are passed to the server's `node` and `BENCH_SERVER_ENV="NAME=value …"`
 * set its environment. The balances are not checked: the load check does that.
 */
import Database from 'better-sqlite3';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { processCpuMs, procStatusMiB } from './proc-stat.ts';
import { startTallyServe } from './serve-process.ts';
import { random } from '../test/support/usage-load.ts';

const source = process.argv[2];
if (source === undefined) throw new Error('usage: npx tsx bench/ingest-memory.ts <tally.db> [batches]');
const batches = Number(process.argv[3] ?? 300);
const clients = 8;
const batchSize = 1000;
const adminKey = 'bench-ingest-memory-admin-key-0123456789';

const dir = mkdtempSync(join(tmpdir(), 'tally-ingest-memory-'));
const path = join(dir, 'tally.db');
copyFileSync(source, path);
const copy = new Database(path, { readonly: true });
const ids = (copy.prepare('SELECT id FROM customers ORDER BY id').all() as { id: string }[]).map((r) => r.id);
const type = (copy.prepare('SELECT event_type FROM meters ORDER BY id LIMIT 1').get() as { event_type: string } | undefined)?.event_type;
copy.close();
if (ids.length === 0 || type === undefined) throw new Error(`${source} has no customers or no meter`);

for (const setting of (process.env.BENCH_SERVER_ENV ?? '').split(' ').filter((s) => s !== '')) {
  const at = setting.indexOf('=');
  process.env[setting.slice(0, at)] = setting.slice(at + 1);
}
const server = await startTallyServe({ path, adminKey, nodeOptions: (process.env.BENCH_NODE_OPTIONS ?? '').split(' ').filter((o) => o !== '') });

type Resident = { VmRSS: number; RssAnon: number; RssFile: number };
/** The server's resident set now, in MiB: all of it, its anonymous part and its file-backed part. */
function resident(): Resident {
  const mib = (field: keyof Resident) => Math.round(procStatusMiB(server.pid, field));
  return { VmRSS: mib('VmRSS'), RssAnon: mib('RssAnon'), RssFile: mib('RssFile') };
}
const shown = (r: Resident): string => `${r.VmRSS} MiB (anonymous ${r.RssAnon}, files ${r.RssFile})`;

try {
  const start = resident();
  let highest = start;
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      const now = resident();
      if (now.VmRSS > highest.VmRSS) highest = now;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  })();

  const next = random(Number(process.env.BENCH_SEED ?? 7));
  const run = Date.now().toString(36);
  const sent: unknown[][] = [];
  let n = 0;
  for (let b = 0; b < batches; b++) {
    sent.push(Array.from({ length: batchSize }, () => ({
      id: `memory-${run}-${n++}`, customer: ids[Math.floor(next() * ids.length)], type, properties: { tokens: 1 + Math.floor(next() * 5000) },
    })));
  }
  const started = Date.now();
  const cpuBefore = processCpuMs(server.pid);
  let taken = 0;
  await Promise.all(Array.from({ length: clients }, async () => {
    while (taken < sent.length) {
      const response = await fetch(`${server.baseUrl}/v1/events`, {
        method: 'POST',
        headers: { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' },
        body: JSON.stringify({ events: sent[taken++] }),
      });
      const reply = await response.json() as { results?: { status: string }[] };
      if (response.status >= 300 || reply.results?.some((r) => r.status !== 'accepted')) throw new Error(`POST /v1/events: ${response.status} ${JSON.stringify(reply).slice(0, 300)}`);
    }
  }));
  const ms = Date.now() - started;
  const cpuUs = ((processCpuMs(server.pid) - cpuBefore) * 1000) / n;
  sampling = false;
  await sampler;
  console.log(`${ids.length} customers, ${n} events in ${(ms / 1000).toFixed(1)} s: ${Math.round((n / ms) * 1000).toLocaleString('en-US')} events/s, ${cpuUs.toFixed(1)} µs of server CPU per event`);
  console.log(`server RSS at start ${shown(start)}, at most ${shown(highest)}, at the end ${shown(resident())}`);
} finally {
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
}
