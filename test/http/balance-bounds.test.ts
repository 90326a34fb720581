import { describe, expect, it } from 'vitest';
import { dialects } from '../support/databases.ts';
import { unique, useServer } from '../support/server.ts';
import { advance, balance, domainEvents, expectLedgerConsistent, ingest, listAll, newClock, newCustomer, newGrant, perUnitMeter, use } from './fixtures.ts';

/**
 * The most one ledger account holds: 9,000,000,000,000 credits either side of zero
 * (`limits.accountBalanceMaxMicro`), on both databases. A customer's lifetime accounts
 * (`issued:<source>`, `consumed:<meter>`, `debt`…) grow one amount at a time, each amount within
 * 10^12 credits: a request that would take one past the bound is refused with 422
 * `balance_out_of_range` naming the account, and nothing of it is kept; a usage event that would is
 * refused alone, its batch taken. Before the bound, PostgreSQL failed with a 500 past 2^63 − 1
 * micro-credits and SQLite kept the sum as a floating-point balance, after which the
 * reconciliation failed with a 500.
 */
describe.each(dialects)('account balances at their bound on %s', (dialect) => {
  const ctx = useServer(dialect);
  const trillion = '1000000000000';

  it('takes nine grants of 10^12 credits and refuses the tenth, keeping nothing of it; the balance stays exact and reconciles', async () => {
    const { api } = ctx;
    const customer = await newCustomer(api, { clock: null });
    const answers: number[] = [];
    let refused: any = null;
    for (let i = 0; i < 12; i++) {
      const g = await api.post('/v1/grants', { customer: customer.id, credits: trillion, category: 'paid', source: 'purchase' });
      answers.push(g.status);
      if (g.status !== 201) refused ??= g.body;
    }
    expect(answers).toEqual([201, 201, 201, 201, 201, 201, 201, 201, 201, 422, 422, 422]);
    expect(refused.error).toMatchObject({
      code: 'balance_out_of_range',
      details: { customer: customer.id, account: 'issued:*', kind: 'issued', bound: '9000000000000', balance: '-9000000000000', change: '-1000000000000' },
    });
    expect(refused.error.message).toContain('from 9000000000000 to 10000000000000');
    expect(await balance(api, customer.id)).toMatchObject({ available: '9000000000000', paid: '9000000000000' });
    expect(await listAll(api, `/v1/grants?customer=${customer.id}`)).toHaveLength(9);
    expect(await domainEvents(api, customer.id, 'grant.created')).toHaveLength(9);

    // Every source counts together (what expires or is revoked never passes what was issued): an
    // adjustment is refused too, and usage goes on.
    const adjustment = await api.post('/v1/grants', { customer: customer.id, credits: '1', category: 'promotional', source: 'adjustment' });
    expect(adjustment.status).toBe(422);
    expect(adjustment.body.error.details).toMatchObject({ account: 'issued:*', balance: '-9000000000000', change: '-1' });
    const meter = await perUnitMeter(api);
    await use(api, customer.id, meter.type, 5);
    expect(await balance(api, customer.id)).toMatchObject({ available: '8999999999995' });
    const reconciliation = await api.get('/v1/reconciliation');
    expect(reconciliation.status, JSON.stringify(reconciliation.body)).toBe(200);
    expect(reconciliation.body.ok).toBe(true);
    await expectLedgerConsistent(api);
  });

  it('refuses the usage event that would take consumed:<meter> past the bound, alone: the rest of its batch is charged', { timeout: 120_000 }, async () => {
    const { api } = ctx;
    const clock = await newClock(api, '2026-01-01T00:00:00Z');
    const customer = await newCustomer(api, { clock, overage: false });
    // 10^6 credits a unit: an event of 10^6 units is 10^12 credits, the most one month's total holds.
    const big = await perUnitMeter(api, '1000000');
    const small = await perUnitMeter(api);
    await newGrant(api, customer.id, trillion);
    // Nine months of 10^12 credits: the first paid by the grant, eight owed.
    for (let month = 1; month <= 9; month++) {
      if (month > 1) await advance(api, clock, `2026-${String(month).padStart(2, '0')}-01T00:00:00Z`);
      await use(api, customer.id, big.type, 1_000_000);
    }
    expect(await balance(api, customer.id)).toMatchObject({ available: '0', debt: '8000000000000' });
    await advance(api, clock, '2026-10-01T00:00:00Z');
    const [bigId, smallId] = [unique('ev'), unique('ev')];
    const results = await ingest(api, [
      { id: bigId, customer: customer.id, type: big.type, properties: { n: 1_000_000 } },
      { id: smallId, customer: customer.id, type: small.type, properties: { n: 5 } },
    ]);
    expect(results[0]).toMatchObject({ id: bigId, status: 'rejected', error: { code: 'balance_out_of_range', field: 'properties' } });
    expect(results[0].error.message).toContain('"consumed:');
    expect(results[1]).toMatchObject({ id: smallId, status: 'accepted', credits: '5', debt: '5' });
    expect(await balance(api, customer.id)).toMatchObject({ debt: '8000000000005' });
    // Nothing of the refused event is kept: sent again, it is refused again, not a duplicate.
    const [again] = await ingest(api, [{ id: bigId, customer: customer.id, type: big.type, properties: { n: 1_000_000 } }]);
    expect(again).toMatchObject({ status: 'rejected', error: { code: 'balance_out_of_range' } });
    const events = await listAll(api, `/v1/usage_events?customer=${customer.id}`);
    expect(events.map((e) => e.id)).not.toContain(bigId);
    expect(events).toHaveLength(10);
    const reconciliation = await api.get('/v1/reconciliation');
    expect(reconciliation.status, JSON.stringify(reconciliation.body)).toBe(200);
    expect(reconciliation.body.ok).toBe(true);
    await expectLedgerConsistent(api);
  });

  it('refuses the usage event that would take debt past the bound within one month, alone, and takes it again once the debt is paid down', async () => {
    const { api } = ctx;
    const customer = await newCustomer(api, { clock: null, overage: false });
    // Ten meters of 10^6 credits a unit: each month's total of each holds 10^12 credits, and their
    // debts add up in one account.
    const meters = await Promise.all(Array.from({ length: 10 }, () => perUnitMeter(api, '1000000')));
    const events = meters.map((m) => ({ id: unique('ev'), customer: customer.id, type: m.type, properties: { n: 1_000_000 } }));
    const results = await ingest(api, events);
    expect(results.map((r) => r.status)).toEqual([...Array(9).fill('accepted'), 'rejected']);
    expect(results[8]).toMatchObject({ credits: trillion, debt: trillion });
    expect(results[9].error).toMatchObject({ code: 'balance_out_of_range', field: 'properties' });
    expect(results[9].error.message).toContain('"debt" from -9000000000000 to -10000000000000');
    expect(await balance(api, customer.id)).toMatchObject({ debt: '9000000000000', available: '0' });
    // A grant pays the debt down first (and is issued within the customer's bound): the event is taken.
    await newGrant(api, customer.id, trillion);
    expect(await balance(api, customer.id)).toMatchObject({ debt: '8000000000000' });
    const [again] = await ingest(api, [events[9]]);
    expect(again).toMatchObject({ status: 'accepted', credits: trillion, debt: trillion });
    expect(await balance(api, customer.id)).toMatchObject({ debt: '9000000000000' });
    await expectLedgerConsistent(api);
  });

  it('sums the usage report exactly past 2^63 - 1 micro-credits over many customers', async () => {
    const { api } = ctx;
    const clock = await newClock(api, '2031-01-01T00:00:00Z');
    const meter = await perUnitMeter(api, '1000000');
    // Ten customers' 10^12 credits each in one month: 10^19 micro-credits in all, each account within the bound.
    for (let i = 0; i < 10; i++) {
      const customer = await newCustomer(api, { clock, overage: true });
      await use(api, customer.id, meter.type, 1_000_000);
    }
    const report = await api.get('/v1/reports/usage?from=2031-01-01T00:00:00Z&to=2031-02-01T00:00:00Z');
    expect(report.status, JSON.stringify(report.body)).toBe(200);
    expect(report.body.rows.filter((r: any) => r.meter === meter.code).map((r: any) => r.credits)).toEqual(['10000000000000']);
  });

  it('refuses a revenue report whose sums pass 2^63 - 1 minor units with 422 amount_beyond_json, never a 5xx', async () => {
    const { api, database } = ctx;
    const customer = await newCustomer(api, { clock: null });
    // 10,000 invoices of 10^15 minor units, the most one line carries, in a window of their own:
    // 10^19 in all, past what SQLite's SUM adds in 64 bits. Written as rows: issuing them one by one
    // through the API would take minutes.
    const fromMs = Date.parse('2035-01-01T00:00:00Z');
    await database.db.run(
      `INSERT INTO invoices (id, customer_id, kind, currency, status, total, amount_paid, amount_refunded, amount_charged_back, metadata, created_at)
        WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 10000)
        SELECT 'inv_bound_' || i, ?, 'purchase', 'USD', 'open', 1000000000000000, 0, 0, 0, '{}', CAST(? AS BIGINT) + i FROM n`, [customer.id, fromMs]);
    const report = await api.get('/v1/reports/revenue?from=2035-01-01T00:00:00Z&to=2035-01-02T00:00:00Z');
    expect(report.status, JSON.stringify(report.body)).toBe(422);
    expect(report.body.error.code).toBe('amount_beyond_json');
    expect(report.body.error.message).toContain('10000000000000000000');
  });
});
