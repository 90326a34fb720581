import type { LedgerEntry } from '../core/ledger.ts';
import type { Rate } from '../core/rating.ts';
import type { LineDraft } from '../core/plans.ts';

/** The rows the engine reads and writes, already mapped to domain types (bigint amounts, ms times). */
export type Metadata = Record<string, string>;

export interface CustomerRecord {
  id: string;
  externalId: string | null;
  name: string | null;
  email: string | null;
  currency: string;
  testClockId: string | null;
  overageEnabled: boolean;
  lowBalanceThresholdMicro: bigint | null;
  belowThreshold: boolean;
  depleted: boolean;
  autoTopUp: AutoTopUp | null;
  topUpArmed: boolean;
  /**
   * When its credits are next to be checked against its auto top-up threshold (null: no check to
   * come), as read: due work checks then, buys if below, and clears it (migration 65). Written only
   * by `CustomerQueries.checkTopUpAt`, `clearTopUpCheck` and `setTopUpArmed`, never by `update`.
   */
  topUpCheckAtMs: number | null;
  /** Payment terms: invoices are due this many days after finalization (0: on finalization). */
  netDays: number;
  metadata: Metadata;
  createdAtMs: number;
  /** The payment provider this customer is linked to (`stripe`) and its id there, once pushed. */
  provider?: string | null;
  providerCustomerId?: string | null;
}

export interface TestClockRecord {
  id: string;
  name: string | null;
  frozenTimeMs: number;
  createdAtMs: number;
  /** The target of an advance still running (the clock is `advancing`); null when it is `ready`. */
  advancingToMs?: number | null;
  /** The error of the last advance, which failed (the clock is `internal_failure`), and when; null unless. */
  advanceError?: string | null;
  advanceFailedAtMs?: number | null;
}

export type Aggregation = 'count' | 'sum' | 'max' | 'unique_count';
export type MeterFilter = Record<string, string | number | boolean>;

export interface MeterRecord {
  id: string;
  code: string;
  name: string | null;
  eventType: string;
  filter: MeterFilter;
  aggregation: Aggregation;
  valueProperty: string | null;
  rate: Rate;
  createdAtMs: number;
}

export type GrantCategory = 'paid' | 'promotional';
export type GrantStatus = 'pending' | 'active' | 'voided' | 'expired';

export interface GrantRecord {
  id: string;
  customerId: string;
  creditsMicro: bigint;
  category: GrantCategory;
  source: string;
  priority: number;
  effectiveAtMs: number;
  expiresAtMs: number | null;
  status: GrantStatus;
  invoiceId: string | null;
  invoiceLineId: string | null;
  subscriptionId: string | null;
  periodStartMs: number | null;
  costAmountMinor: bigint | null;
  costCurrency: string | null;
  closedAtMs: number | null;
  closeReason: string | null;
  metadata: Metadata;
  createdAtMs: number;
  /** The balance of the grant's ledger account: what is left of it. */
  remainingMicro: bigint;
  /** Frozen from this instant (its invoice unpaid past the grace period) until `unfrozenAtMs`. */
  frozenFromMs: number | null;
  unfrozenAtMs: number | null;
}

export type HoldStatus = 'active' | 'captured' | 'released' | 'expired';

export interface HoldRecord {
  id: string;
  customerId: string;
  creditsMicro: bigint;
  heldMicro: bigint;
  status: HoldStatus;
  expiresAtMs: number;
  eventId: string | null;
  capturedCreditsMicro: bigint | null;
  metadata: Metadata;
  createdAtMs: number;
  closedAtMs: number | null;
}

export interface RatingLine {
  meter: string;
  quantity: string;
  credits: string;
}

export interface UsageEventRecord {
  customerId: string;
  id: string;
  type: string;
  timestampMs: number;
  properties: string;
  bodyHash: string;
  creditsMicro: bigint;
  txnId: string | null;
  rating: RatingLine[];
  recordedAtMs: number;
  /**
   * The event's place among its customer's events (migration 58): its charge's transaction id, or
   * for an event charged nothing an id made the same way; ordered by time.
   */
  position: string;
  /**
   * The entries of its charge when the event's row is the charge's posting
   * (src/store/queries/event-postings.ts); null when the charge is in the ledger's tables or there is none.
   */
  entries: LedgerEntry[] | null;
}

export interface DomainEventRecord {
  id: string;
  customerId: string | null;
  type: string;
  payload: Record<string, unknown>;
  createdAtMs: number;
}

export interface ApiKeyRecord {
  id: string;
  name: string | null;
  keyHash: string;
  scopes: string[];
  customerId: string | null;
  createdAtMs: number;
  revokedAtMs: number | null;
}

export interface StoredTransaction {
  id: string;
  customerId: string;
  kind: string;
  causeType: string;
  causeId: string;
  refs: Record<string, string>;
  effectiveAtMs: number;
  createdAtMs: number;
  entries: { account: string; amountMicro: bigint }[];
}

export interface Page<T> {
  data: T[];
  hasMore: boolean;
  /**
   * Set when `startingAfter` names no record of the list (with its filters): a misspelt cursor,
   * one of another list, or a record deleted since. The page is then empty and the server refuses
   * the request rather than answer an arbitrary position in the list.
   */
  cursorUnknown?: true;
}

export interface PageRequest {
  limit: number;
  startingAfter?: string | undefined;
  /** `desc`: newest first, and `startingAfter` continues towards older ids. Default `asc`. */
  order?: 'asc' | 'desc' | undefined;
}

export interface AutoTopUp {
  thresholdMicro: bigint;
  creditsMicro: bigint;
  amountMinor: bigint;
}

export type SubscriptionStatus = 'active' | 'past_due' | 'canceled';

export interface SubscriptionRecord {
  id: string;
  customerId: string;
  planId: string;
  status: SubscriptionStatus;
  anchorAtMs: number;
  periodIndex: number;
  periodStartMs: number;
  periodEndMs: number;
  pendingPlanId: string | null;
  cancelAtPeriodEnd: boolean;
  canceledAtMs: number | null;
  endedAtMs: number | null;
  metadata: Metadata;
  createdAtMs: number;
  /** When it went past due (an invoice of it unpaid past its due date or a failed payment). */
  pastDueAtMs: number | null;
  /**
   * Once it has ended: when its closing correction falls due (the first instant no usage of its
   * periods can still be accepted, close-subscription.ts); null while it runs and once that ran.
   */
  closingDueAtMs: number | null;
}

/** One stretch of a subscription's timeline on one plan: the source of truth for "which plan, when". */
export interface PhaseRecord {
  id: string;
  subscriptionId: string;
  customerId: string;
  planId: string;
  startAtMs: number;
  endAtMs: number | null;
  reason: string;
}

/** A subscription as rating and authorization need it: which plan, from when, until when, in what state. */
export type TimelineSubscription = Pick<SubscriptionRecord, 'id' | 'customerId' | 'planId' | 'status' | 'anchorAtMs' | 'periodIndex' | 'periodStartMs' | 'endedAtMs'>;
/** A phase as rating needs it: which plan from when. */
export type TimelinePhase = Pick<PhaseRecord, 'id' | 'subscriptionId' | 'planId' | 'startAtMs'>;
/** A customer's subscriptions (by id) and their phases (by start, then id). */
export interface SubscriptionTimeline {
  subscriptions: TimelineSubscription[];
  phases: TimelinePhase[];
}

export interface PeriodRecord {
  subscriptionId: string;
  periodIndex: number;
  customerId: string;
  planId: string;
  periodStartMs: number;
  periodEndMs: number;
  invoiceId: string | null;
  grantId: string | null;
  closed: boolean;
}

export type InvoiceStatus = 'draft' | 'open' | 'paid' | 'void' | 'uncollectible';
/**
 * `final` closes a subscription that ends; `correction` bills, once no more usage can reach an
 * ended subscription's periods, the late overage that arrived after its final invoice.
 */
export type InvoiceKind = 'subscription' | 'proration' | 'purchase' | 'final' | 'correction';

/** A line as drafted by core (`LineDraft`), once stored on its invoice. */
export interface InvoiceLineRecord extends Omit<LineDraft, 'type'> {
  id: string;
  invoiceId: string;
  customerId: string;
  seq: number;
  type: string;
}

export interface InvoiceRecord {
  id: string;
  customerId: string;
  subscriptionId: string | null;
  planId: string | null;
  kind: InvoiceKind;
  periodStartMs: number | null;
  periodEndMs: number | null;
  currency: string;
  status: InvoiceStatus;
  totalMinor: bigint;
  amountPaidMinor: bigint;
  amountRefundedMinor: bigint;
  amountChargedBackMinor: bigint;
  provider: string | null;
  providerInvoiceId: string | null;
  finalizedAtMs: number | null;
  paidAtMs: number | null;
  voidedAtMs: number | null;
  metadata: Metadata;
  createdAtMs: number;
  lines: InvoiceLineRecord[];
  /** Customer balance (credit notes) applied at finalization or later; paid by `balance` payments. */
  balanceAppliedMinor: bigint;
  /** The credit note this invoice's excess became, when its lines sum below zero. */
  creditNoteId: string | null;
  /** Customer terms: finalization + net days. */
  dueAtMs: number | null;
  /** Set when a payment failed or the due date passed with money still due. */
  pastDueAtMs: number | null;
  /** Dunning: retries done so far, and when the next one runs (null: none scheduled). */
  dunningStep: number;
  nextAttemptAtMs: number | null;
  uncollectibleAtMs: number | null;
}

/** One attempt to collect an invoice: recorded by hand, by a dunning retry, or from a provider. */
export interface PaymentAttemptRecord {
  id: string;
  invoiceId: string;
  customerId: string;
  outcome: 'succeeded' | 'failed';
  failureCode: string | null;
  attempt: number;
  source: 'api' | 'dunning' | 'provider';
  paymentId: string | null;
  createdAtMs: number;
}

export interface PaymentRecord {
  id: string;
  invoiceId: string;
  customerId: string;
  amountMinor: bigint;
  currency: string;
  provider: string | null;
  providerPaymentId: string | null;
  /** `balance` when a credit note paid; `manual` or the provider's name otherwise. */
  method: string;
  createdAtMs: number;
}

export type CreditPolicy = 'proportional' | 'full' | 'unused_only' | 'none';
export type ShortfallHandling = 'debt' | 'write_off';

/** A refund or a chargeback: money returned on an invoice, and the credits clawed back for it. */
export interface ReturnRecord {
  id: string;
  kind: 'refund' | 'chargeback';
  customerId: string;
  invoiceId: string;
  amountMinor: bigint;
  currency: string;
  reason: string;
  creditPolicy: CreditPolicy;
  creditsGrantedMicro: bigint;
  creditsTargetMicro: bigint;
  creditsRevokedMicro: bigint;
  creditsShortfallMicro: bigint;
  shortfallHandling: ShortfallHandling;
  /** Refunds are `succeeded`; chargebacks are `open`, then `won` or `lost`. */
  status: 'succeeded' | 'open' | 'won' | 'lost';
  txnId: string | null;
  restoreTxnId: string | null;
  provider: string | null;
  providerRef: string | null;
  createdAtMs: number;
  closedAtMs: number | null;
  /** Refunds only: `cash` (the default) or `balance`, which issues a credit note instead. */
  destination: 'cash' | 'balance';
  creditNoteId: string | null;
  /**
   * Chargebacks only: what it took back of the credit notes that had credited the invoice's fee
   * back (their unspent part, `reversed` uses), and what it could not, already applied or paid out.
   */
  notesReversedMinor: bigint;
  notesShortfallMinor: bigint;
}

export type CreditNoteSource = 'proration' | 'refund' | 'goodwill' | 'invoice_void';

/**
 * Money owed back to a customer and kept as their balance (PRODUCT §14). `remaining` is what is
 * left to apply or pay out: `amount - amountApplied - amountRefunded`.
 */
export interface CreditNoteRecord {
  id: string;
  customerId: string;
  currency: string;
  amountMinor: bigint;
  remainingMinor: bigint;
  amountAppliedMinor: bigint;
  amountRefundedMinor: bigint;
  /** Taken back by chargebacks of the invoice whose fee the note credited, less what a won one restored. */
  amountReversedMinor: bigint;
  source: CreditNoteSource;
  reason: string;
  refundable: boolean;
  /** `open` while something remains, `closed` once all of it was applied or paid out. */
  status: 'open' | 'closed';
  invoiceId: string | null;
  invoiceLineId: string | null;
  refundId: string | null;
  metadata: Metadata;
  createdAtMs: number;
}

/**
 * One use of a credit note: applied to an invoice, paid out to the customer, or reversed by a
 * chargeback (`returnId`) of the invoice whose fee it credited, and restored when that is won.
 */
export interface CreditNoteUseRecord {
  id: string;
  creditNoteId: string;
  customerId: string;
  kind: 'applied' | 'refunded' | 'reversed' | 'restored';
  invoiceId: string | null;
  paymentId: string | null;
  returnId: string | null;
  amountMinor: bigint;
  currency: string;
  createdAtMs: number;
}

/** A product's webhook endpoint. Secrets are held sealed (encrypted), never in plaintext. */
export interface WebhookEndpointRecord {
  id: string;
  url: string;
  description: string | null;
  /** `["*"]` for every type. */
  eventTypes: string[];
  metadata: Record<string, string>;
  disabled: boolean;
  disabledReason: string | null;
  secretSealed: string;
  /** After a rotation, the old secret keeps signing alongside the new one until `previousSecretUntilMs`. */
  previousSecretSealed: string | null;
  previousSecretUntilMs: number | null;
  /** The first failed attempt since the last success; null while the endpoint is healthy. */
  failingSinceMs: number | null;
  createdAtMs: number;
  updatedAtMs: number;
}

export type WebhookDeliveryStatus = 'pending' | 'succeeded' | 'failed';

/** One domain event to send to one endpoint, with its attempts counted. */
export interface WebhookDeliveryRecord {
  id: string;
  endpointId: string;
  eventId: string;
  eventType: string;
  /** The JSON body `{type, timestamp, data}`, the same on every attempt. */
  body: string;
  status: WebhookDeliveryStatus;
  attempts: number;
  firstAttemptAtMs: number | null;
  nextAttemptAtMs: number | null;
  /** While an attempt is being sent: the time until which it belongs to the instance that claimed it. */
  claimedUntilMs: number | null;
  createdAtMs: number;
  updatedAtMs: number;
}

export interface WebhookAttemptRecord {
  deliveryId: string;
  attempt: number;
  startedAtMs: number;
  /** The HTTP status, or null when no answer came (timeout, connection refused). */
  statusCode: number | null;
  error: string | null;
  /** The first 1 KiB of the response body. */
  responseBody: string | null;
  durationMs: number;
  nextAttemptAtMs: number | null;
}
