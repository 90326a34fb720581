/**
 * Authorization beyond the balance on a plan that caps overage, as the period's overage grows in
 * hours (`npx tsx bench/authorize-capped.ts`): one customer per size (0, 24, 168 and 700 hours
 * of overage since its period began, 29.5 days ago), each already known to the quick path, and
 * the CPU of `authorize()` in process, rounds of 200 calls alternated. The hourly totals (and
 * the daily ones, where the schema has them) are written directly, one credit an hour; the tool
 * prints the 700-hour customer's overage as read, which must be 700 credits.
 */
import { createEngine } from '../src/engine/create-engine.ts';
import { authorize } from '../src/engine/authorize.ts';
import { createCustomer } from '../src/engine/customers.ts';
import { createMeter } from '../src/engine/meters.ts';
import { createPlan } from '../src/engine/plans.ts';
import { createSubscription } from '../src/engine/subscriptions.ts';
import { openTempDatabase } from './fixture.ts';
const must = <T>(o: { ok: true; value: T } | { ok: false; error: unknown }): T => { if (!o.ok) throw new Error(JSON.stringify(o.error)); return o.value; };
const temp = openTempDatabase('capped');
const engine = await createEngine(temp.db);
const hourMs = 3_600_000;
const meter = must(await createMeter(engine, { code: 'units', event_type: 'call', aggregation: 'sum', value_property: 'n', rate: { model: 'per_unit', credits_per_unit: '1' } }));
const plan = must(await createPlan(engine, { code: 'capped', name: 'Capped', currency: 'USD', interval: 'month', amount: 0, included_credits: '0',
  overage: { unit_amount_per_credit: '1', limit_credits: '1000000' }, rates: { [meter.code]: { model: 'per_unit', credits_per_unit: '1' } } }));
const sizes = [0, 24, 168, 700];
const hasDays = (await temp.db.query(`SELECT name FROM sqlite_master WHERE name = 'overage_days'`)).length > 0;
console.log(hasDays ? 'daily totals' : 'hourly totals only');
const customers: { id: string; hours: number }[] = [];
for (const hours of sizes) {
  const customer = must(await createCustomer(engine, { currency: 'USD', overage: true }));
  must(await createSubscription(engine, { customer: customer.id, plan: plan.id, start_at: new Date(Date.now() - 29.5 * 24 * hourMs).toISOString() }));
  const sub = await temp.db.query<{ period_start: bigint }>(`SELECT period_start FROM subscriptions WHERE customer_id = ?`, [customer.id]);
  const start = Number(sub[0]!.period_start);
  const days = new Map<number, bigint>();
  for (let h = 0; h < hours; h++) {
    const at = Math.floor(start / hourMs) * hourMs + (h + 1) * hourMs;
    await temp.db.run(`INSERT INTO overage_hours (customer_id, hour_start, credits) VALUES (?, ?, ?)`, [customer.id, at, 1_000_000n]);
    const day = Math.floor(at / 86_400_000) * 86_400_000;
    days.set(day, (days.get(day) ?? 0n) + 1_000_000n);
  }
  if (hasDays) for (const [day, credits] of days) await temp.db.run(`INSERT INTO overage_days (customer_id, day_start, credits) VALUES (?, ?, ?)`, [customer.id, day, credits]);
  customers.push({ id: customer.id, hours });
}
const ask = { event: { type: 'call', properties: { n: 1 } } };
for (const c of customers) for (let i = 0; i < 50; i++) must(await authorize(engine, c.id, ask));
const results: Record<number, number[]> = {};
for (let round = 0; round < 20; round++) {
  for (const c of round % 2 ? customers : [...customers].reverse()) {
    const cpu = process.cpuUsage();
    for (let i = 0; i < 200; i++) must(await authorize(engine, c.id, ask));
    const used = process.cpuUsage(cpu);
    (results[c.hours] ??= []).push((used.user + used.system) / 200);
  }
}
for (const [hours, list] of Object.entries(results)) { list.sort((a, b) => a - b); console.log(`${hours.padStart(4)} hours of overage totals in the period: ${list[list.length >> 1]!.toFixed(1)} µs CPU per authorize (median of 20 rounds of 200)`); }
const r = must(await authorize(engine, customers[3]!.id, ask));
console.log('overage read for the 700-hour customer:', String(await engine.store.read.billing.overageConsumed(customers[3]!.id, 0, Date.now() + 1)));
console.log(JSON.stringify(r, (_, v) => typeof v === 'bigint' ? v.toString() : v));
await temp.remove();
