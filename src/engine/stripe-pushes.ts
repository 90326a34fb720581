import type { CustomerRecord, InvoiceRecord } from '../store/records.ts';
import type { StripeEventRecord, StripePushRecord } from '../store/queries/stripe.ts';
import type { Engine } from './context.ts';
import { idFloor } from '../core/id-time.ts';

/**
 * The bookkeeping side of pushing finalized invoices to Stripe (PRODUCT §11): the outbox's
 * `invoice.finalized` events become one push job per invoice, each attempt is claimed by one
 * server, and what Stripe answered is recorded. The Stripe calls themselves live in
 * src/integrations/stripe; nothing here talks to the network.
 */

const cursorName = 'stripe_push';
/** Events read per page when feeding jobs from the outbox. */
export const pushEventsPageMax = 200;
/** Pages read per feeding pass: bounds one pass; the next pass continues. */
const pushEventPagesMax = 10;
/**
 * Transactions commit out of id order, so an event id below the cursor could still appear for a
 * moment. The cursor therefore only moves past events older than this; newer ones are read again
 * on the next pass, and their jobs are inserted once (the invoice id is the key).
 */
export const outboxSettleMs = 60_000;

/** Turns `invoice.finalized` domain events into push jobs; returns how many events were read. */
export async function queueStripePushes(engine: Engine): Promise<number> {
  const nowMs = engine.clock.now();
  const settled = idFloor('evt', nowMs - outboxSettleMs);
  const stored = await engine.store.read.stripe.cursor(cursorName);
  let position = stored;
  let read = 0;
  let safe = stored;
  for (let page = 0; page < pushEventPagesMax; page++) {
    const events = await engine.store.read.stripe.finalizedInvoiceEventsAfter(position, pushEventsPageMax);
    if (events.length === 0) break;
    await engine.store.transaction(async (tx) => {
      for (const event of events) await tx.stripe.enqueuePush(event, nowMs);
    });
    read += events.length;
    position = events[events.length - 1]!.eventId;
    for (const event of events) if (event.eventId < settled) safe = event.eventId;
    if (events.length < pushEventsPageMax) break;
  }
  // Only when it moves: a pass that found nothing new writes nothing.
  if (safe !== stored) await engine.store.transaction((tx) => tx.stripe.advanceCursor(cursorName, safe));
  return read;
}

/** Claims up to `limit` due jobs for this server; each is held until `leaseMs` from now. */
export async function claimStripePushes(engine: Engine, limit: number, leaseMs: number): Promise<StripePushRecord[]> {
  const nowMs = engine.clock.now();
  const due = await engine.store.read.stripe.duePushes(nowMs, limit);
  const claimed: StripePushRecord[] = [];
  for (const job of due) {
    if (await engine.store.transaction((tx) => tx.stripe.claimPush(job.invoiceId, nowMs, nowMs + leaseMs))) claimed.push(job);
  }
  return claimed;
}

export interface PushSubject {
  invoice: InvoiceRecord;
  customer: CustomerRecord;
}

export async function pushSubject(engine: Engine, invoiceId: string): Promise<PushSubject | null> {
  const read = engine.store.read;
  const invoice = await read.billing.invoice(invoiceId);
  if (!invoice) return null;
  const customer = await read.customers.find(invoice.customerId);
  return customer ? { invoice, customer } : null;
}

/** Stores the customer's Stripe id unless one is stored already; returns the stored one. */
export function linkStripeCustomer(engine: Engine, customerId: string, stripeCustomerId: string): Promise<string> {
  return engine.store.transaction((tx) => {
    // Its row is what ingestion keeps of it (engine/hot-state.ts): only it is read again.
    tx.scopeWritesTo([customerId]);
    return tx.stripe.linkCustomer(customerId, stripeCustomerId);
  });
}

/** Remembers the Stripe invoice made for a job, so a later attempt adds to it instead of making one. */
export function noteStripeInvoice(engine: Engine, invoiceId: string, stripeInvoiceId: string): Promise<void> {
  return engine.store.transaction((tx) => tx.stripe.setPushStripeInvoice(invoiceId, stripeInvoiceId));
}

/** The push is complete: the invoice carries `provider: "stripe"` and its Stripe id. */
export function recordStripePush(engine: Engine, invoiceId: string, stripeInvoiceId: string): Promise<void> {
  return engine.store.transaction(async (tx) => {
    await tx.stripe.linkInvoice(invoiceId, stripeInvoiceId);
    await tx.stripe.pushDone(invoiceId, stripeInvoiceId, engine.clock.now());
  });
}

/**
 * A failed attempt: the job is released for the next attempt after the delay of its attempt
 * number, or marked `failed` once the delays run out (reconciliation then lists the invoice).
 */
export function recordStripePushFailure(engine: Engine, job: StripePushRecord, error: string, retryDelaysMs: readonly number[]): Promise<void> {
  const attempt = job.attempts + 1;
  const delayMs = retryDelaysMs[attempt - 1];
  const nextAtMs = delayMs === undefined ? null : engine.clock.now() + delayMs;
  return engine.store.transaction((tx) => tx.stripe.pushFailed(job.invoiceId, error, nextAtMs));
}

/** Rows `tally stripe-status` shows at most of each kind. */
const statusRowsMax = 100;

/** What an operator looks at: pushes not done yet, and Stripe events kept for review. */
export async function stripeStatus(engine: Engine): Promise<{ pushes: StripePushRecord[]; events: StripeEventRecord[] }> {
  const read = engine.store.read;
  const [pushes, events] = await Promise.all([read.stripe.unfinishedPushes(statusRowsMax), read.stripe.eventsForReview({ limit: statusRowsMax })]);
  return { pushes, events: events.data };
}
