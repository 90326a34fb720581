import { parseDecimal, creditsScale } from './decimal.ts';

/**
 * The finance reports (PRODUCT §10) as arithmetic over plain rows: the store aggregates what SQL
 * sums exactly, and this file merges, values and totals. Money is bigint minor units and credits
 * bigint micro-credits; the only rounding is the valuation of credits at cost basis, once per
 * grant and figure, half away from zero.
 */

/** A window [fromMs, toMs) of a report. */
export interface ReportWindow {
  fromMs: number;
  toMs: number;
}

// ---------------------------------------------------------------------------------------------
// Revenue by plan and period

/** What a revenue row is keyed by: the invoice's plan and period (purchases have neither). */
export interface RevenueKey {
  currency: string;
  planId: string | null;
  periodStartMs: number | null;
  periodEndMs: number | null;
}

export interface InvoicedSum extends RevenueKey {
  invoices: bigint;
  totalMinor: bigint;
}

export interface LineSum extends RevenueKey {
  type: string;
  amountMinor: bigint;
}

export interface MoneySum extends RevenueKey {
  /**
   * `credit_note`: balance given to the customer other than by a refund (goodwill, a downgrade's
   * excess, balance returned from a voided invoice). Refunds to balance are counted as refunds.
   */
  kind: 'payment' | 'refund' | 'chargeback' | 'credit_note';
  /** Chargebacks only: a won chargeback gave the money back, so it is not counted. */
  status: string | null;
  amountMinor: bigint;
}

export interface RevenueRow extends RevenueKey {
  invoices: bigint;
  invoicedMinor: bigint;
  /** Invoiced amounts by line type, so the row can be checked against the invoices line by line. */
  lines: Record<string, bigint>;
  paidMinor: bigint;
  refundedMinor: bigint;
  chargedBackMinor: bigint;
  creditNotesMinor: bigint;
  netMinor: bigint;
}

export interface RevenueTotal {
  currency: string;
  invoices: bigint;
  invoicedMinor: bigint;
  paidMinor: bigint;
  refundedMinor: bigint;
  chargedBackMinor: bigint;
  creditNotesMinor: bigint;
  netMinor: bigint;
}

const keyOf = (k: RevenueKey): string => `${k.currency}|${k.planId ?? ''}|${k.periodStartMs ?? ''}|${k.periodEndMs ?? ''}`;

/**
 * Merges invoiced sums (invoices created in the window), their lines, and the money moved in the
 * window (payments, refunds, chargebacks not won) into one row per currency, plan and period.
 * Net is paid (by money or by balance) less refunded less charged back less credit notes issued
 * (less what chargebacks not won took back of them): balance paid out of a note was counted when
 * the note was issued, so it is not counted again.
 */
export function revenueByPlanAndPeriod(invoiced: readonly InvoicedSum[], lines: readonly LineSum[], money: readonly MoneySum[]): { rows: RevenueRow[]; totals: RevenueTotal[] } {
  const rows = new Map<string, RevenueRow>();
  const rowFor = (k: RevenueKey): RevenueRow => {
    let row = rows.get(keyOf(k));
    if (!row) {
      row = { currency: k.currency, planId: k.planId, periodStartMs: k.periodStartMs, periodEndMs: k.periodEndMs, invoices: 0n, invoicedMinor: 0n,
        lines: {}, paidMinor: 0n, refundedMinor: 0n, chargedBackMinor: 0n, creditNotesMinor: 0n, netMinor: 0n };
      rows.set(keyOf(k), row);
    }
    return row;
  };
  for (const s of invoiced) {
    const row = rowFor(s);
    row.invoices += s.invoices;
    row.invoicedMinor += s.totalMinor;
  }
  for (const l of lines) {
    const row = rowFor(l);
    row.lines[l.type] = (row.lines[l.type] ?? 0n) + l.amountMinor;
  }
  for (const m of money) {
    if (m.kind === 'chargeback' && m.status === 'won') continue;
    const row = rowFor(m);
    if (m.kind === 'payment') row.paidMinor += m.amountMinor;
    else if (m.kind === 'refund') row.refundedMinor += m.amountMinor;
    else if (m.kind === 'credit_note') row.creditNotesMinor += m.amountMinor;
    else row.chargedBackMinor += m.amountMinor;
  }
  const sorted = [...rows.values()].sort(compareRevenueRows);
  const totals = new Map<string, RevenueTotal>();
  for (const row of sorted) {
    row.netMinor = row.paidMinor - row.refundedMinor - row.chargedBackMinor - row.creditNotesMinor;
    const t = totals.get(row.currency) ?? {
      currency: row.currency, invoices: 0n, invoicedMinor: 0n, paidMinor: 0n, refundedMinor: 0n, chargedBackMinor: 0n, creditNotesMinor: 0n, netMinor: 0n,
    };
    t.invoices += row.invoices;
    t.invoicedMinor += row.invoicedMinor;
    t.paidMinor += row.paidMinor;
    t.refundedMinor += row.refundedMinor;
    t.chargedBackMinor += row.chargedBackMinor;
    t.creditNotesMinor += row.creditNotesMinor;
    t.netMinor += row.netMinor;
    totals.set(row.currency, t);
  }
  return { rows: sorted, totals: [...totals.values()] };
}

function compareRevenueRows(a: RevenueRow, b: RevenueRow): number {
  if (a.currency !== b.currency) return a.currency < b.currency ? -1 : 1;
  if ((a.planId ?? '') !== (b.planId ?? '')) return (a.planId ?? '') < (b.planId ?? '') ? -1 : 1;
  return (a.periodStartMs ?? -1) - (b.periodStartMs ?? -1) || (a.periodEndMs ?? -1) - (b.periodEndMs ?? -1);
}

// ---------------------------------------------------------------------------------------------
// Usage by plan and meter

export interface UsageSum {
  planId: string | null;
  meter: string;
  creditsMicro: bigint;
  transactions: bigint;
}

/** Sorted rows and the total per meter across plans. */
export function usageByPlanAndMeter(sums: readonly UsageSum[]): { rows: UsageSum[]; totals: { meter: string; creditsMicro: bigint; transactions: bigint }[] } {
  const rows = [...sums].sort((a, b) => ((a.planId ?? '') === (b.planId ?? '') ? (a.meter < b.meter ? -1 : 1) : (a.planId ?? '') < (b.planId ?? '') ? -1 : 1));
  const totals = new Map<string, { meter: string; creditsMicro: bigint; transactions: bigint }>();
  for (const r of rows) {
    const t = totals.get(r.meter) ?? { meter: r.meter, creditsMicro: 0n, transactions: 0n };
    t.creditsMicro += r.creditsMicro;
    t.transactions += r.transactions;
    totals.set(r.meter, t);
  }
  return { rows, totals: [...totals.values()].sort((a, b) => (a.meter < b.meter ? -1 : 1)) };
}

// ---------------------------------------------------------------------------------------------
// Overage revenue

export interface OverageLine {
  currency: string;
  planId: string | null;
  periodStartMs: number;
  periodEndMs: number;
  quantity: string;
  amountMinor: bigint;
}

export interface OverageRow {
  currency: string;
  planId: string | null;
  periodStartMs: number;
  periodEndMs: number;
  lines: bigint;
  creditsMicro: bigint;
  amountMinor: bigint;
}

/** Overage lines grouped by the period they bill (not the invoice they sit on), with totals. */
export function overageRevenue(lines: readonly OverageLine[]): { rows: OverageRow[]; totals: { currency: string; creditsMicro: bigint; amountMinor: bigint }[] } {
  const rows = new Map<string, OverageRow>();
  for (const l of lines) {
    const key = `${l.currency}|${l.planId ?? ''}|${l.periodStartMs}|${l.periodEndMs}`;
    const row = rows.get(key) ?? { currency: l.currency, planId: l.planId, periodStartMs: l.periodStartMs, periodEndMs: l.periodEndMs, lines: 0n, creditsMicro: 0n, amountMinor: 0n };
    row.lines += 1n;
    row.creditsMicro += quantityMicro(l.quantity);
    row.amountMinor += l.amountMinor;
    rows.set(key, row);
  }
  const sorted = [...rows.values()].sort((a, b) => (a.currency !== b.currency ? (a.currency < b.currency ? -1 : 1) : a.periodStartMs - b.periodStartMs || ((a.planId ?? '') < (b.planId ?? '') ? -1 : 1)));
  const totals = new Map<string, { currency: string; creditsMicro: bigint; amountMinor: bigint }>();
  for (const r of sorted) {
    const t = totals.get(r.currency) ?? { currency: r.currency, creditsMicro: 0n, amountMinor: 0n };
    t.creditsMicro += r.creditsMicro;
    t.amountMinor += r.amountMinor;
    totals.set(r.currency, t);
  }
  return { rows: sorted, totals: [...totals.values()] };
}

/** Invoice line quantities are decimal strings of credits. */
export function quantityMicro(text: string): bigint {
  const parsed = parseDecimal(text, creditsScale, { allowNegative: true });
  return parsed.ok ? parsed.value : 0n;
}

// ---------------------------------------------------------------------------------------------
// Refund and chargeback impact

export interface ReturnFacts {
  id: string;
  kind: 'refund' | 'chargeback';
  currency: string;
  creditPolicy: string;
  status: string;
  amountMinor: bigint;
  creditsRevokedMicro: bigint;
  creditsShortfallMicro: bigint;
  shortfallHandling: 'debt' | 'write_off';
}

export interface ReturnImpact {
  kind: 'refund' | 'chargeback';
  creditPolicy: string;
  currency: string;
  count: bigint;
  amountMinor: bigint;
  /** Chargebacks won: money that came back, with the credits restored. */
  wonMinor: bigint;
  creditsRevokedMicro: bigint;
  creditsToDebtMicro: bigint;
  creditsWrittenOffMicro: bigint;
  creditsRestoredMicro: bigint;
}

/** Money returned against credits clawed back, per kind, policy and currency. */
export function returnImpact(records: readonly ReturnFacts[]): ReturnImpact[] {
  const rows = new Map<string, ReturnImpact>();
  for (const r of records) {
    const key = `${r.kind}|${r.creditPolicy}|${r.currency}`;
    const row = rows.get(key) ?? {
      kind: r.kind, creditPolicy: r.creditPolicy, currency: r.currency, count: 0n, amountMinor: 0n, wonMinor: 0n,
      creditsRevokedMicro: 0n, creditsToDebtMicro: 0n, creditsWrittenOffMicro: 0n, creditsRestoredMicro: 0n,
    };
    row.count += 1n;
    row.amountMinor += r.amountMinor;
    row.creditsRevokedMicro += r.creditsRevokedMicro;
    if (r.shortfallHandling === 'debt') row.creditsToDebtMicro += r.creditsShortfallMicro;
    else row.creditsWrittenOffMicro += r.creditsShortfallMicro;
    if (r.status === 'won') {
      row.wonMinor += r.amountMinor;
      row.creditsRestoredMicro += r.creditsRevokedMicro + (r.shortfallHandling === 'debt' ? r.creditsShortfallMicro : 0n);
    }
    rows.set(key, row);
  }
  return [...rows.values()].sort((a, b) => (`${a.kind}|${a.creditPolicy}|${a.currency}` < `${b.kind}|${b.creditPolicy}|${b.currency}` ? -1 : 1));
}
