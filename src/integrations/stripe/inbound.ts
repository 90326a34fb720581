import type Stripe from 'stripe';
import { fail, ok, type Outcome } from '../../core/errors.ts';
import { isPlainObject, jsonDepthExceeds } from '../../core/json.ts';
import type { StripeAction, StripeEventInput } from '../../engine/stripe-events.ts';

/** Stripe's own default: a signature older (or newer) than this is refused, which stops replays. */
export const signatureToleranceSeconds = 300;

type StripeObject = Record<string, unknown>;

/** The `stripe` package is loaded on the first webhook, so servers without Stripe never pay for it. */
let webhooks: Promise<Stripe['webhooks']> | null = null;
const stripeWebhooks = (): Promise<Stripe['webhooks']> => (webhooks ??= import('stripe').then((m) => m.default.webhooks));

/**
 * Checks the `Stripe-Signature` header over the raw bytes of the body with the `stripe` package,
 * then reads what Tally needs from the event. A missing, stale or tampered signature, or a body
 * that is not a Stripe event, is an error value: the route answers 400 and stores nothing.
 */
export async function verifyStripeEvent(rawBody: Buffer, signature: string | undefined, secret: string): Promise<Outcome<StripeEventInput>> {
  if (!signature) return fail('stripe_signature_missing', 'The Stripe-Signature header is missing.');
  const verifier = await stripeWebhooks();
  let event: Stripe.Event;
  try {
    event = verifier.constructEvent(rawBody, signature, secret, signatureToleranceSeconds);
  } catch (error) {
    const message = error instanceof Error ? error.message : 'The signature does not match.';
    return fail('stripe_signature_invalid', `The Stripe signature was refused: ${message}`);
  }
  // Stripe's objects nest a few levels; a body nested far deeper is no Stripe event (and would be
  // too deep to walk or store).
  if (jsonDepthExceeds(event, stripeEventDepthMax)) return fail('stripe_event_invalid', `The body nests deeper than ${stripeEventDepthMax} levels.`);
  // JSON writes a NUL character as `\u0000`, and PostgreSQL keeps none in text or JSON: such
  // characters are kept as U+FFFD, on both databases alike (no id of Tally's holds either).
  const raw = (rawBody.includes(nulEscape) ? withoutNul(event) : event) as unknown as StripeObject;
  const data = raw.data as StripeObject | undefined;
  const object = data?.object as StripeObject | undefined;
  if (typeof raw.id !== 'string' || raw.id === '' || raw.id.length > 255 || typeof raw.type !== 'string' || raw.type.length > 255
    || !object || typeof object !== 'object' || Array.isArray(object)) {
    return fail('stripe_event_invalid', 'The body is not a Stripe event (id, type and data.object are required).');
  }
  return ok({ id: raw.id, type: raw.type, objectId: idOf(object.id), payload: raw, action: actionOf(raw.type, object) });
}

const nulEscape = Buffer.from('\\u0000');

/** How deep an event may nest: far more than any Stripe object (an expanded invoice is about ten levels). */
const stripeEventDepthMax = 64;

/** `value` (at most `stripeEventDepthMax` levels deep) with every NUL character of its strings and keys replaced by U+FFFD. */
function withoutNul(value: unknown): unknown {
  if (typeof value === 'string') return value.replaceAll('\u0000', '\uFFFD');
  if (Array.isArray(value)) return value.map(withoutNul);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, v]) => [key.replaceAll('\u0000', '\uFFFD'), withoutNul(v)]));
  }
  return value;
}

/** The event types Tally acts on; every other type is acknowledged and ignored. */
export const handledStripeEvents = ['invoice.paid', 'invoice.payment_failed', 'charge.refunded', 'charge.dispute.created', 'charge.dispute.closed'] as const;

export function actionOf(type: string, object: StripeObject): StripeAction {
  const metadata = isPlainObject(object.metadata) ? object.metadata : {};
  const tallyInvoiceId = typeof metadata.tally_invoice_id === 'string' ? metadata.tally_invoice_id : null;
  const id = idOf(object.id);
  if (id === null) return { kind: 'ignored' };
  switch (type) {
    case 'invoice.paid':
      return {
        kind: 'invoice_paid', stripeInvoiceId: id, tallyInvoiceId, amountPaid: amountOf(object.amount_paid), currency: String(object.currency ?? ''),
        paymentRef: invoicePaymentRef(object) ?? id,
      };
    case 'invoice.payment_failed':
      return {
        kind: 'invoice_payment_failed', stripeInvoiceId: id, tallyInvoiceId, amountDue: amountOf(object.amount_due),
        attemptCount: amountOf(object.attempt_count), currency: String(object.currency ?? ''),
      };
    case 'charge.refunded':
      return {
        kind: 'charge_refunded', chargeId: id, paymentRefs: refs(object.payment_intent, id), stripeInvoiceId: idOf(object.invoice), tallyInvoiceId,
        amount: amountOf(object.amount), amountRefunded: amountOf(object.amount_refunded), currency: String(object.currency ?? ''), paid: object.paid === true,
      };
    case 'charge.dispute.created':
    case 'charge.dispute.closed':
      return {
        kind: 'dispute', disputeId: id, paymentRefs: refs(object.payment_intent, idOf(object.charge)), tallyInvoiceId, amount: amountOf(object.amount),
        currency: String(object.currency ?? ''), reason: String(object.reason ?? 'unknown'), outcome: type === 'charge.dispute.closed' ? closedOutcome(object.status) : null,
      };
    default:
      return { kind: 'ignored' };
  }
}

/**
 * A closed dispute is `won` or `lost`; `warning_closed` (an inquiry that never became a
 * chargeback) took no money, so it ends like a won one.
 */
function closedOutcome(status: unknown): 'won' | 'lost' {
  return status === 'lost' ? 'lost' : 'won';
}

/** How the invoice was paid: its payment intent (current API: `payments`), or older APIs' `charge`/`payment_intent`. */
function invoicePaymentRef(invoice: StripeObject): string | null {
  const payments = isPlainObject(invoice.payments) ? invoice.payments.data : undefined;
  for (const p of Array.isArray(payments) ? payments : []) {
    const payment = isPlainObject(p) && isPlainObject(p.payment) ? p.payment : {};
    const ref = idOf(payment.payment_intent) ?? idOf(payment.charge);
    if (ref) return ref;
  }
  return idOf(invoice.payment_intent) ?? idOf(invoice.charge);
}

/** A Stripe reference is an id, or the expanded object that carries it. */
function idOf(value: unknown): string | null {
  if (typeof value === 'string' && value !== '') return value.slice(0, 255);
  if (value && typeof value === 'object' && typeof (value as StripeObject).id === 'string') return ((value as StripeObject).id as string).slice(0, 255);
  return null;
}

function refs(...values: unknown[]): string[] {
  return values.map(idOf).filter((v): v is string => v !== null);
}

/** Stripe amounts are integers of minor units; anything else reads as 0 and matches nothing due. */
function amountOf(value: unknown): number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 ? value : 0;
}
