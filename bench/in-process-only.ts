/**
 * Figure 1 alone (`npx tsx bench/in-process-only.ts`): in-process ingest against the floor of
 * PRODUCT §13, alternating batch by batch in one run. `BENCH_EVENTS` (default 20,000) and
 * `BENCH_CUSTOMERS` (default 1,000) set the size; the load average is printed before and after.
 */
import os from 'node:os';
import { runInProcess } from './in-process.ts';
import { pct, rate } from './stats.ts';

const events = Number(process.env.BENCH_EVENTS ?? 20_000);
const customers = Number(process.env.BENCH_CUSTOMERS ?? 1000);
const load = (): string => os.loadavg().map((l) => l.toFixed(2)).join(' ');
console.log(`load before: ${load()}`);
const r = await runInProcess({ customers, batchSize: 1000, events, timeLimitMs: 600_000, warmupBatches: 2 });
console.log(`engine ${rate(r.engineRate)} events/s, floor ${rate(r.floorRate)} events/s, engine/floor ${pct(r.ratio)}`);
console.log(`CPU per event: engine ${r.engineCpuUsPerEvent.toFixed(1)} µs, floor ${r.floorCpuUsPerEvent.toFixed(1)} µs (ratio by CPU ${pct(r.floorCpuUsPerEvent / r.engineCpuUsPerEvent)})`);
console.log(`same rows bare ${rate(r.rawRate)} events/s (${pct(r.rawFloorRatio)} of a floor beside it), ${r.rowsPerEvent.toFixed(2)} rows/event; ${JSON.stringify(r.statuses)}`);
console.log(`load after: ${load()}`);
