import { formatCredits, formatDecimal } from '../core/decimal.ts';
import { minorToJson } from '../core/money.ts';
import { amountDueMinor } from '../core/customer-balance.ts';
import { overagePriceScale } from '../core/plans.ts';
import { rateToWire } from '../core/rating.ts';
import { formatTimestamp } from '../core/time.ts';
import type { PlanRecord } from '../store/queries/billing.ts';
import type { InvoiceRecord, PaymentRecord, SubscriptionRecord } from '../store/records.ts';

const ts = (ms: number | null): string | null => (ms === null ? null : formatTimestamp(ms));

export const planView = (p: PlanRecord) => ({
  id: p.id,
  object: 'plan',
  code: p.code,
  version: p.version,
  name: p.name,
  currency: p.currency,
  interval: p.interval,
  amount: minorToJson(p.amountMinor),
  included_credits: formatCredits(p.includedCreditsMicro),
  rollover: p.rolloverMaxMicro === null ? null : { max_credits: formatCredits(p.rolloverMaxMicro) },
  overage: p.overageUnitScaled === null ? null : {
    unit_amount_per_credit: formatDecimal(p.overageUnitScaled, overagePriceScale),
    limit_credits: p.overageLimitMicro === null ? null : formatCredits(p.overageLimitMicro),
  },
  rates: Object.fromEntries(Object.entries(p.rates).map(([k, v]) => [k, rateToWire(v)])),
  subscribed: p.subscribed,
  created_at: ts(p.createdAtMs),
});

export const subscriptionView = (s: SubscriptionRecord) => ({
  id: s.id,
  object: 'subscription',
  customer: s.customerId,
  plan: s.planId,
  status: s.status,
  start_at: ts(s.anchorAtMs),
  current_period: s.periodIndex < 0 ? null : { index: s.periodIndex, start: ts(s.periodStartMs), end: ts(s.periodEndMs) },
  pending_plan: s.pendingPlanId,
  cancel_at_period_end: s.cancelAtPeriodEnd,
  canceled_at: ts(s.canceledAtMs),
  ended_at: ts(s.endedAtMs),
  past_due_at: ts(s.pastDueAtMs),
  metadata: s.metadata,
  created_at: ts(s.createdAtMs),
});

export const invoiceView = (i: InvoiceRecord) => ({
  id: i.id,
  object: 'invoice',
  customer: i.customerId,
  subscription: i.subscriptionId,
  plan: i.planId,
  kind: i.kind,
  period_start: ts(i.periodStartMs),
  period_end: ts(i.periodEndMs),
  currency: i.currency,
  status: i.status,
  lines: i.lines.map((l) => ({
    id: l.id,
    type: l.type,
    description: l.description,
    quantity: l.quantity,
    unit_amount: l.unitAmount,
    amount: minorToJson(l.amountMinor),
    period_start: ts(l.periodStartMs),
    period_end: ts(l.periodEndMs),
    refs: l.refs,
  })),
  subtotal: minorToJson(i.totalMinor),
  total: minorToJson(i.totalMinor),
  balance_applied: minorToJson(i.balanceAppliedMinor),
  amount_due: minorToJson(amountDueMinor(i.totalMinor, i.balanceAppliedMinor)),
  amount_remaining: minorToJson(i.status === 'open' || i.status === 'uncollectible' ? i.totalMinor - i.amountPaidMinor : 0n),
  credit_note: i.creditNoteId,
  due_at: ts(i.dueAtMs),
  past_due: i.status === 'open' && i.pastDueAtMs !== null,
  past_due_at: ts(i.pastDueAtMs),
  next_payment_attempt: ts(i.nextAttemptAtMs),
  uncollectible_at: ts(i.uncollectibleAtMs),
  amount_paid: minorToJson(i.amountPaidMinor),
  amount_refunded: minorToJson(i.amountRefundedMinor),
  amount_charged_back: minorToJson(i.amountChargedBackMinor),
  provider: i.provider,
  provider_invoice_id: i.providerInvoiceId,
  finalized_at: ts(i.finalizedAtMs),
  paid_at: ts(i.paidAtMs),
  voided_at: ts(i.voidedAtMs),
  created_at: ts(i.createdAtMs),
});

export const paymentView = (p: PaymentRecord) => ({
  id: p.id,
  object: 'payment',
  invoice: p.invoiceId,
  customer: p.customerId,
  amount: minorToJson(p.amountMinor),
  currency: p.currency,
  provider: p.provider,
  provider_payment_id: p.providerPaymentId,
  method: p.method,
  created_at: ts(p.createdAtMs),
});
