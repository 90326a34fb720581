import { describe, expect, it } from 'vitest';
import { dialects } from '../support/databases.ts';
import { unique, useServer, type Api } from '../support/server.ts';
import { advance, balance, expectLedgerConsistent, ingest, listAll, newClock, newCustomer, newPlan, perUnitMeter, transactions, use } from './fixtures.ts';

/**
 * An immediate plan change grants the new plan's prorated allowance from the change's instant.
 * Usage stamped at or after that instant (up to five minutes ahead of the customer's clock) and
 * charged to overage before the change ran is paid by that allowance, as a renewal's allowance
 * pays the overage of its new period charged before it ran: the next invoice bills only the rest.
 */
describe.each(dialects)('overage settled by an immediate plan change, on %s', (dialect) => {
  const ctx = useServer(dialect);

  const newOveragePlan = (api: Api, amount: number, included: string, overageUnit: string) =>
    newPlan(api, { amount, included_credits: included, overage: { unit_amount_per_credit: overageUnit } });

  /**
   * A customer on plan A (100 credits a month, overage at 2 cents a credit) from 2026-04-01, its
   * allowance used up on April 10; plan B grants 300 a month, overage at 3 cents a credit. At
   * 2026-04-16T00:00Z half the period is left: the change to B grants 150 less the 50 of A's
   * share already spent, 100 credits, usable from 00:00.
   */
  async function setup(api: Api) {
    const clock = await newClock(api, '2026-04-01T00:00:00Z');
    const customer = await newCustomer(api, { clock, net_days: 365 });
    const meter = await perUnitMeter(api);
    const [a, b] = [await newOveragePlan(api, 1000, '100', '2'), await newOveragePlan(api, 3000, '300', '3')];
    const created = await api.post('/v1/subscriptions', { customer: customer.id, plan: a.code });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    await advance(api, clock, '2026-04-10T00:00:00Z');
    await use(api, customer.id, meter.type, 100);
    await advance(api, clock, '2026-04-16T00:00:00Z');
    const useAt = async (n: number, timestamp: string) => {
      const [r] = await ingest(api, [{ id: unique('ev'), customer: customer.id, type: meter.type, timestamp, properties: { n } }]);
      expect(r.status, JSON.stringify(r)).toBe('accepted');
      return r;
    };
    const change = async () => {
      const changed = await api.post(`/v1/subscriptions/${created.body.id}/change`, { plan: b.code, timing: 'immediate' });
      expect(changed.status, JSON.stringify(changed.body)).toBe(200);
    };
    return { clock, customer, sub: created.body, a, b, useAt, change };
  }

  const allowanceLeft = async (api: Api, customer: string) => (await listAll(api, `/v1/grants?customer=${customer}`))
    .filter((g: any) => g.source === 'plan_allowance' && g.status === 'active').map((g: any) => [g.effective_at, g.remaining]);

  const overageLines = async (api: Api, customer: string) => (await listAll(api, `/v1/invoices?customer=${customer}`))
    .flatMap((i: any) => i.lines.filter((l: any) => l.type === 'overage').map((l: any) => [l.period_start, l.quantity, l.amount]));

  async function clean(api: Api): Promise<void> {
    const reconciliation = await api.get('/v1/reconciliation');
    expect(reconciliation.body.discrepancies).toEqual([]);
    await expectLedgerConsistent(api);
  }

  it('40 credits stamped 00:02 and charged at 00:00 before the upgrade are paid by its allowance of 100; 10 stamped 23:59 before it are billed', async () => {
    const { api } = ctx;
    const { clock, customer, useAt, change } = await setup(api);
    const before = await useAt(10, '2026-04-15T23:59:00Z');
    const ahead = await useAt(40, '2026-04-16T00:02:00Z');
    expect([before.overage, ahead.overage]).toEqual(['10', '40']);
    expect(await balance(api, customer.id)).toMatchObject({ available: '0', overage: '50' });
    await change();
    // The new allowance paid the 40 stamped after the change's instant: 60 of it left. The 10
    // stamped before it were A's usage, not B's allowance's.
    expect(await allowanceLeft(api, customer.id)).toEqual([['2026-04-01T00:00:00Z', '0'], ['2026-04-16T00:00:00Z', '60']]);
    expect(await balance(api, customer.id)).toMatchObject({ available: '60', overage: '10' });
    const settled = (await transactions(api, customer.id)).filter((t: any) => t.kind === 'overage_settlement');
    expect(settled.map((t: any) => [t.effective_at, t.cause.type, t.refs.usage_at])).toEqual([['2026-04-16T00:02:00Z', 'grant', '2026-04-16T00:02:00.000Z']]);
    await clean(api);
    // May's invoice bills A's 10 at 2 cents and none of the 40 (before: 40 at 3 cents, 120 more).
    await advance(api, clock, '2026-05-01T00:00:00Z');
    expect(await overageLines(api, customer.id)).toEqual([['2026-04-01T00:00:00Z', '10', 20]]);
    expect(await balance(api, customer.id)).toMatchObject({ overage: '0' });
    await clean(api);
    // Its settlement taken for another kind of transaction, 40 credits of B's overage are billed
    // by no line: reconciliation says so (the store is shared: put back after).
    const db = ctx.engine.store.db;
    const [txn] = await db.query<{ id: string }>(`SELECT id FROM ledger_transactions WHERE customer_id = ? AND kind = 'overage_settlement'`, [customer.id]);
    await db.run(`UPDATE ledger_transactions SET kind = 'debt_paydown' WHERE id = ?`, [txn!.id]);
    const found = (await api.get('/v1/reconciliation')).body.discrepancies.filter((d: any) => d.check === 'overage_invoiced');
    await db.run(`UPDATE ledger_transactions SET kind = 'overage_settlement' WHERE id = ?`, [txn!.id]);
    expect(found.map((d: any) => d.message)).toEqual([expect.stringMatching(/^Period 0 of subscription \S+ consumed 50 credits of overage .*but its overage lines bill 10\./)]);
    await clean(api);
  });

  it('130 credits stamped 00:02 against the allowance of 100: 100 settled, 30 billed at 3 cents', async () => {
    const { api } = ctx;
    const { clock, customer, useAt, change } = await setup(api);
    await useAt(130, '2026-04-16T00:02:00Z');
    await change();
    expect(await allowanceLeft(api, customer.id)).toEqual([['2026-04-01T00:00:00Z', '0'], ['2026-04-16T00:00:00Z', '0']]);
    expect(await balance(api, customer.id)).toMatchObject({ available: '0', overage: '30' });
    await advance(api, clock, '2026-05-01T00:00:00Z');
    expect(await overageLines(api, customer.id)).toEqual([['2026-04-16T00:00:00Z', '30', 90]]);
    await clean(api);
  });
});

/**
 * The new allowance paid for by an unpaid proration invoice is frozen once its grace runs out (a
 * minute here, the invoice due at once): it pays the overage of usage stamped before then, and
 * none of what was stamped after.
 */
describe.each(dialects)('overage settled by an immediate plan change whose allowance freezes, on %s', (dialect) => {
  const ctx = useServer(dialect, { settings: { unpaidGraceMs: 60_000 } });

  it('of 20 credits stamped 00:00:30 and 40 stamped 00:02, the allowance frozen from 00:01 pays the 20', async () => {
    const { api } = ctx;
    const clock = await newClock(api, '2026-04-01T00:00:00Z');
    const customer = await newCustomer(api, { clock });
    const meter = await perUnitMeter(api);
    const plans = [];
    for (const [amount, included, unit] of [[1000, '100', '2'], [3000, '300', '3']] as const) {
      const created = await api.post('/v1/plans', {
        code: unique('plan'), name: 'Plan', currency: 'USD', interval: 'month', amount, included_credits: included, overage: { unit_amount_per_credit: unit },
      });
      expect(created.status, JSON.stringify(created.body)).toBe(201);
      plans.push(created.body);
    }
    const sub = await api.post('/v1/subscriptions', { customer: customer.id, plan: plans[0].code });
    expect(sub.status, JSON.stringify(sub.body)).toBe(201);
    const [first] = await listAll(api, `/v1/invoices?customer=${customer.id}`);
    expect((await api.post(`/v1/invoices/${first.id}/payments`, { amount: 1000 })).status).toBe(201);
    await advance(api, clock, '2026-04-10T00:00:00Z');
    await use(api, customer.id, meter.type, 100);
    await advance(api, clock, '2026-04-16T00:00:00Z');
    const results = await ingest(api, [
      { id: unique('ev'), customer: customer.id, type: meter.type, timestamp: '2026-04-16T00:00:30Z', properties: { n: 20 } },
      { id: unique('ev'), customer: customer.id, type: meter.type, timestamp: '2026-04-16T00:02:00Z', properties: { n: 40 } },
    ]);
    expect(results.map((r: any) => r.overage)).toEqual(['20', '40']);
    const changed = await api.post(`/v1/subscriptions/${sub.body.id}/change`, { plan: plans[1].code, timing: 'immediate' });
    expect(changed.status, JSON.stringify(changed.body)).toBe(200);
    const grant = (await listAll(api, `/v1/grants?customer=${customer.id}`)).find((g: any) => g.effective_at === '2026-04-16T00:00:00Z');
    expect(grant).toMatchObject({ remaining: '80', frozen_from: '2026-04-16T00:01:00Z' });
    expect(await balance(api, customer.id)).toMatchObject({ overage: '40' });
    const settled = (await transactions(api, customer.id)).filter((t: any) => t.kind === 'overage_settlement');
    expect(settled.map((t: any) => t.effective_at)).toEqual(['2026-04-16T00:00:30Z']);
    expect((await api.get('/v1/reconciliation')).body.discrepancies).toEqual([]);
    await expectLedgerConsistent(api);
  });
});
