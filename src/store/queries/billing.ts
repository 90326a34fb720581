import { ConcurrentChange, type Dialect, type SqlConnection, type SqlRow, type SqlValue } from '../sql.ts';
import type {
  InvoiceLineRecord, InvoiceRecord, InvoiceStatus, Page, PageRequest, PaymentRecord, PeriodRecord, PhaseRecord, SubscriptionRecord,
} from '../records.ts';
import type { Plan } from '../../core/plans.ts';
import { parseDecimal } from '../../core/decimal.ts';
import { big, bigOrNull, customerClock, insertRows, json, num, numOrNull, onClock, onClockParams, queryInChunks, strOrNull } from '../rows.ts';
import { jsonRateCodec } from './usage.ts';
import { pageQuery } from './paging.ts';
import { overageDayMs, overageHourMs, overageTakenKinds } from './ledger.ts';
import { effectiveIndexedTxn, usageByIdTime, usageByIdTimeParams } from './usage-window.ts';
import { entryAccount, entryAmount, postingEntries, postingsByIdTime } from './event-postings.ts';
import { ofCustomer, sqlPart, valuePart, type Bound } from './customer-events.ts';

export type PlanRecord = Plan & { subscribed: boolean };

export function toPlan(r: SqlRow): PlanRecord {
  const rates = JSON.parse(r.rates as string) as Record<string, unknown>;
  return {
    id: r.id as string,
    code: r.code as string,
    version: num(r.version),
    name: r.name as string,
    currency: r.currency as string,
    interval: r.billing_interval as Plan['interval'],
    amountMinor: big(r.amount),
    includedCreditsMicro: big(r.included_credits),
    rolloverMaxMicro: bigOrNull(r.rollover_max),
    overageUnitScaled: bigOrNull(r.overage_unit),
    overageLimitMicro: bigOrNull(r.overage_limit),
    rates: Object.fromEntries(Object.entries(rates).map(([k, v]) => [k, jsonRateCodec.decode(JSON.stringify(v))])),
    subscribed: big(r.subscribed) === 1n,
    createdAtMs: num(r.created_at),
  };
}

export function toSubscription(r: SqlRow): SubscriptionRecord {
  return {
    id: r.id as string,
    customerId: r.customer_id as string,
    planId: r.plan_id as string,
    status: r.status as SubscriptionRecord['status'],
    anchorAtMs: num(r.anchor_at),
    periodIndex: num(r.period_index),
    periodStartMs: num(r.period_start),
    periodEndMs: num(r.period_end),
    pendingPlanId: strOrNull(r.pending_plan_id),
    cancelAtPeriodEnd: big(r.cancel_at_period_end) === 1n,
    canceledAtMs: numOrNull(r.canceled_at),
    endedAtMs: numOrNull(r.ended_at),
    metadata: json(r.metadata),
    createdAtMs: num(r.created_at),
    pastDueAtMs: numOrNull(r.past_due_at),
    closingDueAtMs: numOrNull(r.closing_due_at),
  };
}

export const toPhase = (r: SqlRow): PhaseRecord => ({
  id: r.id as string, subscriptionId: r.subscription_id as string, customerId: r.customer_id as string, planId: r.plan_id as string,
  startAtMs: num(r.start_at), endAtMs: numOrNull(r.end_at), reason: r.reason as string,
});

const toPeriod = (r: SqlRow): PeriodRecord => ({
  subscriptionId: r.subscription_id as string, periodIndex: num(r.period_index), customerId: r.customer_id as string, planId: r.plan_id as string,
  periodStartMs: num(r.period_start), periodEndMs: num(r.period_end), invoiceId: strOrNull(r.invoice_id), grantId: strOrNull(r.grant_id),
  closed: big(r.closed) === 1n,
});

const toLine = (r: SqlRow): InvoiceLineRecord => ({
  id: r.id as string, invoiceId: r.invoice_id as string, customerId: r.customer_id as string, seq: num(r.seq), type: r.type as string,
  description: r.description as string, quantity: r.quantity as string, unitAmount: r.unit_amount as string, amountMinor: big(r.amount),
  periodStartMs: num(r.period_start), periodEndMs: num(r.period_end), refs: json(r.refs),
});

const toInvoice = (r: SqlRow): InvoiceRecord => ({
  id: r.id as string, customerId: r.customer_id as string, subscriptionId: strOrNull(r.subscription_id), planId: strOrNull(r.plan_id),
  kind: r.kind as InvoiceRecord['kind'], periodStartMs: numOrNull(r.period_start), periodEndMs: numOrNull(r.period_end),
  currency: r.currency as string, status: r.status as InvoiceStatus, totalMinor: big(r.total), amountPaidMinor: big(r.amount_paid),
  amountRefundedMinor: big(r.amount_refunded), amountChargedBackMinor: big(r.amount_charged_back), provider: strOrNull(r.provider),
  providerInvoiceId: strOrNull(r.provider_invoice_id), finalizedAtMs: numOrNull(r.finalized_at), paidAtMs: numOrNull(r.paid_at),
  voidedAtMs: numOrNull(r.voided_at), metadata: json(r.metadata), createdAtMs: num(r.created_at), lines: [],
  balanceAppliedMinor: big(r.balance_applied ?? 0), creditNoteId: strOrNull(r.credit_note_id),
  dueAtMs: numOrNull(r.due_at), pastDueAtMs: numOrNull(r.past_due_at), dunningStep: r.dunning_step === undefined || r.dunning_step === null ? 0 : num(r.dunning_step),
  nextAttemptAtMs: numOrNull(r.next_attempt_at), uncollectibleAtMs: numOrNull(r.uncollectible_at),
});

/** The invoice line that charged a subscription's fee, and what its invoice kept of its money. */
export interface FeeCharge {
  invoiceId: string;
  status: InvoiceStatus;
  /** The fee or proration charge line. */
  chargeMinor: bigint;
  /** Every positive line of its invoice, the charge among them. */
  chargesMinor: bigint;
}

/** A proration credit line that credited a fee's unused time, and the credit note its excess became. */
export interface FeeCredit {
  lineId: string;
  invoiceId: string;
  invoiceStatus: InvoiceStatus;
  /** The credit line: zero or less. */
  amountMinor: bigint;
  creditNoteId: string | null;
  /** The credit note's amount (the part of the credit beyond its invoice's charges), 0 without one. */
  noteMinor: bigint;
}

/** Plans, subscriptions with their timeline and periods, invoices with lines, payments. */
export class BillingQueries {
  /**
   * Plans read in this transaction, by id. A plan version never changes once stored, except for
   * its `subscribed` mark and its deletion, which drop it here; so due work that renews many
   * subscriptions in one transaction reads each plan once rather than twice per renewal.
   */
  private readonly plansRead = new Map<string, PlanRecord>();

  constructor(private readonly c: SqlConnection) {}

  async insertPlan(p: PlanRecord): Promise<void> {
    const rates = Object.fromEntries(Object.entries(p.rates).map(([k, v]) => [k, JSON.parse(jsonRateCodec.encode(v)) as unknown]));
    await this.c.run(
      `INSERT INTO plans (id, code, version, name, currency, billing_interval, amount, included_credits, rollover_max, overage_unit,
        overage_limit, rates, subscribed, created_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)`,
      [p.id, p.code, p.version, p.name, p.currency, p.interval, p.amountMinor, p.includedCreditsMicro, p.rolloverMaxMicro, p.overageUnitScaled,
        p.overageLimitMicro, JSON.stringify(rates), p.subscribed ? 1 : 0, p.createdAtMs],
    );
  }

  async deletePlan(id: string): Promise<void> {
    this.plansRead.delete(id);
    await this.c.run(`DELETE FROM plans WHERE id = ? AND subscribed = 0`, [id]);
  }

  /**
   * Marks a version subscribed, which keeps it from being replaced from then on. On PostgreSQL a
   * posting of the same code may have replaced it (deleted it, `createPlan`) after this transaction
   * read it: the mark then finds no row, and the transaction is re-run so that it reads the version
   * that replaced it rather than naming one that no longer exists.
   */
  async markPlanSubscribed(id: string): Promise<void> {
    this.plansRead.delete(id);
    const marked = await this.c.run(`UPDATE plans SET subscribed = 1 WHERE id = ?`, [id]);
    if (marked === 0) throw new ConcurrentChange(`Plan ${id} was replaced by another transaction after it was read.`);
  }

  /** The latest version of a plan code, or a plan by id. */
  async plan(ref: string): Promise<PlanRecord | null> {
    const rows = await this.c.query(`SELECT * FROM plans WHERE id = ? OR code = ? ORDER BY version DESC LIMIT 1`, [ref, ref]);
    return rows[0] ? toPlan(rows[0]) : null;
  }

  async plansById(ids: readonly string[]): Promise<Map<string, PlanRecord>> {
    const found = new Map<string, PlanRecord>();
    const missing: string[] = [];
    for (const id of new Set(ids)) {
      const known = this.plansRead.get(id);
      if (known) found.set(id, known);
      else missing.push(id);
    }
    if (missing.length === 0) return found;
    const rows = await queryInChunks(this.c, missing, (list) => `SELECT * FROM plans WHERE id IN ${list}`);
    for (const row of rows) {
      const plan = toPlan(row);
      found.set(plan.id, plan);
      this.plansRead.set(plan.id, plan);
    }
    return found;
  }

  async listPlans(page: PageRequest): Promise<Page<PlanRecord>> {
    return pageQuery(this.c, 'plans', '', [], page, toPlan);
  }

  async insertSubscription(s: SubscriptionRecord): Promise<void> {
    await this.c.run(
      `INSERT INTO subscriptions (id, customer_id, plan_id, status, anchor_at, period_index, period_start, period_end, pending_plan_id,
        cancel_at_period_end, canceled_at, ended_at, metadata, created_at, closing_due_at, test_clock_id)
        VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,${customerClock})`,
      [s.id, s.customerId, s.planId, s.status, s.anchorAtMs, s.periodIndex, s.periodStartMs, s.periodEndMs, s.pendingPlanId,
        s.cancelAtPeriodEnd ? 1 : 0, s.canceledAtMs, s.endedAtMs, JSON.stringify(s.metadata), s.createdAtMs, s.closingDueAtMs, s.customerId],
    );
  }

  async updateSubscription(s: SubscriptionRecord): Promise<void> {
    await this.c.run(
      `UPDATE subscriptions SET plan_id = ?, status = ?, period_index = ?, period_start = ?, period_end = ?, pending_plan_id = ?,
        cancel_at_period_end = ?, canceled_at = ?, ended_at = ?, metadata = ?, past_due_at = ?, closing_due_at = ? WHERE id = ?`,
      [s.planId, s.status, s.periodIndex, s.periodStartMs, s.periodEndMs, s.pendingPlanId, s.cancelAtPeriodEnd ? 1 : 0, s.canceledAtMs,
        s.endedAtMs, JSON.stringify(s.metadata), s.pastDueAtMs, s.closingDueAtMs, s.id],
    );
  }

  async subscription(id: string): Promise<SubscriptionRecord | null> {
    const rows = await this.c.query(`SELECT * FROM subscriptions WHERE id = ?`, [id]);
    return rows[0] ? toSubscription(rows[0]) : null;
  }

  async subscriptionsById(ids: readonly string[]): Promise<Map<string, SubscriptionRecord>> {
    const rows = await queryInChunks(this.c, [...new Set(ids)], (list) => `SELECT * FROM subscriptions WHERE id IN ${list}`);
    return new Map(rows.map((r) => [r.id as string, toSubscription(r)]));
  }

  async subscriptionsOf(customerIds: readonly string[]): Promise<SubscriptionRecord[]> {
    const rows = await queryInChunks(this.c, customerIds, (list) => `SELECT * FROM subscriptions WHERE customer_id IN ${list} ORDER BY id`);
    return rows.map(toSubscription);
  }

  async listSubscriptions(customerId: string | null, page: PageRequest): Promise<Page<SubscriptionRecord>> {
    return pageQuery(this.c, 'subscriptions', customerId ? 'customer_id = ?' : '', customerId ? [customerId] : [], page, toSubscription);
  }

  /** Active and past-due subscriptions whose period has ended by `upToMs`, soonest first, by `subscriptions_renewal_due`. */
  dueRenewals(testClockId: string | null, upToMs: number, limit: number): Promise<{ id: string; customerId: string; dueAtMs: number }[]> {
    return this.dueSubscriptions('period_end', `status IN ('active', 'past_due')`, testClockId, upToMs, limit);
  }

  /** Ended subscriptions whose closing correction is due by `upToMs`, soonest first, by `subscriptions_closing_due`. */
  dueClosings(testClockId: string | null, upToMs: number, limit: number): Promise<{ id: string; customerId: string; dueAtMs: number }[]> {
    return this.dueSubscriptions('closing_due_at', 'closing_due_at IS NOT NULL', testClockId, upToMs, limit);
  }

  /**
   * Subscriptions of one clock meeting `where` whose `column` (a time) is at most `upToMs`, in its
   * order: a range of the partial index led by the clock whose condition `where` repeats
   * (migration 64), so a pass reads only the rows it returns.
   */
  private async dueSubscriptions(
    column: 'period_end' | 'closing_due_at', where: string, testClockId: string | null, upToMs: number, limit: number,
  ): Promise<{ id: string; customerId: string; dueAtMs: number }[]> {
    const rows = await this.c.query(
      `SELECT id, customer_id, ${column} AS due_at FROM subscriptions
        WHERE ${where} AND ${onClock(testClockId)} AND ${column} <= ? ORDER BY ${column}, id LIMIT ?`,
      onClockParams(testClockId, [upToMs, limit]),
    );
    return rows.map((r) => ({ id: r.id as string, customerId: r.customer_id as string, dueAtMs: num(r.due_at) }));
  }

  /**
   * Claims a subscription's closing correction: false when it ran already. One conditional UPDATE,
   * so of two servers (or a retried run) that reach it at once only one sees it still due.
   */
  async claimClosing(subscriptionId: string, dueAtMs: number): Promise<boolean> {
    const changed = await this.c.run(`UPDATE subscriptions SET closing_due_at = NULL WHERE id = ? AND closing_due_at = ?`, [subscriptionId, dueAtMs]);
    return changed === 1;
  }

  async insertPhase(p: PhaseRecord): Promise<void> {
    await this.c.run(`INSERT INTO subscription_phases (id, subscription_id, customer_id, plan_id, start_at, end_at, reason) VALUES (?,?,?,?,?,?,?)`,
      [p.id, p.subscriptionId, p.customerId, p.planId, p.startAtMs, p.endAtMs, p.reason]);
  }

  async endOpenPhase(subscriptionId: string, atMs: number): Promise<void> {
    await this.c.run(`UPDATE subscription_phases SET end_at = ? WHERE subscription_id = ? AND end_at IS NULL`, [atMs, subscriptionId]);
  }

  async phases(subscriptionIds: readonly string[]): Promise<PhaseRecord[]> {
    const rows = await queryInChunks(this.c, subscriptionIds, (list) => `SELECT * FROM subscription_phases WHERE subscription_id IN ${list} ORDER BY start_at, id`);
    return rows.map(toPhase);
  }

  /** Claims a (subscription, period) step; false when it ran already, which makes renewals idempotent. */
  async claimPeriod(p: PeriodRecord): Promise<boolean> {
    const changed = await this.c.run(
      `INSERT INTO subscription_periods (subscription_id, period_index, customer_id, plan_id, period_start, period_end, invoice_id, grant_id, closed)
        VALUES (?,?,?,?,?,?,?,?,?) ON CONFLICT DO NOTHING`,
      [p.subscriptionId, p.periodIndex, p.customerId, p.planId, p.periodStartMs, p.periodEndMs, p.invoiceId, p.grantId, p.closed ? 1 : 0],
    );
    return changed === 1;
  }

  async updatePeriod(p: PeriodRecord): Promise<void> {
    await this.c.run(`UPDATE subscription_periods SET invoice_id = ?, grant_id = ?, closed = ? WHERE subscription_id = ? AND period_index = ?`,
      [p.invoiceId, p.grantId, p.closed ? 1 : 0, p.subscriptionId, p.periodIndex]);
  }

  async periods(subscriptionId: string): Promise<PeriodRecord[]> {
    return (await this.c.query(`SELECT * FROM subscription_periods WHERE subscription_id = ? ORDER BY period_index`, [subscriptionId])).map(toPeriod);
  }

  async allPeriods(): Promise<PeriodRecord[]> {
    return (await this.c.query(`SELECT * FROM subscription_periods ORDER BY subscription_id, period_index`)).map(toPeriod);
  }

  async insertInvoice(inv: InvoiceRecord): Promise<void> {
    await this.c.run(
      `INSERT INTO invoices (id, customer_id, subscription_id, plan_id, kind, period_start, period_end, currency, status, total, amount_paid,
        amount_refunded, amount_charged_back, provider, provider_invoice_id, finalized_at, paid_at, voided_at, metadata, created_at,
        balance_applied, credit_note_id, due_at, past_due_at, dunning_step, next_attempt_at, uncollectible_at, test_clock_id)
        VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,${customerClock})`,
      [inv.id, inv.customerId, inv.subscriptionId, inv.planId, inv.kind, inv.periodStartMs, inv.periodEndMs, inv.currency, inv.status,
        inv.totalMinor, inv.amountPaidMinor, inv.amountRefundedMinor, inv.amountChargedBackMinor, inv.provider, inv.providerInvoiceId,
        inv.finalizedAtMs, inv.paidAtMs, inv.voidedAtMs, JSON.stringify(inv.metadata), inv.createdAtMs, inv.balanceAppliedMinor, inv.creditNoteId,
        inv.dueAtMs, inv.pastDueAtMs, inv.dunningStep, inv.nextAttemptAtMs, inv.uncollectibleAtMs, inv.customerId],
    );
    await insertRows(this.c, 'invoice_lines',
      ['id', 'invoice_id', 'customer_id', 'seq', 'type', 'description', 'quantity', 'unit_amount', 'amount', 'period_start', 'period_end', 'refs'],
      inv.lines.map((l) => [l.id, l.invoiceId, l.customerId, l.seq, l.type, l.description, l.quantity, l.unitAmount, l.amountMinor,
        l.periodStartMs, l.periodEndMs, JSON.stringify(l.refs)]));
  }

  /**
   * Money fields and status only: a finalized invoice's lines never change. The provider link is
   * not written here: only `StripeQueries.linkInvoice` sets it, and a push links an invoice
   * without the customer's lock, so a state written from a read made before the link (due work
   * marking the invoice past due, say) must not put the link back to null.
   */
  async updateInvoiceState(inv: InvoiceRecord): Promise<void> {
    await this.c.run(
      `UPDATE invoices SET status = ?, amount_paid = ?, amount_refunded = ?, amount_charged_back = ?,
        paid_at = ?, voided_at = ?, balance_applied = ?, credit_note_id = ?, past_due_at = ?, dunning_step = ?, next_attempt_at = ?,
        uncollectible_at = ? WHERE id = ?`,
      [inv.status, inv.amountPaidMinor, inv.amountRefundedMinor, inv.amountChargedBackMinor, inv.paidAtMs,
        inv.voidedAtMs, inv.balanceAppliedMinor, inv.creditNoteId, inv.pastDueAtMs, inv.dunningStep, inv.nextAttemptAtMs, inv.uncollectibleAtMs, inv.id],
    );
  }

  async invoice(id: string): Promise<InvoiceRecord | null> {
    const rows = await this.c.query(`SELECT * FROM invoices WHERE id = ? OR provider_invoice_id = ?`, [id, id]);
    if (!rows[0]) return null;
    const [inv] = await this.withLines([toInvoice(rows[0])]);
    return inv!;
  }

  async listInvoices(filter: { customerId?: string | null; subscriptionId?: string; periodStartMs?: number }, page: PageRequest): Promise<Page<InvoiceRecord>> {
    const conditions: string[] = [];
    const params: (string | number)[] = [];
    if (filter.customerId) { conditions.push('customer_id = ?'); params.push(filter.customerId); }
    if (filter.subscriptionId) { conditions.push('subscription_id = ?'); params.push(filter.subscriptionId); }
    if (filter.periodStartMs !== undefined) { conditions.push('period_start = ?'); params.push(filter.periodStartMs); }
    const result = await pageQuery(this.c, 'invoices', conditions.join(' AND '), params, page, toInvoice);
    return { ...result, data: await this.withLines(result.data) };
  }

  async invoicesBetween(fromMs: number, toMs: number, customerId?: string): Promise<InvoiceRecord[]> {
    const rows = await this.c.query(
      `SELECT * FROM invoices WHERE created_at >= ? AND created_at < ?${customerId ? ' AND customer_id = ?' : ''} ORDER BY id`,
      customerId ? [fromMs, toMs, customerId] : [fromMs, toMs],
    );
    return this.withLines(rows.map(toInvoice));
  }

  private async withLines(invoices: InvoiceRecord[]): Promise<InvoiceRecord[]> {
    const lines = await queryInChunks(this.c, invoices.map((i) => i.id), (list) => `SELECT * FROM invoice_lines WHERE invoice_id IN ${list} ORDER BY invoice_id, seq`);
    const byInvoice = new Map<string, InvoiceLineRecord[]>();
    for (const row of lines) {
      const line = toLine(row);
      const list = byInvoice.get(line.invoiceId) ?? [];
      list.push(line);
      byInvoice.set(line.invoiceId, list);
    }
    for (const inv of invoices) inv.lines = byInvoice.get(inv.id) ?? [];
    return invoices;
  }

  /**
   * The invoice that charged the subscription's fee for the instant `atMs`, with the line that
   * charged it: the latest `subscription_fee` or `proration_charge` line of the period starting
   * at `periodStartMs` that covers it (a plan change's charge replaces the fee from its instant
   * on). With what its charges (positive lines) sum to, so that a change or cancellation credits
   * only what the fee kept of them. Null when no line charged it.
   */
  async feeInvoice(subscriptionId: string, periodStartMs: number, atMs: number): Promise<FeeCharge | null> {
    const rows = await this.c.query(
      `SELECT i.id, i.status, l.amount AS charge,
          (SELECT SUM(p.amount) FROM invoice_lines p WHERE p.invoice_id = i.id AND p.amount > 0) AS charges
        FROM invoices i JOIN invoice_lines l ON l.invoice_id = i.id
        WHERE i.subscription_id = ? AND i.period_start >= ? AND l.type IN ('subscription_fee', 'proration_charge')
          AND l.period_start <= ? AND l.period_end > ?
        ORDER BY l.period_start DESC, i.created_at DESC, i.id DESC LIMIT 1`,
      [subscriptionId, periodStartMs, atMs, atMs],
    );
    const r = rows[0];
    if (!r) return null;
    return {
      invoiceId: r.id as string, status: r.status as InvoiceStatus, chargeMinor: big(r.charge), chargesMinor: big(r.charges ?? 0),
    };
  }

  /**
   * The proration credits that credited the unused time of invoice `feeInvoiceId`'s fee (a later
   * change or cancellation of its subscription, PRODUCT §7): each credit line, whose refs name the
   * invoice it credits (`fee_invoice`), with its invoice's status and the credit note its excess
   * became, if any. A cancellation's final invoice starts where the period does, before a plan
   * change's invoice that it credits: it is found by its end.
   */
  async creditsOfFee(subscriptionId: string, periodStartMs: number, feeInvoiceId: string): Promise<FeeCredit[]> {
    const rows = await this.c.query(
      `SELECT l.id, l.invoice_id, l.amount, l.refs, i.status, n.id AS note_id, n.amount AS note_amount
        FROM invoices i JOIN invoice_lines l ON l.invoice_id = i.id LEFT JOIN credit_notes n ON n.invoice_line_id = l.id AND n.source = 'proration'
        WHERE i.subscription_id = ? AND (i.period_start >= ? OR i.period_end > ?) AND l.type = 'proration_credit' ORDER BY i.id`,
      [subscriptionId, periodStartMs, periodStartMs],
    );
    return rows.filter((r) => json<Record<string, string>>(r.refs).fee_invoice === feeInvoiceId).map((r) => ({
      lineId: r.id as string, invoiceId: r.invoice_id as string, invoiceStatus: r.status as InvoiceStatus, amountMinor: big(r.amount),
      creditNoteId: strOrNull(r.note_id), noteMinor: r.note_amount === null || r.note_amount === undefined ? 0n : big(r.note_amount),
    }));
  }

  /** The customer's invoices in a currency that still expect money (open or uncollectible, something left to pay), oldest first, at most `limit`. */
  async unpaidInvoiceIds(customerId: string, currency: string, limit: number): Promise<string[]> {
    const rows = await this.c.query(
      `SELECT id FROM invoices WHERE customer_id = ? AND currency = ? AND status IN ('open', 'uncollectible') AND amount_paid < total ORDER BY id LIMIT ?`,
      [customerId, currency, limit],
    );
    return rows.map((r) => r.id as string);
  }

  /**
   * The earliest period start of the overage lines of the subscription's invoices voided since
   * `sinceMs`: the overage a void gave back, which the subscription's next invoice bills again
   * however old its period (null when none).
   */
  async voidedOverageSince(subscriptionId: string, sinceMs: number): Promise<number | null> {
    const [row] = await this.c.query(
      `SELECT MIN(l.period_start) AS start FROM invoices i JOIN invoice_lines l ON l.invoice_id = i.id
        WHERE i.subscription_id = ? AND i.status = 'void' AND i.voided_at >= ? AND l.type = 'overage'`,
      [subscriptionId, sinceMs],
    );
    return row?.start === null || row?.start === undefined ? null : num(row.start);
  }

  /** Overage lines already invoiced for a subscription period (to bill only what is new). */
  async overageBilled(subscriptionId: string, periodStartMs: number): Promise<bigint> {
    const rows = await this.c.query(
      `SELECT l.quantity FROM invoices i JOIN invoice_lines l ON l.invoice_id = i.id
        WHERE i.subscription_id = ? AND l.type = 'overage' AND l.period_start = ? AND i.status <> 'void'`,
      [subscriptionId, periodStartMs],
    );
    let total = 0n;
    for (const r of rows) total += decimalToMicro(r.quantity as string);
    return total;
  }

  async insertPayment(p: PaymentRecord): Promise<void> {
    await this.c.run(`INSERT INTO payments (id, invoice_id, customer_id, amount, currency, provider, provider_payment_id, method, created_at) VALUES (?,?,?,?,?,?,?,?,?)`,
      [p.id, p.invoiceId, p.customerId, p.amountMinor, p.currency, p.provider, p.providerPaymentId, p.method, p.createdAtMs]);
  }

  async payments(invoiceId: string): Promise<PaymentRecord[]> {
    const rows = await this.c.query(`SELECT * FROM payments WHERE invoice_id = ? ORDER BY id`, [invoiceId]);
    return rows.map((r) => ({
      id: r.id as string, invoiceId: r.invoice_id as string, customerId: r.customer_id as string, amountMinor: big(r.amount),
      currency: r.currency as string, provider: strOrNull(r.provider), providerPaymentId: strOrNull(r.provider_payment_id),
      method: (r.method as string | null) ?? 'manual', createdAtMs: num(r.created_at),
    }));
  }

  /**
   * Overage consumed by usage in a window: the sum of usage transactions' entries on `overage`.
   * Read from running totals kept by `LedgerQueries.post`: the daily ones (`overage_days`) of every
   * UTC day the hours the window touches cover whole, the hourly ones (`overage_hours`) of the
   * other hours it touches (at most 23 at each end), less the entries of the first and last hour
   * that fall outside it: before its start in the first hour, and from its end in the last, which
   * for a window ending now holds only usage stamped ahead of the clock. So the cost follows the
   * number of days in the window and the usage of at most two hours outside it, not the usage
   * inside it.
   */
  async overageConsumed(customerId: string, fromMs: number, toMs: number): Promise<bigint> {
    if (toMs <= fromMs) return 0n;
    const rows = await this.c.query(`SELECT ${overageColumns('?', this.c.dialect)}`, overageParams(this.c.dialect, customerId, fromMs, toMs));
    return overageUsed(rows[0]!);
  }

  /**
   * The overage a customer's usage took in a window and no settlement gave back yet, per effective
   * time (earliest first, only times with some left): the `overage` entries of usage charges (in the
   * time index, found by id, and posted on their event's row, as `overageColumns` reads them) and
   * of `overage_settlement` transactions, which are effective at the time of the usage they settle.
   * Read by a renewal for its new period's first minutes (`settleOverage`), where there is at most
   * what the customer used between the period's start and the renewal.
   */
  async overageByTime(customerId: string, fromMs: number, toMs: number): Promise<{ atMs: number; creditsMicro: bigint }[]> {
    if (toMs <= fromMs) return [];
    const d = this.c.dialect;
    const byId = usageByIdTimeParams(fromMs, toMs);
    const postings = postingsOf(d, '?');
    const named: Record<string, SqlValue> = { customer: customerId, from: byId[0]!, to: byId[2]! };
    const rows = await this.c.query(
      `SELECT x.at, SUM(x.amount) AS amount FROM (
          SELECT t.effective_at AS at, e.amount FROM ledger_transactions t JOIN ledger_entries e ON e.txn_id = t.id
            WHERE t.customer_id = ? AND t.kind IN ${overageTakenKinds} AND ${effectiveIndexedTxn('t')} AND e.account = 'overage' AND t.effective_at >= ? AND t.effective_at < ?
          UNION ALL
          SELECT t.effective_at AS at, e.amount FROM ledger_transactions t JOIN ledger_entries e ON e.txn_id = t.id
            WHERE t.customer_id = ? AND ${usageByIdTime('t')} AND e.account = 'overage'
          UNION ALL
          SELECT u.timestamp AS at, ${entryAmount(d, 'j')} AS amount FROM usage_events u ${postingEntries(d, 'u', 'j')}
            WHERE ${postings.sql} AND ${postingsByIdTime('u')} AND ${entryAccount(d, 'j')} = 'overage'
        ) x GROUP BY x.at HAVING SUM(x.amount) < 0 ORDER BY x.at`,
      [customerId, fromMs, toMs, customerId, ...byId, ...postings.params.map((name) => named[name as string]!), ...byId],
    );
    return rows.map((r) => ({ atMs: num(r.at), creditsMicro: -big(r.amount) }));
  }
}

/**
 * `overageConsumed`'s sums as columns of a statement, for the customer `customer` (a placeholder,
 * or a column of the statement): the whole days' totals, the totals of the hours before the first
 * whole day and from the end of the last, and the entries before the window's start in its first
 * hour and from its end in its last. `overageParams` binds them; `overageUsed` reads them. The
 * window must not be empty. `dialect` is the statement's (the entries of a posting on its event's
 * row are read from its JSON).
 */
export function overageColumns(customer: string, dialect: Dialect): string {
  // A window's usage charges: those in the time index, those found by id (migration 56), and
  // those posted on their event's row, found by the customer's positions (migration 58).
  const entriesIn = `(SELECT COALESCE(SUM(e.amount), 0) FROM ledger_transactions t JOIN ledger_entries e ON e.txn_id = t.id
        WHERE t.customer_id = ${customer} AND t.kind IN ${overageTakenKinds} AND ${effectiveIndexedTxn('t')} AND e.account = 'overage' AND t.effective_at >= ? AND t.effective_at < ?)
      + (SELECT COALESCE(SUM(e.amount), 0) FROM ledger_transactions t JOIN ledger_entries e ON e.txn_id = t.id
        WHERE t.customer_id = ${customer} AND ${usageByIdTime('t')} AND e.account = 'overage')
      + (SELECT COALESCE(SUM(${entryAmount(dialect, 'j')}), 0) FROM usage_events u ${postingEntries(dialect, 'u', 'j')}
        WHERE ${postingsOf(dialect, customer).sql} AND ${postingsByIdTime('u')} AND ${entryAccount(dialect, 'j')} = 'overage')`;
  const hoursIn = `SELECT COALESCE(SUM(h.credits), 0) FROM overage_hours h WHERE h.customer_id = ${customer} AND h.hour_start >= ? AND h.hour_start < ?`;
  return `(SELECT COALESCE(SUM(d.credits), 0) FROM overage_days d WHERE d.customer_id = ${customer} AND d.day_start >= ? AND d.day_start < ?) AS overage_days,
        (${hoursIn}) AS overage_hours_before, (${hoursIn}) AS overage_hours_after,
        (${entriesIn}) AS overage_before_start, (${entriesIn}) AS overage_from_end`;
}

/**
 * The condition on `u` that finds `customer`'s events (a placeholder, or a column) in a window of
 * positions, for `overageColumns`. Its parameters are names, which `overageParams` replaces with
 * values: `customer` (only for a placeholder), `from` and `to` (the window's ids).
 */
function postingsOf(dialect: Dialect, customer: string): Bound {
  return ofCustomer(dialect, 'u', customer === '?' ? valuePart('customer') : sqlPart(customer), { from: valuePart('from'), to: valuePart('to') });
}

/**
 * The parameters of `overageColumns` for a window; with `customerId`, also the customer before each
 * sum. The hours the window touches, [first hour, end hour), are split into the whole UTC days
 * they cover and the hours at either side; with no whole day among them, all are the hours before
 * (the days' range and the hours after are then empty).
 */
export function overageParams(dialect: Dialect, customerId: string | null, fromMs: number, toMs: number): SqlValue[] {
  const firstHourMs = Math.floor(fromMs / overageHourMs) * overageHourMs;
  const endHourMs = Math.floor((toMs - 1) / overageHourMs) * overageHourMs + overageHourMs;
  let firstDayMs = Math.ceil(firstHourMs / overageDayMs) * overageDayMs;
  let endDayMs = Math.floor(endHourMs / overageDayMs) * overageDayMs;
  if (endDayMs <= firstDayMs) firstDayMs = endDayMs = endHourMs;
  const totals: [number, number][] = [[firstDayMs, endDayMs], [firstHourMs, firstDayMs], [endDayMs, endHourMs]];
  const entries: [number, number][] = [[firstHourMs, fromMs], [toMs, endHourMs]];
  const who = customerId === null ? [] : [customerId];
  return [
    ...totals.flatMap((range) => [...who, ...range]),
    // Each entries' sum reads the time index, then the charges found by id, then the postings on
    // their event's row (the same window of ids, as positions).
    ...entries.flatMap(([from, to]) => {
      const byId = usageByIdTimeParams(from, to);
      const named: Record<string, SqlValue> = { customer: customerId, from: byId[0]!, to: byId[2]! };
      // Without `customerId` the statement names the customer by a column, which binds nothing.
      const postings = postingsOf(dialect, customerId === null ? 'column' : '?').params.map((name) => named[name as string]!);
      return [...who, from, to, ...who, ...byId, ...postings, ...byId];
    }),
  ];
}

/** The overage `overageColumns` read: the days' and hours' totals less the entries outside the window (negative on `overage`). */
export function overageUsed(r: SqlRow): bigint {
  return big(r.overage_days) + big(r.overage_hours_before) + big(r.overage_hours_after) + big(r.overage_before_start) + big(r.overage_from_end);
}

/** Invoice line quantities are decimal strings of credits; back to micro-credits for sums. */
function decimalToMicro(text: string): bigint {
  const parsed = parseDecimal(text, 6, { allowNegative: true });
  return parsed.ok ? parsed.value : 0n;
}
