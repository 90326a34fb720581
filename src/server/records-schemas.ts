import { Type, type TObject, type TProperties } from '@sinclair/typebox';
import { ErrorSchema, List, Nullable } from './openapi.ts';
import { CreditNote, MoneyAmount, MoneyBalance } from './credit-note-schemas.ts';
import { WebhookDelivery, WebhookEndpoint } from './webhook-schemas.ts';
import { promotionComponents, ReferralClawBack } from './promotion-schemas.ts';

/**
 * Reply schemas of the records (components.schemas of the OpenAPI document). Each matches its view
 * in views.ts / billing-views.ts key for key: Fastify serializes replies with these schemas, and
 * the test servers check every reply against them, so a view that drifts fails the suite.
 */
const record = <P extends TProperties>(id: string, description: string, properties: P, example?: Record<string, unknown>): TObject<P> =>
  Type.Object(properties, { $id: id, additionalProperties: false, description, ...(example ? { examples: [example] } : {}) });

const Id = (description: string) => Type.String({ description });
const Credits = Type.String({ description: 'Credits as an exact decimal string (up to 6 fraction digits).', examples: ['1500', '12.5'] });
const Minor = Type.Integer({ description: 'Integer count of minor units of the currency (cents for USD).', examples: [4900] });
const Time = Type.String({ format: 'date-time', description: 'RFC 3339 date-time in UTC.', examples: ['2026-05-01T00:00:00.000Z'] });
const NullableTime = Nullable(Time);
const NullableString = Nullable(Type.String());
const Strings = Type.Record(Type.String(), Type.String());
const Metadata = Type.Record(Type.String(), Type.String(), { description: 'Your key-value pairs, returned as given.' });
const Anything = Type.Record(Type.String(), Type.Unknown());

export const Rate = Type.Union([
  Type.Object({ model: Type.Literal('per_unit'), credits_per_unit: Type.String() }, { additionalProperties: false }),
  Type.Object({
    model: Type.Literal('graduated'),
    tiers: Type.Array(Type.Object({ up_to: Type.Union([Type.Number(), Type.String(), Type.Null()]), credits_per_unit: Type.String() }, { additionalProperties: false })),
  }, { additionalProperties: false }),
  Type.Object({ model: Type.Literal('package'), package_size: Type.Union([Type.Number(), Type.String()]), credits_per_package: Type.String() }, { additionalProperties: false }),
], { $id: 'Rate', description: 'How a meter prices its quantity: per unit, graduated tiers, or packages.' });

export const Customer = record('Customer', 'A customer: holds credits, pays invoices.', {
  id: Id('cus_…'),
  object: Type.Literal('customer'),
  external_id: Nullable(Type.String({ description: 'Your id for this customer; usable wherever a customer id is.' })),
  name: NullableString,
  email: NullableString,
  currency: Type.String({ description: 'ISO 4217 code of its invoices.' }),
  test_clock: NullableString,
  overage: Type.Boolean({ description: 'Consumption beyond grants goes to overage (billed) when true, to debt when false.' }),
  low_balance_threshold: Nullable(Credits),
  auto_top_up: Nullable(Type.Object({
    threshold: Credits,
    credits: Credits,
    amount: Minor,
    armed: Type.Boolean({ description: 'False after a top-up until the balance rises above the threshold again.' }),
  }, { additionalProperties: false })),
  net_days: Type.Integer({ description: 'Payment terms: invoices are due this many days after finalization (0: on finalization).' }),
  metadata: Metadata,
  provider: Nullable(Type.String({ description: 'The payment provider the customer is linked to (`stripe`), once its first invoice was pushed.' })),
  provider_customer_id: Nullable(Type.String({ description: 'The customer\'s id at the provider (`cus_…` in Stripe).' })),
  created_at: Time,
  money_balance: Type.Optional(Type.Array(MoneyAmount, { description: 'Credit notes left to apply, per currency; when the customer is fetched alone.' })),
}, { id: 'cus_01J0Z3', object: 'customer', external_id: 'acme', name: 'Acme Inc.', email: 'billing@acme.test', currency: 'USD', test_clock: null, overage: false, low_balance_threshold: null, auto_top_up: null, net_days: 0, metadata: {}, provider: null, provider_customer_id: null, created_at: '2026-05-01T00:00:00.000Z' });

export const Meter = record('Meter', 'A meter: which usage events it counts, how it aggregates them, and their price in credits.', {
  id: Id('mtr_…'),
  object: Type.Literal('meter'),
  code: Type.String(),
  name: NullableString,
  event_type: Type.String(),
  filter: Anything,
  aggregation: Type.Union([Type.Literal('count'), Type.Literal('sum'), Type.Literal('max'), Type.Literal('unique_count')]),
  value_property: NullableString,
  rate: Type.Ref(Rate),
  created_at: Time,
});

export const Grant = record('Grant', 'A block of credits: its category, priority, expiry and what remains of it.', {
  id: Id('grt_…'),
  object: Type.Literal('grant'),
  customer: Type.String(),
  credits: Credits,
  remaining: Credits,
  category: Type.Union([Type.Literal('paid'), Type.Literal('promotional')]),
  source: Type.String({ description: 'purchase, promotion, referral, adjustment, subscription, rollover…' }),
  priority: Type.Integer({ description: 'Lower burns first.' }),
  status: Type.String({ description: 'pending (not yet effective or unpaid), active, depleted, expired or voided.' }),
  effective_at: Time,
  expires_at: NullableTime,
  invoice: NullableString,
  invoice_line: NullableString,
  subscription: NullableString,
  cost_basis: Nullable(Type.Object({ amount: Minor, currency: Type.String() }, { additionalProperties: false })),
  closed_at: NullableTime,
  close_reason: NullableString,
  frozen: Type.Boolean({ description: 'Not usable now: the invoice that bought it is unpaid past the grace period.' }),
  frozen_from: { ...NullableTime, description: 'From when the grant stops paying while its invoice stays unpaid.' },
  unfrozen_at: { ...NullableTime, description: 'When its invoice was paid, ending the freeze.' },
  metadata: Metadata,
  created_at: Time,
}, { id: 'grt_01J0Z4', object: 'grant', customer: 'cus_01J0Z3', credits: '1000', remaining: '750.5', category: 'paid', source: 'purchase', priority: 50, status: 'active', effective_at: '2026-05-01T00:00:00.000Z', expires_at: '2027-05-01T00:00:00.000Z', invoice: null, invoice_line: null, subscription: null, cost_basis: null, closed_at: null, close_reason: null, frozen: false, frozen_from: null, unfrozen_at: null, metadata: {}, created_at: '2026-05-01T00:00:00.000Z' });

export const Balance = record('Balance', 'The exact balance now, with the grants that make it up in burn-down order.', {
  object: Type.Literal('balance'),
  customer: Type.String(),
  as_of: Time,
  available: { ...Credits, description: 'What the customer can spend now: usable grants minus holds.' },
  paid: Credits,
  promotional: Credits,
  overage: { ...Credits, description: 'Consumed beyond grants, to be billed.' },
  debt: { ...Credits, description: 'Owed credits, settled from the next credits that arrive.' },
  held: { ...Credits, description: 'Reserved by active holds.' },
  frozen: { ...Credits, description: 'In grants frozen because the invoice that bought them is unpaid past the grace period: shown, not usable.' },
  money_balance: Type.Array(MoneyAmount, { description: 'Money (not credits) the customer holds as credit notes, per currency.' }),
  grants: Type.Array(Type.Object({
    id: Type.String(),
    remaining: Credits,
    category: Type.Union([Type.Literal('paid'), Type.Literal('promotional')]),
    priority: Type.Integer(),
    expires_at: NullableTime,
    frozen: Type.Boolean(),
  }, { additionalProperties: false })),
}, { object: 'balance', customer: 'cus_01J0Z3', as_of: '2026-05-02T00:00:00.000Z', available: '750.5', paid: '750.5', promotional: '0', overage: '0', debt: '0', held: '0', frozen: '0', money_balance: [], grants: [{ id: 'grt_01J0Z4', remaining: '750.5', category: 'paid', priority: 50, expires_at: null, frozen: false }] });

export const Authorization = record('Authorization', 'Whether the customer may consume now, or for an event stamped at another time, then (as ingestion would pay it: `available` is what the grants live then can pay); nothing is written.', {
  allowed: Type.Boolean(),
  available: Credits,
  cost: Credits,
  reason: NullableString,
}, { allowed: true, available: '750.5', cost: '2.5', reason: null });

export const Hold = record('Hold', 'Credits reserved for a long job.', {
  id: Id('hld_…'),
  object: Type.Literal('hold'),
  customer: Type.String(),
  credits: Credits,
  held: Type.String({ description: 'Credits it reserves now: its credits, less what a refund, a chargeback, the expiry or void of the grant that gave them, or the void of its invoice, took back while it was active; 0 once closed.', examples: ['40'] }),
  status: Type.String({ description: 'active, captured, released or expired.' }),
  expires_at: Time,
  event: NullableString,
  captured: Nullable(Credits),
  metadata: Metadata,
  created_at: Time,
  closed_at: NullableTime,
});

const PaidBy = Type.Array(Type.Object({ grant: Type.String({ description: 'The grant (or hold) that paid.' }), credits: Credits }, { additionalProperties: false }), { description: 'Who paid, in burn-down order.' });

export const UsageEventResult = record('UsageEventResult', 'The outcome of one ingested event: accepted (charged), duplicate (already recorded) or rejected (with its error).', {
  id: Type.String(),
  status: Type.Union([Type.Literal('accepted'), Type.Literal('duplicate'), Type.Literal('rejected')]),
  credits: Type.Optional(Credits),
  paid_by: Type.Optional(PaidBy),
  overage: Type.Optional(Credits),
  debt: Type.Optional(Credits),
  error: Type.Optional(Type.Object({ code: Type.String(), message: Type.String(), field: Type.Optional(Type.String()) }, { additionalProperties: false })),
}, { id: 'evt_123', status: 'accepted', credits: '2.5', paid_by: [{ grant: 'grt_01J0Z4', credits: '2.5' }], overage: '0', debt: '0' });

export const LedgerTransaction = record('LedgerTransaction', 'A balanced ledger transaction: its entries sum to zero, and it names its cause.', {
  id: Id('txn_…'),
  object: Type.Literal('ledger_transaction'),
  customer: Type.String(),
  kind: Type.String({ description: 'grant, usage, expiry, void, refund, chargeback, hold, …' }),
  cause: Type.Object({ type: Type.String(), id: Type.String() }, { additionalProperties: false, description: 'What made this change: a usage event, a grant, an invoice, a refund…' }),
  refs: Strings,
  effective_at: Time,
  created_at: Time,
  entries: Type.Array(Type.Object({ account: Type.String(), amount: Credits }, { additionalProperties: false })),
});

export const UsageEvent = record('UsageEvent', 'A recorded usage event with its rating per meter and the payment of its charge.', {
  id: Type.String(),
  object: Type.Literal('usage_event'),
  customer: Type.String(),
  type: Type.String(),
  timestamp: Time,
  properties: Anything,
  credits: Credits,
  rating: Type.Array(Type.Object({ meter: Type.String(), quantity: Type.String(), credits: Credits }, { additionalProperties: false })),
  paid_by: Type.Optional(PaidBy),
  overage: Type.Optional(Credits),
  debt: Type.Optional(Credits),
  transaction: Type.Union([Type.Ref(LedgerTransaction), Type.String(), Type.Null()], { description: 'The charge: the full transaction when fetched alone, its id in lists.' }),
  recorded_at: Time,
});

export const DomainEvent = record('DomainEvent', 'A typed state change, recorded in the transaction that made it.', {
  id: Type.String(),
  object: Type.Literal('event'),
  type: Type.String({ examples: ['grant.created'] }),
  customer: NullableString,
  data: Type.Unknown(),
  created_at: Time,
});

export const ApiKey = record('ApiKey', 'An API key (its secret is shown once, at creation).', {
  id: Type.String(),
  object: Type.Literal('api_key'),
  name: NullableString,
  scopes: Type.Array(Type.String()),
  customer: Nullable(Type.String({ description: 'The customer a portal token is bound to.' })),
  created_at: Time,
  revoked_at: NullableTime,
});

export const TestClock = record('TestClock', 'Simulated time for the customers attached to it.', {
  id: Type.String(),
  object: Type.Literal('test_clock'),
  name: NullableString,
  frozen_time: Time,
  created_at: Time,
  status: Type.Union([Type.Literal('advancing'), Type.Literal('ready'), Type.Literal('internal_failure')], {
    description: 'advancing while an advance runs as a job; ready once everything due up to its target has run; internal_failure when the due work of the last advance threw (see failure): frozen_time is where it got to, and the next advance runs on from there.',
  }),
  advancing_to: NullableTime,
  failure: Nullable(Type.Object({
    message: Type.String({ description: 'The error the due work threw.' }),
    failed_at: Time,
  }, { additionalProperties: false, description: 'Why the last advance failed (status internal_failure); null otherwise.' })),
});

export const Plan = record('Plan', 'A plan version.', {
  id: Type.String(),
  object: Type.Literal('plan'),
  code: Type.String(),
  version: Type.Integer(),
  name: Type.String(),
  currency: Type.String(),
  interval: Type.Union([Type.Literal('month'), Type.Literal('year')]),
  amount: Minor,
  included_credits: Credits,
  rollover: Nullable(Type.Object({ max_credits: Credits }, { additionalProperties: false })),
  overage: Nullable(Type.Object({ unit_amount_per_credit: Type.String(), limit_credits: Nullable(Credits) }, { additionalProperties: false })),
  rates: Type.Record(Type.String(), Type.Ref(Rate)),
  subscribed: Type.Boolean(),
  created_at: Time,
});

export const Subscription = record('Subscription', 'A customer on a plan, with its current period.', {
  id: Type.String(),
  object: Type.Literal('subscription'),
  customer: Type.String(),
  plan: Type.String(),
  status: Type.String({ description: 'scheduled, active, past_due, canceled or ended.' }),
  start_at: Time,
  current_period: Nullable(Type.Object({ index: Type.Integer(), start: NullableTime, end: NullableTime }, { additionalProperties: false })),
  pending_plan: NullableString,
  cancel_at_period_end: Type.Boolean(),
  canceled_at: NullableTime,
  ended_at: NullableTime,
  past_due_at: { ...NullableTime, description: 'When it last went past due (an invoice unpaid past its due date).' },
  metadata: Metadata,
  created_at: Time,
});

export const SubscriptionDetail = Type.Composite([Subscription, Type.Object({
  timeline: Type.Array(Type.Object({ plan: Type.String(), start_at: Time, end_at: NullableTime, reason: Type.String() }, { additionalProperties: false })),
  periods: Type.Array(Type.Object({
    index: Type.Integer(), plan: Type.String(), start: Time, end: Time, invoice: NullableString, grant: NullableString,
  }, { additionalProperties: false })),
})], { $id: 'SubscriptionDetail', additionalProperties: false, description: 'A subscription with its plan timeline and its periods.' });

export const InvoiceLine = Type.Object({
  id: Type.String(),
  type: Type.String({ description: 'subscription_fee, proration_credit, proration_charge, overage, credit_purchase, adjustment.' }),
  description: Type.String(),
  quantity: Type.String(),
  unit_amount: Type.String({ description: 'Minor units per unit, as a decimal string.' }),
  amount: Minor,
  period_start: Time,
  period_end: Time,
  refs: Strings,
}, { $id: 'InvoiceLine', additionalProperties: false });

export const Invoice = record('Invoice', 'An invoice with its lines and what was paid, refunded and charged back.', {
  id: Type.String(),
  object: Type.Literal('invoice'),
  customer: Type.String(),
  subscription: NullableString,
  plan: NullableString,
  kind: Type.Union([Type.Literal('subscription'), Type.Literal('proration'), Type.Literal('purchase'), Type.Literal('final'), Type.Literal('correction')], {
    description: "`subscription`: a period's fee in advance and overage in arrears; `proration`: a mid-period change; `purchase`: credits bought; "
      + "`final`: a subscription's end; `correction`: late overage of an ended subscription's periods, billed once no more of it can arrive (35 days after the five minutes past the end that the ended subscription still owns).",
  }),
  period_start: NullableTime,
  period_end: NullableTime,
  currency: Type.String(),
  status: Type.Union([Type.Literal('draft'), Type.Literal('open'), Type.Literal('paid'), Type.Literal('void'), Type.Literal('uncollectible')]),
  lines: Type.Array(Type.Ref(InvoiceLine)),
  subtotal: { ...Minor, description: 'The sum of the lines.' },
  total: Minor,
  balance_applied: { ...Minor, description: "Paid from the customer's money balance (credit notes) at finalization." },
  amount_due: { ...Minor, description: 'Total less the balance applied.' },
  amount_remaining: { ...Minor, description: 'Still to pay while open or uncollectible (an uncollectible invoice can still be paid); 0 when paid or void.' },
  credit_note: NullableString,
  due_at: { ...NullableTime, description: "Finalization plus the customer's payment terms (net_days)." },
  past_due: Type.Boolean({ description: 'Open and past due: its due date passed or a payment attempt failed.' }),
  past_due_at: NullableTime,
  next_payment_attempt: { ...NullableTime, description: 'When the next dunning retry runs.' },
  uncollectible_at: NullableTime,
  amount_paid: Minor,
  amount_refunded: Minor,
  amount_charged_back: Minor,
  provider: NullableString,
  provider_invoice_id: NullableString,
  finalized_at: NullableTime,
  paid_at: NullableTime,
  voided_at: NullableTime,
  created_at: Time,
});

export const Payment = record('Payment', 'Money received on an invoice.', {
  id: Type.String(),
  object: Type.Literal('payment'),
  invoice: Type.String(),
  customer: Type.String(),
  amount: Minor,
  currency: Type.String(),
  provider: NullableString,
  provider_payment_id: NullableString,
  method: Type.String({ description: 'How it was paid: by the provider, or from the money balance (`balance`).' }),
  created_at: Time,
});

export const InvoiceDetail = Type.Composite([Invoice, Type.Object({ payments: Type.Array(Type.Ref(Payment)) })],
  { $id: 'InvoiceDetail', additionalProperties: false, description: 'An invoice with its payments.' });

export const PaymentResult = record('PaymentResult', 'The payment recorded, with the invoice as it now stands.', {
  ...Payment.properties,
  invoice: Type.Ref(Invoice),
});

export const Purchase = record('Purchase', 'A credit purchase: its invoice, and the paid grant it activates once paid.', {
  invoice: Type.Ref(Invoice),
  grant: Type.Ref(Grant),
});

const returnProperties = (kind: 'refund' | 'chargeback') => ({
  id: Type.String(),
  object: Type.Literal(kind),
  customer: Type.String(),
  invoice: Type.String(),
  amount: Minor,
  currency: Type.String(),
  reason: Type.String(),
  credit_policy: Type.Union([Type.Literal('proportional'), Type.Literal('full'), Type.Literal('unused_only'), Type.Literal('none')]),
  credits_granted: { ...Credits, description: 'Credits the invoice granted.' },
  credits_revoked: { ...Credits, description: 'Credits taken back from the grants.' },
  credits_shortfall: { ...Credits, description: 'Credits the policy asked for that were already spent.' },
  shortfall: Type.Union([Type.Literal('debt'), Type.Literal('write_off')]),
  status: Type.String(),
  transaction: NullableString,
  restore_transaction: NullableString,
  created_at: Time,
  closed_at: NullableTime,
  referral_claw_backs: Type.Array(Type.Ref(ReferralClawBack), { description: 'Referral rewards of this invoice taken back with its money (PRODUCT §15).' }),
});

export const Refund = record('Refund', 'Money returned on an invoice, and the credits clawed back by its policy.', {
  ...returnProperties('refund'),
  to: Type.Union([Type.Literal('cash'), Type.Literal('balance')], { description: '`balance` keeps the money as a credit note, refundable unless a note that is not refundable (goodwill) paid for it.' }),
  credit_note: NullableString,
});
export const Chargeback = record('Chargeback', 'A disputed payment: credits clawed back, restored if won.', {
  ...returnProperties('chargeback'),
  credit_notes_reversed: { ...Minor, description: 'Minor units taken back of credit notes that had credited the fee of its invoice back (a cancellation\'s or downgrade\'s unused time): what the chargeback returns beyond what the invoice kept, from what was left of them. Restored if won.' },
  credit_notes_shortfall: { ...Minor, description: 'What the chargeback returns beyond what the invoice kept that those notes no longer held (applied to invoices or paid out already).' },
});

export const Report = record('Report', 'A finance report: rows and totals (the CSV form is the rows table).', {
  object: Type.Literal('report'),
  report: Type.String({ examples: ['revenue'] }),
  from: NullableTime,
  to: NullableTime,
  customer: NullableString,
  rows: Type.Array(Anything),
  totals: Type.Unknown({ description: 'Totals per currency (or per meter, kind…), or one object for the promotional report.' }),
});

export const Reconciliation = record('Reconciliation', 'Every check, and every discrepancy with the ids of the records it names.', {
  object: Type.Literal('reconciliation'),
  ok: Type.Boolean(),
  checks: Type.Array(Type.Object({ name: Type.String(), ok: Type.Boolean() }, { additionalProperties: false })),
  discrepancies: Type.Array(Type.Object({ check: Type.String(), message: Type.String(), ids: Type.Array(Type.String()) }, { additionalProperties: false })),
}, { object: 'reconciliation', ok: true, checks: [{ name: 'transactions_balance', ok: true }], discrepancies: [] });

const Decimal = Type.String({ description: 'An exact decimal string (up to 6 fraction digits).', examples: ['1500', '0.25'] });
const SeriesPoint = Type.Object({
  start: Time,
  quantity: { ...Decimal, description: 'The quantity the meter counted in this bucket.' },
  credits: { ...Credits, description: 'The credits the meter charged in this bucket.' },
}, { additionalProperties: false });

export const UsageSeries = record('UsageSeries', "A customer's consumption per meter and per UTC hour or day: every bucket of the window, zeros included.", {
  object: Type.Literal('usage_series'),
  customer: Type.String(),
  meter: Nullable(Type.String({ description: 'The meter asked for (its code), or null: every meter used in the window.' })),
  interval: Type.Union([Type.Literal('hour'), Type.Literal('day')]),
  from: { ...Time, description: 'The first bucket\'s start: `from` rounded down to the hour or day (UTC).' },
  to: { ...Time, description: 'The last bucket\'s end: `to` rounded up to the hour or day (UTC).' },
  credits: { ...Credits, description: 'All credits charged in the window, over the meters shown.' },
  series: Type.Array(Type.Object({
    meter: Type.String({ description: 'The meter code.' }),
    quantity: { ...Decimal, description: 'The quantity counted in the window.' },
    credits: { ...Credits, description: 'The credits charged in the window.' },
    data: Type.Array(SeriesPoint, { description: 'One point per bucket, oldest first.' }),
  }, { additionalProperties: false }), { description: 'One series per meter, by code.' }),
}, {
  object: 'usage_series', customer: 'cus_01JD8Q0000000000000000', meter: null, interval: 'day', from: '2026-05-01T00:00:00Z', to: '2026-05-03T00:00:00Z', credits: '4.5',
  series: [{ meter: 'llm_tokens', quantity: '2250', credits: '4.5', data: [{ start: '2026-05-01T00:00:00Z', quantity: '1500', credits: '3' }, { start: '2026-05-02T00:00:00Z', quantity: '750', credits: '1.5' }] }],
});

const previewWrites = {
  ledger_transactions: Type.Array(Type.Ref(LedgerTransaction), { description: 'The ledger transactions the call would post (ids are provisional).' }),
  invoices: Type.Array(Type.Ref(Invoice), { description: 'The invoices it would issue, with their lines (proration, final).' }),
  credit_notes: Type.Array(Type.Ref(CreditNote), { description: 'The credit notes it would issue.' }),
  events: Type.Array(Type.String(), { description: 'The domain event types it would record.' }),
};

export const RefundPreview = Type.Object({ object: Type.Literal('refund_preview'), refund: Type.Ref(Refund), ...previewWrites },
  { $id: 'RefundPreview', additionalProperties: false, description: 'What POST /v1/refunds would do with the same body, computed by running it and rolling it back: nothing is stored.' });
export const SubscriptionPreview = Type.Object({ object: Type.Literal('subscription_preview'), subscription: Type.Ref(Subscription), ...previewWrites },
  { $id: 'SubscriptionPreview', additionalProperties: false, description: 'What the change or cancellation would do, computed by running it and rolling it back: nothing is stored.' });

/** Every shared schema, registered with Fastify (for serialization) and emitted as components. */
export const components = [
  ErrorSchema, Rate, Customer, Meter, Grant, Balance, Authorization, Hold, UsageEventResult, LedgerTransaction, UsageEvent, DomainEvent,
  ApiKey, TestClock, Plan, Subscription, SubscriptionDetail, InvoiceLine, Invoice, Payment, InvoiceDetail, PaymentResult, Purchase,
  ...promotionComponents, Refund, Chargeback, Report, Reconciliation, CreditNote, MoneyBalance, WebhookEndpoint, WebhookDelivery, RefundPreview, SubscriptionPreview,
  UsageSeries,
];

export { List };
