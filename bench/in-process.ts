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
  /** The same rows bare as a share of a floor that alternated with them (pass 2). */
  rawFloorRatio: number;
  /** CPU time of the whole process (all threads) per event: less sensitive to other load than wall time. */
  engineCpuUsPerEvent: number;
  rawCpuUsPerEvent: number;
  statuses: Record<string, number>;
  rowsPerEvent: number;
}

/**
 * Figure 1: `ingestEvents` in-process on a SQLite file, batch after batch, against the floor
 * (floor.ts), then the same rows written bare (raw-baseline.ts) against a floor of their own.
 * Warm-up batches run through every side untimed, so the JIT and the page caches are warm for all.
 */
export async function runInProcess(options: IngestRunOptions): Promise<InProcessResult> {
  const fixture = await openFixture('ingest', options.customers);
  const raw = await cloneDatabase(fixture, 'raw');
  const floor = new Floor(fixture.customerIds);
  const interleaved = process.env.BENCH_FIG1_INTERLEAVED === '1';
  /** The same-rows line's own floor (pass 2); none when it alternates with figure 1's. */
  const secondFloor = interleaved ? null : new Floor(fixture.customerIds);
  try {
    const meterIds = new Map((await fixture.engine.store.read.usage.allMeters()).map((m) => [m.code, m.id]));
    const source = new EventSource('ip', fixture.customerIds, 7);
    const batchCount = Math.ceil(options.events / options.batchSize) + options.warmupBatches;
    const batches = Array.from({ length: batchCount }, () => source.batch(options.batchSize));

    // Pass 1: the engine and the floor alternate batch by batch, so both meet the same machine
    // conditions (other load, database size) at the same moment. Only the bounds of the engine's
    // rows are noted between its batches. Reading those rows back and writing them bare there
    // (`BENCH_FIG1_INTERLEAVED=1`, as before round 38) left the engine about a twentieth slower
    // (its garbage and caches disturbed, which production never does; "Round 38" in
    // docs/benchmark-rounds.md), so the secondary line has a pass of its own.
    const marks = [await rowidMarks(fixture.db)];
    /** The same-rows line's totals: time and CPU writing bare, its floor's time, rows written. */
    const bare = { ms: 0, cpuMs: 0, floorMs: 0, rows: 0 };
    /** The engine's rows of batch `b` read back (untimed), then written bare (timed). */
    const writeBare = async (b: number, timed: boolean): Promise<void> => {
      const rawBatch = await readRawBatch(fixture.db, marks[b]!, marks[b + 1]!, meterIds);
      const cpu = process.cpuUsage();
      const ms = await writeRawBatch(raw.db, rawBatch);
      if (!timed) return;
      bare.ms += ms;
      bare.cpuMs += cpuMsSince(cpu);
      bare.rows += Object.values(rawBatch.rows).reduce((n, list) => n + list.length, 0);
    };
    const statuses: Record<string, number> = {};
    let engineMs = 0;
    let engineCpuMs = 0;
    let floorMs = 0;
    let floorCpuMs = 0;
    let events = 0;
    let batchesTimed = 0;
    const started = performance.now();
    for (let b = 0; b < batches.length && performance.now() - started < options.timeLimitMs; b++) {
      const timed = b >= options.warmupBatches;
      let cpu = process.cpuUsage();
      const t0 = performance.now();
      const results = await ingestEvents(fixture.engine, batches[b]!);
      const elapsed = performance.now() - t0;
      const elapsedCpu = cpuMsSince(cpu);
      marks.push(await rowidMarks(fixture.db));
      if (interleaved) await writeBare(b, timed);
      cpu = process.cpuUsage();
      const floorElapsed = floor.write(batches[b]!);
      const floorElapsedCpu = cpuMsSince(cpu);
      if (!timed) continue;
      floorMs += floorElapsed;
      floorCpuMs += floorElapsedCpu;
      for (const r of results) statuses[r.status] = (statuses[r.status] ?? 0) + 1;
      engineMs += elapsed;
      engineCpuMs += elapsedCpu;
      events += results.length;
      batchesTimed++;
    }
    if (interleaved) bare.floorMs = floorMs;
    // Pass 2, the secondary line: the same rows bare, alternating with a floor of their own.
    for (let b = 0; secondFloor !== null && b < marks.length - 1; b++) {
      const timed = b >= options.warmupBatches;
      await writeBare(b, timed);
      const floorElapsed = secondFloor.write(batches[b]!);
      if (timed) bare.floorMs += floorElapsed;
    }
    const engineRate = events / (engineMs / 1000);
    const rawRate = events / (bare.ms / 1000);
    const floorRate = events / (floorMs / 1000);
    return {
      events,
      batches: batchesTimed,
      engineMs,
      rawMs: bare.ms,
      engineRate,
      floorMs,
      floorRate,
      floorCpuUsPerEvent: (floorCpuMs * 1000) / events,
      ratio: engineRate / floorRate,
      rawRate,
      rawRatio: engineRate / rawRate,
      rawFloorRatio: bare.ms === 0 ? 0 : bare.floorMs / bare.ms,
      engineCpuUsPerEvent: (engineCpuMs * 1000) / events,
      rawCpuUsPerEvent: (bare.cpuMs * 1000) / events,
      statuses,
      rowsPerEvent: bare.rows / events,
    };
  } finally {
    floor.close();
    secondFloor?.close();
    await raw.remove();
    await fixture.close();
  }
}
