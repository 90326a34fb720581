import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dialects, freshDatabase, type FreshDatabase } from '../support/databases.ts';
import { must } from '../support/engine.ts';
import { financeCustomer, invoicesOf, uniqueCode } from '../support/finance.ts';
import { moveEventChargeToLedgerTables } from '../support/usage-charge-forms.ts';
import { ManualClock, type Clock } from '../../src/engine/clock.ts';
import { createEngine } from '../../src/engine/create-engine.ts';
import type { Engine } from '../../src/engine/context.ts';
import { createPlan } from '../../src/engine/plans.ts';
import { cancelSubscription, createSubscription } from '../../src/engine/subscriptions.ts';
import { reconcile } from '../../src/engine/reconcile.ts';
import { formatCredits } from '../../src/core/decimal.ts';
import { idTimeOf } from '../../src/core/id-time.ts';
import { endOfTimeMs } from '../../src/core/time.ts';
import type { SqlValue } from '../../src/store/sql.ts';

/**
 * Late usage in a closed, invoiced period (PRODUCT §5, §6): its overage is billed on the next
 * renewal's invoice, on a line that references the period; until then reconciliation counts it as
 * not yet due, not as a discrepancy, and every overage billed wrong is still named.
 */

const iso = (ms: number): string => new Date(ms).toISOString();

/** The real clock, but a millisecond on at each read at least: no two stamps share one by chance (the last test makes them share one on purpose). */
function tickingClock(): Clock {
  let last = 0;
  return { now: () => (last = Math.max(Date.now(), last + 1)) };
}

/** `useEngine` on the ticking clock: a fresh engine for the describe block, dropped afterwards. */
function useTickingEngine(dialect: (typeof dialects)[number]): { readonly engine: Engine } {
  const holder: { engine?: Engine; database?: FreshDatabase } = {};
  beforeAll(async () => {
    holder.database = await freshDatabase(dialect);
    holder.engine = await createEngine(holder.database.db, { clock: tickingClock() });
  });
  afterAll(async () => {
    await holder.database?.drop();
  });
  return { get engine() { return holder.engine!; } };
}

/** A subscriber since January 1 to 100 included credits a month at 10.00, overage at 5 minor units a credit. */
async function subscriber(engine: Engine) {
  const c = await financeCustomer(engine, '2025-01-01T00:00:00Z');
  const plan = must(await createPlan(engine, {
    code: uniqueCode('metered'), name: 'Metered', currency: 'USD', interval: 'month', amount: 1000, included_credits: '100', overage: { unit_amount_per_credit: '5' },
  }));
  return { ...c, sub: must(await createSubscription(engine, { customer: c.customer.id, plan: plan.code })) };
}

/** A subscriber who used 130 credits in January: the February 1 renewal bills 30 credits of January's overage. */
async function januaryBilled(engine: Engine) {
  const c = await subscriber(engine);
  await c.use(130);
  await c.advance('2025-02-01T00:00:01Z');
  const invoice = await invoiceFrom(engine, c.customer.id, '2025-02-01T00:00:00Z');
  return { ...c, february: invoice, januaryLine: invoice.lines.find((l) => l.type === 'overage')! };
}

/** The customer's invoice for the period starting at `start`. */
async function invoiceFrom(engine: Engine, customerId: string, start: string) {
  return (await invoicesOf(engine, customerId)).find((i) => i.periodStartMs === Date.parse(start))!;
}

/** An invoice's lines as [type, quantity, unit amount, amount, period start, period end]. */
const linesOf = (invoice: Awaited<ReturnType<typeof invoiceFrom>>) =>
  invoice.lines.map((l) => [l.type, l.quantity, l.unitAmount, l.amountMinor, iso(l.periodStartMs), iso(l.periodEndMs)]);

/** The closed periods of a subscription as reconciliation reads them: [index, consumed, pending, tied, latest invoice]. */
async function closedOverage(engine: Engine, subscriptionId: string) {
  const periods = await engine.store.read.reconciliation.closedPeriods({ fromMs: 0, toMs: endOfTimeMs }, engine.settings.pastToleranceMs);
  return periods.filter((p) => p.subscriptionId === subscriptionId)
    .map((p) => [p.periodIndex, formatCredits(p.consumedMicro), formatCredits(p.pendingMicro), formatCredits(p.tiedMicro), p.latestInvoiceId]);
}

/** The messages of the discrepancies that name this subscription. */
async function problemsOf(engine: Engine, subscriptionId: string): Promise<string[]> {
  return must(await reconcile(engine)).discrepancies.filter((d) => d.ids.includes(subscriptionId)).map((d) => `${d.check}: ${d.message}`);
}

const run = (engine: Engine, sql: string, params: SqlValue[]) => engine.store.read.c.run(sql, params);

/** Rewrites an overage line's quantity and amount (priced alike, so only what it bills is wrong). */
const rebill = (engine: Engine, lineId: string, quantity: string, amountMinor: number) =>
  run(engine, `UPDATE invoice_lines SET quantity = ?, amount = ? WHERE id = ?`, [quantity, amountMinor, lineId]);

describe.each(dialects)('late overage in a closed period, on %s', (dialect) => {
  it.each([
    ['posted on its event\'s row', null],
    ['in the ledger\'s tables, found by id', 0],
    ['in the ledger\'s tables, in the time index', 1],
  ] as const)('reconciles while the correction waits for the next renewal, which bills it referencing January (the charge %s)', async (_form, effectiveIndexed) => {
    const database = await freshDatabase(dialect);
    try {
      const engine = await createEngine(database.db, { clock: tickingClock() });
      const c = await januaryBilled(engine);
      expect(linesOf(c.february)).toEqual([
        ['subscription_fee', '1', '1000', 1000n, '2025-02-01T00:00:00.000Z', '2025-03-01T00:00:00.000Z'],
        ['overage', '30', '5', 150n, '2025-01-01T00:00:00.000Z', '2025-02-01T00:00:00.000Z'],
      ]);
      expect(await problemsOf(engine, c.sub.id)).toEqual([]);

      // February 10: 105 credits of February's usage (5 of them overage), and an event of January
      // 20 for 12 credits, all overage: January's allowance expired on February 1, spent.
      await c.advance('2025-02-10T00:00:00Z');
      await c.use(105);
      const late = await c.use(12, '2025-01-20T00:00:00Z');
      if (effectiveIndexed !== null) await moveEventChargeToLedgerTables(engine.store.read.c, late, { accountIndexed: 0, effectiveIndexed });
      expect(await closedOverage(engine, c.sub.id)).toEqual([[0, '42', '12', '0', c.february.id]]);
      // Before the fix: "Period 0 of subscription … consumed 42 credits of overage but its overage lines bill 30."
      expect(must(await reconcile(engine)).discrepancies).toEqual([]);

      // The March 1 renewal bills the 12 on a line that references January, beside February's 5.
      await c.advance('2025-03-01T00:00:01Z');
      const march = await invoiceFrom(engine, c.customer.id, '2025-03-01T00:00:00Z');
      expect(linesOf(march)).toEqual([
        ['subscription_fee', '1', '1000', 1000n, '2025-03-01T00:00:00.000Z', '2025-04-01T00:00:00.000Z'],
        ['overage', '12', '5', 60n, '2025-01-01T00:00:00.000Z', '2025-02-01T00:00:00.000Z'],
        ['overage', '5', '5', 25n, '2025-02-01T00:00:00.000Z', '2025-03-01T00:00:00.000Z'],
      ]);
      expect(march.totalMinor).toBe(1085n);
      expect(await closedOverage(engine, c.sub.id)).toEqual([[0, '42', '0', '0', march.id], [1, '5', '0', '0', march.id]]);
      expect(must(await reconcile(engine))).toEqual(expect.objectContaining({ ok: true, discrepancies: [] }));
    } finally {
      await database.drop();
    }
  });
});

describe.each(dialects)('overage billed wrong, with late usage about, on %s', (dialect) => {
  const ctx = useTickingEngine(dialect);
  const period0 = (sub: { id: string }) => `overage_invoiced: Period 0 of subscription ${sub.id}`;

  it('names a line that bills too little or too much, a missing line and a wrong posting, for a period whose usage all predates its invoice', async () => {
    const { engine } = ctx;
    const little = await januaryBilled(engine);
    await rebill(engine, little.januaryLine.id, '29', 145);
    expect(await problemsOf(engine, little.sub.id)).toEqual([
      `overage_invoiced: Overage line ${little.januaryLine.id} bills 29 credits but its overage_invoiced transactions (1) move 30.`,
      `${period0(little.sub)} consumed 30 credits of overage but its overage lines bill 29.`,
    ]);

    const much = await januaryBilled(engine);
    await rebill(engine, much.januaryLine.id, '31', 155);
    expect(await problemsOf(engine, much.sub.id)).toEqual([
      `overage_invoiced: Overage line ${much.januaryLine.id} bills 31 credits but its overage_invoiced transactions (1) move 30.`,
      `${period0(much.sub)} consumed 30 credits of overage but its overage lines bill 31.`,
    ]);

    const missing = await januaryBilled(engine);
    await run(engine, `DELETE FROM invoice_lines WHERE id = ?`, [missing.januaryLine.id]);
    expect(await problemsOf(engine, missing.sub.id)).toEqual([`${period0(missing.sub)} consumed 30 credits of overage but its overage lines bill 0.`]);

    // The line's posting moves 29 credits out of `overage` instead of its 30 (balanced, so only the line check sees it).
    const posting = await januaryBilled(engine);
    const [txn] = await engine.store.read.ledger.transactionsForCause(posting.januaryLine.id);
    expect(txn!.kind).toBe('overage_invoiced');
    await run(engine, `UPDATE ledger_entries SET amount = CASE WHEN amount > 0 THEN 29000000 ELSE -29000000 END WHERE txn_id = ?`, [txn!.id]);
    expect((await problemsOf(engine, posting.sub.id)).filter((m) => m.startsWith('overage_invoiced'))).toEqual([
      `overage_invoiced: Overage line ${posting.januaryLine.id} bills 30 credits but its overage_invoiced transactions (1) move 29.`,
    ]);
  });

  it('names a line that bills late usage recorded after its invoice, or too little, while the late usage waits', async () => {
    const { engine } = ctx;
    const early = await januaryBilled(engine);
    await early.advance('2025-02-10T00:00:00Z');
    await early.use(12, '2025-01-20T00:00:00Z');
    expect(await problemsOf(engine, early.sub.id)).toEqual([]);
    // As if the February invoice had billed the 12 credits recorded after it was made.
    await rebill(engine, early.januaryLine.id, '42', 210);
    expect((await problemsOf(engine, early.sub.id)).filter((m) => m.includes('Period'))).toEqual([
      `${period0(early.sub)} consumed 30 credits of overage by its latest invoice ${early.february.id} (and 12 since, for the next invoice) but its overage lines bill 42.`,
    ]);
    await rebill(engine, early.januaryLine.id, '29', 145);
    expect((await problemsOf(engine, early.sub.id)).filter((m) => m.includes('Period'))).toEqual([
      `${period0(early.sub)} consumed 30 credits of overage by its latest invoice ${early.february.id} (and 12 since, for the next invoice) but its overage lines bill 29.`,
    ]);
  });

  it('wants the late overage billed once the next invoice is made', async () => {
    const { engine } = ctx;
    const c = await januaryBilled(engine);
    await c.advance('2025-02-10T00:00:00Z');
    await c.use(12, '2025-01-20T00:00:00Z');
    await c.advance('2025-03-01T00:00:01Z');
    const lateLine = (await invoiceFrom(engine, c.customer.id, '2025-03-01T00:00:00Z')).lines.find((l) => l.type === 'overage')!;
    expect([lateLine.quantity, lateLine.amountMinor, iso(lateLine.periodStartMs)]).toEqual(['12', 60n, '2025-01-01T00:00:00.000Z']);
    expect(await problemsOf(engine, c.sub.id)).toEqual([]);
    await rebill(engine, lateLine.id, '11', 55);
    expect((await problemsOf(engine, c.sub.id)).filter((m) => m.includes('Period'))).toEqual([
      `${period0(c.sub)} consumed 42 credits of overage but its overage lines bill 41.`,
    ]);
  });

  it('wants every charge billed in a period past the 35-day window at its latest invoice, whatever the charges\' stamps', async () => {
    const { engine } = ctx;
    const c = await januaryBilled(engine);
    await c.advance('2025-02-10T00:00:00Z');
    const late = await c.use(12, '2025-01-20T00:00:00Z');
    await c.advance('2025-03-01T00:00:01Z');
    await c.advance('2025-04-01T00:00:01Z');
    const april = await invoiceFrom(engine, c.customer.id, '2025-04-01T00:00:00Z');
    expect(await problemsOf(engine, c.sub.id)).toEqual([]);
    // January closed on February 1: from March 8 on no event of January can arrive, so at the
    // April 1 invoice all of January's overage is due, even a charge stamped (wrongly) after it.
    const march = await invoiceFrom(engine, c.customer.id, '2025-03-01T00:00:00Z');
    await run(engine, `DELETE FROM invoice_lines WHERE invoice_id = ? AND type = 'overage'`, [march.id]);
    await run(engine, `UPDATE usage_events SET recorded_at = ? WHERE id = ?`, [idTimeOf(april.id)! + 60_000, late]);
    expect(await closedOverage(engine, c.sub.id)).toEqual([[0, '42', '0', '0', null], [1, '0', '0', '0', april.id], [2, '0', '0', '0', april.id]]);
    expect(await problemsOf(engine, c.sub.id)).toEqual([`${period0(c.sub)} consumed 42 credits of overage but its overage lines bill 30.`]);
  });

  it('waits for the closing correction of a subscription that has ended, which bills late overage after a cancellation', async () => {
    const { engine } = ctx;
    const c = await januaryBilled(engine);
    await c.advance('2025-02-10T00:00:00Z');
    must(await cancelSubscription(engine, c.sub.id, { timing: 'immediate' }));
    await c.use(12, '2025-01-20T00:00:00Z');
    // Before the closing correction: "Period 0 of subscription … consumed 42 credits of overage but its overage lines bill 30."
    expect(await problemsOf(engine, c.sub.id)).toEqual([]);
    // 35 days after the five minutes it owns after the cancellation no event of the subscription can arrive:
    // the correction bills the 12 on a line that references January, and all of it is due.
    await c.advance('2025-03-18T00:00:00Z');
    const correction = (await invoicesOf(engine, c.customer.id)).find((i) => i.kind === 'correction')!;
    expect(linesOf(correction)).toEqual([['overage', '12', '5', 60n, '2025-01-01T00:00:00.000Z', '2025-02-01T00:00:00.000Z']]);
    expect(await closedOverage(engine, c.sub.id)).toEqual([[0, '42', '0', '0', null], [1, '0', '0', '0', null]]);
    expect(await problemsOf(engine, c.sub.id)).toEqual([]);
    await rebill(engine, correction.lines[0]!.id, '11', 55);
    expect((await problemsOf(engine, c.sub.id)).filter((m) => m.includes('Period'))).toEqual([
      `${period0(c.sub)} consumed 42 credits of overage but its overage lines bill 41.`,
    ]);
  });
});

describe.each(dialects)('usage recorded in its invoice\'s millisecond, on %s', (dialect) => {
  it('may or may not be billed by that invoice, and must be once the next one is made', async () => {
    const database = await freshDatabase(dialect);
    try {
      const clock = new ManualClock(Date.now());
      const engine = await createEngine(database.db, { clock });
      const a = await subscriber(engine);
      const b = await subscriber(engine);
      await a.use(130);
      await b.use(130);
      // A second on, and in that one millisecond: A's February invoice is made, then a late event
      // of A's recorded (the invoice did not see it); 20 more credits of B's January recorded,
      // then B's February invoice made (it saw them).
      clock.set(clock.now() + 1_000);
      await a.advance('2025-02-01T00:00:01Z');
      await a.use(12, '2025-01-20T00:00:00Z');
      await b.use(20);
      await b.advance('2025-02-01T00:00:01Z');
      const aFebruary = await invoiceFrom(engine, a.customer.id, '2025-02-01T00:00:00Z');
      const bFebruary = await invoiceFrom(engine, b.customer.id, '2025-02-01T00:00:00Z');
      expect([idTimeOf(aFebruary.id), idTimeOf(bFebruary.id)]).toEqual([clock.now(), clock.now()]);
      expect(linesOf(aFebruary)[1]).toEqual(['overage', '30', '5', 150n, '2025-01-01T00:00:00.000Z', '2025-02-01T00:00:00.000Z']);
      expect(linesOf(bFebruary)[1]).toEqual(['overage', '50', '5', 250n, '2025-01-01T00:00:00.000Z', '2025-02-01T00:00:00.000Z']);
      expect(await closedOverage(engine, a.sub.id)).toEqual([[0, '42', '0', '12', aFebruary.id]]);
      expect(await closedOverage(engine, b.sub.id)).toEqual([[0, '50', '0', '20', bFebruary.id]]);
      // Neither "billed before the invoice's millisecond" (B bills 20 more) nor "billed up to its
      // end" (A bills 12 less) would do: in that millisecond, either may be billed.
      expect(must(await reconcile(engine)).discrepancies).toEqual([]);
      const aLine = aFebruary.lines[1]!.id;
      const bLine = bFebruary.lines[1]!.id;
      await rebill(engine, aLine, '43', 215);
      await rebill(engine, bLine, '29', 145);
      expect((await problemsOf(engine, a.sub.id)).filter((m) => m.includes('Period'))).toEqual([
        `overage_invoiced: Period 0 of subscription ${a.sub.id} consumed 30 to 42 credits of overage by its latest invoice ${aFebruary.id} but its overage lines bill 43.`,
      ]);
      expect((await problemsOf(engine, b.sub.id)).filter((m) => m.includes('Period'))).toEqual([
        `overage_invoiced: Period 0 of subscription ${b.sub.id} consumed 30 to 50 credits of overage by its latest invoice ${bFebruary.id} but its overage lines bill 29.`,
      ]);
      await rebill(engine, aLine, '30', 150);
      await rebill(engine, bLine, '50', 250);

      // A second on, the March renewals: A's bills the late 12, B's nothing more, and all that was
      // recorded before them is due.
      clock.set(clock.now() + 1_000);
      await a.advance('2025-03-01T00:00:01Z');
      await b.advance('2025-03-01T00:00:01Z');
      const aMarch = await invoiceFrom(engine, a.customer.id, '2025-03-01T00:00:00Z');
      const bMarch = await invoiceFrom(engine, b.customer.id, '2025-03-01T00:00:00Z');
      expect(linesOf(aMarch).slice(1)).toEqual([['overage', '12', '5', 60n, '2025-01-01T00:00:00.000Z', '2025-02-01T00:00:00.000Z']]);
      expect(linesOf(bMarch).slice(1)).toEqual([]);
      expect(await closedOverage(engine, a.sub.id)).toEqual([[0, '42', '0', '0', aMarch.id], [1, '0', '0', '0', aMarch.id]]);
      expect(await closedOverage(engine, b.sub.id)).toEqual([[0, '50', '0', '0', bMarch.id], [1, '0', '0', '0', bMarch.id]]);
      expect(must(await reconcile(engine)).discrepancies).toEqual([]);
      await rebill(engine, bLine, '30', 150);
      expect((await problemsOf(engine, b.sub.id)).filter((m) => m.includes('Period'))).toEqual([
        `overage_invoiced: Period 0 of subscription ${b.sub.id} consumed 50 credits of overage but its overage lines bill 30.`,
      ]);
    } finally {
      await database.drop();
    }
  });
});
