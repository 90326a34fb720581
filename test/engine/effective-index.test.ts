import { describe, expect, it } from 'vitest';
import { dialects, freshDatabase } from '../support/databases.ts';
import { must } from '../support/engine.ts';
import { financeCustomer, uniqueCode } from '../support/finance.ts';
import { createEngine } from '../../src/engine/create-engine.ts';
import type { Engine } from '../../src/engine/context.ts';
import { createGrant } from '../../src/engine/grants.ts';
import { createPlan } from '../../src/engine/plans.ts';
import { createSubscription } from '../../src/engine/subscriptions.ts';
import { reconcile } from '../../src/engine/reconcile.ts';
import { runReport } from '../../src/engine/reports.ts';
import { formatCredits } from '../../src/core/decimal.ts';
import { idTimeOf, usageIdTime } from '../../src/core/id-time.ts';
import { moveToLedgerTables } from '../support/usage-charge-forms.ts';

const at = (iso: string): number => Date.parse(iso);

/**
 * Migration 56: a usage charge's transaction id carries the minute of its event's timestamp, and the charge is
 * left out of the time index (`effective_indexed = 0`); the readers of usage by time window (the
 * overage of a window, closed periods' overage in reconciliation, the usage report, grants used
 * while frozen or after revocation) find such charges by id. Charges written before the migration
 * have ids of the time they were recorded and stay in the time index. Since migration 58 a charge
 * is posted on its event's row, found by the event's position (its id) in a window. So a store
 * holds all three; every reader must give the same answer whichever of the three a charge is.
 */
describe.each(dialects)('usage charges found by id, on %s', (dialect) => {
  async function scenario(engine: Engine) {
    // A pay-as-you-go subscriber: all usage is overage. March is closed by the advance to April.
    const s = await financeCustomer(engine, '2025-03-01T00:00:00Z');
    const plan = must(await createPlan(engine, { code: uniqueCode('payg'), name: 'PAYG', currency: 'USD', interval: 'month', amount: 0, included_credits: '0', overage: { unit_amount_per_credit: '2' } }));
    must(await createSubscription(engine, { customer: s.customer.id, plan: plan.code }));
    const first = await s.use(10);
    await s.advance('2025-03-10T12:34:56Z');
    const second = await s.use(5);
    // Five days late: stamped before the charge recorded just before it.
    const late = await s.use(3, '2025-03-05T07:15:00Z');
    await s.advance('2025-04-01T00:00:01Z');
    const april = await s.use(4);

    // A customer whose grant is frozen and another's revoked after they were used (set directly:
    // the checks look for exactly this).
    const g = await financeCustomer(engine, '2025-03-01T00:00:00Z');
    const frozen = must(await createGrant(engine, { customer: g.customer.id, credits: '100', category: 'paid', source: 'adjustment' }));
    await g.use(7);
    await g.advance('2025-03-02T00:00:00Z');
    await g.use(8);
    await g.advance('2025-03-03T00:00:40Z');
    await g.use(9);
    const r = await financeCustomer(engine, '2025-03-01T00:00:00Z');
    const revoked = must(await createGrant(engine, { customer: r.customer.id, credits: '100', category: 'paid', source: 'adjustment' }));
    await r.use(1);
    await r.advance('2025-03-02T00:00:00Z');
    await r.use(2);
    await r.advance('2025-03-02T00:00:30Z');
    await r.use(3);
    const c0 = engine.store.read.c;
    // Both end inside a minute that holds a charge on the other side of the end (00:00:40 after
    // the unfreeze at 00:00:20, 00:00:00 before the revocation at 00:00:10): the minute is read by
    // id and cut by time.
    await c0.run(`UPDATE grants SET frozen_from = ?, unfrozen_at = ? WHERE id = ?`, [at('2025-03-01T12:00:00Z'), at('2025-03-03T00:00:20Z'), frozen.id]);
    await c0.run(`UPDATE grants SET status = 'voided', close_reason = 'invoice voided', closed_at = ? WHERE id = ?`, [at('2025-03-02T00:00:10Z'), revoked.id]);
    const charge = async (eventId: string) => (await engine.store.read.ledger.transactionsForCause(eventId))[0]!;
    return { s, g, r, charges: { first: await charge(first), second: await charge(second), late: await charge(late), april: await charge(april) } };
  }

  async function answers(engine: Engine, ids: { s: string; g: string; r: string }) {
    const read = engine.store.read;
    const overage = async (from: string, to: string) => formatCredits(await read.billing.overageConsumed(ids.s, at(from), at(to)));
    const usage = async (customer?: string) => must(await runReport(engine, 'usage', { from: '2025-03-01T00:00:00Z', to: '2025-03-06T00:00:00Z', ...(customer ? { customer } : {}) }))
      .rows.map((row) => [row.meter, formatCredits(row.creditsMicro), String(row.transactions)]);
    return {
      overage: [
        await overage('2025-03-05T07:00:00Z', '2025-03-10T12:35:00Z'),
        await overage('2025-03-05T07:20:00Z', '2025-03-10T12:34:00Z'),
        await overage('2025-03-01T00:00:00Z', '2025-03-05T07:15:00Z'),
        await overage('2025-03-05T07:15:00Z', '2025-03-05T07:15:00.001Z'),
        await overage('2025-01-01T00:00:00Z', '2026-01-01T00:00:00Z'),
        // Inside one minute: its charges are read by id, then cut to the window by their time.
        await overage('2025-03-10T12:34:56Z', '2025-03-10T12:34:57Z'),
        await overage('2025-03-10T12:34:57Z', '2025-03-10T12:35:00Z'),
        await overage('2025-03-10T12:34:00Z', '2025-03-10T12:34:56Z'),
      ],
      closed: (await read.reconciliation.closedPeriods({ fromMs: 0, toMs: at('2026-01-01T00:00:00Z') }))
        .filter((p) => p.customerId === ids.s).map((p) => [p.periodIndex, formatCredits(p.consumedMicro)]),
      usage: [await usage(ids.s), await usage()],
      frozen: (await read.grants.usedWhileFrozen()).map((u) => [u.customerId, new Date(u.effectiveAtMs).toISOString()]),
      revoked: (await read.grants.usedAfterRevocation()).map((u) => [u.customerId, new Date(u.effectiveAtMs).toISOString()]),
      discrepancies: must(await reconcile(engine)).discrepancies.map((d) => d.check),
    };
  }

  it('gives a usage charge an id of its event\'s minute, leaves it out of the time index, and reads the same answers with it inside or out', async () => {
    const database = await freshDatabase(dialect);
    try {
      const engine = await createEngine(database.db);
      const { s, g, r, charges } = await scenario(engine);
      const ids = { s: s.customer.id, g: g.customer.id, r: r.customer.id };
      const c0 = engine.store.read.c;

      // The layout: every usage charge is posted on its event's row, its id (the row's position)
      // with its effective time; no usage charge is in the ledger's tables, every other
      // transaction is, in the time index.
      const txns = await c0.query<{ id: string; kind: string; effective_at: bigint | number; effective_indexed: bigint | number }>(
        `SELECT id, kind, effective_at, effective_indexed FROM ledger_transactions WHERE customer_id IN (?, ?, ?)`, [ids.s, ids.g, ids.r]);
      expect(txns.length).toBeGreaterThan(0);
      expect(txns.filter((t) => t.kind === 'usage')).toEqual([]);
      expect(txns.map((t) => Number(t.effective_indexed))).toEqual(txns.map(() => 1));
      const postings = await c0.query<{ txn_id: string; position: string; timestamp: bigint | number }>(
        `SELECT txn_id, position, timestamp FROM usage_events WHERE customer_id IN (?, ?, ?) AND entries IS NOT NULL`, [ids.s, ids.g, ids.r]);
      expect(postings).toHaveLength(10);
      for (const p of postings) expect([p.position, idTimeOf(p.txn_id)]).toEqual([p.txn_id, usageIdTime(Number(p.timestamp))]);
      expect(new Date(idTimeOf(charges.late.id)!).toISOString()).toBe('2025-03-05T07:15:00.000Z');
      expect(charges.late.id < charges.second.id && charges.first.id < charges.late.id).toBe(true);
      const indexSql = dialect === 'sqlite'
        ? `SELECT sql AS definition FROM sqlite_master WHERE name = 'ledger_transactions_effective'`
        : `SELECT indexdef AS definition FROM pg_indexes WHERE indexname = 'ledger_transactions_effective'`;
      expect(String((await c0.query(indexSql))[0]!.definition)).toMatch(/effective_indexed = 1/);

      // What the readers answer, worked out by hand: March's overage is 10 + 5 + 3 credits and
      // April's 4 so far; the window from 07:00 on the 5th to 12:35 on the 10th holds the late 3
      // and the 5, the window from 07:20 to 12:34 neither.
      const before = await answers(engine, ids);
      expect(before).toEqual({
        overage: ['8', '0', '10', '3', '22', '5', '0', '0'],
        closed: [[0, '18']],
        usage: [[[s.meter, '13', '2']], expect.arrayContaining([[s.meter, '13', '2'], [g.meter, '24', '3'], [r.meter, '6', '3']])],
        frozen: [[ids.g, '2025-03-02T00:00:00.000Z']],
        revoked: [[ids.r, '2025-03-02T00:00:30.000Z']],
        discrepancies: expect.arrayContaining(['frozen_credits_unused']),
      });
      expect(before.usage[1]).toHaveLength(3);

      // Some charges moved into the ledger's tables, as stores written before migration 58 hold
      // them: found by id there (migrations 56 and 57), or in the time index (before 56, their
      // ids then only names). Every answer is the same.
      await moveToLedgerTables(c0, charges.first.id, { accountIndexed: 0, effectiveIndexed: 1 });
      await moveToLedgerTables(c0, charges.late.id, { accountIndexed: 0, effectiveIndexed: 0 });
      expect(await answers(engine, ids)).toEqual(before);
      for (const p of postings) {
        if (p.txn_id === charges.first.id || p.txn_id === charges.late.id) continue;
        await moveToLedgerTables(c0, p.txn_id, { accountIndexed: 1, effectiveIndexed: postings.indexOf(p) % 2 === 0 ? 1 : 0 });
      }
      expect(await answers(engine, ids)).toEqual(before);
      await c0.run(`UPDATE ledger_transactions SET effective_indexed = 1 WHERE kind = 'usage'`);
      expect(await answers(engine, ids)).toEqual(before);
    } finally {
      await database.drop();
    }
  });
});
