/**
 * Two checkouts of Tally compared on figure 1's CPU per event, in one process so that the
 * machine's other load falls on both alike:
 *
 *   npx tsx bench/ingest-ab.ts <checkout A> <checkout B> [rounds]
 *
 * Each checkout gets its own benchmark fixture (`BENCH_CUSTOMERS` customers, default 1,000, × 3
 * grants, two meters: its own bench/fixture.ts) and ingests with its own `ingestEvents`. Every
 * round hands both the same events (the same ids, properties and timestamps, each side's own
 * customers picked alike) in `BENCH_BATCHES` batches of 1000 (default 2), A first in even rounds
 * and B first in odd ones, so the databases grow alike. Prints the CPU time per event of each side,
 * the median over rounds and its range, and the median of B − A per round, twice: for the whole
 * process (all threads: the WAL sync and checkpoint threads' work for one side may fall in the
 * other's turn) and for the main thread alone (from /proc: the JavaScript and every SQLite
 * statement), the steadier of the two on a busy machine. Both sides must return the same statuses
 * and amounts for every event, else it stops. It first waits a minute after making the fixtures
 * (see below). With `BENCH_SUBSCRIBED=1` every customer is first subscribed to a monthly plan that
 * overrides one meter's rate, so each event's period and rate come from its subscription.
 * `BENCH_GRANT_BEFORE_BATCH=1` makes, before each batch, a grant of 1 credit (burning last) for
 * the customer of its first event, through each side's own `createGrant` and outside the time
 * measured: the write of another use case between two ingestion steps, as purchases and top-ups
 * arrive while usage flows.
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { subscribeAll } from './subscribe-all.ts';

const [argA, argB, roundsArg = '10'] = process.argv.slice(2);
if (!argA || !argB) throw new Error('usage: npx tsx bench/ingest-ab.ts <checkout A> <checkout B> [rounds]');
const [rootA, rootB] = [resolve(argA), resolve(argB)];
const rounds = Number(roundsArg);
const batchesPerRound = Number(process.env.BENCH_BATCHES ?? 2);
const batchSize = 1000;
const warmupBatches = 3;
/** `BENCH_SUBSCRIBED=1`: every customer subscribed to a plan with a rate of its own (see `openSide`). */
const subscribed = process.env.BENCH_SUBSCRIBED === '1';
const grantBeforeBatch = process.env.BENCH_GRANT_BEFORE_BATCH === '1';

interface BenchEvent { id: string; customer: string; type: string; timestamp: string; properties: Record<string, unknown> }
interface Result { id: string; status: string; credits?: string; overage?: string; debt?: string }

interface Side {
  label: string;
  root: string;
  customerIds: string[];
  ingest(batch: BenchEvent[]): Promise<Result[]>;
  grant(customerId: string): Promise<void>;
  /** CPU µs per event of each round: the whole process, and the main thread alone. */
  perRound: number[];
  mainPerRound: number[];
  close(): Promise<void>;
}

async function openSide(root: string, label: string): Promise<Side> {
  const from = (path: string): string => pathToFileURL(`${root}/${path}`).href;
  const { openFixture } = await import(from('bench/fixture.ts'));
  const { ingestEvents } = await import(from('src/engine/ingest-events.ts'));
  const { createGrant } = await import(from('src/engine/grants.ts'));
  const fixture = await openFixture(`ingest-ab-${label}`, Number(process.env.BENCH_CUSTOMERS ?? 1000));
  if (subscribed) await subscribeAll(from, fixture);
  return {
    label,
    root,
    customerIds: fixture.customerIds,
    ingest: (batch) => ingestEvents(fixture.engine, batch),
    async grant(customer) {
      const made = await createGrant(fixture.engine, { customer, credits: '1', category: 'paid', source: 'adjustment', priority: 90 });
      if (!made.ok) throw new Error(`grant: ${JSON.stringify(made)}`);
    },
    perRound: [],
    mainPerRound: [],
    close: () => fixture.close(),
  };
}

/** The same events for both sides: one stream, each event's customer mapped to the side's own by index. */
const { EventSource } = await import(pathToFileURL(resolve(import.meta.dirname, 'events.ts')).href);
const sides = [await openSide(rootA, 'A'), await openSide(rootB, 'B')];
const sidesOpenedMs = Date.now();
const indexes = sides[0]!.customerIds.map((_, i) => String(i));
const source = new EventSource('ab', indexes, 7);
const forSide = (batch: BenchEvent[], side: Side): BenchEvent[] =>
  batch.map((e) => ({ ...e, customer: side.customerIds[Number(e.customer)]!, properties: { ...e.properties } }));

function sameOutcome(a: Result[], b: Result[]): void {
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (x.status !== y.status || x.credits !== y.credits || x.overage !== y.overage || x.debt !== y.debt) {
      throw new Error(`event ${i} differs: A ${JSON.stringify(x)}, B ${JSON.stringify(y)}`);
    }
  }
}

async function round(order: Side[], timed: boolean, batches: number): Promise<void> {
  const plain: BenchEvent[][] = Array.from({ length: batches }, () => source.batch(batchSize));
  const outcomes = new Map<Side, Result[]>();
  for (const side of order) {
    const own = plain.map((b) => forSide(b, side));
    const results: Result[] = [];
    let usedUs = 0;
    let mainUsed = 0;
    for (const b of own) {
      if (grantBeforeBatch) await side.grant(b[0]!.customer);
      const cpu = process.cpuUsage();
      const main = mainThreadNs();
      results.push(...(await side.ingest(b)));
      mainUsed += mainThreadNs() - main;
      const used = process.cpuUsage(cpu);
      usedUs += used.user + used.system;
    }
    if (timed) {
      side.perRound.push(usedUs / (batches * batchSize));
      side.mainPerRound.push(mainUsed / 1000 / (batches * batchSize));
    }
    outcomes.set(side, results);
  }
  sameOutcome(outcomes.get(sides[0]!)!, outcomes.get(sides[1]!)!);
}

/**
 * The main thread's time on a CPU in ns (the kernel's scheduler statistics): the JavaScript and
 * every SQLite statement run there, and nothing of the other threads (the WAL checkpointer and
 * sync, the garbage collector's helpers), whose work for one side may fall in the other's turn.
 */
const schedstat = `/proc/self/task/${process.pid}/schedstat`;
const mainThreadNs = (): number => Number(readFileSync(schedstat, 'utf8').split(' ')[0]);

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const load = (): string => os.loadavg().map((l) => l.toFixed(2)).join(' ');

// Events trail the clock by up to a minute (events.ts), and a grant pays only events after it takes
// effect. Each side uses its own checkout's fixture, and one from before `grantWindow` (round 12)
// makes its grants effective as it makes them: until a minute has passed since the last fixture
// was made, the same event would find grants on one side and not on the other.
const settleMs = sidesOpenedMs + 61_000 - Date.now();
if (settleMs > 0) await new Promise((done) => setTimeout(done, settleMs));
console.log(`load before: ${load()}`);
// Warm-up, not counted: statements prepared, code optimized, page cache filled.
await round(sides, false, warmupBatches);
for (let r = 0; r < rounds; r++) await round(r % 2 === 0 ? sides : [...sides].reverse(), true, batchesPerRound);
for (const [what, of] of [['process', (s: Side) => s.perRound], ['main thread', (s: Side) => s.mainPerRound]] as const) {
  for (const side of sides) {
    const xs = of(side);
    console.log(`${side.label} ${what}: ${median(xs).toFixed(1)} µs CPU/event, median of ${xs.length} rounds (range ${Math.min(...xs).toFixed(1)}–${Math.max(...xs).toFixed(1)}) ${side.root}`);
  }
  const diffs = of(sides[1]!).map((b, i) => b - of(sides[0]!)[i]!);
  const a = median(of(sides[0]!));
  console.log(`  B − A per round (${what}): median ${median(diffs).toFixed(1)} µs/event (${((median(diffs) / a) * 100).toFixed(1)}% of A), range ${Math.min(...diffs).toFixed(1)} to ${Math.max(...diffs).toFixed(1)}`);
}
console.log(`load after: ${load()}`);
for (const side of sides) await side.close();
