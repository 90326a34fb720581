import { describe, expect, it } from 'vitest';
import { dialects } from '../support/databases.ts';
import { must, useEngine } from '../support/engine.ts';
import { createTestClock } from '../../src/engine/test-clocks.ts';
import { createCustomer } from '../../src/engine/customers.ts';
import { createMeter } from '../../src/engine/meters.ts';
import { createGrant } from '../../src/engine/grants.ts';
import { ingestEvents } from '../../src/engine/ingest-events.ts';
import { purchaseCredits } from '../../src/engine/purchases.ts';
import { recordPayment } from '../../src/engine/invoices.ts';
import { createReturn } from '../../src/engine/refunds.ts';
import { getBalance } from '../../src/engine/balance.ts';
import { checkLedger, reconcile } from '../../src/engine/reconcile.ts';
import { formatCredits } from '../../src/core/decimal.ts';

/**
 * A customer's `debt` account row exists only while it is owed (migration 52): the posting that
 * pays it down to zero deletes it in the same transaction, and every reader takes the missing row
 * for a zero balance. Debt from usage with overage off, from a refund and from a chargeback of
 * spent credits, each paid down by a new grant and then owed again.
 */
describe.each(dialects)('debt rows only while owed, on %s', (dialect) => {
  const ctx = useEngine(dialect);
  const meter = `owed_${dialect}`;
  let seq = 0;

  async function setUp() {
    const { engine } = ctx;
    if (!(await engine.store.read.usage.meterByCode(meter))) {
      must(await createMeter(engine, { code: meter, event_type: meter, aggregation: 'sum', value_property: 'n', rate: { model: 'per_unit', credits_per_unit: '1' } }));
    }
    const clock = must(await createTestClock(engine, { frozen_time: '2026-06-01T00:00:00Z' }));
    return must(await createCustomer(engine, { currency: 'USD', test_clock: clock.id })).id;
  }
  const use = async (customerId: string, n: number) => {
    const [result] = await ingestEvents(ctx.engine, [{ id: `owed-${dialect}-${++seq}`, customer: customerId, type: meter, properties: { n } }]);
    expect(result!.status).toBe('accepted');
  };
  const grant = async (customerId: string, credits: string) => {
    must(await createGrant(ctx.engine, { customer: customerId, credits, category: 'paid', source: 'adjustment' }));
  };
  const debtRow = async (customerId: string) =>
    (await ctx.engine.store.read.c.query(`SELECT balance FROM accounts WHERE customer_id = ? AND code = 'debt'`, [customerId])).map((r) => BigInt(r.balance as bigint));
  const balance = async (customerId: string) => {
    const b = must(await getBalance(ctx.engine, customerId)).balance;
    return { available: formatCredits(b.availableMicro), debt: formatCredits(b.debtMicro) };
  };
  async function expectClean() {
    expect(await checkLedger(ctx.engine)).toEqual({ unbalanced: [], discrepancies: [] });
    expect(must(await reconcile(ctx.engine)).discrepancies).toEqual([]);
    expect(await ctx.engine.store.read.ledger.balanceDiscrepancies()).toEqual([]);
  }

  /** A paid purchase of 1000 credits with `spent` used, returned in full: the spent part becomes debt. */
  async function returned(customerId: string, kind: 'refund' | 'chargeback', spent: number) {
    const { invoice } = must(await purchaseCredits(ctx.engine, customerId, { credits: '1000', amount: 10000 }));
    must(await recordPayment(ctx.engine, invoice.id, { amount: 10000 }));
    await use(customerId, spent);
    must(await createReturn(ctx.engine, kind, { invoice: invoice.id, amount: 10000, reason: 'requested', credit_policy: 'full' }));
  }

  it.each<[string, (customerId: string) => Promise<void>, string]>([
    ['usage with overage off', async (id) => { await grant(id, '5'); await use(id, 8); }, '3'],
    ['a refund of spent credits', (id) => returned(id, 'refund', 400), '400'],
    ['a chargeback of spent credits', (id) => returned(id, 'chargeback', 300), '300'],
  ])('debt from %s: paid off by a grant, the row is gone; owed again, it is back', async (_cause, makeDebt, owed) => {
    const customerId = await setUp();
    await makeDebt(customerId);
    expect(await balance(customerId)).toEqual({ available: '0', debt: owed });
    expect(await debtRow(customerId)).toHaveLength(1);

    // Part of it paid: the row stays, with what is still owed.
    await grant(customerId, '1');
    const stillOwed = formatCredits(BigInt(Number(owed) - 1) * 1_000_000n);
    expect(await balance(customerId)).toEqual({ available: '0', debt: stillOwed });
    expect(await debtRow(customerId)).toEqual([-(BigInt(Number(owed) - 1) * 1_000_000n)]);

    // The rest paid by a larger grant: no row, zero debt, and every check clean.
    await grant(customerId, '1000');
    expect(await debtRow(customerId)).toEqual([]);
    expect(await balance(customerId)).toEqual({ available: formatCredits(BigInt(1001 - Number(owed)) * 1_000_000n), debt: '0' });
    await expectClean();

    // Owed again: usage beyond what is left makes a new row, and a grant deletes it again.
    await use(customerId, 1001 - Number(owed) + 2);
    expect(await balance(customerId)).toEqual({ available: '0', debt: '2' });
    expect(await debtRow(customerId)).toEqual([-2_000_000n]);
    await expectClean();
    await grant(customerId, '2');
    expect(await debtRow(customerId)).toEqual([]);
    expect(await balance(customerId)).toEqual({ available: '0', debt: '0' });
    await expectClean();
  });

  it('usage that adds to a debt leaves the row in place, and paying one customer off deletes no other row', async () => {
    const paid = await setUp();
    const kept = await setUp();
    await use(paid, 4);
    await use(kept, 4);
    await use(kept, 3);
    expect(await debtRow(kept)).toEqual([-7_000_000n]);
    await grant(paid, '4');
    expect(await debtRow(paid)).toEqual([]);
    expect(await debtRow(kept)).toEqual([-7_000_000n]);
    await expectClean();
  });

  it('a posting whose debt entries net to zero leaves no row behind', async () => {
    const customerId = await setUp();
    const txn = (id: string, debtMicro: bigint) => ({
      id, customerId, kind: 'debt_paydown' as const, cause: { type: 'test', id }, refs: {}, effectiveAtMs: Date.parse('2026-06-01T00:00:00Z'),
      entries: [{ account: 'debt', amountMicro: debtMicro }, { account: 'revoked', amountMicro: -debtMicro }],
    });
    await ctx.engine.store.read.ledger.post([txn(`net-${dialect}-1`, -5_000_000n), txn(`net-${dialect}-2`, 5_000_000n)], Date.now());
    expect(await debtRow(customerId)).toEqual([]);
    await ctx.engine.store.read.ledger.post([txn(`net-${dialect}-3`, -2_000_000n)], Date.now());
    expect(await debtRow(customerId)).toEqual([-2_000_000n]);
    await ctx.engine.store.read.ledger.post([txn(`net-${dialect}-4`, 2_000_000n)], Date.now());
    expect(await debtRow(customerId)).toEqual([]);
    await expectClean();
  });

  it('still reports a debt whose entries sum to non-zero when its row is missing', async () => {
    const customerId = await setUp();
    await use(customerId, 6);
    await ctx.engine.store.read.c.run(`DELETE FROM accounts WHERE customer_id = ? AND code = 'debt'`, [customerId]);
    const check = await checkLedger(ctx.engine);
    expect(check.discrepancies).toEqual([{ customerId, account: 'debt', storedMicro: 0n, summedMicro: -6_000_000n }]);
    const report = must(await reconcile(ctx.engine));
    expect(report.discrepancies.length).toBeGreaterThan(0);
    expect(JSON.stringify(report.discrepancies, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))).toContain(customerId);
    // Put back as it was, so the other tests of this database stay clean.
    await ctx.engine.store.read.c.run(`INSERT INTO accounts (customer_id, code, balance) VALUES (?, 'debt', ?)`, [customerId, -6_000_000n]);
    await expectClean();
  });
});
