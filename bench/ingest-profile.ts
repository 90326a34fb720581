/**
 * Where figure 1's engine time goes, with the fixture's set-up out of the picture:
 *
 *   npx tsx bench/ingest-profile.ts [profile.cpuprofile]
 *
 * Builds the benchmark fixture (`BENCH_CUSTOMERS` customers, default 1,000, × 3 grants, two
 * meters), ingests 2 warm-up batches, then `BENCH_EVENTS` events (default 10,000) in batches of
 * 1000 and prints per event: wall time, CPU time (user and system, all threads, the WAL
 * checkpointer's included), the wall time of each SQL statement and of COMMIT
 * (`BENCH_STATEMENTS=1`), and the WAL frames written, measured over `BENCH_WAL_EVENTS` more events
 * (default 5,000) with checkpoints off, beside the floor's for the same batches after the same
 * history. With a file argument, the main thread's CPU profile of the timed loop alone is written
 * there (Chrome DevTools format).
 *
 * `BENCH_SQL="stmt;stmt"` runs statements on the fixture before the timed loop, to try a layout
 * change (an index dropped or made partial) before writing its migration.
 */
import { statSync } from 'node:fs';
import os from 'node:os';
import type Database from 'better-sqlite3';
import { ingestEvents } from '../src/engine/ingest-events.ts';
import { startCpuProfile } from './cpu-profile.ts';
import { EventSource, type BenchEvent } from './events.ts';
import { openFixture } from './fixture.ts';
import { Floor } from './floor.ts';
import { timeStatements } from './statement-times.ts';

const walFrameBytes = 4096 + 24;
const events = Number(process.env.BENCH_EVENTS ?? 10_000);
const walEvents = Number(process.env.BENCH_WAL_EVENTS ?? 5000);
const profilePath = process.argv[2];

/** The floor's WAL frames for `batches`, written after `history`, with checkpoints off. */
function floorWalFrames(customerIds: readonly string[], history: readonly BenchEvent[][], batches: readonly BenchEvent[][]): number {
  const floor = new Floor(customerIds);
  for (const b of history) floor.write(b);
  const db = (floor as unknown as { db: Database.Database }).db;
  db.pragma('wal_autocheckpoint = 0');
  db.pragma('wal_checkpoint(TRUNCATE)');
  const wal = `${db.name}-wal`;
  const before = statSync(wal).size;
  for (const b of batches) floor.write(b);
  const frames = (statSync(wal).size - before) / walFrameBytes;
  floor.close();
  return frames;
}

const fixture = await openFixture('profile', Number(process.env.BENCH_CUSTOMERS ?? 1000));
for (const sql of (process.env.BENCH_SQL ?? '').split(';').filter((s) => s.trim() !== '')) await fixture.db.run(sql);
const source = new EventSource('pf', fixture.customerIds, 7);
const batches = Array.from({ length: events / 1000 + 2 }, () => source.batch(1000));
for (const b of batches.slice(0, 2)) await ingestEvents(fixture.engine, b);

const statements = process.env.BENCH_STATEMENTS === '1' ? timeStatements(fixture.db) : null;
const stopProfile = await startCpuProfile(profilePath);
const load = os.loadavg()[0]!.toFixed(2);
const cpu = process.cpuUsage();
const faults = process.resourceUsage().minorPageFault;
const started = performance.now();
for (const b of batches.slice(2)) await ingestEvents(fixture.engine, b);
const wallMs = performance.now() - started;
const used = process.cpuUsage(cpu);
await stopProfile();
console.log(`${events} events: wall ${((wallMs * 1000) / events).toFixed(1)} µs/event, CPU user ${(used.user / events).toFixed(1)} + system ${(used.system / events).toFixed(1)} µs/event, ${((process.resourceUsage().minorPageFault - faults) / events).toFixed(3)} minor page faults per event (load ${load})`);
if (statements) for (const line of statements()) console.log(`  ${line}`);

// WAL frames: the checkpointer thread stopped and SQLite's own checkpoints off, from an emptied
// WAL; the file then grows by one frame (a page and its 24-byte header) per page written.
const walBatches = Array.from({ length: walEvents / 1000 }, () => source.batch(1000));
await (fixture.db as unknown as { checkpointer: { stop(): Promise<void> } | null }).checkpointer?.stop();
await fixture.db.query('PRAGMA wal_autocheckpoint = 0');
await fixture.db.query('PRAGMA wal_checkpoint(TRUNCATE)');
const wal = `${fixture.path}-wal`;
const walBefore = statSync(wal).size;
for (const b of walBatches) await ingestEvents(fixture.engine, b);
const frames = (statSync(wal).size - walBefore) / walFrameBytes;
const floorFrames = floorWalFrames(fixture.customerIds, batches, walBatches);
const rows = await fixture.db.query<{ n: bigint }>(`SELECT count(*) AS n FROM ledger_entries`);
console.log(`WAL frames per event over ${walEvents} events (${rows[0]!.n} ledger entries at the end): engine ${(frames / walEvents).toFixed(2)}, floor ${(floorFrames / walEvents).toFixed(2)}`);
await fixture.close();
