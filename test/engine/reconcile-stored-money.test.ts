import { describe, expect, it } from 'vitest';
import { dialects, freshDatabase } from '../support/databases.ts';
import { must } from '../support/engine.ts';
import { financeCustomer } from '../support/finance.ts';
import { reconcileBothWays } from '../support/reconcile-sliced.ts';
import { createEngine } from '../../src/engine/create-engine.ts';
import type { Engine } from '../../src/engine/context.ts';
import { purchaseCredits } from '../../src/engine/purchases.ts';
import { recordPayment } from '../../src/engine/invoices.ts';
import { closeChargeback, createReturn } from '../../src/engine/refunds.ts';
import { captureHold, createHold, releaseHold } from '../../src/engine/holds.ts';
import { createReferral } from '../../src/engine/referrals.ts';
import { createGrant } from '../../src/engine/grants.ts';
import type { Discrepancy } from '../../src/core/reconciliation.ts';
import type { SqlValue } from '../../src/store/sql.ts';

/**
 * The stored facts that money and credits are read from beside the rows they sum (PRODUCT §10):
 * an invoice's total, paid, refunded and charged-back amounts and its status; a hold's credits,
 * what it holds and what it captured; the running meter totals; a referral's claw-backs. Each is
 * corrupted straight in SQL, as a bad write or a hand edit would, and reconciliation must name it.
 */

/** A paid purchase of `credits` for `amount`. */
async function paidPurchase(engine: Engine, customerId: string, credits: string, amount: number) {
  const bought = must(await purchaseCredits(engine, customerId, { credits, amount }));
  must(await recordPayment(engine, bought.invoice.id, { amount }));
  return bought;
}

/** A store of one customer of each kind, all of it clean. */
async function history(engine: Engine) {
  // Invoices: paid, partly paid, refunded, charged back (one lost, one won).
  const payer = await financeCustomer(engine, '2025-05-01T00:00:00Z');
  const returned = await paidPurchase(engine, payer.customer.id, '1000', 10000);
  const refund = must(await createReturn(engine, 'refund', { invoice: returned.invoice.id, amount: 2000, reason: 'requested', credit_policy: 'proportional' }));
  const lost = must(await createReturn(engine, 'chargeback', { invoice: returned.invoice.id, amount: 1000, reason: 'fraud', credit_policy: 'none' }));
  must(await closeChargeback(engine, lost.id, 'lost'));
  const won = must(await createReturn(engine, 'chargeback', { invoice: returned.invoice.id, amount: 500, reason: 'fraud', credit_policy: 'none' }));
  must(await closeChargeback(engine, won.id, 'won'));
  const paid = await paidPurchase(engine, payer.customer.id, '100', 1000);
  const lined = await paidPurchase(engine, payer.customer.id, '100', 1000);
  const partly = must(await purchaseCredits(engine, payer.customer.id, { credits: '100', amount: 1000 }));
  must(await recordPayment(engine, partly.invoice.id, { amount: 400 }));
  const refunded = await paidPurchase(engine, payer.customer.id, '100', 1000);
  must(await createReturn(engine, 'refund', { invoice: refunded.invoice.id, amount: 1000, reason: 'requested', credit_policy: 'none' }));

  // Holds: one active, one captured, one released, one more active.
  const holder = await financeCustomer(engine, '2025-05-01T00:00:00Z');
  await paidPurchase(engine, holder.customer.id, '500', 5000);
  const active = must(await createHold(engine, { customer: holder.customer.id, credits: '200', expires_in: 3600 }));
  const captured = must(await createHold(engine, { customer: holder.customer.id, credits: '100', expires_in: 3600 }));
  must(await captureHold(engine, captured.id, { id: `${holder.customer.id}-cap`, type: holder.meter, properties: { n: 60 } }));
  const released = must(await createHold(engine, { customer: holder.customer.id, credits: '50', expires_in: 3600 }));
  must(await releaseHold(engine, released.id));
  const closedEarly = must(await createHold(engine, { customer: holder.customer.id, credits: '20', expires_in: 3600 }));

  // Grants: two made by an operator (the promotional one partly spent), and a purchase not paid yet (pending).
  const granter = await financeCustomer(engine, '2025-05-01T00:00:00Z');
  const given = must(await createGrant(engine, { customer: granter.customer.id, credits: '100', category: 'promotional', source: 'promotion' }));
  const spent = must(await createGrant(engine, { customer: granter.customer.id, credits: '50', category: 'paid', source: 'purchase' }));
  await granter.use(30);
  const unpaid = must(await purchaseCredits(engine, granter.customer.id, { credits: '10', amount: 100 }));

  // Meter totals: two customers with usage.
  const user = await financeCustomer(engine, '2025-05-01T00:00:00Z');
  await paidPurchase(engine, user.customer.id, '100', 1000);
  await user.use(30);
  const other = await financeCustomer(engine, '2025-05-01T00:00:00Z');
  await paidPurchase(engine, other.customer.id, '100', 1000);
  await other.use(12);

  // A referral rewarded by the referred customer's first payment, then clawed back by its refund.
  const referrer = await financeCustomer(engine, '2025-05-01T00:00:00Z');
  const referred = await financeCustomer(engine, '2025-05-01T00:00:00Z');
  const referral = must(await createReferral(engine, { referrer: referrer.customer.id, referred: referred.customer.id, reward_credits: '40', referred_credits: '20' }));
  const first = await paidPurchase(engine, referred.customer.id, '100', 1000);
  must(await createReturn(engine, 'refund', { invoice: first.invoice.id, amount: 1000, reason: 'requested', credit_policy: 'full' }));

  return { payer, returned, refund, paid, lined, partly, refunded, granter, given, spent, unpaid, holder, active, captured, released, closedEarly, user, other, referral };
}

const named = (check: Discrepancy['check'], ids: string[], message: RegExp) => expect.objectContaining({ check, ids: expect.arrayContaining(ids), message: expect.stringMatching(message) });

describe.each(dialects)('reconciliation of stored money and credits on %s', (dialect) => {
  it('is clean after every kind of history, and names each corrupted invoice, grant, hold, meter total and referral claw-back', async () => {
    const database = await freshDatabase(dialect);
    try {
      const engine = await createEngine(database.db);
      const h = await history(engine);
      const clean = await reconcileBothWays(engine);
      expect(clean.discrepancies).toEqual([]);
      const clawBacks = await engine.store.read.c.query(`SELECT id, credits, txn_id FROM referral_claw_backs WHERE referral_id = ? ORDER BY id`, [h.referral.id]);
      // The reward (40 credits) and the referred customer's own (20), both unused, both taken back.
      expect(clawBacks.map((b) => BigInt(b.credits as bigint)).sort((a, b) => (a < b ? -1 : 1))).toEqual([20_000_000n, 40_000_000n]);

      const run = (sql: string, params: SqlValue[]) => engine.store.read.c.run(sql, params);
      // Invoices.
      await run(`UPDATE invoices SET amount_refunded = amount_refunded + 1 WHERE id = ?`, [h.returned.invoice.id]);
      await run(`DELETE FROM payments WHERE invoice_id = ?`, [h.paid.invoice.id]);
      await run(`INSERT INTO invoice_lines (id, invoice_id, customer_id, seq, type, description, quantity, unit_amount, amount, period_start, period_end, refs)
        VALUES (?, ?, ?, 9, 'credit_purchase', 'extra', '1', '5', 5, 0, 0, '{}')`, [`lin_extra_${h.lined.invoice.id}`, h.lined.invoice.id, h.payer.customer.id]);
      await run(`UPDATE invoices SET status = 'paid' WHERE id = ?`, [h.partly.invoice.id]);
      await run(`UPDATE refunds SET amount = amount + 1 WHERE invoice_id = ?`, [h.refunded.invoice.id]);
      await run(`UPDATE invoices SET amount_refunded = amount_refunded + 1 WHERE id = ?`, [h.refunded.invoice.id]);
      // Grants: more credits than were issued, closed with credits left, activated without being issued, restoring nothing.
      await run(`UPDATE grants SET credits = credits + 1000000 WHERE id = ?`, [h.given.id]);
      await run(`UPDATE grants SET status = 'expired', closed_at = 0 WHERE id = ?`, [h.spent.id]);
      await run(`UPDATE grants SET status = 'active' WHERE id = ?`, [h.unpaid.grant.id]);
      await run(`UPDATE grants SET metadata = ? WHERE id = ?`, [JSON.stringify({ restores: 'grt_gone' }), h.lined.grant.id]);
      // Holds.
      await run(`UPDATE holds SET held = held - 1000000 WHERE id = ?`, [h.active.id]);
      await run(`UPDATE holds SET captured_credits = captured_credits + 1000000 WHERE id = ?`, [h.captured.id]);
      await run(`UPDATE holds SET credits = credits + 1000000 WHERE id = ?`, [h.released.id]);
      await run(`UPDATE holds SET status = 'released', captured_credits = 0 WHERE id = ?`, [h.closedEarly.id]);
      // Meter totals.
      await run(`UPDATE meter_totals SET credits = credits + 1 WHERE customer_id = ?`, [h.user.customer.id]);
      await run(`DELETE FROM meter_totals WHERE customer_id = ?`, [h.other.customer.id]);
      // Referral claw-backs: one records more than its transaction took, the other lost its transaction.
      const [reward, own] = clawBacks as { id: string }[];
      await run(`UPDATE referral_claw_backs SET credits = credits + 1000000 WHERE id = ?`, [reward!.id]);
      await run(`UPDATE referral_claw_backs SET txn_id = NULL WHERE id = ?`, [own!.id]);

      const result = await reconcileBothWays(engine);
      const payer = h.payer.customer.id;
      expect(result.discrepancies).toEqual(expect.arrayContaining([
        named('invoice_amounts_match', [h.returned.invoice.id, payer], /shows 2001 refunded but its refunds add up to 2000/),
        named('invoice_amounts_match', [h.paid.invoice.id, payer], /shows 1000 paid but its payments add up to 0/),
        named('invoice_amounts_match', [h.lined.invoice.id, payer], /has a total of 1000 but its lines add up to 1005/),
        named('invoice_amounts_match', [h.partly.invoice.id, payer], /is paid but shows 400 paid of 1000 owed/),
        named('invoice_amounts_match', [h.refunded.invoice.id, payer], /gave back 1001 refunded and 0 charged back of 1000 paid/),
        named('grants_match_ledger', [h.given.id, h.granter.customer.id], /\(active\) has 101 credits but its issuing transaction put 100 in its account/),
        named('grants_match_ledger', [h.spent.id, h.granter.customer.id], /\(expired\) is closed but has 50 credits left/),
        named('grants_match_ledger', [h.unpaid.grant.id, h.granter.customer.id], /\(active\) has 10 credits but its issuing transaction put 0 in its account/),
        named('grants_match_ledger', [h.lined.grant.id, 'grt_gone'], /restores grant grt_gone, which does not exist/),
        named('holds_match_ledger', [h.active.id, h.holder.customer.id], /holds 199 credits but its account holds 200/),
        named('holds_match_ledger', [h.captured.id, h.holder.customer.id], /records 61 credits captured but usage took 60/),
        named('holds_match_ledger', [h.released.id, h.holder.customer.id], /was for 51 credits but its hold transaction put 50/),
        named('holds_match_ledger', [h.closedEarly.id, h.holder.customer.id], /is closed but its account still holds 20 credits/),
        named('meter_totals_match_usage', [h.user.customer.id], /add up to 30.000001 credits but its usage events were charged 30\b/),
        named('meter_totals_match_usage', [h.other.customer.id], /add up to 0 credits but its usage events were charged 12\b/),
        named('claw_backs_applied', [reward!.id, h.referral.id], /records \d+ credits taken back, but its transaction takes \d+ from the grant/),
        named('claw_backs_applied', [own!.id, h.referral.id], /has no revoke transaction for its \d+ credits/),
      ]));
      // Only these: each corruption is named by its own check, and nothing else is.
      // (The pending grant made active also stands for credits its open invoice has not been paid for.)
      expect(result.discrepancies.filter((d) => !['invoice_amounts_match', 'grants_match_ledger', 'holds_match_ledger', 'meter_totals_match_usage', 'claw_backs_applied'].includes(d.check)))
        .toEqual([named('purchase_grants_linked', [h.unpaid.grant.id], /is active but its invoice is open/)]);
      expect(result.discrepancies).toHaveLength(18);
      expect(result.checks.filter((c) => !c.ok).map((c) => c.name)).toEqual(
        ['purchase_grants_linked', 'claw_backs_applied', 'invoice_amounts_match', 'grants_match_ledger', 'holds_match_ledger', 'meter_totals_match_usage']);
    } finally {
      await database.drop();
    }
  });
});
