/**
 * Where figure 1's WAL frames go, B-tree by B-tree (`npx tsx bench/wal-pages.ts`).
 *
 * Builds the benchmark fixture (`BENCH_CUSTOMERS` customers, default 1,000, × 3 grants, two
 * meters), ingests `BENCH_WARMUP` batches (default 10) of `BENCH_BATCH_EVENTS` events (default
 * 1000, one commit each) through the engine to give it a history, then stops the checkpointer
 * thread, turns SQLite's own checkpoints off, empties the WAL and ingests `BENCH_BATCHES` more
 * batches (default 5). Every frame in the WAL is then one page one commit wrote; the frame header
 * names the page, and SQLite's `dbstat` table names the B-tree (table or index) that owns it.
 * Prints frames per event in all and for each B-tree, largest first, split into leaf and interior
 * pages, with how many leaves each B-tree has and how full they are, beside the customers a
 * commit touches (each touched customer costs at least one leaf page in every index led by the
 * customer): which of the layout's indexes the pages of a batch are spent on, and so what a
 * layout lever that removes or narrows one of them can take away. Frames are counted, not timed,
 * so the machine's other load does not move them.
 *
 * `BENCH_SQL="stmt;stmt"` runs statements on the fixture first, to try a layout change (an index
 * dropped, a table rebuilt) before writing its migration. Event ids are the benchmark's own
 * (`<prefix>-<n>`), which land near the end of the event-id index as the floor's do.
 */
import { readFileSync } from 'node:fs';
import Database from 'better-sqlite3';
import { ingestEvents } from '../src/engine/ingest-events.ts';
import { EventSource } from './events.ts';
import { openFixture } from './fixture.ts';

const customers = Number(process.env.BENCH_CUSTOMERS ?? 1000);
const warmupBatches = Number(process.env.BENCH_WARMUP ?? 10);
const batches = Number(process.env.BENCH_BATCHES ?? 5);
const batchSize = Number(process.env.BENCH_BATCH_EVENTS ?? 1000);
const walHeaderBytes = 32;
const frameHeaderBytes = 24;

const fixture = await openFixture('wal-pages', customers);
for (const sql of (process.env.BENCH_SQL ?? '').split(';').filter((s) => s.trim() !== '')) await fixture.db.run(sql);
const source = new EventSource('wp', fixture.customerIds, 7);
for (let i = 0; i < warmupBatches; i++) await ingestEvents(fixture.engine, source.batch(batchSize));
let touched = 0;

await (fixture.db as unknown as { checkpointer: { stop(): Promise<void> } | null }).checkpointer?.stop();
await fixture.db.query('PRAGMA wal_autocheckpoint = 0');
await fixture.db.query('PRAGMA wal_checkpoint(TRUNCATE)');
for (let i = 0; i < batches; i++) {
  const batch = source.batch(batchSize);
  touched += new Set(batch.map((e) => e.customer)).size;
  await ingestEvents(fixture.engine, batch);
}

const reader = new Database(fixture.path, { readonly: true });
const pageSize = Number(reader.pragma('page_size', { simple: true }));
const wal = readFileSync(`${fixture.path}-wal`);
const owners = new Map<number, { name: string; leaf: boolean }>();
/** Per B-tree: leaf pages, and their bytes unused, for how full its leaves are. */
const leaves = new Map<string, { pages: number; unused: number }>();
for (const row of reader.prepare('SELECT name, pageno, pagetype, unused FROM dbstat').all() as { name: string; pageno: number; pagetype: string; unused: number }[]) {
  owners.set(row.pageno, { name: row.name, leaf: row.pagetype !== 'internal' });
  if (row.pagetype !== 'leaf') continue;
  const fill = leaves.get(row.name) ?? { pages: 0, unused: 0 };
  fill.pages++;
  fill.unused += row.unused;
  leaves.set(row.name, fill);
}
const tables = new Map<string, string>();
for (const row of reader.prepare(`SELECT name, tbl_name FROM sqlite_schema WHERE type IN ('table', 'index')`).all() as { name: string; tbl_name: string }[]) {
  tables.set(row.name, row.tbl_name);
}
const frames = new Map<string, { leaf: number; internal: number }>();
let total = 0;
for (let offset = walHeaderBytes; offset + frameHeaderBytes + pageSize <= wal.length; offset += frameHeaderBytes + pageSize) {
  const owner = owners.get(wal.readUInt32BE(offset)) ?? { name: '(free or new page)', leaf: true };
  const count = frames.get(owner.name) ?? { leaf: 0, internal: 0 };
  if (owner.leaf) count.leaf++;
  else count.internal++;
  frames.set(owner.name, count);
  total++;
}
reader.close();

const events = batches * batchSize;
const history = (await fixture.db.query('SELECT COUNT(*) AS n FROM ledger_entries'))[0]!.n;
console.log(`${customers} customers, ${warmupBatches * batchSize} events of history (${history} ledger entries at the end), ${events} events measured in ${batches} commits`);
console.log(`customers touched per commit: ${(touched / batches).toFixed(0)} (${(touched / events).toFixed(3)} per event)`);
console.log(`WAL frames per event: ${(total / events).toFixed(3)} (${((total / events) * pageSize / 1024).toFixed(1)} KiB); per B-tree, leaf + interior pages, and its leaves (how many, how full):`);
for (const [name, count] of [...frames].sort((a, b) => b[1].leaf + b[1].internal - a[1].leaf - a[1].internal)) {
  const table = tables.get(name);
  const all = (count.leaf + count.internal) / events;
  const fill = leaves.get(name);
  const full = fill && fill.pages > 0 ? `${fill.pages} leaves, ${(100 - (100 * fill.unused) / (fill.pages * pageSize)).toFixed(0)}% full` : '';
  console.log(`  ${all.toFixed(3)} = ${(count.leaf / events).toFixed(3)} + ${(count.internal / events).toFixed(3)}  ${name}${table && table !== name ? ` (${table})` : ''}  ${full}`);
}
await fixture.close();
process.exit(0);
