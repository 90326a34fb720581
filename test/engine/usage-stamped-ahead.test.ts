import { describe, expect, it } from 'vitest';
import { must, useEngine } from '../support/engine.ts';
import type { Engine } from '../../src/engine/context.ts';
import { createMeter } from '../../src/engine/meters.ts';
import { createPlan } from '../../src/engine/plans.ts';
import { createCustomer } from '../../src/engine/customers.ts';
import { createSubscription } from '../../src/engine/subscriptions.ts';
import { voidInvoice } from '../../src/engine/invoices.ts';
import { runDue } from '../../src/engine/due-work.ts';
import { dunningRetry, invoicePastDue } from '../../src/engine/dunning.ts';
import { ingestEvents } from '../../src/engine/ingest-events.ts';
import { checkLedger, reconcile } from '../../src/engine/reconcile.ts';
import { dialects } from '../support/databases.ts';

const dayMs = 86_400_000;

/**
 * A client may stamp its events up to five minutes ahead of its customer's clock (PRODUCT §5), and
 * they are paid when they arrive: credits can have paid for a time still to come. Whatever takes
 * those credits away now (an invoice voided, its last retry failed, its credits frozen) takes
 * hold after that usage, so the ledger's story by time stays whole and reconciliation clean.
 */
describe.each(dialects)('usage stamped ahead of the clock, then its credits taken away, on %s', (dialect) => {
  const ctx = useEngine(dialect);
  let n = 0;

  /** A customer subscribed to a plan of 10 credits a month, its first invoice unpaid; the allowance's id. */
  async function subscribed(engine: Engine, startAtMs: number): Promise<{ customer: string; subscription: string; invoice: string; allowance: string }> {
    n += 1;
    const plan = must(await createPlan(engine, { code: `ahead-plan-${n}`, name: 'Ahead', currency: 'USD', interval: 'month', amount: 1000, included_credits: '10' })).id;
    const customer = must(await createCustomer(engine, { currency: 'USD' })).id;
    const subscription = must(await createSubscription(engine, { customer, plan, start_at: new Date(startAtMs).toISOString() })).id;
    const [invoice] = await engine.store.db.query<{ id: string }>(`SELECT id FROM invoices WHERE subscription_id = ?`, [subscription]);
    const [allowance] = await engine.store.db.query<{ id: string }>(`SELECT id FROM grants WHERE subscription_id = ?`, [subscription]);
    return { customer, subscription, invoice: invoice!.id, allowance: allowance!.id };
  }

  /** One event of `units` credits for the customer, stamped at `atMs`; what paid it, by grant. */
  async function use(engine: Engine, customer: string, units: number, atMs: number): Promise<Record<string, string>> {
    n += 1;
    const [result] = await ingestEvents(engine, [{ id: `ahead-${dialect}-${n}`, customer, type: 'ahead', timestamp: new Date(atMs).toISOString(), properties: { n: units } }]);
    expect(result!.status).toBe('accepted');
    return Object.fromEntries((result!.paid_by ?? []).map((p) => [p.grant, p.credits]));
  }

  async function grantRow(engine: Engine, id: string): Promise<{ status: string; closed_at: number | null; frozen_from: number | null }> {
    const [row] = await engine.store.db.query<{ status: string; closed_at: unknown; frozen_from: unknown }>(`SELECT status, closed_at, frozen_from FROM grants WHERE id = ?`, [id]);
    const ms = (v: unknown) => (v === null ? null : Number(v));
    return { status: row!.status, closed_at: ms(row!.closed_at), frozen_from: ms(row!.frozen_from) };
  }

  async function revocations(engine: Engine, customer: string): Promise<number[]> {
    const rows = await engine.store.db.query<{ effective_at: unknown }>(`SELECT effective_at FROM ledger_transactions WHERE customer_id = ? AND kind = 'revoke'`, [customer]);
    return rows.map((r) => Number(r.effective_at));
  }

  async function clean(engine: Engine): Promise<void> {
    expect(must(await reconcile(engine)).discrepancies).toEqual([]);
    expect(await checkLedger(engine)).toEqual({ unbalanced: [], discrepancies: [] });
  }

  it('an invoice voided: its allowance is revoked after the usage it paid four minutes ahead, and pays nothing stamped before that', async () => {
    const engine = ctx.engine;
    must(await createMeter(engine, { code: 'ahead', event_type: 'ahead', aggregation: 'sum', value_property: 'n', rate: { model: 'per_unit', credits_per_unit: '1' } }));
    const { customer, invoice, allowance } = await subscribed(engine, Date.now());
    const aheadMs = Date.now() + 4 * 60_000;
    expect(await use(engine, customer, 4, aheadMs)).toEqual({ [allowance]: '4' });
    expect(must(await voidInvoice(engine, invoice)).status).toBe('void');
    const grant = await grantRow(engine, allowance);
    expect(grant.status).toBe('voided');
    expect(grant.closed_at).toBe(aheadMs + 1);
    expect(await revocations(engine, customer)).toEqual([aheadMs + 1]);
    // Voided, it pays nothing more, even for a time before its revocation's.
    expect(await use(engine, customer, 1, Date.now())).toEqual({});
    await clean(engine);
  });

  it("an invoice's last retry failed: uncollectible, its allowance revoked after the usage it paid ahead", async () => {
    // One retry, at once: the first retry is the last.
    const engine = { ...ctx.engine, settings: { ...ctx.engine.settings, dunningRetryDays: [0] } };
    const { customer, invoice, allowance } = await subscribed(engine, Date.now() - 60_000);
    await runDue(engine, null, Date.now(), { kinds: [invoicePastDue] });
    const aheadMs = Date.now() + 3 * 60_000;
    expect(await use(engine, customer, 2, aheadMs)).toEqual({ [allowance]: '2' });
    await runDue(engine, null, Date.now(), { kinds: [dunningRetry] });
    const [after] = await engine.store.db.query<{ status: string }>(`SELECT status FROM invoices WHERE id = ?`, [invoice]);
    expect(after!.status).toBe('uncollectible');
    expect((await grantRow(engine, allowance)).closed_at).toBe(aheadMs + 1);
    expect(await revocations(engine, customer)).toEqual([aheadMs + 1]);
    await clean(engine);
  });

  it('credits frozen when their invoice falls past due late: from after the usage they paid, now and ahead, not from the end of the grace period', async () => {
    const engine = ctx.engine;
    // Its first invoice was due 8 days ago: the 7-day grace is over.
    const { customer, allowance } = await subscribed(engine, Date.now() - 8 * dayMs);
    // An allowance whose freeze was not set when it was granted (the case the past-due marking
    // freezes, as for credits released before a payment failed): usable until then.
    await engine.store.db.run(`UPDATE grants SET frozen_from = NULL WHERE id = ?`, [allowance]);
    const nowMs = Date.now();
    expect(await use(engine, customer, 2, nowMs)).toEqual({ [allowance]: '2' });
    const aheadMs = nowMs + 2 * 60_000;
    expect(await use(engine, customer, 3, aheadMs)).toEqual({ [allowance]: '3' });
    await runDue(engine, null, Date.now(), { kinds: [invoicePastDue] });
    const grant = await grantRow(engine, allowance);
    expect(grant.status).toBe('active');
    expect(grant.frozen_from).toBe(aheadMs + 1);
    // Frozen from then: usage stamped after it goes elsewhere.
    expect(await use(engine, customer, 1, aheadMs + 60_000)).toEqual({});
    await clean(engine);
  });
});
