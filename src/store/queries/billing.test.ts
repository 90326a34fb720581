import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { dialects } from '../../../test/support/databases.ts';
import { must, useEngine } from '../../../test/support/engine.ts';
import { createCustomer } from '../../engine/customers.ts';
import { purchaseCredits } from '../../engine/purchases.ts';
import { createGrant } from '../../engine/grants.ts';
import { createMeter } from '../../engine/meters.ts';
import { ingestEvents } from '../../engine/ingest-events.ts';
import { entryAccount, entryAmount, postingEntries } from './event-postings.ts';

/** An invoice's state and its provider link are written by different use cases, under different locks. */
describe.each(dialects)('billing.updateInvoiceState on %s', (dialect) => {
  const ctx = useEngine(dialect);

  it('keeps a Stripe link made after the state it writes was read', async () => {
    const customer = must(await createCustomer(ctx.engine, { currency: 'EUR' }));
    const { invoice } = must(await purchaseCredits(ctx.engine, customer.id, { credits: '100', amount: 1000 }));
    // Due work reads the invoice, a push links it meanwhile, then due work writes what it read.
    const stale = (await ctx.engine.store.read.billing.invoice(invoice.id))!;
    expect(stale.providerInvoiceId).toBeNull();
    await ctx.engine.store.transaction((tx) => tx.stripe.linkInvoice(invoice.id, 'in_link_kept'));
    await ctx.engine.store.transaction((tx) => tx.billing.updateInvoiceState({ ...stale, pastDueAtMs: stale.createdAtMs, dunningStep: 1 }));

    const after = (await ctx.engine.store.read.billing.invoice(invoice.id))!;
    expect(after).toMatchObject({ provider: 'stripe', providerInvoiceId: 'in_link_kept', dunningStep: 1, pastDueAtMs: stale.createdAtMs });
  });
});

/**
 * A period's overage (what an overage limit is checked against) is read from daily and hourly
 * running totals plus the entries of the partial hours at its ends; it must equal the plain sum of
 * the usage transactions' `overage` entries for any window, and the totals must match the entries.
 */
describe.each(dialects)('billing.overageConsumed on %s', (dialect) => {
  const ctx = useEngine(dialect);
  const hourMs = 3_600_000;

  it('equals the sum of the overage entries in any window, from daily and hourly totals the ledger check confirms', async () => {
    const { engine } = ctx;
    const type = `calls_${dialect}`;
    must(await createMeter(engine, { code: `units_${dialect}`, event_type: type, aggregation: 'sum', value_property: 'n', rate: { model: 'per_unit', credits_per_unit: '0.5' } }));
    const postpaid = must(await createCustomer(engine, { currency: 'USD', overage: true }));
    const topped = must(await createCustomer(engine, { currency: 'USD', overage: true }));
    must(await createGrant(engine, { customer: topped.id, credits: '40', category: 'paid', source: 'purchase' }));
    const dayMs = 24 * hourMs;
    // Four whole UTC days before today's: every event is in the past, within what ingestion takes.
    const base = Math.floor(Date.now() / dayMs) * dayMs - 4 * dayMs;
    const spanMs = 4 * dayMs;
    // The overage entries of the usage charges in the ledger's tables and of those posted on their event's row (migration 58).
    const plainSum = async (customerId: string, fromMs: number, toMs: number): Promise<bigint> => {
      const c = engine.store.read.c;
      const rows = await c.query(
        `SELECT COALESCE(SUM(e.amount), 0) AS total FROM ledger_transactions t JOIN ledger_entries e ON e.txn_id = t.id
          WHERE t.customer_id = ? AND t.kind = 'usage' AND e.account = 'overage' AND t.effective_at >= ? AND t.effective_at < ?`,
        [customerId, fromMs, toMs]);
      const posted = await c.query(
        `SELECT COALESCE(SUM(${entryAmount(c.dialect, 'j')}), 0) AS total FROM usage_events u ${postingEntries(c.dialect, 'u', 'j')}
          WHERE u.customer_id = ? AND u.entries IS NOT NULL AND ${entryAccount(c.dialect, 'j')} = 'overage' AND u.timestamp >= ? AND u.timestamp < ?`,
        [customerId, fromMs, toMs]);
      return -(BigInt(rows[0]!.total as bigint) + BigInt(posted[0]!.total as bigint));
    };
    // Offsets from `base`: anywhere in four days, often right at or beside an hour's or a day's start.
    const beside = (unitMs: number, units: number) => fc.tuple(fc.integer({ min: 0, max: units }), fc.constantFrom(-1, 0, 1))
      .map(([u, d]) => Math.min(spanMs - 1, Math.max(0, u * unitMs + d)));
    const offset = fc.oneof(fc.integer({ min: 0, max: spanMs - 1 }), beside(hourMs, 96), beside(dayMs, 4));
    let serial = 0;
    let windows = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ at: offset, n: fc.integer({ min: 1, max: 9 }), who: fc.constantFrom('postpaid', 'topped') }), { minLength: 1, maxLength: 25 }),
        fc.array(fc.tuple(offset, offset), { minLength: 1, maxLength: 8 }),
        async (events, asks) => {
          await ingestEvents(engine, events.map((e) => ({
            id: `ovh_${dialect}_${++serial}`, customer: (e.who === 'postpaid' ? postpaid : topped).id, type,
            timestamp: new Date(base + e.at).toISOString(), properties: { n: e.n },
          })));
          for (const [a, b] of asks) {
            const [fromMs, toMs] = [base + Math.min(a, b), base + Math.max(a, b) + 1];
            for (const customer of [postpaid, topped]) {
              expect(await engine.store.read.billing.overageConsumed(customer.id, fromMs, toMs)).toBe(await plainSum(customer.id, fromMs, toMs));
              windows += 1;
            }
          }
        },
      ),
      { numRuns: 25 },
    );
    expect(windows).toBeGreaterThan(0);
    // The charges were posted on their events' rows: the sums above read them there.
    expect(Number((await engine.store.read.c.query(`SELECT COUNT(*) AS n FROM usage_events WHERE entries IS NOT NULL`))[0]!.n)).toBeGreaterThan(0);
    // Every hour's running total equals its entries, and the whole window is the balance owed.
    expect(await engine.store.read.ledger.balanceDiscrepancies()).toEqual([]);
    expect(await engine.store.read.billing.overageConsumed(postpaid.id, 0, base + spanMs + hourMs)).toBe(-(await engine.store.read.ledger.balance(postpaid.id, 'overage')));
  });
});
