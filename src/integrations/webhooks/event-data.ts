import { formatTimestamp } from '../../core/time.ts';
import { webhookEventTypes, type WebhookObjectKind } from '../../core/webhook-event-types.ts';
import type { DomainEventRecord } from '../../store/records.ts';
import type { StoreTx } from '../../store/store.ts';
import { grantView, holdView } from '../../server/views.ts';
import { invoiceView, subscriptionView } from '../../server/billing-views.ts';
import { returnView } from '../../server/routes/returns.ts';
import { creditNoteView } from '../../server/routes/credit-notes.ts';
import { webhookEndpointView } from '../../server/webhook-views.ts';
import { promotionView, redemptionView, referralView } from '../../server/promotion-views.ts';

type Loader = (tx: StoreTx, id: string) => Promise<unknown>;

/**
 * How each kind of object is read and shown: the same views the API replies with. The payload
 * names the object's id under the kind's name (`{grant: "grt_…"}`).
 */
const loaders: Record<Exclude<WebhookObjectKind, 'payload' | 'balance'>, Loader> = {
  grant: async (tx, id) => { const g = await tx.grants.get(id); return g && grantView(g); },
  hold: async (tx, id) => { const h = await tx.grants.getHold(id); return h && holdView(h); },
  subscription: async (tx, id) => { const s = await tx.billing.subscription(id); return s && subscriptionView(s); },
  invoice: async (tx, id) => { const i = await tx.billing.invoice(id); return i && invoiceView(i); },
  refund: async (tx, id) => { const r = await tx.returns.get(id); return r && returnView(r, await tx.referrals.clawBacksOf([r.id])); },
  chargeback: async (tx, id) => { const r = await tx.returns.get(id); return r && returnView(r, await tx.referrals.clawBacksOf([r.id])); },
  credit_note: async (tx, id) => { const n = await tx.creditNotes.get(id); return n && creditNoteView(n); },
  promotion: async (tx, id) => { const p = await tx.promotions.get(id); return p && promotionView(p); },
  redemption: async (tx, id) => {
    const r = await tx.promotions.redemption(id);
    return r && redemptionView(r, await tx.grants.get(r.grantId));
  },
  referral: async (tx, id) => { const r = await tx.referrals.get(id); return r && referralView(r, await tx.referrals.clawBacksOfReferral(r.id)); },
  webhook_endpoint: async (tx, id) => { const e = await tx.webhooks.endpoint(id); return e && webhookEndpointView(e); },
};

/**
 * The `data` of a webhook: the affected object as the API shows it, read when the event is
 * fanned out (normally within a second of the change). Balance signals carry the balance at the
 * crossing itself (`available`, `threshold`), which a later read could no longer show.
 */
export async function webhookData(tx: StoreTx, event: DomainEventRecord): Promise<unknown> {
  const kind: WebhookObjectKind = (webhookEventTypes as Record<string, WebhookObjectKind>)[event.type] ?? 'payload';
  if (kind === 'payload') return event.payload;
  if (kind === 'balance') {
    return { object: 'balance_signal', customer: event.customerId, available: event.payload.available, threshold: event.payload.threshold ?? null };
  }
  const id = event.payload[kind];
  if (typeof id !== 'string') return event.payload;
  return (await loaders[kind](tx, id)) ?? event.payload;
}

/** The webhook body: `{type, timestamp, data}`, the same on every attempt. */
export async function webhookBody(tx: StoreTx, event: DomainEventRecord): Promise<string> {
  return JSON.stringify({ type: event.type, timestamp: formatTimestamp(event.createdAtMs), data: await webhookData(tx, event) });
}
