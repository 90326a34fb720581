/**
 * Two layouts side by side in one run, batch by batch (`npx tsx bench/layout-ab.ts`): two
 * benchmark fixtures, B with `BENCH_SQL_B="stmt;stmt"` run on it (an index dropped or made
 * partial, say), the same events ingested into both in alternating order, so that both meet the
 * same machine load and grow the same history. Prints wall and CPU time per event every 10
 * batches and the B/A ratios at the end. `BENCH_EVENTS` per side (default 40,000), over
 * `BENCH_CUSTOMERS` customers (default 1,000).
 */
import os from 'node:os';
import { ingestEvents } from '../src/engine/ingest-events.ts';
import { EventSource } from './events.ts';
import { openFixture, type Fixture } from './fixture.ts';
import { cpuMsSince } from './stats.ts';

const events = Number(process.env.BENCH_EVENTS ?? 40_000);
const customers = Number(process.env.BENCH_CUSTOMERS ?? 1000);
const warmupBatches = 2;
const a = await openFixture('layout-a', customers);
const b = await openFixture('layout-b', customers);
for (const sql of (process.env.BENCH_SQL_B ?? '').split(';').filter((s) => s.trim() !== '')) await b.db.run(sql);
const sources = { a: new EventSource('ab', a.customerIds, 7), b: new EventSource('ab', b.customerIds, 7) };
const spent = { a: { ms: 0, cpuMs: 0 }, b: { ms: 0, cpuMs: 0 } };
const perEvent = (ms: number, n: number): string => ((ms * 1000) / n).toFixed(0);
console.log(`load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
for (let i = 0; i < events / 1000 + warmupBatches; i++) {
  const nowMs = Date.now();
  const sides: ['a' | 'b', Fixture][] = i % 2 === 0 ? [['b', b], ['a', a]] : [['a', a], ['b', b]];
  for (const [side, fixture] of sides) {
    const batch = sources[side].batch(1000, nowMs);
    const cpu = process.cpuUsage();
    const started = performance.now();
    await ingestEvents(fixture.engine, batch);
    if (i < warmupBatches) continue;
    spent[side].ms += performance.now() - started;
    spent[side].cpuMs += cpuMsSince(cpu);
  }
  const n = (i + 1 - warmupBatches) * 1000;
  if (n > 0 && n % 10_000 === 0) {
    console.log(`${n} events: wall µs/event A ${perEvent(spent.a.ms, n)}, B ${perEvent(spent.b.ms, n)}; CPU µs/event A ${perEvent(spent.a.cpuMs, n)}, B ${perEvent(spent.b.cpuMs, n)}`);
  }
}
console.log(`B/A: wall ${(spent.b.ms / spent.a.ms).toFixed(3)}, CPU ${(spent.b.cpuMs / spent.a.cpuMs).toFixed(3)}; load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
await a.close();
await b.close();
