/**
 * Batched usage for many customers over the public HTTP API, then every balance checked to the
 * micro-credit (`npm run build:server && npx tsx bench/load-check.ts`):
 *
 * `tally serve` (the built server, as `npm start` runs it) on a fresh SQLite file;
 * `BENCH_CUSTOMERS` customers (default 3,000) created over HTTP, each with a promotional grant of
 * 3.5 credits that burns first and a paid one of 1000 (given by hand, `adjustment`: a `purchase`
 * must name its invoice line, which reconciliation checks); two meters on one event type (tokens
 * at 0.000037 credits, requests at 0.013 for the first 7 of the period and 0.0011 after);
 * `BENCH_BATCHES` batches (default 60) of `BENCH_BATCH_EVENTS` events (default 1000) over random
 * customers, sent by `BENCH_CLIENTS` concurrent clients (default 8), the first 100 events of every
 * seventh batch sent again (each must come back a duplicate). Prints events per second, then reads
 * every customer's balance and compares it with what its events must cost, computed here with
 * BigInt (the rating of a period does not depend on the order events are charged in), and ends
 * with the ledger check and a full reconciliation, each with the server's resident set after.
 * Exits non-zero on any mismatch. `BENCH_BY_EXTERNAL_ID=1` names each event's customer by its
 * external id (`load-<n>`) instead of its Tally id, as a sender keyed by its own user ids does.
 * `BENCH_IDEMPOTENCY_KEYS=1` sends each request with an `Idempotency-Key` of its own, as the SDK
 * does with every POST. `BENCH_GRANT_EVERY_MS=<ms>` makes, beside the load, a grant of 1 credit for
 * a random customer every that many milliseconds after the last was answered (as purchases and
 * top-ups arrive while usage flows); the balances count them. `BENCH_STAMPED=1` gives each event a timestamp up to a minute before it is made (and after the
 * last grant was made), as a sender that stamps its events when they happen does (each then
 * arrives after its time, a late event); without it the server stamps each on arrival. The expected costs are then summed per calendar month of
 * the events' times, the periods of customers without a subscription, and an event stamped before
 * its customer's grants took effect (the customers made last) is not paid by them but recorded as
 * debt, which the grants pay once the debt is checked: each balance is compared as what is
 * available less what is owed.
 * Also prints the server's CPU per event over the load (all its threads), its resident set after
 * the customers are made and after the load, and with `BENCH_METRICS=1` its heap and hot-state
 * counters from `/metrics`; `BENCH_NODE_OPTIONS` are passed to the server's `node` (V8 flags, say)
 * and `BENCH_SERVER_STDOUT=<file>` takes the server's standard output; `BENCH_KEEP_DATABASE=<dir>`
 * copies the database it wrote there at the end (for `bench/ingest-memory.ts`). `BENCH_STRIPE=1` runs
 * the server with the Stripe push on, its worker's cursor past an event as after its first push
 * (no invoice is made, so nothing is sent to Stripe). A load test rather than a
 * figure: no baseline of its own; figure 2 of `npm run bench` is the rate beside the floor, and
 * `BENCH_PROFILE=<dir>` writes the server's main-thread CPU profile over the load there; and
 * `BENCH_FLOOR=1` measures the floor (bench/floor.ts) on the same customers and events, in this
 * process, right before and right after the load, and prints the load's rate as a share of their mean.
 */
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import Database from 'better-sqlite3';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { minorFaults, processCpuMs, procStatusMiB, threadCpuMsByName, threadCpuUsPer } from './proc-stat.ts';
import { startTallyServe } from './serve-process.ts';
import { Floor } from './floor.ts';
import { cpuProfileOptions, mainThreadProfile, monotonicUs } from './http.ts';
import { cutCpuProfile } from './cpu-profile.ts';
import { toMicro } from '../test/support/amounts.ts';
import { loadCostMicro, loadMeters, random } from '../test/support/usage-load.ts';

const customersCount = Number(process.env.BENCH_CUSTOMERS ?? 3000);
const batches = Number(process.env.BENCH_BATCHES ?? 60);
const clients = Number(process.env.BENCH_CLIENTS ?? 8);
const batchSize = Number(process.env.BENCH_BATCH_EVENTS ?? 1000);
const byExternalId = process.env.BENCH_BY_EXTERNAL_ID === '1';
const stamped = process.env.BENCH_STAMPED === '1';
const idempotencyKeys = process.env.BENCH_IDEMPOTENCY_KEYS === '1';
const grantEveryMs = Number(process.env.BENCH_GRANT_EVERY_MS ?? 0);
const grantedMicro = 1_003_500_000n;
const withFloor = process.env.BENCH_FLOOR === '1';

const dir = mkdtempSync(join(tmpdir(), 'tally-load-check-'));
const adminKey = 'bench-load-check-admin-key-0123456789';
// `BENCH_STRIPE=1`: the server pushes invoices to Stripe (a key, and an API host nothing listens
// on: the load makes no invoice, so no push calls it), and has pushed before: its push cursor
// stands past some event, as once the first pushed invoice's event settled. Its worker then makes
// a pass every second beside the load, as such a server does.
const stripe = process.env.BENCH_STRIPE === '1';
if (stripe) Object.assign(process.env, { TALLY_STRIPE_SECRET_KEY: 'sk_test_bench', TALLY_STRIPE_API_BASE: 'http://127.0.0.1:9' });
// `BENCH_PROFILE=<dir>`: the server's main thread profiled, cut down to the load (`load.cpuprofile`).
const profileDir = process.env.BENCH_PROFILE;
const server = await startTallyServe({
  path: join(dir, 'tally.db'), adminKey,
  nodeOptions: [...(process.env.BENCH_NODE_OPTIONS ?? '').split(' ').filter((o) => o !== ''), ...(profileDir === undefined ? [] : cpuProfileOptions(profileDir, 'load'))],
});
let loadWindow: [number, number] | undefined;
if (stripe) {
  const db = new Database(join(dir, 'tally.db'));
  db.prepare(`INSERT INTO integration_cursors (name, position) VALUES ('stripe_push', 'evt_0')`).run();
  db.close();
}

let keys = 0;
async function call(method: string, path: string, body?: unknown, idempotent = false): Promise<any> {
  const response = await fetch(`${server.baseUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json', ...(idempotent ? { 'idempotency-key': `load-key-${++keys}` } : {}) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const reply = await response.json();
  if (response.status >= 300) throw new Error(`${method} ${path}: ${response.status} ${JSON.stringify(reply)}`);
  return reply;
}

/** The server's resident set now and at its highest so far (Linux). */
function residentSet(): string {
  return `${Math.round(procStatusMiB(server.pid, 'VmRSS'))} MiB, at most ${Math.round(procStatusMiB(server.pid, 'VmHWM'))} MiB`;
}

let failed = false;
try {
  for (const meter of loadMeters('llm', { tokens: 'tokens', requests: 'requests' })) await call('POST', '/v1/meters', meter);
  const setupStarted = Date.now();
  const ids: string[] = [];
  /** How each customer's events name it: its id, or its external id. */
  const refs = new Map<string, string>();
  for (let i = 0; i < customersCount; i += 50) {
    ids.push(...await Promise.all(Array.from({ length: Math.min(50, customersCount - i) }, async (_, k) => {
      const customer = await call('POST', '/v1/customers', { external_id: `load-${i + k}`, currency: 'USD' });
      await call('POST', '/v1/grants', { customer: customer.id, credits: '3.5', category: 'promotional', source: 'promotion', priority: 10 });
      // Paid credits given by hand (`adjustment`): a `purchase` names an invoice line, which reconciliation checks.
      await call('POST', '/v1/grants', { customer: customer.id, credits: '1000', category: 'paid', source: 'adjustment', priority: 50 });
      refs.set(customer.id, byExternalId ? `load-${i + k}` : customer.id);
      return customer.id as string;
    })));
  }
  const grantsMadeAt = Date.now();
  console.log(`${customersCount} customers with 2 grants each, over HTTP, in ${((grantsMadeAt - setupStarted) / 1000).toFixed(1)} s; server RSS ${residentSet()}`);

  const next = random(42);
  // Per customer and calendar month of the events' times (one month unless stamped across its start).
  const tokens = new Map<string, Map<string, bigint>>();
  const requests = new Map<string, Map<string, bigint>>();
  const add = (totals: Map<string, Map<string, bigint>>, customer: string, month: string, amount: bigint): void => {
    let own = totals.get(customer);
    if (own === undefined) totals.set(customer, (own = new Map()));
    own.set(month, (own.get(month) ?? 0n) + amount);
  };
  const sent: { id: string; customer: string; type: string; timestamp?: string; properties: { tokens: number } }[][] = [];
  const generatedAt = Date.now();
  // No earlier than the last grant: an event stamped before its customer's grants took effect is
  // not paid by them but owed, and each debt's settlement, a write of due work, empties
  // ingestion's hot state, which is not the shape this measures.
  const stampWindowMs = Math.max(0, Math.min(60_000, generatedAt - grantsMadeAt - 1));
  let n = 0;
  for (let b = 0; b < batches; b++) {
    const batch = [];
    for (let e = 0; e < batchSize; e++) {
      const customer = ids[Math.floor(next() * ids.length)]!;
      const count = 1 + Math.floor(next() * 5000);
      const at = stamped ? new Date(generatedAt - Math.floor(next() * stampWindowMs)) : null;
      batch.push({ id: `load-ev-${n++}`, customer: refs.get(customer)!, type: 'llm', ...(at === null ? {} : { timestamp: at.toISOString() }), properties: { tokens: count } });
      const month = (at ?? new Date(generatedAt)).toISOString().slice(0, 7);
      add(tokens, customer, month, BigInt(count));
      add(requests, customer, month, 1n);
    }
    sent.push(batch);
  }

  // `BENCH_FLOOR=1`: the floor of PRODUCT §13 on the same customers and events, in this process,
  // before and after the load (so its rate comes from the same minutes as the server's).
  const floorRates: number[] = [];
  const measureFloor = (): void => {
    if (!withFloor) return;
    const floor = new Floor(ids);
    const floorStarted = performance.now();
    for (const batch of sent) {
      floor.write(batch.map((e) => ({
        id: e.id, customer: e.customer, type: e.type, timestamp: e.timestamp ?? new Date(generatedAt).toISOString(),
        properties: { model: '', tokens: e.properties.tokens, region: '' },
      })));
    }
    floorRates.push((n / (performance.now() - floorStarted)) * 1000);
    floor.close();
  };
  measureFloor();

  const started = Date.now();
  const startedUs = monotonicUs();
  const cpuBefore = processCpuMs(server.pid);
  const threadsBefore = threadCpuMsByName(server.pid);
  const faultsBefore = minorFaults(server.pid);
  const clientBefore = process.cpuUsage();
  let taken = 0;
  let accepted = 0;
  let resent = 0;
  // `BENCH_GRANT_EVERY_MS`: beside the load, a grant for a random customer this often (the next
  // once the last is answered), as purchases and top-ups arrive while usage flows.
  const extraGrantMicro = 1_000_000n;
  const extraGrants = new Map<string, bigint>();
  let grantsMade = 0;
  let loading = true;
  const granting = (async () => {
    if (!(grantEveryMs > 0)) return;
    while (loading) {
      await new Promise((resolve) => setTimeout(resolve, grantEveryMs));
      if (!loading) break;
      const customer = ids[Math.floor(next() * ids.length)]!;
      await call('POST', '/v1/grants', { customer, credits: '1', category: 'paid', source: 'adjustment', priority: 60 });
      extraGrants.set(customer, (extraGrants.get(customer) ?? 0n) + extraGrantMicro);
      grantsMade++;
    }
  })();
  await Promise.all(Array.from({ length: clients }, async () => {
    while (taken < sent.length) {
      const index = taken++;
      const reply = await call('POST', '/v1/events', { events: sent[index] }, idempotencyKeys);
      for (const r of reply.results) if (r.status === 'accepted') accepted++;
      if (index % 7 === 6) {
        const again = await call('POST', '/v1/events', { events: sent[index]!.slice(0, 100) }, idempotencyKeys);
        for (const r of again.results) {
          if (r.status !== 'duplicate') throw new Error(`a resent event came back ${JSON.stringify(r)}`);
          resent++;
        }
      }
    }
  }));
  const ms = Date.now() - started;
  loadWindow = [startedUs, monotonicUs()];
  loading = false;
  await granting;
  const cpuUs = ((processCpuMs(server.pid) - cpuBefore) * 1000) / n;
  const client = process.cpuUsage(clientBefore);
  console.log(`${n} events in ${(ms / 1000).toFixed(1)} s: ${Math.round((n / ms) * 1000).toLocaleString('en-US')} events/s, ${cpuUs.toFixed(1)} µs of server CPU per event; ${accepted} accepted, ${resent} resent and answered duplicate`);
  measureFloor();
  if (withFloor) {
    const floorRate = (floorRates[0]! + floorRates[1]!) / 2;
    const rate = (n / ms) * 1000;
    console.log(`  the floor on the same customers and events: ${floorRates.map((r) => Math.round(r).toLocaleString('en-US')).join(' before, ')} after the load; the load's rate ${((rate / floorRate) * 100).toFixed(1)}% of their mean`);
  }
  console.log(`  server CPU per event by thread (µs): ${threadCpuUsPer(threadsBefore, threadCpuMsByName(server.pid), n)}; the clients (this process) ${((client.user + client.system) / n).toFixed(1)}; server minor page faults per event ${((minorFaults(server.pid) - faultsBefore) / n).toFixed(2)}`);
  if (grantEveryMs > 0) console.log(`  grants made beside the load: ${grantsMade}, one every ${grantEveryMs} ms after the last was answered`);
  // The server's group commits (its `/metrics` histogram): how many events each commit held.
  const metrics = await (await fetch(`${server.baseUrl}/metrics`, { headers: { authorization: `Bearer ${adminKey}` } })).text();
  const sum = Number(/^tally_ingest_group_events_sum (\S+)$/m.exec(metrics)?.[1]);
  const count = Number(/^tally_ingest_group_events_count (\S+)$/m.exec(metrics)?.[1]);
  if (count > 0) console.log(`group commits: ${count}, ${Math.round(sum / count).toLocaleString('en-US')} events each on average, resends included`);
  console.log(`server RSS ${residentSet()}`);
  if (process.env.BENCH_METRICS === '1') console.log(metrics.split('\n').filter((l) => /^(nodejs_heap|process_resident|nodejs_external|tally_ingest_customer)/.test(l)).join('\n'));
  if (accepted !== n) failed = true;

  let mismatches = 0;
  for (const id of ids) {
    let cost = 0n;
    for (const [month, count] of requests.get(id) ?? []) cost += loadCostMicro(tokens.get(id)!.get(month)!, count);
    const balance = await call('GET', `/v1/customers/${id}/balance`);
    // What the grants paid, and what they could not (debt: an event stamped before a grant took
    // effect is not paid by it; the debt is paid from the grant once checked, which may come after
    // this read).
    const expected = grantedMicro + (extraGrants.get(id) ?? 0n) - cost;
    if (toMicro(balance.available) - toMicro(balance.debt) !== expected) {
      mismatches++;
      if (mismatches <= 5) console.log(`  ${id}: available ${balance.available} and debt ${balance.debt}, expected ${expected} micro-credits available less debt`);
    }
  }
  console.log(`balances: ${ids.length} read, ${mismatches} not what the events cost`);
  console.log(`server RSS ${residentSet()}`);
  let startedMs = Date.now();
  const check = await call('GET', '/v1/ledger/check');
  console.log(`ledger check: ${check.ok ? 'ok' : JSON.stringify(check).slice(0, 500)} in ${((Date.now() - startedMs) / 1000).toFixed(1)} s; server RSS ${residentSet()}`);
  startedMs = Date.now();
  const reconciliation = await call('GET', '/v1/reconciliation');
  console.log(`reconciliation: ${reconciliation.ok ? 'ok' : JSON.stringify(reconciliation).slice(0, 500)} in ${((Date.now() - startedMs) / 1000).toFixed(1)} s; server RSS ${residentSet()}`);
  if (mismatches > 0 || !check.ok || !reconciliation.ok) failed = true;
} finally {
  await server.stop();
  if (profileDir !== undefined && loadWindow !== undefined) {
    writeFileSync(join(profileDir, 'load.cpuprofile'), JSON.stringify(cutCpuProfile(mainThreadProfile(profileDir, 'load', server.pid), ...loadWindow)));
    console.log(`the server's main thread over the load: ${join(profileDir, 'load.cpuprofile')} (npx tsx bench/profile-breakdown.ts <it> <events>)`);
  }
  // `BENCH_KEEP_DATABASE=<dir>`: the database the run wrote, for `bench/ingest-memory.ts`.
  const keep = process.env.BENCH_KEEP_DATABASE;
  if (keep !== undefined) {
    mkdirSync(keep, { recursive: true });
    for (const file of readdirSync(dir)) if (file.startsWith('tally.db')) copyFileSync(join(dir, file), join(keep, file));
  }
  rmSync(dir, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
