// The dashboard's customer page with many customers and events stored (PRODUCT §12: under 1 s
// with 100,000 customers and 1,000,000 events). Builds a SQLite database through the engine's own
// use cases, then times (1) the API calls the customer page makes, through the SDK over HTTP, and
// (2) the page in Chromium from navigation until the balance shows. One-off:
//   npx tsx bench/dashboard-page.ts            (BENCH_CUSTOMERS, BENCH_EVENTS to scale)
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
import { openTempDatabase } from './fixture.ts';
import { EventSource } from './events.ts';

const customerCount = Number(process.env.BENCH_CUSTOMERS ?? 100_000);
const eventCount = Number(process.env.BENCH_EVENTS ?? 1_000_000);
const adminKey = 'bench-admin-key';

function must<T>(o: { ok: true; value: T } | { ok: false; error: { code: string } }): T {
  if (!o.ok) throw new Error(o.error.code);
  return o.value;
}

const temp = openTempDatabase('dashboard');
const engine = await createEngine(temp.db);
const started = Date.now();
must(await createMeter(engine, { code: 'llm_tokens', event_type: 'llm', aggregation: 'sum', value_property: 'tokens', rate: { model: 'per_unit', credits_per_unit: '0.00002' } }));
must(await createMeter(engine, { code: 'llm_requests', event_type: 'llm', aggregation: 'count', rate: { model: 'per_unit', credits_per_unit: '0.01' } }));
const ids: string[] = [];
for (let i = 0; i < customerCount; i++) {
  ids.push(must(await createCustomer(engine, { currency: 'USD', external_id: `bench-${i}`, name: `Customer ${i}`, email: `c${i}@example.test`, overage: true })).id);
}
const target = ids[Math.floor(customerCount / 2)]!;
for (let g = 0; g < 5; g++) must(await createGrant(engine, { customer: target, credits: '100000', category: g % 2 ? 'paid' : 'promotional', source: g % 2 ? 'purchase' : 'promotion', metadata: { reason: `bench grant ${g}` } }));
console.log(`${customerCount} customers in ${((Date.now() - started) / 1000).toFixed(0)} s`);

// Events over every customer, and a heavy share (1%) for the customer whose page is timed.
const spread = new EventSource('ev', ids, 7);
const heavy = new EventSource('hv', [target], 11);
const batch = 1000;
for (let sent = 0; sent < eventCount; sent += batch) {
  const events = spread.batch(batch * 0.99).concat(heavy.batch(batch * 0.01));
  await ingestEvents(engine, events);
}
console.log(`${eventCount} events in ${((Date.now() - started) / 1000).toFixed(0)} s total`);

const app = await buildServer(engine, { adminKey });
const base = await app.listen({ port: 0, host: '127.0.0.1' });
const tally = createTally({ baseUrl: base, apiKey: adminKey });
const pageCalls = () => Promise.all([
  tally.getCustomer({ id: target }),
  tally.getBalance({ id: target }),
  tally.listGrants({ query: { customer: target, limit: '100' } }),
  tally.listLedgerTransactions({ query: { customer: target, limit: '50' } }),
  tally.listUsageEvents({ query: { customer: target, limit: '100' } }),
  tally.listSubscriptions({ query: { customer: target, limit: '20' } }),
  tally.listInvoices({ query: { customer: target, limit: '50' } }),
]);
const times: number[] = [];
for (let i = 0; i < 20; i++) {
  const t = performance.now();
  await pageCalls();
  times.push(performance.now() - t);
}
times.sort((a, b) => a - b);
console.log(`customer page API calls (7 in parallel): p50 ${times[10]!.toFixed(1)} ms, max ${times[19]!.toFixed(1)} ms`);
const search = performance.now();
await tally.listCustomers({ query: { q: `Customer ${customerCount - 7}`, limit: '25' } });
console.log(`customer search by name among ${customerCount}: ${(performance.now() - search).toFixed(1)} ms`);

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
  await page.waitForSelector('#ledger');
  loads.push(performance.now() - t);
}
loads.sort((a, b) => a - b);
console.log(`customer page in Chromium, navigation to rendered: p50 ${loads[2]!.toFixed(0)} ms, max ${loads[4]!.toFixed(0)} ms`);
await browser.close();
rmSync(profile, { recursive: true, force: true });
await app.close();
await temp.remove();
