import { describe, expect, it } from 'vitest';
import { dialects, freshDatabase } from '../support/databases.ts';
import { must, useEngine } from '../support/engine.ts';
import type { Engine } from '../../src/engine/context.ts';
import { createEngine } from '../../src/engine/create-engine.ts';
import { createGrant } from '../../src/engine/grants.ts';
import { createHold, releaseHold } from '../../src/engine/holds.ts';
import { createPlan } from '../../src/engine/plans.ts';
import { createSubscription } from '../../src/engine/subscriptions.ts';
import { getBalance } from '../../src/engine/balance.ts';
import { debtSettlement } from '../../src/engine/due-work.ts';
import { reconcile } from '../../src/engine/reconcile.ts';
import { purchaseCredits } from '../../src/engine/purchases.ts';
import { recordPayment } from '../../src/engine/invoices.ts';
import { createReturn } from '../../src/engine/refunds.ts';
import { financeCustomer, payOpenInvoices, uniqueCode } from '../support/finance.ts';

const at = (iso: string) => Date.parse(iso);

async function debtOf(engine: Engine, customerId: string): Promise<bigint> {
  return must(await getBalance(engine, customerId)).balance.debtMicro;
}

async function paydowns(engine: Engine, customerId: string) {
  const txns = (await engine.store.read.ledger.listTransactions(customerId, { limit: 100 })).data;
  return txns.filter((t) => t.kind === 'debt_paydown').map((t) => ({
    at: new Date(t.effectiveAtMs).toISOString(),
    paid: t.entries.filter((e) => e.account === 'debt').reduce((sum, e) => sum + e.amountMicro, 0n),
  }));
}

/**
 * Migration 66: a customer's debt is checked when credits may become usable to it, and only then.
 * Each moment is asked as a check time on the customer (a grant taking effect later, credits back
 * from a hold, an unfreeze, a late event's debt beside credits usable now); due work lists the
 * checks due by clock and pays the debt from the credits usable then. A customer in debt with
 * nothing to pay is not listed at all; before, every one was read at every pass, and one whose
 * only credits were frozen was listed again at every pass, so a test clock's advance never ended.
 */
describe.each(dialects)('debt checks on %s', (dialect) => {
  const ctx = useEngine(dialect);
  const checkOf = async (customerId: string) => ctx.engine.store.read.customers.debtCheckAt(customerId);

  it('leaves a debt owed while its only credits are frozen, and pays it from them once the invoice is paid', async () => {
    const { engine } = ctx;
    const plan = must(await createPlan(engine, { code: uniqueCode('frozen'), name: 'Frozen', currency: 'USD', interval: 'month', amount: 1500, included_credits: '100' }));
    const c = await financeCustomer(engine, '2026-05-01T00:00:00Z', { netDays: 3 });
    must(await createSubscription(engine, { customer: c.customer.id, plan: plan.code }));
    // The allowance stops paying 7 days after the invoice's due date (May 4): from May 11.
    await c.advance('2026-05-12T00:00:00Z');
    await c.use(5);
    expect(await debtOf(engine, c.customer.id)).toBe(5_000_000n);
    expect(await checkOf(c.customer.id)).toBeNull();
    // Nothing to list: the advance ends, and the debt stays.
    expect(await debtSettlement.due(engine.store.read, c.clock.id, at('2026-06-30T00:00:00Z'), 500)).toEqual([]);
    await c.advance('2026-05-20T00:00:00Z');
    expect(await debtOf(engine, c.customer.id)).toBe(5_000_000n);

    // Paid on May 20: the allowance is usable again, and the debt is checked at once.
    await payOpenInvoices(engine, c.customer.id);
    expect(await checkOf(c.customer.id)).toBe(at('2026-05-20T00:00:00Z'));
    await c.advance('2026-05-20T00:01:00Z');
    expect(await debtOf(engine, c.customer.id)).toBe(0n);
    expect(await paydowns(engine, c.customer.id)).toEqual([{ at: '2026-05-20T00:00:00.000Z', paid: 5_000_000n }]);
    expect(must(await getBalance(engine, c.customer.id)).balance.availableMicro).toBe(95_000_000n);
    expect(await checkOf(c.customer.id)).toBeNull();
    expect(must(await reconcile(engine)).discrepancies).toEqual([]);
  });

  it('pays a debt when a later grant takes effect, though the debt arose after an earlier check found none', async () => {
    const { engine } = ctx;
    const c = await financeCustomer(engine, '2026-07-01T00:00:00Z');
    must(await createGrant(engine, { customer: c.customer.id, credits: '1', category: 'paid', source: 'adjustment', effective_at: '2026-07-04T00:00:00Z' }));
    must(await createGrant(engine, { customer: c.customer.id, credits: '100', category: 'paid', source: 'adjustment', effective_at: '2026-07-11T00:00:00Z' }));
    // Each grant asked a check at its time; the earliest is kept.
    expect(await checkOf(c.customer.id)).toBe(at('2026-07-04T00:00:00Z'));
    // The check of July 4 finds no debt and leaves the next at the next grant's time.
    await c.advance('2026-07-05T00:00:00Z');
    expect(await checkOf(c.customer.id)).toBe(at('2026-07-11T00:00:00Z'));
    // 6 used on July 5: 1 from the first grant, 5 owed, nothing usable now to pay it.
    await c.use(6);
    expect(await debtOf(engine, c.customer.id)).toBe(5_000_000n);
    expect(await checkOf(c.customer.id)).toBe(at('2026-07-11T00:00:00Z'));
    await c.advance('2026-07-10T23:59:00Z');
    expect(await debtOf(engine, c.customer.id)).toBe(5_000_000n);
    // Paid at the instant the second grant takes effect.
    await c.advance('2026-07-12T00:00:00Z');
    expect(await debtOf(engine, c.customer.id)).toBe(0n);
    expect(await paydowns(engine, c.customer.id)).toEqual([{ at: '2026-07-11T00:00:00.000Z', paid: 5_000_000n }]);
    expect(must(await getBalance(engine, c.customer.id)).balance.availableMicro).toBe(95_000_000n);
    expect(await checkOf(c.customer.id)).toBeNull();
    expect(must(await reconcile(engine)).discrepancies).toEqual([]);
  });

  it('pays a late event\'s debt from credits that took effect after its time', async () => {
    const { engine } = ctx;
    const c = await financeCustomer(engine, '2026-08-01T00:00:00Z');
    must(await createGrant(engine, { customer: c.customer.id, credits: '100', category: 'paid', source: 'adjustment', effective_at: '2026-08-02T00:00:00Z' }));
    await c.advance('2026-08-03T00:00:00Z');
    expect(await checkOf(c.customer.id)).toBeNull();
    // Stamped before the grant took effect: nothing paid it then, so it is owed, beside 100 usable now.
    await c.use(5, '2026-08-01T12:00:00Z');
    expect(await debtOf(engine, c.customer.id)).toBe(5_000_000n);
    expect(await checkOf(c.customer.id)).toBe(at('2026-08-03T00:00:00Z'));
    await c.advance('2026-08-03T00:01:00Z');
    expect(await debtOf(engine, c.customer.id)).toBe(0n);
    expect(await paydowns(engine, c.customer.id)).toEqual([{ at: '2026-08-03T00:00:00.000Z', paid: 5_000_000n }]);
    expect(must(await getBalance(engine, c.customer.id)).balance.availableMicro).toBe(95_000_000n);
    expect(must(await reconcile(engine)).discrepancies).toEqual([]);
  });

  it('pays a debt from credits a released hold gives back', async () => {
    const { engine } = ctx;
    const c = await financeCustomer(engine, '2026-09-01T00:00:00Z');
    must(await createGrant(engine, { customer: c.customer.id, credits: '10', category: 'paid', source: 'adjustment' }));
    const hold = must(await createHold(engine, { customer: c.customer.id, credits: '10', expires_in: 3600 }));
    // Every credit held: usage outside the hold is owed.
    await c.use(3);
    expect(await debtOf(engine, c.customer.id)).toBe(3_000_000n);
    expect(await checkOf(c.customer.id)).toBeNull();
    await c.advance('2026-09-01T00:10:00Z');
    must(await releaseHold(engine, hold.id));
    expect(await checkOf(c.customer.id)).toBe(at('2026-09-01T00:10:00Z'));
    await c.advance('2026-09-01T00:11:00Z');
    expect(await debtOf(engine, c.customer.id)).toBe(0n);
    expect(await paydowns(engine, c.customer.id)).toEqual([{ at: '2026-09-01T00:10:00.000Z', paid: 3_000_000n }]);
    expect(must(await getBalance(engine, c.customer.id)).balance.availableMicro).toBe(7_000_000n);
    // A hold released by a customer that owes nothing asks no check.
    const again = must(await createHold(engine, { customer: c.customer.id, credits: '2', expires_in: 3600 }));
    must(await releaseHold(engine, again.id));
    expect(await checkOf(c.customer.id)).toBeNull();
    expect(must(await reconcile(engine)).discrepancies).toEqual([]);
  });

  it('pays a refund\'s shortfall from the other credits usable', async () => {
    const { engine } = ctx;
    const c = await financeCustomer(engine, '2026-06-01T00:00:00Z');
    const { invoice } = must(await purchaseCredits(engine, c.customer.id, { credits: '1000', amount: 10000 }));
    must(await recordPayment(engine, invoice.id, { amount: 10000 }));
    must(await createGrant(engine, { customer: c.customer.id, credits: '50', category: 'paid', source: 'adjustment', priority: 200 }));
    await c.use(400);
    // Refunded in full: 600 revoked, the 400 spent owed, beside the 50 of the other grant.
    must(await createReturn(engine, 'refund', { invoice: invoice.id, amount: 10000, reason: 'r', credit_policy: 'full' }));
    expect(await debtOf(engine, c.customer.id)).toBe(400_000_000n);
    expect(await checkOf(c.customer.id)).toBe(at('2026-06-01T00:00:00Z'));
    await c.advance('2026-06-01T00:01:00Z');
    expect(await debtOf(engine, c.customer.id)).toBe(350_000_000n);
    expect(await paydowns(engine, c.customer.id)).toEqual([{ at: '2026-06-01T00:00:00.000Z', paid: 50_000_000n }]);
    expect(must(await getBalance(engine, c.customer.id)).balance.availableMicro).toBe(0n);
    expect(await checkOf(c.customer.id)).toBeNull();
    expect(must(await reconcile(engine)).discrepancies).toEqual([]);
  });

  it('lists no customer in debt that has nothing to pay with, however many there are', async () => {
    const { engine } = ctx;
    const owing = [];
    for (let i = 0; i < 20; i++) {
      const c = await financeCustomer(engine, '2026-10-01T00:00:00Z');
      await c.use(4);
      owing.push(c);
    }
    for (const c of owing) expect(await debtOf(engine, c.customer.id)).toBe(4_000_000n);
    for (const c of owing) expect(await debtSettlement.due(engine.store.read, c.clock.id, at('2027-10-01T00:00:00Z'), 500)).toEqual([]);
    expect(await debtSettlement.due(engine.store.read, null, at('2027-10-01T00:00:00Z'), 500)).toEqual([]);
  });

  it('upgraded to migration 66, checks every customer in debt at once and every grant issued to take effect later at its time', async () => {
    const database = await freshDatabase(dialect);
    try {
      let engine = await createEngine(database.db);
      // One owes beside usable credits (a late event whose check is rolled back below), one owes
      // with nothing to pay, one owes nothing and has a grant to come.
      const late = await financeCustomer(engine, '2026-03-01T00:00:00Z');
      must(await createGrant(engine, { customer: late.customer.id, credits: '100', category: 'paid', source: 'adjustment', effective_at: '2026-03-02T00:00:00Z' }));
      await late.advance('2026-03-03T00:00:00Z');
      await late.use(5, '2026-03-01T12:00:00Z');
      const broke = await financeCustomer(engine, '2026-03-01T00:00:00Z');
      await broke.use(7);
      const later = await financeCustomer(engine, '2026-03-01T00:00:00Z');
      must(await createGrant(engine, { customer: later.customer.id, credits: '50', category: 'paid', source: 'adjustment', effective_at: '2026-04-01T00:00:00Z' }));
      // The schema as the release before migration 66 left it.
      for (const sql of [`DROP INDEX customers_debt_check`, `ALTER TABLE customers DROP COLUMN debt_check_at`,
        `CREATE INDEX accounts_in_debt ON accounts (customer_id) WHERE code = 'debt'`, `DELETE FROM schema_migrations WHERE version = 66`]) {
        await database.db.run(sql);
      }
      engine = await createEngine(database.db);
      const checks = await database.db.query<{ id: string; debt_check_at: bigint | null }>(`SELECT id, debt_check_at FROM customers`);
      expect(Object.fromEntries(checks.map((r) => [r.id, r.debt_check_at === null ? null : Number(r.debt_check_at)]))).toEqual({
        [late.customer.id]: 0, [broke.customer.id]: 0, [later.customer.id]: at('2026-04-01T00:00:00Z'),
      });
      await late.advance('2026-03-03T00:01:00Z');
      expect(await debtOf(engine, late.customer.id)).toBe(0n);
      expect(must(await getBalance(engine, late.customer.id)).balance.availableMicro).toBe(95_000_000n);
      await broke.advance('2026-03-01T00:01:00Z');
      expect(await debtOf(engine, broke.customer.id)).toBe(7_000_000n);
      expect(await engine.store.read.customers.debtCheckAt(broke.customer.id)).toBeNull();
      // The third owes from March 2 and is paid when its grant takes effect.
      await later.advance('2026-03-02T00:00:00Z');
      await later.use(8);
      await later.advance('2026-04-02T00:00:00Z');
      expect(await debtOf(engine, later.customer.id)).toBe(0n);
      expect(must(await getBalance(engine, later.customer.id)).balance.availableMicro).toBe(42_000_000n);
      expect(must(await reconcile(engine)).discrepancies).toEqual([]);
    } finally {
      await database.drop();
    }
  });
});
