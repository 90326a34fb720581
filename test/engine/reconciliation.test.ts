import { execFile } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { dialects, freshDatabase } from '../support/databases.ts';
import { must, useEngine } from '../support/engine.ts';
import { financeCustomer, invoicesOf, payOpenInvoices, uniqueCode } from '../support/finance.ts';
import { createEngine } from '../../src/engine/create-engine.ts';
import type { Engine } from '../../src/engine/context.ts';
import { purchaseCredits } from '../../src/engine/purchases.ts';
import { recordPayment } from '../../src/engine/invoices.ts';
import { createCreditNote } from '../../src/engine/credit-notes.ts';
import { createPromotion } from '../../src/engine/promotions.ts';
import { redeemPromotion } from '../../src/engine/redeem-promotion.ts';
import { closeChargeback, createReturn } from '../../src/engine/refunds.ts';
import { createPlan } from '../../src/engine/plans.ts';
import { cancelSubscription, createSubscription } from '../../src/engine/subscriptions.ts';
import { createHold, captureHold } from '../../src/engine/holds.ts';
import { checkLedger, reconcile, type ReconcileProgress } from '../../src/engine/reconcile.ts';
import type { Discrepancy } from '../../src/core/reconciliation.ts';
import type { LedgerEntry } from '../../src/core/ledger.ts';
import type { SqlValue } from '../../src/store/sql.ts';
import { entriesJson } from '../../src/store/queries/event-postings.ts';
import { moveToLedgerTables } from '../support/usage-charge-forms.ts';
import { reconcileBothWays, sortedDiscrepancies } from '../support/reconcile-sliced.ts';

/** The whole store, reconciled (by default and a customer at a time, alike); fails the test on a validation error. */
async function discrepancies(engine: Engine): Promise<Discrepancy[]> {
  return (await reconcileBothWays(engine)).discrepancies;
}

/**
 * The stored event `id` with its charge, which since migration 58 is posted on the event's own row
 * (src/store/queries/event-postings.ts): the corruptions below are made there.
 */
async function postedEvent(engine: Engine, id: string) {
  const event = (await engine.store.read.usage.event(id))!;
  expect(event.entries, `${id} is its own posting`).not.toBeNull();
  expect(event.txnId, `${id} records its posting`).not.toBeNull();
  return { ...event, txnId: event.txnId!, entries: event.entries! };
}

type Run = (sql: string, params: SqlValue[]) => Promise<unknown>;

/** One more entry (1 credit to `revoked`) on a charge posted on its event's row: it no longer balances. */
const unbalancedEntries = (entries: readonly LedgerEntry[]): string => entriesJson([...entries, { account: 'revoked', amountMicro: 1_000_000n }]);

/** A customer with a paid purchase partly spent, a proportional refund on it, and a plan with overage billed for January. */
async function busyCustomer(engine: Engine) {
  const c = await financeCustomer(engine, '2025-01-01T00:00:00Z');
  const plan = must(await createPlan(engine, { code: uniqueCode('metered'), name: 'Metered', currency: 'USD', interval: 'month', amount: 1000, included_credits: '100', overage: { unit_amount_per_credit: '5' } }));
  const sub = must(await createSubscription(engine, { customer: c.customer.id, plan: plan.code }));
  const usageId = await c.use(130);
  await c.advance('2025-02-01T00:00:01Z');
  await payOpenInvoices(engine, c.customer.id);
  const { invoice, grant } = must(await purchaseCredits(engine, c.customer.id, { credits: '1000', amount: 10000 }));
  must(await recordPayment(engine, invoice.id, { amount: 10000 }));
  const laterUsageId = await c.use(500);
  const refund = must(await createReturn(engine, 'refund', { invoice: invoice.id, amount: 5000, reason: 'requested', credit_policy: 'proportional' }));
  const overageLine = (await invoicesOf(engine, c.customer.id)).flatMap((i) => i.lines).find((l) => l.type === 'overage')!;
  return { ...c, sub, usageId, laterUsageId, invoice, grant, refund, overageLine };
}

const named = (check: Discrepancy['check'], ids: string[]) => expect.objectContaining({ check, ids: expect.arrayContaining(ids) });

describe.each(dialects)('reconciliation on %s', (dialect) => {
  const ctx = useEngine(dialect);

  it('is clean after purchases, plans with overage, refunds, chargebacks and holds, and bills late overage at a later renewal', async () => {
    const { engine } = ctx;
    await busyCustomer(engine);
    const other = await financeCustomer(engine, '2025-03-01T00:00:00Z');
    const bought = must(await purchaseCredits(engine, other.customer.id, { credits: '500', amount: 5000 }));
    must(await recordPayment(engine, bought.invoice.id, { amount: 5000 }));
    const hold = must(await createHold(engine, { customer: other.customer.id, credits: '200', expires_in: 600 }));
    must(await captureHold(engine, hold.id, { id: `${other.customer.id}-cap`, type: other.meter, properties: { n: 150 } }));
    const lost = must(await createReturn(engine, 'chargeback', { invoice: bought.invoice.id, amount: 2000, reason: 'fraud', credit_policy: 'full' }));
    must(await closeChargeback(engine, lost.id, 'lost'));
    const won = must(await createReturn(engine, 'chargeback', { invoice: bought.invoice.id, amount: 3000, reason: 'fraud', credit_policy: 'unused_only' }));
    must(await closeChargeback(engine, won.id, 'won'));

    // Late usage: an event of January 31 arrives on March 3, after the renewals of February 1 and
    // March 1; its overage is not due until the April 1 renewal bills it, so nothing is amiss meanwhile.
    const late = await financeCustomer(engine, '2025-01-01T00:00:00Z');
    const plan = must(await createPlan(engine, { code: uniqueCode('payg'), name: 'PAYG', currency: 'USD', interval: 'month', amount: 0, included_credits: '0', overage: { unit_amount_per_credit: '2' } }));
    must(await createSubscription(engine, { customer: late.customer.id, plan: plan.code }));
    await late.use(10);
    await late.advance('2025-03-03T00:00:00Z');
    await late.use(7, '2025-01-31T12:00:00Z');
    expect(await discrepancies(engine)).toEqual([]);
    await late.advance('2025-04-01T00:00:01Z');
    const april = (await invoicesOf(engine, late.customer.id)).find((i) => i.periodStartMs === Date.parse('2025-04-01T00:00:00Z'))!;
    expect(april.lines.filter((l) => l.type === 'overage').map((l) => [new Date(l.periodStartMs).toISOString(), l.quantity])).toEqual([['2025-01-01T00:00:00.000Z', '7']]);

    // Overage whose money rounds to zero (3 credits at 0.1 minor units) is still billed, as a 0.00 line.
    const tiny = await financeCustomer(engine, '2025-06-01T00:00:00Z');
    const cheap = must(await createPlan(engine, { code: uniqueCode('cheap'), name: 'Cheap', currency: 'USD', interval: 'month', amount: 100, included_credits: '10', overage: { unit_amount_per_credit: '0.1' } }));
    must(await createSubscription(engine, { customer: tiny.customer.id, plan: cheap.code }));
    await tiny.use(13);
    await tiny.advance('2025-07-01T00:00:01Z');
    const july = (await invoicesOf(engine, tiny.customer.id)).find((i) => i.periodStartMs === Date.parse('2025-07-01T00:00:00Z'))!;
    expect(july.lines.map((l) => [l.type, l.quantity, l.amountMinor])).toEqual([['subscription_fee', '1', 100n], ['overage', '3', 0n]]);

    expect(must(await reconcile(engine))).toEqual({
      ok: true,
      checks: ['transactions_balance', 'balances_match_entries', 'usage_charged_once', 'usage_events_indexed', 'purchase_grants_linked', 'allowance_grants_linked', 'overage_invoiced', 'claw_backs_applied',
        'customer_balance', 'stripe_invoices_pushed', 'stripe_money_linked', 'frozen_credits_unused', 'promotion_grants_linked', 'invoice_amounts_match',
        'grants_match_ledger', 'holds_match_ledger', 'meter_totals_match_usage']
        .map((name) => ({ name, ok: true })),
      discrepancies: [],
    });
  });

  it('names each corruption with the ids involved', async () => {
    const { engine } = ctx;
    const c = await busyCustomer(engine);
    const run: Run = (sql, params) => engine.store.read.c.run(sql, params);
    const usage = await postedEvent(engine, c.usageId);
    // A usage charge in the ledger's tables (written before migration 58), corrupted there as the posting on its row is below.
    const later = await postedEvent(engine, c.laterUsageId);
    await moveToLedgerTables(engine.store.read.c, later.txnId, { accountIndexed: 0, effectiveIndexed: 0 });
    const misrated = await postedEvent(engine, await c.use(5));

    // An unbalanced transaction: one more entry on a usage charge posted on its event's row.
    await run(`UPDATE usage_events SET entries = ? WHERE id = ?`, [unbalancedEntries(usage.entries), c.usageId]);
    // And on a usage transaction in the ledger's tables.
    await run(`INSERT INTO ledger_entries (txn_id, seq, customer_id, account, amount) VALUES (?, 99, ?, 'revoked', 1000000)`, [later.txnId, c.customer.id]);
    // A stored balance that disagrees with its entries.
    await run(`UPDATE accounts SET balance = balance + 7 WHERE customer_id = ? AND code = ?`, [c.customer.id, `grant:${c.grant.id}`]);
    // A paid purchase grant whose invoice line is gone.
    await run(`DELETE FROM invoice_lines WHERE id = ?`, [c.grant.invoiceLineId!]);
    // A refund whose claw-back transaction is gone.
    await run(`DELETE FROM ledger_entries WHERE txn_id = ?`, [c.refund.txnId!]);
    await run(`DELETE FROM ledger_transactions WHERE id = ?`, [c.refund.txnId!]);
    // A usage event charged twice: a second balanced usage transaction with the same cause, in the
    // ledger's tables, for an event whose row is its charge.
    const twice = `txn_twice_${c.customer.id}`;
    await run(`INSERT INTO ledger_transactions (id, customer_id, kind, cause_type, cause_id, refs, effective_at, created_at) VALUES (?, ?, 'usage', 'usage_event', ?, '{}', ?, ?)`,
      [twice, c.customer.id, c.usageId, usage.timestampMs, usage.recordedAtMs]);
    await run(`INSERT INTO ledger_entries (txn_id, seq, customer_id, account, amount) VALUES (?, 0, ?, 'overage', -130000000), (?, 1, ?, ?, 130000000)`,
      [twice, c.customer.id, twice, c.customer.id, `consumed:${c.meter}`]);
    // And for an event whose charge is in the ledger's tables.
    const twiceLater = `txn_twice_later_${c.customer.id}`;
    await run(`INSERT INTO ledger_transactions (id, customer_id, kind, cause_type, cause_id, refs, effective_at, created_at) VALUES (?, ?, 'usage', 'usage_event', ?, '{}', ?, ?)`,
      [twiceLater, c.customer.id, later.id, later.timestampMs, later.recordedAtMs]);
    await run(`INSERT INTO ledger_entries (txn_id, seq, customer_id, account, amount) VALUES (?, 0, ?, 'overage', -500000000), (?, 1, ?, ?, 500000000)`,
      [twiceLater, c.customer.id, twiceLater, c.customer.id, `consumed:${c.meter}`]);
    // An event rated at other credits than its posting consumes.
    await run(`UPDATE usage_events SET credits = credits + 1000000 WHERE id = ?`, [misrated.id]);
    // An hourly overage total (what an overage limit is checked against) with no overage under it.
    await run(`INSERT INTO overage_hours (customer_id, hour_start, credits) VALUES (?, 0, 5)`, [c.customer.id]);
    // A daily one likewise.
    await run(`INSERT INTO overage_days (customer_id, day_start, credits) VALUES (?, 0, 3)`, [c.customer.id]);
    // An overage line that bills more than January consumed (priced consistently, so only the sums disagree).
    await run(`UPDATE invoice_lines SET quantity = '25', amount = 125 WHERE id = ?`, [c.overageLine.id]);

    const found = await discrepancies(engine);
    expect(found).toEqual(expect.arrayContaining([
      named('transactions_balance', [usage.txnId, c.customer.id]),
      named('transactions_balance', [later.txnId, c.customer.id]),
      named('balances_match_entries', [c.customer.id, `grant:${c.grant.id}`]),
      named('balances_match_entries', [c.customer.id, 'overage_hours:0']),
      named('balances_match_entries', [c.customer.id, 'overage_days:0']),
      named('purchase_grants_linked', [c.grant.id, c.invoice.id, c.grant.invoiceLineId!]),
      named('claw_backs_applied', [c.refund.id, c.invoice.id, c.refund.txnId!]),
      named('usage_charged_once', [c.usageId, usage.txnId, twice]),
      named('usage_charged_once', [later.id, later.txnId, twiceLater]),
      named('usage_charged_once', [misrated.id, misrated.txnId, c.customer.id]),
      named('overage_invoiced', [c.sub.id, c.overageLine.id, c.overageLine.invoiceId]),
      // The purchase's invoice lost its line, and January's overage line bills more than its invoice's total.
      named('invoice_amounts_match', [c.invoice.id, c.customer.id]),
      named('invoice_amounts_match', [c.overageLine.invoiceId, c.customer.id]),
      // The misrated event: its meter's running total holds the 5 credits it was charged, not 6.
      named('meter_totals_match_usage', [c.customer.id]),
    ]));
    expect(found.find((d) => d.check === 'claw_backs_applied')!.message).toMatch(/has no revoke transaction for its 500 credits/);
    expect(found.find((d) => d.check === 'usage_charged_once' && d.ids.includes(misrated.id))!.message).toMatch(/consumes 5 credits but event \S+ was rated at 6/);
    expect(found.find((d) => d.check === 'overage_invoiced' && d.message.startsWith('Period'))!.message).toMatch(/consumed 160 credits of overage but its overage lines bill 25/);
    const result = must(await reconcile(engine));
    expect(result.ok).toBe(false);
    expect(result.checks.filter((ch) => !ch.ok).map((ch) => ch.name)).toEqual(
      ['transactions_balance', 'balances_match_entries', 'usage_charged_once', 'purchase_grants_linked', 'overage_invoiced', 'claw_backs_applied',
        'invoice_amounts_match', 'meter_totals_match_usage']);
  });

  it('names usage that took credits from a grant while it was frozen or after its invoice revoked it', async () => {
    const { engine } = ctx;
    const frozen = await financeCustomer(engine, '2025-01-01T00:00:00Z');
    const revoked = await financeCustomer(engine, '2025-01-01T00:00:00Z');
    const charges = [];
    for (const c of [frozen, revoked]) {
      const { invoice, grant } = must(await purchaseCredits(engine, c.customer.id, { credits: '100', amount: 1000 }));
      must(await recordPayment(engine, invoice.id, { amount: 1000 }));
      const [txn] = await engine.store.read.ledger.transactionsForCause(await c.use(30));
      expect(txn!.entries).toContainEqual({ account: `grant:${grant.id}`, amountMicro: -30_000_000n });
      charges.push({ grant, txn: txn! });
    }
    // The database is shared with the test before, which leaves its corruptions in place: judge only these customers.
    const ours = (d: Discrepancy) => d.ids.includes(frozen.customer.id) || d.ids.includes(revoked.customer.id);
    expect((await discrepancies(engine)).filter(ours)).toEqual([]);
    const run = (sql: string, params: (string | number)[]) => engine.store.read.c.run(sql, params);
    // The charges' grants rewritten as if the charge came while the grant was frozen, or after its revocation.
    await run(`UPDATE grants SET frozen_from = ? WHERE id = ?`, [charges[0]!.txn.effectiveAtMs - 1, charges[0]!.grant.id]);
    await run(`UPDATE grants SET status = 'voided', close_reason = 'invoice voided', closed_at = ? WHERE id = ?`, [charges[1]!.txn.effectiveAtMs - 1, charges[1]!.grant.id]);
    const found = (await discrepancies(engine)).filter((d) => d.check === 'frozen_credits_unused' && ours(d));
    expect(found).toEqual([
      named('frozen_credits_unused', [charges[0]!.grant.id, charges[0]!.txn.id, frozen.customer.id]),
      named('frozen_credits_unused', [charges[1]!.grant.id, charges[1]!.txn.id, revoked.customer.id]),
    ]);
  });

  it('names a note for unused time whose parts do not sum to it', async () => {
    const { engine } = ctx;
    const c = await financeCustomer(engine, '2025-01-01T00:00:00Z');
    const plan = must(await createPlan(engine, { code: uniqueCode('flat'), name: 'Flat', currency: 'USD', interval: 'month', amount: 3100, included_credits: '0' }));
    const sub = must(await createSubscription(engine, { customer: c.customer.id, plan: plan.code }));
    await payOpenInvoices(engine, c.customer.id);
    await c.advance('2025-01-11T00:00:00Z');
    must(await cancelSubscription(engine, sub.id, { timing: 'immediate' }));
    const final = (await invoicesOf(engine, c.customer.id)).find((i) => i.kind === 'final')!;
    const ours = (d: Discrepancy) => d.ids.includes(c.customer.id);
    expect(await engine.store.read.creditNotes.sharesOfNote(final.creditNoteId!)).toHaveLength(1);
    expect((await discrepancies(engine)).filter(ours)).toEqual([]);
    // The note gives back 21.00 of the fee's invoice; its part says 20.99.
    await engine.store.read.c.run(`UPDATE credit_note_shares SET amount = amount - 1 WHERE credit_note_id = ?`, [final.creditNoteId!]);
    const found = (await discrepancies(engine)).filter(ours);
    expect(found).toEqual([named('customer_balance', [final.creditNoteId!, c.customer.id])]);
    expect(found[0]!.message).toMatch(/of 2100 gives back 2099 of the invoices it names/);
    // Put right, for the tests after this one, which check the whole store.
    await engine.store.read.c.run(`UPDATE credit_note_shares SET amount = amount + 1 WHERE credit_note_id = ?`, [final.creditNoteId!]);
    expect((await discrepancies(engine)).filter(ours)).toEqual([]);
  });

  it('limits the window and refuses a bad one', async () => {
    const result = must(await reconcile(ctx.engine, { from: '2030-01-01T00:00:00Z', to: '2030-02-01T00:00:00Z' }));
    // Only the checks made over the whole store (stored balances, frozen and revoked credits, meter
    // totals) see the earlier tests' corruptions outside this empty window.
    expect(result.discrepancies.every((d) => ['balances_match_entries', 'frozen_credits_unused', 'meter_totals_match_usage'].includes(d.check))).toBe(true);
    const bad = await reconcile(ctx.engine, { from: 'not a time' });
    expect(bad.ok ? null : bad.error.code).toBe('validation_failed');
  });
});

describe.each(dialects)('reconciliation in slices of customers on %s', (dialect) => {
  it('finds corruptions of a customer in a middle slice, and reports each slice', async () => {
    const database = await freshDatabase(dialect);
    try {
      const engine = await createEngine(database.db);
      const customers = [];
      must(await createPromotion(engine, { code: 'SLICES', credits: '5' }));
      for (let i = 0; i < 5; i++) {
        const c = await financeCustomer(engine, '2025-05-01T00:00:00Z');
        const { invoice, grant } = must(await purchaseCredits(engine, c.customer.id, { credits: '100', amount: 1000 }));
        must(await recordPayment(engine, invoice.id, { amount: 1000 }));
        const note = must(await createCreditNote(engine, { customer: c.customer.id, amount: 500, reason: 'goodwill' }));
        const { redemption } = must(await redeemPromotion(engine, { code: 'SLICES', customer: c.customer.id }));
        customers.push({ ...c, grant, note, redemption, usageId: await c.use(30) });
      }
      // Two customers a slice, in id order: the third customer is alone in the middle of three slices.
      customers.sort((a, b) => (a.customer.id < b.customer.id ? -1 : 1));
      const sliced = { customersPerSlice: 2 };
      expect(must(await reconcile(engine, {}, sliced)).discrepancies).toEqual([]);

      const middle = customers[2]!;
      const run: Run = (sql, params) => engine.store.read.c.run(sql, params);
      const usage = await postedEvent(engine, middle.usageId);
      await run(`UPDATE usage_events SET entries = ? WHERE id = ?`, [unbalancedEntries(usage.entries), middle.usageId]);
      await run(`UPDATE accounts SET balance = balance + 7 WHERE customer_id = ? AND code = ?`, [middle.customer.id, `grant:${middle.grant.id}`]);
      const twice = `txn_twice_${middle.customer.id}`;
      await run(`INSERT INTO ledger_transactions (id, customer_id, kind, cause_type, cause_id, refs, effective_at, created_at) VALUES (?, ?, 'usage', 'usage_event', ?, '{}', ?, ?)`,
        [twice, middle.customer.id, middle.usageId, usage.timestampMs, usage.recordedAtMs]);
      await run(`INSERT INTO ledger_entries (txn_id, seq, customer_id, account, amount) VALUES (?, 0, ?, ?, -30000000), (?, 1, ?, ?, 30000000)`,
        [twice, middle.customer.id, `grant:${middle.grant.id}`, twice, middle.customer.id, `consumed:${middle.meter}`]);
      // And one corruption for each check that reads grants, notes or redemptions by slice.
      await run(`UPDATE grants SET invoice_line_id = NULL WHERE id = ?`, [middle.grant.id]);
      await run(`UPDATE credit_notes SET remaining = remaining + 1 WHERE id = ?`, [middle.note.id]);
      await run(`UPDATE promotion_redemptions SET credits = credits + 1 WHERE id = ?`, [middle.redemption.id]);

      const progress: ReconcileProgress[] = [];
      const result = must(await reconcile(engine, {}, { ...sliced, onProgress: (step) => progress.push(step) }));
      expect(result.discrepancies).toEqual(expect.arrayContaining([
        named('transactions_balance', [usage.txnId, middle.customer.id]),
        named('balances_match_entries', [middle.customer.id, `grant:${middle.grant.id}`]),
        named('usage_charged_once', [middle.usageId, usage.txnId, twice]),
        named('purchase_grants_linked', [middle.grant.id, middle.customer.id]),
        named('customer_balance', [middle.note.id, middle.customer.id]),
        named('promotion_grants_linked', [middle.redemption.grantId, middle.redemption.id]),
      ]));
      // Each found once, and only the middle customer's (a redemption's discrepancy names its grant).
      expect(result.discrepancies).toHaveLength(new Set(result.discrepancies.map((d) => JSON.stringify(d))).size);
      expect(result.discrepancies.every((d) => d.ids.includes(middle.customer.id) || d.ids.includes(middle.redemption.id))).toBe(true);
      expect(sortedDiscrepancies(must(await reconcile(engine))), 'read in slices of 2 customers and by default alike').toEqual(sortedDiscrepancies(result));

      // Each sliced check reports its three slices as they end, then itself; the other checks only themselves.
      const slicedChecks = ['ledger balanced and balances match their entries', 'usage charged exactly once', 'grants linked to invoices and periods',
        'overage invoiced', 'customer money balances', 'promotion and referral grants linked', 'invoice amounts match their lines, payments and returns',
        'grants match their accounts', 'holds match their accounts', 'meter totals match usage'];
      expect([...new Set(progress.filter((p) => p.slice).map((p) => p.check))]).toEqual(slicedChecks);
      for (const check of slicedChecks) {
        const steps = progress.filter((p) => p.check === check);
        expect(steps.map((p) => p.slice && [p.slice.slice, p.slice.customersDone, p.slice.customersTotal])).toEqual([[1, 2, 5], [2, 4, 5], [3, 5, 5], undefined]);
        expect(steps.map((p) => p.done)).toEqual([steps[0]!.done, steps[0]!.done, steps[0]!.done, steps[0]!.done + 1]);
      }
      expect(progress.filter((p) => !p.slice).map((p) => p.done)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14]);

      const ledger = await checkLedger(engine, sliced);
      expect(ledger.unbalanced).toEqual([{ txnId: usage.txnId, sumMicro: 1_000_000n, entryCount: usage.entries.length + 1 }]);
      expect(ledger.discrepancies.map((d) => [d.customerId, d.account])).toEqual(expect.arrayContaining([[middle.customer.id, `grant:${middle.grant.id}`]]));
    } finally {
      await database.drop();
    }
  });
});

/** Runs `tally reconcile` on a database URL; resolves with the exit code and the output. */
function tallyReconcile(url: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'reconcile'], { env: { ...process.env, TALLY_DATABASE_URL: url }, timeout: 120_000 },
      (error, stdout, stderr) => resolve({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout, stderr }));
  });
}

describe.each(dialects)('tally reconcile on %s', (dialect) => {
  it('exits 0 on a clean store and 1 after a corruption, printing the ids', async () => {
    const database = await freshDatabase(dialect);
    try {
      const engine = await createEngine(database.db);
      const c = await financeCustomer(engine, '2025-05-01T00:00:00Z');
      const { invoice, grant } = must(await purchaseCredits(engine, c.customer.id, { credits: '100', amount: 1000 }));
      must(await recordPayment(engine, invoice.id, { amount: 1000 }));
      await c.use(30);
      const clean = await tallyReconcile(database.url);
      expect(clean.code, clean.stdout + clean.stderr).toBe(0);
      expect(clean.stdout).toContain('reconciliation ok');
      await engine.store.read.c.run(`UPDATE accounts SET balance = balance - 1 WHERE customer_id = ? AND code = ?`, [c.customer.id, `grant:${grant.id}`]);
      const dirty = await tallyReconcile(database.url);
      expect(dirty.code, dirty.stdout + dirty.stderr).toBe(1);
      expect(dirty.stdout, dirty.stderr).toContain('FAIL balances_match_entries');
      expect(dirty.stdout).toContain(`[ids: ${c.customer.id}, grant:${grant.id}]`);
    } finally {
      await database.drop();
    }
  });
});
