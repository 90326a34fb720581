/**
 * Two checkouts of Tally compared on authorization CPU, in one process so that the machine's other
 * load falls on both alike:
 *
 *   npx tsx bench/authorize-ab.ts <checkout A> <checkout B> [rounds]
 *
 * Each checkout gets its own benchmark fixture (1,000 customers, two meters) and server. Rounds of
 * 500 calls alternate between them (the order flips every round): `authorize()` called directly,
 * then the HTTP request through `app.inject` (the whole Fastify path without a socket). Prints the
 * CPU time per call of each (all threads of the process). With `BENCH_SUBSCRIBED=1` every customer
 * is first subscribed to a plan with a rate of its own (`subscribe-all.ts`), so each authorization
 * reads the subscription timeline.
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { subscribeAll } from './subscribe-all.ts';

const [argA, argB, roundsArg = '20'] = process.argv.slice(2);
if (!argA || !argB) throw new Error('usage: npx tsx bench/authorize-ab.ts <checkout A> <checkout B> [rounds]');
const [rootA, rootB] = [resolve(argA), resolve(argB)];
const rounds = Number(roundsArg);
const callsPerRound = 500;

interface Side {
  label: string;
  engine(): Promise<void>;
  http(): Promise<void>;
  cpuUs: { engine: number; http: number };
  calls: { engine: number; http: number };
  close(): Promise<void>;
}

async function openSide(root: string, label: string): Promise<Side> {
  const from = (path: string): string => pathToFileURL(`${root}/${path}`).href;
  const { openFixture } = await import(from('bench/fixture.ts'));
  const { buildServer } = await import(from('src/server/app.ts'));
  const { createApiKey } = await import(from('src/engine/api-keys.ts'));
  const { authorize } = await import(from('src/engine/authorize.ts'));
  const { EventSource } = await import(from('bench/events.ts'));
  const fixture = await openFixture('authorize-ab', 1000);
  if (process.env.BENCH_SUBSCRIBED === '1') await subscribeAll(from, fixture);
  const app = await buildServer(fixture.engine, { adminKey: 'bench-admin-key' });
  const key = await createApiKey(fixture.engine, { name: 'bench', scopes: ['ingest'] });
  const headers = { 'content-type': 'application/json', authorization: `Bearer ${key.value.secret}` };
  const source = new EventSource('authorize-ab', fixture.customerIds, 3);
  return {
    label,
    async engine() {
      const e = source.event();
      const outcome = await authorize(fixture.engine, e.customer, { event: { type: e.type, properties: e.properties } });
      if (!outcome.ok) throw new Error(outcome.error.message);
    },
    async http() {
      const e = source.event();
      const reply = await app.inject({ method: 'POST', url: `/v1/customers/${e.customer}/authorize`, headers, payload: JSON.stringify({ event: { type: e.type, properties: e.properties } }) });
      if (reply.statusCode !== 200) throw new Error(reply.body);
    },
    cpuUs: { engine: 0, http: 0 },
    calls: { engine: 0, http: 0 },
    async close() {
      await app.close();
      await fixture.close();
    },
  };
}

async function measure(side: Side, kind: 'engine' | 'http', calls: number): Promise<void> {
  const cpu = process.cpuUsage();
  for (let i = 0; i < calls; i++) await side[kind]();
  const used = process.cpuUsage(cpu);
  side.cpuUs[kind] += used.user + used.system;
  side.calls[kind] += calls;
}

const sides = [await openSide(rootA, 'A'), await openSide(rootB, 'B')];
// Warm-up, not counted: statements prepared, validators and serializers compiled, code optimized.
for (const side of sides) {
  await measure(side, 'http', 2000);
  await measure(side, 'engine', 2000);
  side.cpuUs = { engine: 0, http: 0 };
  side.calls = { engine: 0, http: 0 };
}
for (let round = 0; round < rounds; round++) {
  for (const side of round % 2 === 0 ? sides : [...sides].reverse()) {
    await measure(side, 'engine', callsPerRound);
    await measure(side, 'http', callsPerRound);
  }
}
for (const side of sides) {
  console.log(`${side.label} (${side.label === 'A' ? rootA : rootB}): authorize() ${(side.cpuUs.engine / side.calls.engine).toFixed(1)} µs CPU, HTTP through inject ${(side.cpuUs.http / side.calls.http).toFixed(1)} µs CPU (${side.calls.http} calls each)`);
}
for (const side of sides) await side.close();
