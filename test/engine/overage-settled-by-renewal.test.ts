import { describe, expect, it } from 'vitest';
import { dialects, freshDatabase } from '../support/databases.ts';
import { capturing, type Captured } from '../support/capturing.ts';
import { createEngine } from '../../src/engine/create-engine.ts';
import { must, useEngine } from '../support/engine.ts';
import { advanceTestClock, createTestClock } from '../../src/engine/test-clocks.ts';
import { createCustomer } from '../../src/engine/customers.ts';
import { createPlan } from '../../src/engine/plans.ts';
import { createSubscription } from '../../src/engine/subscriptions.ts';
import { createMeter } from '../../src/engine/meters.ts';
import { ingestEvents } from '../../src/engine/ingest-events.ts';
import { getBalance } from '../../src/engine/balance.ts';
import { checkLedger, reconcile } from '../../src/engine/reconcile.ts';
import { formatCredits } from '../../src/core/decimal.ts';
import type { Engine } from '../../src/engine/context.ts';
import { runDue } from '../../src/engine/due-work.ts';
import { allDueWork } from '../../src/engine/scheduled-work.ts';

let seq = 0;
const code = (name: string) => `${name}_${++seq}`;

/**
 * Usage stamped in a new period but charged before that period's renewal ran (stamped up to five
 * minutes ahead of a test clock, or between a period's end and the scheduler's tick) found no
 * grant usable and went to overage. The renewal's allowance, usable from the period's start,
 * pays it as it would have paid the usage, so the next invoice does not bill it.
 */
describe.each(dialects)('overage of a new period settled by its renewal on %s', (dialect) => {
  const ctx = useEngine(dialect);

  /** A customer on a plan of 100 credits a month (rollover up to 50, overage at 0.15 a credit), begun 2026-01-01T10:00Z. */
  async function setup(engine: Engine) {
    const clock = must(await createTestClock(engine, { frozen_time: '2026-01-01T10:00:00Z' }));
    const customer = must(await createCustomer(engine, { currency: 'USD', test_clock: clock.id, net_days: 365 }));
    const meter = code('gap');
    must(await createMeter(engine, { code: meter, event_type: meter, aggregation: 'sum', value_property: 'n', rate: { model: 'per_unit', credits_per_unit: '1' } }));
    const plan = must(await createPlan(engine, {
      code: code('gap'), name: 'Gap', currency: 'USD', interval: 'month', amount: 1000, included_credits: '100',
      rollover: { max_credits: '50' }, overage: { unit_amount_per_credit: '0.15' },
    }));
    const sub = must(await createSubscription(engine, { customer: customer.id, plan: plan.code }));
    let n = 0;
    const use = async (credits: number, at: string) => {
      const [r] = await ingestEvents(engine, [{ id: `${customer.id}-${++n}`, customer: customer.id, type: meter, timestamp: at, properties: { n: credits } }]);
      expect(r!.status).toBe('accepted');
      return r!;
    };
    const advance = async (to: string) => { must(await advanceTestClock(engine, clock.id, { frozen_time: to })); };
    return { clock, customer, sub, use, advance };
  }

  async function balance(engine: Engine, customerId: string) {
    const b = must(await getBalance(engine, customerId)).balance;
    return { available: formatCredits(b.availableMicro), overage: formatCredits(b.overageMicro) };
  }

  async function grantsLeft(engine: Engine, customerId: string, periodStart: string): Promise<Record<string, string>> {
    const rows = await engine.store.db.query<{ id: string; source: string }>(
      `SELECT id, source FROM grants WHERE customer_id = ? AND period_start = ? ORDER BY id`, [customerId, Date.parse(periodStart)]);
    const out: Record<string, string> = {};
    for (const r of rows) out[r.source] = formatCredits(await engine.store.read.ledger.balance(customerId, `grant:${r.id}`));
    return out;
  }

  async function invoiceLines(engine: Engine, customerId: string, periodStart: string) {
    const all = (await engine.store.read.billing.listInvoices({ customerId }, { limit: 100 })).data;
    const inv = all.find((i) => i.kind === 'subscription' && i.periodStartMs === Date.parse(periodStart))!;
    return inv.lines.map((l) => [l.type, l.quantity, l.amountMinor]);
  }

  async function clean(engine: Engine): Promise<void> {
    expect(must(await reconcile(engine)).discrepancies).toEqual([]);
    expect(await checkLedger(engine)).toEqual({ unbalanced: [], discrepancies: [] });
  }

  it('20 credits stamped 10:02 and charged at 09:58 are paid by the allowance of the period begun at 10:00: the next invoice bills no overage', async () => {
    const { engine } = ctx;
    const { customer, use, advance } = await setup(engine);
    await advance('2026-01-10T00:00:00Z');
    await use(90, '2026-01-10T00:00:00Z');
    await advance('2026-02-01T09:58:00Z');
    const early = await use(20, '2026-02-01T10:02:00Z');
    expect(early.paid_by ?? []).toEqual([]);
    expect(await balance(engine, customer.id)).toEqual({ available: '10', overage: '20' });
    await advance('2026-02-01T10:05:00Z');
    // The February allowance paid the 20: 80 of it left, beside January's 10 rolled over.
    expect(await grantsLeft(engine, customer.id, '2026-02-01T10:00:00Z')).toEqual({ plan_allowance: '80', rollover: '10' });
    expect(await balance(engine, customer.id)).toEqual({ available: '90', overage: '0' });
    expect(await invoiceLines(engine, customer.id, '2026-02-01T10:00:00Z')).toEqual([['subscription_fee', '1', 1000n]]);
    const settled = await engine.store.db.query<{ cause_type: string; effective_at: unknown }>(
      `SELECT cause_type, effective_at FROM ledger_transactions WHERE customer_id = ? AND kind = 'overage_settlement'`, [customer.id]);
    expect(settled.map((t) => [t.cause_type, Number(t.effective_at)])).toEqual([['grant', Date.parse('2026-02-01T10:02:00Z')]]);
    await clean(engine);
    // March's invoice bills February's overage: none.
    await advance('2026-03-01T10:00:01Z');
    expect(await invoiceLines(engine, customer.id, '2026-03-01T10:00:00Z')).toEqual([['subscription_fee', '1', 1000n]]);
    await clean(engine);
    // Its settlement taken for another kind of transaction, February's 20 credits of overage are
    // billed by no line: reconciliation says so (the store is shared: put back after).
    const [txn] = await engine.store.db.query<{ id: string }>(`SELECT id FROM ledger_transactions WHERE customer_id = ? AND kind = 'overage_settlement'`, [customer.id]);
    await engine.store.db.run(`UPDATE ledger_transactions SET kind = 'debt_paydown' WHERE id = ?`, [txn!.id]);
    const found = must(await reconcile(engine)).discrepancies.filter((d) => d.check === 'overage_invoiced');
    await engine.store.db.run(`UPDATE ledger_transactions SET kind = 'overage_settlement' WHERE id = ?`, [txn!.id]);
    expect(found.map((d) => d.message)).toEqual([expect.stringMatching(/^Period 1 of subscription \S+ consumed 20 credits of overage .*but its overage lines bill 0\./)]);
    await clean(engine);
  });

  it('130 credits of overage at 10:02 against an allowance of 100 and a rollover of 10: 110 settled, 20 billed at 3 cents', async () => {
    const { engine } = ctx;
    const { customer, use, advance } = await setup(engine);
    await advance('2026-01-10T00:00:00Z');
    await use(90, '2026-01-10T00:00:00Z');
    await advance('2026-02-01T09:58:00Z');
    await use(130, '2026-02-01T10:02:00Z');
    await advance('2026-02-01T10:05:00Z');
    expect(await grantsLeft(engine, customer.id, '2026-02-01T10:00:00Z')).toEqual({ plan_allowance: '0', rollover: '0' });
    expect(await balance(engine, customer.id)).toEqual({ available: '0', overage: '20' });
    await advance('2026-03-01T10:00:01Z');
    expect(await invoiceLines(engine, customer.id, '2026-03-01T10:00:00Z')).toEqual([['subscription_fee', '1', 1000n], ['overage', '20', 3n]]);
    expect(await balance(engine, customer.id)).toEqual({ available: '100', overage: '0' });
    await clean(engine);
  });

  it("on the real clock, 20 credits used after a period's end and before the scheduler's renewal are paid by the new allowance", async () => {
    const { engine } = ctx;
    const customer = must(await createCustomer(engine, { currency: 'USD', net_days: 365 }));
    const meter = code('tick');
    must(await createMeter(engine, { code: meter, event_type: meter, aggregation: 'sum', value_property: 'n', rate: { model: 'per_unit', credits_per_unit: '1' } }));
    const plan = must(await createPlan(engine, {
      code: code('tick'), name: 'Tick', currency: 'USD', interval: 'month', amount: 1000, included_credits: '100', overage: { unit_amount_per_credit: '0.15' },
    }));
    // Begun 32 days ago: its first period has ended, and no scheduler has run its renewal.
    must(await createSubscription(engine, { customer: customer.id, plan: plan.code, start_at: new Date(Date.now() - 32 * 86_400_000).toISOString() }));
    const [sub] = await engine.store.read.billing.subscriptionsOf([customer.id]);
    expect(sub!.periodEndMs).toBeLessThan(Date.now());
    const [r] = await ingestEvents(engine, [{ id: `${customer.id}-tick`, customer: customer.id, type: meter, properties: { n: 20 } }]);
    expect(r!.status).toBe('accepted');
    expect(await balance(engine, customer.id)).toEqual({ available: '0', overage: '20' });
    await runDue(engine, null, Date.now(), { kinds: allDueWork });
    expect((await engine.store.read.billing.subscriptionsOf([customer.id]))[0]!.periodIndex).toBe(1);
    expect(await grantsLeft(engine, customer.id, new Date(sub!.periodEndMs).toISOString())).toEqual({ plan_allowance: '80' });
    expect(await balance(engine, customer.id)).toEqual({ available: '80', overage: '0' });
    await clean(engine);
  });

  it("overage stamped 09:59, before the period's start, is billed with January and the February allowance stays whole", async () => {
    const { engine } = ctx;
    const { customer, use, advance } = await setup(engine);
    await advance('2026-01-10T00:00:00Z');
    await use(100, '2026-01-10T00:00:00Z');
    await advance('2026-02-01T09:58:00Z');
    await use(20, '2026-02-01T09:59:00Z');
    await advance('2026-02-01T10:05:00Z');
    expect(await grantsLeft(engine, customer.id, '2026-02-01T10:00:00Z')).toEqual({ plan_allowance: '100' });
    expect(await invoiceLines(engine, customer.id, '2026-02-01T10:00:00Z')).toEqual([['subscription_fee', '1', 1000n], ['overage', '20', 3n]]);
    expect(await balance(engine, customer.id)).toEqual({ available: '100', overage: '0' });
    await clean(engine);
  });
});

describe('the overage a renewal settles, read on SQLite', () => {
  it('reads each of its tables by an index, none whole', async () => {
    const database = await freshDatabase('sqlite');
    try {
      const captured: Captured[] = [];
      const engine = await createEngine(capturing(database.db, captured));
      const customer = must(await createCustomer(engine, { currency: 'USD' }));
      captured.length = 0;
      expect(await engine.store.read.billing.overageByTime(customer.id, Date.parse('2026-02-01T10:00:00Z'), Date.parse('2026-03-01T10:00:00Z'))).toEqual([]);
      expect(captured.length).toBe(1);
      const plan = await database.db.query<{ detail: string }>(`EXPLAIN QUERY PLAN ${captured[0]!.sql}`, captured[0]!.params);
      const steps = plan.map((r) => r.detail);
      expect(steps.filter((s) => /^SCAN (ledger_transactions|ledger_entries|usage_events|usage_keys|usage_heads|usage_chain)\b/.test(s))).toEqual([]);
      expect(steps.some((s) => /SEARCH t USING INDEX/.test(s))).toBe(true);
    } finally {
      await database.drop();
    }
  });
});
