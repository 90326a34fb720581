/**
 * What keeping more customers in ingestion's hot state buys, in one process so that the machine's
 * other load falls on both sides alike:
 *
 *   npx tsx bench/hot-customers-ab.ts
 *
 * Two benchmark fixtures of `BENCH_CUSTOMERS` customers each (default 20,000; three grants each,
 * two meters), one keeping at most `BENCH_KEPT_A` customers (default 10,000) and the other
 * `BENCH_KEPT_B` (default 12,000: `EngineSettings.hotCustomers`, TALLY_HOT_CUSTOMERS). Both take
 * the same events (each side's own customers, picked alike): 20 warm-up batches of 1000, then
 * `BENCH_ROUNDS` rounds (default 16) of 4 batches, A first in even rounds and B first in odd ones.
 * Prints each side's main-thread CPU per event (from /proc: the JavaScript and every SQLite
 * statement), the median over rounds, and the median of B − A per round with its range.
 */
import { ingestEvents } from '../src/engine/ingest-events.ts';
import { EventSource, type BenchEvent } from './events.ts';
import { openFixture, type Fixture } from './fixture.ts';
import { mainThreadSchedMs } from './proc-stat.ts';

const customers = Number(process.env.BENCH_CUSTOMERS ?? 20_000);
const kept = [Number(process.env.BENCH_KEPT_A ?? 10_000), Number(process.env.BENCH_KEPT_B ?? 12_000)] as const;
const rounds = Number(process.env.BENCH_ROUNDS ?? 16);
const batchesPerRound = 4;

const sides: Fixture[] = [];
try {
  for (const k of kept) {
    const fixture = await openFixture(`hot-customers-${k}`, customers);
    fixture.engine.settings.hotCustomers = k;
    sides.push(fixture);
  }
  // Events are drawn over side A's customers; side B gets its own customer of the same index.
  const indexOf = new Map(sides[0]!.customerIds.map((id, i) => [id, i]));
  const forSide = (events: readonly BenchEvent[], side: number): BenchEvent[] =>
    events.map((e) => ({ ...e, customer: sides[side]!.customerIds[indexOf.get(e.customer)!]! }));
  const source = new EventSource('hot-ab', sides[0]!.customerIds);
  for (let w = 0; w < 20; w++) {
    const events = source.batch(1000);
    for (let side = 0; side < 2; side++) await ingestEvents(sides[side]!.engine, forSide(events, side));
  }
  const perEvent: [number[], number[]] = [[], []];
  for (let r = 0; r < rounds; r++) {
    const batches = Array.from({ length: batchesPerRound }, () => source.batch(1000));
    for (const side of r % 2 === 0 ? [0, 1] : [1, 0]) {
      const before = mainThreadSchedMs(process.pid).onCpuMs;
      for (const events of batches) await ingestEvents(sides[side]!.engine, forSide(events, side));
      perEvent[side]!.push(((mainThreadSchedMs(process.pid).onCpuMs - before) * 1000) / (batchesPerRound * 1000));
    }
  }
  const median = (values: readonly number[]) => [...values].sort((x, y) => x - y)[Math.floor(values.length / 2)]!;
  const differences = perEvent[0].map((a, r) => perEvent[1][r]! - a);
  for (const side of [0, 1]) {
    console.log(`${side === 0 ? 'A' : 'B'}: ${kept[side]} kept, main thread ${median(perEvent[side]!).toFixed(1)} µs CPU/event, median of ${rounds} rounds`);
  }
  console.log(`B − A per round: median ${median(differences).toFixed(1)} µs/event, range ${Math.min(...differences).toFixed(1)} to ${Math.max(...differences).toFixed(1)}`);
} finally {
  for (const fixture of sides) await fixture.close();
}
