import type { CustomerRecord, InvoiceRecord, SubscriptionRecord } from '../store/records.ts';
import type { StoreTx } from '../store/store.ts';
import type { Changes, Engine } from './context.ts';
import type { DueWorkKind } from './due-work.ts';
import { issueInvoice } from './invoices.ts';
import { overageLines, ownedAfterEnd, postOverageInvoiced } from './subscription-credits.ts';

/**
 * The closing correction of an ended subscription (PRODUCT §5, §6). Usage stamped in its periods
 * may arrive up to `pastToleranceMs` late, after the final invoice, and no renewal will come to
 * bill its overage on a later invoice. So once no such event can be accepted any more, one
 * `correction` invoice bills all of it, each line referencing its own period as a renewal's late
 * lines do; with nothing left unbilled, nothing is issued. One invoice at the window's close
 * rather than one per late event (or one at each anniversary): the customer gets one document
 * for everything the subscription still owed, and after it nothing of the subscription can ever
 * be billed again, so reconciliation wants every charge of it billed from then on.
 */

/**
 * When an ended subscription's closing correction falls due: the first instant at which no event
 * of its usage can still be accepted. An event may be `pastToleranceMs` old, and an ended
 * subscription owns usage up to its end's own millisecond and the `futureToleranceMs` after it
 * (`ownedAfterEnd`): before, its closing fell 35 days and a millisecond after the end, and
 * overage stamped in those minutes could arrive after it. By the
 * customer's clock, as the end is. Null for a subscription that ended before its first period
 * began: it has no usage.
 */
export function closingDueAtMs(engine: Engine, sub: SubscriptionRecord, endedAtMs: number): number | null {
  if (sub.periodIndex < 0) return null;
  return ownedAfterEnd(endedAtMs, engine.settings.futureToleranceMs) + engine.settings.pastToleranceMs;
}

/**
 * Bills an ended subscription's unbilled overage on one finalized `correction` invoice, with the
 * `overage_invoiced` postings that move it out of `overage`, in the caller's transaction. The
 * lines are `overageLines`' (consumed less already billed, per window of each period), over every
 * period that could have received usage after the final invoice: those ending after the
 * subscription's end less the tolerance (and a day of slack, as a renewal looks back). The
 * caller has claimed the closing. Returns the invoice, or null when nothing was left to bill.
 */
export async function closeSubscription(
  engine: Engine, tx: StoreTx, sub: SubscriptionRecord, customer: CustomerRecord, atMs: number, changes: Changes,
): Promise<InvoiceRecord | null> {
  const endedAtMs = sub.endedAtMs ?? atMs;
  const lookbackMs = Math.max(0, atMs - endedAtMs) + engine.settings.pastToleranceMs + 24 * 3600 * 1000;
  const lines = await overageLines(tx, sub, atMs, lookbackMs, engine.settings.futureToleranceMs);
  if (lines.length === 0) return null;
  let periodStartMs = lines[0]!.periodStartMs;
  let periodEndMs = lines[0]!.periodEndMs;
  for (const line of lines) {
    periodStartMs = Math.min(periodStartMs, line.periodStartMs);
    periodEndMs = Math.max(periodEndMs, line.periodEndMs);
  }
  const invoice = await issueInvoice(engine, tx, changes, {
    customer, kind: 'correction', subscriptionId: sub.id, planId: sub.planId, periodStartMs, periodEndMs, lines,
  }, atMs);
  postOverageInvoiced(changes, invoice, atMs);
  return invoice;
}

/**
 * The scheduler's closing work: every ended subscription whose closing correction has fallen due.
 * The claim (`claimClosing`, under the customer's lock) makes it run once per subscription, on
 * any number of servers and however often it is retried.
 */
export const subscriptionClosing: DueWorkKind = {
  kind: 'subscription_closing',
  customerScoped: true,
  paysInvoices: true,
  async due(tx, clock, upTo, limit) {
    return (await tx.billing.dueClosings(clock, upTo, limit)).map((d) => ({ ...d, kind: 'subscription_closing' }));
  },
  async run(engine, tx, item, batch) {
    // Its invoice may be paid at once from the balance and reward a referral: the referrer is locked too.
    await tx.lockCustomers([item.customerId], { pendingReferrers: true });
    const sub = await batch.subject(item.id, (ids) => tx.billing.subscriptionsById(ids));
    if (!sub || sub.status !== 'canceled' || sub.closingDueAtMs === null || sub.closingDueAtMs > item.dueAtMs) return;
    if (!(await tx.billing.claimClosing(sub.id, sub.closingDueAtMs))) return;
    sub.closingDueAtMs = null;
    const customer = (await batch.customer(sub.customerId))!;
    await closeSubscription(engine, tx, sub, customer, item.dueAtMs, batch.changes);
  },
};
