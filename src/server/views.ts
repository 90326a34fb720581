import { formatCredits, formatDecimal, quantityScale } from '../core/decimal.ts';
import type { UsageSeries } from '../engine/usage-series.ts';
import { minorToJson } from '../core/money.ts';
import { rateToWire } from '../core/rating.ts';
import { formatTimestamp } from '../core/time.ts';
import { errorBody } from './errors.ts';
import { RequestRefused } from './request-guards.ts';
import type { Balance } from '../core/balance.ts';
import { isGrantFrozen } from '../core/burn-down.ts';
import type {
  ApiKeyRecord, CustomerRecord, DomainEventRecord, GrantRecord, HoldRecord, MeterRecord, StoredTransaction, TestClockRecord, UsageEventRecord,
} from '../store/records.ts';

/** Records in their wire form: decimal strings for credits, RFC 3339 for times, snake_case keys. */
const ts = (ms: number | null): string | null => (ms === null ? null : formatTimestamp(ms));

export const customerView = (c: CustomerRecord) => ({
  id: c.id,
  object: 'customer',
  external_id: c.externalId,
  name: c.name,
  email: c.email,
  currency: c.currency,
  test_clock: c.testClockId,
  overage: c.overageEnabled,
  low_balance_threshold: c.lowBalanceThresholdMicro === null ? null : formatCredits(c.lowBalanceThresholdMicro),
  auto_top_up: c.autoTopUp === null ? null : {
    threshold: formatCredits(c.autoTopUp.thresholdMicro),
    credits: formatCredits(c.autoTopUp.creditsMicro),
    amount: minorToJson(c.autoTopUp.amountMinor),
    armed: c.topUpArmed,
  },
  net_days: c.netDays,
  metadata: c.metadata,
  provider: c.provider ?? null,
  provider_customer_id: c.providerCustomerId ?? null,
  created_at: ts(c.createdAtMs),
});

export const testClockView = (c: TestClockRecord) => ({
  id: c.id, object: 'test_clock', name: c.name, frozen_time: ts(c.frozenTimeMs), created_at: ts(c.createdAtMs),
  status: c.advancingToMs !== null && c.advancingToMs !== undefined ? 'advancing' : (c.advanceError ?? null) !== null ? 'internal_failure' : 'ready',
  advancing_to: c.advancingToMs === null || c.advancingToMs === undefined ? null : ts(c.advancingToMs),
  failure: c.advanceError === null || c.advanceError === undefined ? null : { message: c.advanceError, failed_at: ts(c.advanceFailedAtMs!) },
});

export const meterView = (m: MeterRecord) => ({
  id: m.id,
  object: 'meter',
  code: m.code,
  name: m.name,
  event_type: m.eventType,
  filter: m.filter,
  aggregation: m.aggregation,
  value_property: m.valueProperty,
  rate: rateToWire(m.rate),
  created_at: ts(m.createdAtMs),
});

/** `nowMs` is the customer's now, to say whether the grant is frozen at this moment. */
export const grantView = (g: GrantRecord, nowMs?: number) => ({
  id: g.id,
  object: 'grant',
  customer: g.customerId,
  credits: formatCredits(g.creditsMicro),
  remaining: formatCredits(g.remainingMicro),
  category: g.category,
  source: g.source,
  priority: g.priority,
  status: g.status,
  effective_at: ts(g.effectiveAtMs),
  expires_at: ts(g.expiresAtMs),
  invoice: g.invoiceId,
  invoice_line: g.invoiceLineId,
  subscription: g.subscriptionId,
  cost_basis: g.costAmountMinor === null ? null : { amount: minorToJson(g.costAmountMinor), currency: g.costCurrency },
  closed_at: ts(g.closedAtMs),
  close_reason: g.closeReason,
  frozen: nowMs === undefined ? false : g.status === 'active' && isGrantFrozen(g, nowMs),
  frozen_from: ts(g.frozenFromMs),
  unfrozen_at: ts(g.unfrozenAtMs),
  metadata: g.metadata,
  created_at: ts(g.createdAtMs),
});

export const balanceView = (customer: CustomerRecord, b: Balance, nowMs: number) => ({
  object: 'balance',
  customer: customer.id,
  as_of: ts(nowMs),
  available: formatCredits(b.availableMicro),
  paid: formatCredits(b.paidMicro),
  promotional: formatCredits(b.promotionalMicro),
  overage: formatCredits(b.overageMicro),
  debt: formatCredits(b.debtMicro),
  held: formatCredits(b.heldMicro),
  frozen: formatCredits(b.frozenMicro),
  grants: [...b.grants.map((g) => ({ g, frozen: false })), ...b.frozenGrants.map((g) => ({ g, frozen: true }))].map(({ g, frozen }) => ({
    id: g.id,
    remaining: formatCredits(g.remainingMicro),
    category: g.category,
    priority: g.priority,
    expires_at: ts(g.expiresAtMs),
    frozen,
  })),
});

export const holdView = (h: HoldRecord) => ({
  id: h.id,
  object: 'hold',
  customer: h.customerId,
  credits: formatCredits(h.creditsMicro),
  held: formatCredits(h.status === 'active' ? h.heldMicro : 0n),
  status: h.status,
  expires_at: ts(h.expiresAtMs),
  event: h.eventId,
  captured: h.capturedCreditsMicro === null ? null : formatCredits(h.capturedCreditsMicro),
  metadata: h.metadata,
  created_at: ts(h.createdAtMs),
  closed_at: ts(h.closedAtMs),
});

export const transactionView = (t: StoredTransaction) => ({
  id: t.id,
  object: 'ledger_transaction',
  customer: t.customerId,
  kind: t.kind,
  cause: { type: t.causeType, id: t.causeId },
  refs: t.refs,
  effective_at: ts(t.effectiveAtMs),
  created_at: ts(t.createdAtMs),
  entries: t.entries.map((e) => ({ account: e.account, amount: formatCredits(e.amountMicro) })),
});

export const usageEventView = (e: UsageEventRecord, txn: StoredTransaction | null) => ({
  id: e.id,
  object: 'usage_event',
  customer: e.customerId,
  type: e.type,
  timestamp: ts(e.timestampMs),
  properties: JSON.parse(e.properties) as unknown,
  credits: formatCredits(e.creditsMicro),
  rating: e.rating,
  ...(txn ? paymentOf(txn) : {}),
  transaction: txn ? transactionView(txn) : e.txnId,
  recorded_at: ts(e.recordedAtMs),
});

/**
 * Who paid for a usage charge, read back from its ledger transaction in the shape the ingest reply
 * used: the hold and grants in burn-down order (entries keep their order), then overage or debt.
 */
function paymentOf(txn: StoredTransaction) {
  const paidBy = txn.entries
    .filter((e) => e.amountMicro < 0n && (e.account.startsWith('grant:') || e.account.startsWith('hold:')))
    .map((e) => ({ grant: e.account.slice(e.account.indexOf(':') + 1), credits: formatCredits(-e.amountMicro) }));
  const beyond = (account: string) => -(txn.entries.find((e) => e.account === account)?.amountMicro ?? 0n);
  return { paid_by: paidBy, overage: formatCredits(beyond('overage')), debt: formatCredits(beyond('debt')) };
}

export const domainEventView = (e: DomainEventRecord) => ({ id: e.id, object: 'event', type: e.type, customer: e.customerId, data: e.payload, created_at: ts(e.createdAtMs) });

export const apiKeyView = (k: ApiKeyRecord) => ({
  id: k.id,
  object: 'api_key',
  name: k.name,
  scopes: k.scopes,
  customer: k.customerId,
  created_at: ts(k.createdAtMs),
  revoked_at: ts(k.revokedAtMs),
});

/**
 * A page as the API shows it. A `starting_after` that names no record of the list (with its
 * filters) is refused, as a field at fault, rather than read as a position: a misspelt cursor
 * or one of another list would otherwise answer an empty or arbitrary page that looks like the
 * end of the list.
 */
export function listView<T, V>(page: { data: T[]; hasMore: boolean; cursorUnknown?: true }, view: (t: T) => V, idOf: (t: T) => string) {
  if (page.cursorUnknown) throw unknownCursorRefusal();
  const last = page.data[page.data.length - 1];
  return { object: 'list', data: page.data.map(view), has_more: page.hasMore, next_cursor: page.hasMore && last ? idOf(last) : null };
}

/** A usage series: amounts as exact decimal strings, times as RFC 3339. */
export const usageSeriesView = (v: UsageSeries) => ({
  object: 'usage_series' as const,
  customer: v.customer.id,
  meter: v.meter,
  interval: v.window.interval,
  from: formatTimestamp(v.window.fromMs),
  to: formatTimestamp(v.window.toMs),
  credits: formatCredits(v.series.reduce((total, s) => total + s.creditsMicro, 0n)),
  series: v.series.map((s) => ({
    meter: s.meter,
    quantity: formatDecimal(s.quantityMicro, quantityScale),
    credits: formatCredits(s.creditsMicro),
    data: s.points.map((p) => ({ start: formatTimestamp(p.startMs), quantity: formatDecimal(p.quantityMicro, quantityScale), credits: formatCredits(p.creditsMicro) })),
  })),
});

/** `400 validation_failed` on `starting_after`, code `cursor_not_found`. */
export function unknownCursorRefusal(): RequestRefused {
  const message = 'starting_after names no record of this list; pass a next_cursor this list returned.';
  return new RequestRefused(400, errorBody({ code: 'validation_failed', message: `starting_after: ${message}`, fields: [{ field: 'starting_after', code: 'cursor_not_found', message }] }));
}
