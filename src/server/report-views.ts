import { formatCredits } from '../core/decimal.ts';
import { moneyToWire } from '../core/money.ts';
import { formatTimestamp } from '../core/time.ts';
import type { Reconciliation } from '../core/reconciliation.ts';
import type { ReportName, Reports } from '../engine/reports.ts';

/**
 * Reports in their wire form: money as integers of minor units, credits as decimal strings, times
 * as RFC 3339. Every report is `{rows, totals}`; its CSV form is the `rows` table, one header row
 * and one line per row, so a spreadsheet sums it to the totals.
 */
const ts = (ms: number | null): string | null => (ms === null ? null : formatTimestamp(ms));
const minor = (amount: bigint): number => moneyToWire({ amountMinor: amount, currency: '' }).amount;
const count = (n: bigint): number => Number(n);

/** Line types shown as columns of the revenue report, in invoice order; others follow. */
const lineTypes = ['subscription_fee', 'proration_credit', 'proration_charge', 'overage', 'credit_purchase', 'adjustment'];

type View = { rows: Record<string, unknown>[]; totals: unknown };

const views: { [K in ReportName]: (r: Reports[K]) => View } = {
  revenue: (r) => ({
    rows: r.rows.map((row) => ({
      currency: row.currency, plan: row.planId, plan_code: row.planCode, plan_version: row.planVersion,
      period_start: ts(row.periodStartMs), period_end: ts(row.periodEndMs), invoices: count(row.invoices),
      invoiced: minor(row.invoicedMinor), paid: minor(row.paidMinor), refunded: minor(row.refundedMinor),
      charged_back: minor(row.chargedBackMinor), credit_notes: minor(row.creditNotesMinor), net: minor(row.netMinor),
      lines: Object.fromEntries([...new Set([...lineTypes, ...Object.keys(row.lines)])].map((type) => [type, minor(row.lines[type] ?? 0n)])),
    })),
    totals: r.totals.map((t) => ({
      currency: t.currency, invoices: count(t.invoices), invoiced: minor(t.invoicedMinor), paid: minor(t.paidMinor),
      refunded: minor(t.refundedMinor), charged_back: minor(t.chargedBackMinor), credit_notes: minor(t.creditNotesMinor), net: minor(t.netMinor),
    })),
  }),
  usage: (r) => ({
    rows: r.rows.map((row) => ({
      plan: row.planId, plan_code: row.planCode, plan_version: row.planVersion, meter: row.meter, credits: formatCredits(row.creditsMicro), transactions: count(row.transactions),
    })),
    totals: r.totals.map((t) => ({ meter: t.meter, credits: formatCredits(t.creditsMicro), transactions: count(t.transactions) })),
  }),
  overage: (r) => ({
    rows: r.rows.map((row) => ({
      currency: row.currency, plan: row.planId, plan_code: row.planCode, plan_version: row.planVersion, period_start: ts(row.periodStartMs),
      period_end: ts(row.periodEndMs), lines: count(row.lines), credits: formatCredits(row.creditsMicro), amount: minor(row.amountMinor),
    })),
    totals: r.totals.map((t) => ({ currency: t.currency, credits: formatCredits(t.creditsMicro), amount: minor(t.amountMinor) })),
  }),
  refunds: (r) => ({
    rows: r.rows.map((row) => ({
      id: row.id, kind: row.kind, customer: row.customerId, invoice: row.invoiceId, created_at: ts(row.createdAtMs), currency: row.currency,
      amount: minor(row.amountMinor), credit_policy: row.creditPolicy, status: row.status, credits_granted: formatCredits(row.creditsGrantedMicro),
      credits_target: formatCredits(row.creditsTargetMicro), credits_revoked: formatCredits(row.creditsRevokedMicro),
      credits_shortfall: formatCredits(row.creditsShortfallMicro), shortfall: row.shortfallHandling, transaction: row.txnId, restore_transaction: row.restoreTxnId,
    })),
    totals: r.totals.map((t) => ({
      kind: t.kind, credit_policy: t.creditPolicy, currency: t.currency, count: count(t.count), amount: minor(t.amountMinor), won: minor(t.wonMinor),
      credits_revoked: formatCredits(t.creditsRevokedMicro), credits_to_debt: formatCredits(t.creditsToDebtMicro),
      credits_written_off: formatCredits(t.creditsWrittenOffMicro), credits_restored: formatCredits(t.creditsRestoredMicro),
    })),
  }),
  promotional: (r) => ({
    rows: r.rows.map((row) => ({
      source: row.source, grants: count(row.grants), credits_granted: formatCredits(row.issuedMicro), credits_consumed: formatCredits(row.consumedMicro),
      credits_expired: formatCredits(row.expiredMicro), credits_revoked: formatCredits(row.revokedMicro),
    })),
    totals: { credits_consumed: formatCredits(r.totals.consumedMicro), all_credits_consumed: formatCredits(r.totals.totalConsumedMicro) },
  }),
  deferred_revenue: (r) => ({
    rows: r.rows.map((row) => ({
      grant: row.id, customer: row.customerId, invoice: row.invoiceId, currency: row.currency, credits: formatCredits(row.creditsMicro), cost: minor(row.costMinor),
      credits_consumed: formatCredits(row.closing.consumedMicro + row.closing.transferredMicro), credits_expired: formatCredits(row.closing.expiredMicro),
      credits_revoked: formatCredits(row.closing.revokedMicro), credits_unspent: formatCredits(row.closing.remainingMicro + row.closing.heldMicro),
      opening_deferred: minor(row.openingDeferredMinor), purchased: minor(row.purchasedMinor), recognized: minor(row.recognizedMinor),
      breakage: minor(row.breakageMinor), revoked: minor(row.revokedMinor), closing_deferred: minor(row.closingDeferredMinor),
    })),
    totals: r.totals.map((t) => ({
      currency: t.currency, opening_deferred: minor(t.openingDeferredMinor), purchased: minor(t.purchasedMinor), recognized: minor(t.recognizedMinor),
      breakage: minor(t.breakageMinor), revoked: minor(t.revokedMinor), closing_deferred: minor(t.closingDeferredMinor),
    })),
  }),
  credit_notes: (r) => ({
    rows: r.rows.map((row) => ({
      id: row.id, customer: row.customerId, created_at: ts(row.createdAtMs), currency: row.currency, amount: minor(row.amountMinor), source: row.source,
      reason: row.reason, refundable: row.refundable, invoice: row.invoiceId, refund: row.refundId,
    })),
    totals: r.totals.map((t) => ({
      currency: t.currency, opening_balance: minor(t.openingMinor), issued: minor(t.issuedMinor), applied: minor(t.appliedMinor),
      paid_out: minor(t.refundedMinor), reversed: minor(t.reversedMinor), closing_balance: minor(t.closingMinor),
    })),
  }),
  aging: (r) => ({
    rows: r.rows.map((row) => ({
      invoice: row.id, customer: row.customerId, currency: row.currency, due_at: ts(row.dueAtMs), days_past_due: row.daysPastDue,
      bucket: row.bucket, amount_due: minor(row.amountMinor),
    })),
    totals: r.totals.map((t) => ({
      currency: t.currency, '0-30': minor(t['0-30']), '31-60': minor(t['31-60']), '61-90': minor(t['61-90']), '90+': minor(t['90+']), total: minor(t.totalMinor),
    })),
  }),
};

export function reportView<N extends ReportName>(name: N, report: Reports[N]) {
  const view = views[name](report);
  return {
    object: 'report',
    report: name,
    from: ts(report.filter.from),
    to: ts(report.filter.to),
    customer: report.filter.customerId,
    rows: view.rows,
    totals: view.totals,
  };
}

/** Nested objects (the revenue report's `lines`) become `parent.child` columns. */
function flatten(row: Record<string, unknown>, prefix = ''): [string, unknown][] {
  return Object.entries(row).flatMap(([key, value]) =>
    value !== null && typeof value === 'object' ? flatten(value as Record<string, unknown>, `${prefix}${key}.`) : [[`${prefix}${key}`, value] as [string, unknown]]);
}

function csvCell(value: unknown): string {
  if (value === null || value === undefined) return '';
  const text = String(value);
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** RFC 4180 CSV of a report's rows: a header row (the union of columns, in first-seen order), CRLF line ends. */
export function rowsToCsv(rows: readonly Record<string, unknown>[], emptyHeader: readonly string[] = []): string {
  const flat = rows.map((r) => new Map(flatten(r)));
  const columns: string[] = [];
  for (const row of flat) for (const key of row.keys()) if (!columns.includes(key)) columns.push(key);
  const header = columns.length ? columns : [...emptyHeader];
  return [header.map(csvCell).join(','), ...flat.map((row) => header.map((c) => csvCell(row.get(c))).join(','))].join('\r\n') + '\r\n';
}

/** The columns of each report, for the header of an empty CSV. */
export const reportColumns: { [K in ReportName]: string[] } = {
  revenue: ['currency', 'plan', 'plan_code', 'plan_version', 'period_start', 'period_end', 'invoices', 'invoiced', 'paid', 'refunded', 'charged_back', 'credit_notes', 'net', ...lineTypes.map((t) => `lines.${t}`)],
  usage: ['plan', 'plan_code', 'plan_version', 'meter', 'credits', 'transactions'],
  overage: ['currency', 'plan', 'plan_code', 'plan_version', 'period_start', 'period_end', 'lines', 'credits', 'amount'],
  refunds: ['id', 'kind', 'customer', 'invoice', 'created_at', 'currency', 'amount', 'credit_policy', 'status', 'credits_granted', 'credits_target',
    'credits_revoked', 'credits_shortfall', 'shortfall', 'transaction', 'restore_transaction'],
  promotional: ['source', 'grants', 'credits_granted', 'credits_consumed', 'credits_expired', 'credits_revoked'],
  deferred_revenue: ['grant', 'customer', 'invoice', 'currency', 'credits', 'cost', 'credits_consumed', 'credits_expired', 'credits_revoked', 'credits_unspent',
    'opening_deferred', 'purchased', 'recognized', 'breakage', 'revoked', 'closing_deferred'],
  credit_notes: ['id', 'customer', 'created_at', 'currency', 'amount', 'source', 'reason', 'refundable', 'invoice', 'refund'],
  aging: ['invoice', 'customer', 'currency', 'due_at', 'days_past_due', 'bucket', 'amount_due'],
};

export function reportCsv<N extends ReportName>(name: N, report: Reports[N]): string {
  return rowsToCsv(views[name](report).rows, reportColumns[name]);
}

export const reconciliationView = (r: Reconciliation) => ({
  object: 'reconciliation',
  ok: r.ok,
  checks: r.checks,
  discrepancies: r.discrepancies,
});
