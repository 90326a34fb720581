/**
 * Unpaid invoices (PRODUCT §14) as arithmetic on instants: when the next dunning retry runs, when
 * credits bought by an unpaid invoice freeze, and which aging bucket a past-due invoice is in.
 */
export const dayMs = 24 * 60 * 60 * 1000;

/**
 * The instant of retry number `step` (0-based) of an invoice that went past due at `pastDueAtMs`:
 * each wait in `retryDays` follows the previous retry (1, 3, 5, 7 → days 1, 4, 9 and 16). Null
 * when every retry has been made.
 */
export function retryAtMs(pastDueAtMs: number, retryDays: readonly number[], step: number): number | null {
  if (step >= retryDays.length) return null;
  let at = pastDueAtMs;
  for (let i = 0; i <= step; i++) at += retryDays[i]! * dayMs;
  return at;
}

/** Credits bought by an invoice stop paying once it is unpaid this long past its due date. */
export function freezeFromMs(dueAtMs: number, graceMs: number | null): number | null {
  return graceMs === null ? null : dueAtMs + graceMs;
}

export type AgingBucket = '0-30' | '31-60' | '61-90' | '90+';
export const agingBuckets: readonly AgingBucket[] = ['0-30', '31-60', '61-90', '90+'];

/** Whole days past the due date, in the usual 0–30, 31–60, 61–90 and 90+ buckets. */
export function agingBucket(dueAtMs: number, nowMs: number): AgingBucket {
  const days = Math.floor(Math.max(0, nowMs - dueAtMs) / dayMs);
  if (days <= 30) return '0-30';
  if (days <= 60) return '31-60';
  if (days <= 90) return '61-90';
  return '90+';
}

export interface AgingInvoice {
  id: string;
  customerId: string;
  currency: string;
  dueAtMs: number;
  amountMinor: bigint;
}

/** Past-due money per currency and bucket, as of each invoice's customer's now. */
export function agingReport(invoices: readonly AgingInvoice[], nowOf: (customerId: string) => number) {
  const rows = invoices.map((i) => ({ ...i, daysPastDue: Math.floor(Math.max(0, nowOf(i.customerId) - i.dueAtMs) / dayMs), bucket: agingBucket(i.dueAtMs, nowOf(i.customerId)) }));
  const totals = new Map<string, Record<AgingBucket, bigint> & { currency: string; totalMinor: bigint }>();
  for (const r of rows) {
    const t = totals.get(r.currency) ?? { currency: r.currency, '0-30': 0n, '31-60': 0n, '61-90': 0n, '90+': 0n, totalMinor: 0n };
    t[r.bucket] += r.amountMinor;
    t.totalMinor += r.amountMinor;
    totals.set(r.currency, t);
  }
  return { rows, totals: [...totals.values()].sort((a, b) => (a.currency < b.currency ? -1 : 1)) };
}
