import { ingestEvents } from '../src/engine/ingest-events.ts';
import { EventSource } from './events.ts';
import { cloneDatabase, openFixture } from './fixture.ts';
import { cpuMsSince } from './stats.ts';
import { readRawBatch, rowidMarks, writeRawBatch } from './raw-baseline.ts';
import { Floor } from './floor.ts';

export interface IngestRunOptions {
  customers: number;
  batchSize: number;
  events: number;
  /** Stop early after this long, whatever `events` says. */
  timeLimitMs: number;
  warmupBatches: number;
}

export interface InProcessResult {
  events: number;
  batches: number;
  engineMs: number;
  rawMs: number;
  engineRate: number;
  /** The floor of PRODUCT §13 (floor.ts), the bar the engine is judged by. */
  floorMs: number;
  floorRate: number;
  floorCpuUsPerEvent: number;
  /** Engine rate as a share of the floor. */
  ratio: number;
  /** Secondary: the engine's own rows written back bare (raw-baseline.ts). */
  rawRate: number;
  rawRatio: number;
  /** CPU time of the whole process (all threads) per event: less sensitive to other load than wall time. */
  engineCpuUsPerEvent: number;
  rawCpuUsPerEvent: number;
  statuses: Record<string, number>;
  rowsPerEvent: number;
}

/**
 * Figure 1: `ingestEvents` in-process on a SQLite file, batch after batch, against the raw
 * storage limit of the same rows (see raw-baseline.ts). Warm-up batches run through both sides
 * untimed, so the JIT and the page cache are warm for both.
 */
export async function runInProcess(options: IngestRunOptions): Promise<InProcessResult> {
  const fixture = await openFixture('ingest', options.customers);
  const raw = await cloneDatabase(fixture, 'raw');
  const floor = new Floor(fixture.customerIds);
  try {
    const meterIds = new Map((await fixture.engine.store.read.usage.allMeters()).map((m) => [m.code, m.id]));
    const source = new EventSource('ip', fixture.customerIds, 7);
    const batchCount = Math.ceil(options.events / options.batchSize) + options.warmupBatches;
    const batches = Array.from({ length: batchCount }, () => source.batch(options.batchSize));

    // Engine, floor and same-rows baseline alternate batch by batch, so both meet the same machine conditions
    // (other load, page cache, database size) at the same moment.
    const statuses: Record<string, number> = {};
    let engineMs = 0;
    let engineCpuMs = 0;
    let rawMs = 0;
    let rawCpuMs = 0;
    let floorMs = 0;
    let floorCpuMs = 0;
    let events = 0;
    let batchesTimed = 0;
    let rows = 0;
    let marks = await rowidMarks(fixture.db);
    const started = performance.now();
    for (let b = 0; b < batches.length && performance.now() - started < options.timeLimitMs; b++) {
      const timed = b >= options.warmupBatches;
      let cpu = process.cpuUsage();
      const t0 = performance.now();
      const results = await ingestEvents(fixture.engine, batches[b]!);
      const elapsed = performance.now() - t0;
      const elapsedCpu = cpuMsSince(cpu);
      const next = await rowidMarks(fixture.db);
      const rawBatch = await readRawBatch(fixture.db, marks, next, meterIds);
      marks = next;
      cpu = process.cpuUsage();
      const rawElapsed = await writeRawBatch(raw.db, rawBatch);
      const rawElapsedCpu = cpuMsSince(cpu);
      cpu = process.cpuUsage();
      const floorElapsed = floor.write(batches[b]!);
      const floorElapsedCpu = cpuMsSince(cpu);
      if (!timed) continue;
      floorMs += floorElapsed;
      floorCpuMs += floorElapsedCpu;
      for (const r of results) statuses[r.status] = (statuses[r.status] ?? 0) + 1;
      engineMs += elapsed;
      engineCpuMs += elapsedCpu;
      rawMs += rawElapsed;
      rawCpuMs += rawElapsedCpu;
      events += results.length;
      batchesTimed++;
      rows += Object.values(rawBatch.rows).reduce((n, list) => n + list.length, 0);
    }
    const engineRate = events / (engineMs / 1000);
    const rawRate = events / (rawMs / 1000);
    const floorRate = events / (floorMs / 1000);
    return {
      events,
      batches: batchesTimed,
      engineMs,
      rawMs,
      engineRate,
      floorMs,
      floorRate,
      floorCpuUsPerEvent: (floorCpuMs * 1000) / events,
      ratio: engineRate / floorRate,
      rawRate,
      rawRatio: engineRate / rawRate,
      engineCpuUsPerEvent: (engineCpuMs * 1000) / events,
      rawCpuUsPerEvent: (rawCpuMs * 1000) / events,
      statuses,
      rowsPerEvent: rows / events,
    };
  } finally {
    floor.close();
    await raw.remove();
    await fixture.close();
  }
}
