// The dashboard's customer page with many customers and events stored (PRODUCT §12: under 1 s
// with 100,000 customers and 1,000,000 events). One-off, not part of `npm run bench`:
//   npx tsx bench/dashboard-page.ts            (BENCH_CUSTOMERS, BENCH_EVENTS to scale)
//
// The bulk of the data is written by SQL (INSERT … SELECT over a recursive counter), so the full
// size loads in a few minutes: the customers, and for 99% of the events their usage_events row,
// ledger transaction and two ledger entries, shaped as ingestion writes them (a rating line per
// meter, credits in micro-credits). The customer whose page is timed is made through the
// engine's use cases (grants, and its 1% of the events ingested for real), so its balance,
// ledger and meter totals are what production would hold. Then it times (1) the API calls the
// customer page makes, in parallel through the SDK over HTTP, 20 times; (2) the usage-series
// query alone, with its plan; and (3) the page in Chromium from navigation until its ledger and
// consumption chart are rendered, 5 times.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { createTally } from '@tally/sdk';
import { createEngine } from '../src/engine/create-engine.ts';
import { createCustomer } from '../src/engine/customers.ts';
import { createGrant } from '../src/engine/grants.ts';
import { createMeter } from '../src/engine/meters.ts';
import { ingestEvents } from '../src/engine/ingest-events.ts';
import { buildServer } from '../src/server/app.ts';
import { must, openTempDatabase } from './fixture.ts';
import { ofCustomer, valuePart } from '../src/store/queries/customer-events.ts';

const customerCount = Number(process.env.BENCH_CUSTOMERS ?? 100_000);
const eventCount = Number(process.env.BENCH_EVENTS ?? 1_000_000);
const adminKey = 'bench-admin-key';
const dayMs = 86_400_000;
/** Events fall in the 30 days before now: the window the customer page charts by default. */
const spreadMs = 30 * dayMs;

const seconds = (since: number) => `${((performance.now() - since) / 1000).toFixed(1)} s`;

const temp = openTempDatabase('dashboard');
const db = temp.db;
const engine = await createEngine(db);
const started = performance.now();
const nowMs = Date.now();
must(await createMeter(engine, { code: 'llm_tokens', event_type: 'llm', aggregation: 'sum', value_property: 'tokens', rate: { model: 'per_unit', credits_per_unit: '0.00002' } }));
must(await createMeter(engine, { code: 'llm_requests', event_type: 'llm', aggregation: 'count', rate: { model: 'per_unit', credits_per_unit: '0.01' } }));

// The customers, by SQL: ids `cus_bulk0000000`…, names and emails to search among.
const counter = (n: number) => `WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < ${n - 1})`;
await db.run(`${counter(customerCount)}
  INSERT INTO customers (id, external_id, name, email, currency, test_clock_id, overage_enabled, low_balance_threshold, below_threshold, depleted, metadata, created_at, net_days)
  SELECT printf('cus_bulk%07d', i), 'bench-' || i, 'Customer ' || i, 'c' || i || '@example.test', 'USD', NULL, 1, NULL, 0, 0, '{}', ${nowMs - spreadMs}, 0 FROM n`);
const target = must(await createCustomer(engine, { currency: 'USD', external_id: 'bench-target', name: 'Target Analytics', email: 'ops@target.test', overage: true })).id;
for (let g = 0; g < 5; g++) {
  must(await createGrant(engine, {
    customer: target, credits: '100000', category: g % 2 ? 'paid' : 'promotional', source: g % 2 ? 'purchase' : 'promotion',
    effective_at: new Date(nowMs - spreadMs - dayMs).toISOString(), metadata: { reason: `bench grant ${g}` },
  }));
}
console.log(`${customerCount} customers in ${seconds(started)}`);

// 99% of the events, by SQL, over the other customers: the event row, its own posting with two
// entries (the overage paying, the meter consumed), in ingestion's shape.
const bulkEvents = Math.round(eventCount * 0.99);
const chunk = 100_000;
for (let from = 0; from < bulkEvents; from += chunk) {
  const size = Math.min(chunk, bulkEvents - from);
  await db.transaction(async (c) => {
    const rows = `${counter(size)}, e AS (
      SELECT ${from} + i AS k, printf('cus_bulk%07d', (${from} + i) % ${customerCount}) AS customer,
        ${nowMs} - ((${from} + i) * 7919 % ${spreadMs}) AS ts, 50 + ((${from} + i) * 37 % 2000) AS tokens FROM n)`;
    await c.run(`${rows}
      INSERT INTO usage_events (customer_id, id, type, timestamp, properties, body_hash, credits, txn_id, rating, recorded_at, position, entries)
      SELECT customer, printf('bulk-ev-%08d', k), 'llm', ts, '{"model":"gpt-4o","tokens":' || tokens || '}', 'bench', tokens * 20 + 10000, printf('txn_bulk%08d', k),
        '[{"meter":"llm_tokens","quantity":"' || tokens || '","credits":"' || printf('%d.%06d', tokens * 20 / 1000000, tokens * 20 % 1000000)
          || '"},{"meter":"llm_requests","quantity":"1","credits":"0.01"}]', ts, printf('txn_bulk%08d', k),
        '[["overage","-' || (tokens * 20 + 10000) || '"],["consumed:llm_tokens","' || (tokens * 20 + 10000) || '"]]' FROM e`);
  });
}
console.log(`${bulkEvents} events by SQL in ${seconds(started)} total`);

// The timed customer's 1%, ingested for real, spread over the same 30 days.
const targetEvents = eventCount - bulkEvents;
for (let sent = 0; sent < targetEvents; sent += 1000) {
  const events = Array.from({ length: Math.min(1000, targetEvents - sent) }, (_, j) => {
    const k = sent + j;
    return { id: `target-ev-${k}`, customer: target, type: 'llm', timestamp: new Date(nowMs - ((k * 7919) % spreadMs)).toISOString(), properties: { tokens: 50 + ((k * 37) % 2000) } };
  });
  const results = await ingestEvents(engine, events);
  const refused = results.filter((r) => r.status !== 'accepted');
  if (refused.length) throw new Error(`target events refused: ${JSON.stringify(refused[0])}`);
}
const [{ events: stored }] = await db.query(`SELECT COUNT(*) AS events FROM usage_events`) as [{ events: bigint }];
console.log(`${stored} events stored (${targetEvents} of them the target's, ingested) in ${seconds(started)} total`);

const app = await buildServer(engine, { adminKey });
const base = await app.listen({ port: 0, host: '127.0.0.1' });
const tally = createTally({ baseUrl: base, apiKey: adminKey });
// The calls customerPage (web/src/pages/customers.ts) makes, in one parallel round.
const pageCalls = () => Promise.all([
  tally.getCustomer({ id: target }),
  tally.getBalance({ id: target }),
  tally.listGrants({ query: { customer: target, limit: '100' } }),
  tally.listLedgerTransactions({ query: { customer: target, limit: '50', order: 'desc' } }),
  tally.listUsageEvents({ query: { customer: target, limit: '20' } }),
  tally.getUsageSeries({ id: target, query: { interval: 'day' } }),
  tally.listSubscriptions({ query: { customer: target, limit: '20' } }),
  tally.listInvoices({ query: { customer: target, limit: '50' } }),
  tally.listCustomerCreditNotes({ id: target, query: { limit: '50' } }),
]);
const p = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
const times: number[] = [];
for (let i = 0; i < 20; i++) {
  const t = performance.now();
  await pageCalls();
  times.push(performance.now() - t);
}
times.sort((a, b) => a - b);
console.log(`customer page API calls (9 in parallel): p50 ${p(times, 0.5).toFixed(1)} ms, max ${times.at(-1)!.toFixed(1)} ms`);

const series = await tally.getUsageSeries({ id: target, query: { interval: 'day' } });
const seriesTimes: number[] = [];
for (let i = 0; i < 10; i++) {
  const t = performance.now();
  await engine.store.read.usage.series(target, null, Date.parse(series.from), Date.parse(series.to), dayMs);
  seriesTimes.push(performance.now() - t);
}
seriesTimes.sort((a, b) => a - b);
const ofTarget = ofCustomer(db.dialect, 'e', valuePart(target));
const plan = await db.query(`EXPLAIN QUERY PLAN SELECT 1 FROM usage_events e CROSS JOIN json_each(e.rating) AS r WHERE ${ofTarget.sql} AND e.timestamp >= ? AND e.timestamp < ?`, [...ofTarget.params, 0, nowMs]);
console.log(`usage series query (30 days, ${targetEvents} events, ${series.series.length} meters, ${series.credits} credits): p50 ${p(seriesTimes, 0.5).toFixed(1)} ms; plan: ${plan.map((r) => r.detail).join('; ')}`);
const search = performance.now();
await tally.listCustomers({ query: { q: `customer ${customerCount - 7}`, limit: '25' } });
console.log(`customer search by name among ${customerCount} (any case): ${(performance.now() - search).toFixed(1)} ms`);

const profile = mkdtempSync(join(tmpdir(), 'tally-bench-chromium-'));
const browser = await chromium.launchPersistentContext(profile, {
  executablePath: '/usr/bin/chromium', headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const page = browser.pages()[0] ?? await browser.newPage();
await page.goto(`${base}/dashboard`);
await page.evaluate((key) => sessionStorage.setItem('tally.key', key), adminKey);
const loads: number[] = [];
for (let i = 0; i < 5; i++) {
  await page.goto(`${base}/dashboard#/customers`);
  await page.waitForSelector('#customers');
  const t = performance.now();
  await page.evaluate((id) => { location.hash = `#/customers/${id}`; }, target);
  await page.waitForSelector('#ledger tbody tr');
  await page.waitForSelector('#usage-series tbody tr');
  loads.push(performance.now() - t);
}
loads.sort((a, b) => a - b);
console.log(`customer page in Chromium, navigation to rendered (ledger and consumption chart): p50 ${p(loads, 0.5).toFixed(0)} ms, max ${loads.at(-1)!.toFixed(0)} ms`);
await browser.close();
rmSync(profile, { recursive: true, force: true });
await app.close();
await temp.remove();
