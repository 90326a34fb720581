import { invalid, notFound, ok, type Outcome } from '../core/errors.ts';
import { grantFates, type GrantFate } from '../core/grant-flows.ts';
import {
  overageRevenue, returnImpact, revenueByPlanAndPeriod, usageByPlanAndMeter,
  type OverageRow, type ReturnImpact, type RevenueRow, type RevenueTotal, type UsageSum,
} from '../core/reports.ts';
import { deferredRevenue, deferredTotals, promotionalConsumption, type DeferredRow, type DeferredTotal, type PromotionalRow } from '../core/credit-reports.ts';
import { agingReport, type AgingBucket, type AgingInvoice } from '../core/dunning.ts';
import { creditNoteReport, type CreditNoteTotal, type NoteRow } from '../core/credit-note-report.ts';
import type { ReportFilter, GrantSet } from '../store/queries/reports.ts';
import type { ReturnRecord } from '../store/records.ts';
import type { StoreTx } from '../store/store.ts';
import { customerNows, type Engine } from './context.ts';
import { FieldCheck } from './input.ts';
import { customersPerLightSliceFirst, inCustomerSlices } from './customer-slices.ts';

/**
 * The finance reports of PRODUCT §10, each over a window [from, to) and optionally one customer:
 * revenue by plan and period, usage by plan and meter, overage revenue, refund and chargeback
 * impact, promotional consumption and deferred revenue. Read-only: the store sums, core values.
 */
export interface ReportInput {
  from?: string | undefined;
  to?: string | undefined;
  customer?: string | undefined;
}

/** The resolved filter; `from`/`to` are null when the caller left the window open. */
export interface ResolvedFilter extends ReportFilter {
  from: number | null;
  to: number | null;
}

/** The latest instant a JavaScript Date can hold: an open window's end. */
const endOfTimeMs = 8.64e15;

export interface PlanLabel {
  planCode: string | null;
  planVersion: number | null;
}

export interface Reports {
  revenue: { filter: ResolvedFilter; rows: (RevenueRow & PlanLabel)[]; totals: RevenueTotal[] };
  usage: { filter: ResolvedFilter; rows: (UsageSum & PlanLabel)[]; totals: { meter: string; creditsMicro: bigint; transactions: bigint }[] };
  overage: { filter: ResolvedFilter; rows: (OverageRow & PlanLabel)[]; totals: { currency: string; creditsMicro: bigint; amountMinor: bigint }[] };
  refunds: { filter: ResolvedFilter; rows: ReturnRecord[]; totals: ReturnImpact[] };
  promotional: { filter: ResolvedFilter; rows: PromotionalRow[]; totals: { consumedMicro: bigint; totalConsumedMicro: bigint } };
  deferred_revenue: { filter: ResolvedFilter; rows: DeferredRow[]; totals: DeferredTotal[] };
  credit_notes: { filter: ResolvedFilter; rows: NoteRow[]; totals: CreditNoteTotal[] };
  aging: { filter: ResolvedFilter; rows: (AgingInvoice & { daysPastDue: number; bucket: AgingBucket })[]; totals: AgingTotal[] };
}

export type AgingTotal = Record<AgingBucket, bigint> & { currency: string; totalMinor: bigint };

export type ReportName = keyof Reports;
export const reportNames: readonly ReportName[] = ['revenue', 'usage', 'overage', 'refunds', 'promotional', 'deferred_revenue', 'credit_notes', 'aging'];

/** Validates the window (every bad field at once) and resolves the customer reference. */
export async function resolveFilter(engine: Engine, input: ReportInput): Promise<Outcome<ResolvedFilter>> {
  const check = new FieldCheck();
  const from = check.timestamp('from', input.from);
  const to = check.timestamp('to', input.to);
  if (from !== null && to !== null && to <= from) check.add('to', 'window_empty', 'to must be later than from.');
  if (check.errors.length) return invalid(check.errors);
  let customerId: string | null = null;
  if (input.customer !== undefined) {
    const customer = await engine.store.read.customers.find(input.customer);
    if (!customer) return notFound('customer', input.customer);
    customerId = customer.id;
  }
  return ok({ from, to, fromMs: from ?? 0, toMs: to ?? endOfTimeMs, customerId });
}

async function labelPlans<T extends { planId: string | null }>(tx: StoreTx, rows: readonly T[]): Promise<(T & PlanLabel)[]> {
  const ids = [...new Set(rows.map((r) => r.planId).filter((id): id is string => id !== null))];
  const plans = ids.length ? await tx.billing.plansById(ids) : new Map();
  return rows.map((r) => {
    const plan = r.planId === null ? undefined : plans.get(r.planId);
    return { ...r, planCode: plan?.code ?? null, planVersion: plan?.version ?? null };
  });
}

export type GrantFates = Awaited<ReturnType<typeof fatesOf>>;

/**
 * `fatesOf` a slice of customers at a time, `visit` told each slice's fates, its results joined.
 * Over every customer (no `customer` filter) each slice is read in a snapshot of its own
 * (customer-slices.ts; on SQLite the snapshot worker's connection), so a report holds one slice's
 * grants and flows at a time rather than every grant of the store, and the request thread does
 * not wait on the reads: over 100,000 customers the promotional report took the server from 124 to
 * 435 MiB when read whole (docs/benchmark-rounds.md, "Round 27"). One customer is one snapshot
 * (`Store.readsInOneSnapshot`): its grants, flows and holds agree.
 */
export async function fatesBySlice<T>(
  engine: Engine, set: GrantSet, f: ReportFilter, visit: (fates: GrantFates) => T[], options: ReportOptions = {},
): Promise<T[]> {
  if (f.customerId !== null) return visit(await engine.store.readsInOneSnapshot((tx) => fatesOf(engine, tx, set, f)));
  return engine.store.snapshots((snapshot) => inCustomerSlices(snapshot,
    async (tx, customers) => visit(await fatesOf(engine, tx, set, { ...f, customers })),
    { customersPerSlice: options.customersPerSlice, firstCustomers: customersPerLightSliceFirst }));
}

/** How a report over every customer is read. */
export interface ReportOptions {
  /** A fixed number of customers per slice of the reports read by slice (by default each slice is sized by time). */
  customersPerSlice?: number | undefined;
}

/**
 * The window's usage summed per plan and meter (`ReportQueries.usageSums`). Over every customer
 * it sums every usage charge of the window, so it runs in a read snapshot (on SQLite the snapshot
 * worker, whose sorts spill to a temporary file rather than the request thread's memory, and which
 * the request thread does not wait on); for one customer, a read as before.
 */
async function usageSumsOf(engine: Engine, f: ReportFilter): Promise<UsageSum[]> {
  if (f.customerId !== null) return engine.store.read.reports.usageSums(f);
  return engine.store.snapshots((snapshot) => snapshot((tx) => tx.reports.usageSums(f)));
}

/** The fate of a set of grants at the window's start and end (see src/core/grant-flows.ts). */
async function fatesOf(engine: Engine, tx: StoreTx, set: GrantSet, f: ReportFilter) {
  const grants = await tx.reports.grants(set, f);
  const owners = await tx.customers.findMany([...new Set(grants.map((g) => g.customerId))]);
  const nows = await customerNows(engine, tx, owners.values());
  const facts = grants.map((g) => ({ id: g.id, expiresAtMs: g.expiresAtMs, customerNowMs: nows.get(g.customerId) ?? engine.clock.now() }));
  const [flows, holds] = await Promise.all([tx.reports.grantFlows(set, f), tx.reports.holdTraces(set, f)]);
  const opening: Map<string, GrantFate> = grantFates(facts, flows, holds, f.fromMs, true);
  const closing: Map<string, GrantFate> = grantFates(facts, flows, holds, f.toMs, false);
  return { grants, opening, closing };
}

/** The slices' promotional consumption as one: rows by source summed, in source order. */
function mergePromotional(
  parts: readonly ReturnType<typeof promotionalConsumption>[], totalConsumedMicro: bigint,
): { rows: PromotionalRow[]; totals: { consumedMicro: bigint; totalConsumedMicro: bigint } } {
  const bySource = new Map<string, PromotionalRow>();
  let consumedMicro = 0n;
  for (const part of parts) {
    consumedMicro += part.totals.consumedMicro;
    for (const r of part.rows) {
      const row = bySource.get(r.source);
      if (row === undefined) bySource.set(r.source, { ...r });
      else {
        row.grants += r.grants;
        row.issuedMicro += r.issuedMicro;
        row.consumedMicro += r.consumedMicro;
        row.expiredMicro += r.expiredMicro;
        row.revokedMicro += r.revokedMicro;
      }
    }
  }
  return { rows: [...bySource.values()].sort((a, b) => (a.source < b.source ? -1 : 1)), totals: { consumedMicro, totalConsumedMicro } };
}

/** The slices' deferred revenue as one: every grant's row in id order, the totals by currency. */
function mergeDeferred(parts: readonly ReturnType<typeof deferredRevenue>[]): { rows: DeferredRow[]; totals: DeferredTotal[] } {
  const rows = parts.flatMap((p) => p.rows).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return { rows, totals: deferredTotals(rows) };
}

/** Ids are a prefix and a time-sortable part; refunds and chargebacks interleave in creation order. */
const creationKey = (id: string): string => id.slice(id.indexOf('_') + 1);

export async function runReport<N extends ReportName>(engine: Engine, name: N, input: ReportInput, options: ReportOptions = {}): Promise<Outcome<Reports[N]>> {
  const resolved = await resolveFilter(engine, input);
  if (!resolved.ok) return resolved;
  const filter = resolved.value;
  // A report made of several reads whose figures must agree (invoices' totals with their lines
  // and the money paid on them, credit notes with their uses, past-due invoices with their
  // customers' clocks) reads them in one snapshot. One statement beside the plans' labels (a plan
  // version never changes) is read as it is; the fates of grants are read a slice at a time.
  const read = engine.store.read;
  const build: { [K in ReportName]: () => Promise<Reports[K]> } = {
    revenue: () => engine.store.readsInOneSnapshot(async (tx) => {
      // One after another: on PostgreSQL a snapshot is one connection, which runs one query at a time.
      const invoiced = await tx.reports.invoicedSums(filter);
      const lines = await tx.reports.lineSums(filter);
      const money = await tx.reports.moneySums(filter);
      const { rows, totals } = revenueByPlanAndPeriod(invoiced, lines, money);
      return { filter, rows: await labelPlans(tx, rows), totals };
    }),
    async usage() {
      const { rows, totals } = usageByPlanAndMeter(await usageSumsOf(engine, filter));
      return { filter, rows: await labelPlans(read, rows), totals };
    },
    async overage() {
      const { rows, totals } = overageRevenue(await read.reports.overageLines(filter));
      return { filter, rows: await labelPlans(read, rows), totals };
    },
    async refunds() {
      const rows = (await read.returns.all({ fromMs: filter.fromMs, toMs: filter.toMs, ...(filter.customerId ? { customerId: filter.customerId } : {}) }))
        .sort((a, b) => a.createdAtMs - b.createdAtMs || (creationKey(a.id) < creationKey(b.id) ? -1 : 1));
      return { filter, rows, totals: returnImpact(rows) };
    },
    async promotional() {
      let total = 0n;
      for (const u of await usageSumsOf(engine, filter)) total += u.creditsMicro;
      const parts = await fatesBySlice(engine, 'promotional', filter, ({ grants, opening, closing }) => [promotionalConsumption(grants, opening, closing, total)], options);
      return { filter, ...mergePromotional(parts, total) };
    },
    async deferred_revenue() {
      const parts = await fatesBySlice(engine, 'cost_basis', filter, ({ grants, opening, closing }) => [deferredRevenue(grants.map((g) => ({
        id: g.id, customerId: g.customerId, invoiceId: g.invoiceId, currency: g.costCurrency ?? '', creditsMicro: g.creditsMicro, costMinor: g.costAmountMinor ?? 0n,
      })), opening, closing)], options);
      return { filter, ...mergeDeferred(parts) };
    },
    credit_notes: () => engine.store.readsInOneSnapshot(async (tx) => {
      const [notes, uses] = await Promise.all([
        tx.creditNotes.createdBetween(0, filter.toMs, filter.customerId), tx.creditNotes.usesBetween(0, filter.toMs, filter.customerId),
      ]);
      const { rows, totals } = creditNoteReport(notes, uses, filter.fromMs);
      return { filter, rows, totals };
    }),
    aging: () => engine.store.readsInOneSnapshot(async (tx) => {
      // Past-due invoices still unpaid now (each by its customer's clock); the window does not apply.
      const invoices = await tx.dunning.pastDueInvoices(filter.customerId);
      const owners = await tx.customers.findMany([...new Set(invoices.map((i) => i.customerId))]);
      const nows = await customerNows(engine, tx, owners.values());
      const { rows, totals } = agingReport(invoices.map((i) => ({ ...i, dueAtMs: i.dueAtMs ?? i.pastDueAtMs })), (id) => nows.get(id) ?? engine.clock.now());
      return { filter, rows, totals };
    }),
  };
  return ok(await build[name]());
}
