/**
 * The domain event types that webhooks deliver (PRODUCT §11), each with the kind of object its
 * `data` carries (the object as the API shows it). Domain events of other types stay in the
 * audit trail (`GET /v1/domain_events`) and are not delivered; in particular there is no event
 * per usage event.
 *
 * Adding a type is one line here, plus `changes.event('<type>', …)` in the use case whose
 * transaction makes the change, with the object's id in the payload under the kind's name
 * (`{grant: "grt_…"}`, `{invoice: "inv_…"}`). `payload` sends the event's payload as it is.
 */
export const webhookEventTypes = {
  'grant.created': 'grant',
  'grant.expired': 'grant',
  'grant.voided': 'grant',
  'credits.balance_low': 'balance',
  'credits.depleted': 'balance',
  'hold.reduced': 'hold',
  'subscription.created': 'subscription',
  'subscription.renewed': 'subscription',
  'subscription.changed': 'subscription',
  'subscription.canceled': 'subscription',
  'subscription.past_due': 'subscription',
  'invoice.finalized': 'invoice',
  'invoice.paid': 'invoice',
  'invoice.payment_failed': 'invoice',
  'invoice.voided': 'invoice',
  'refund.created': 'refund',
  'chargeback.created': 'chargeback',
  'chargeback.closed': 'chargeback',
  'credit_note.created': 'credit_note',
  'credit_note.updated': 'credit_note',
  'promotion.created': 'promotion',
  'promotion.deactivated': 'promotion',
  'promotion.redeemed': 'redemption',
  'referral.created': 'referral',
  'referral.rewarded': 'referral',
  'referral.clawed_back': 'referral',
  'webhook_endpoint.disabled': 'webhook_endpoint',
  'stripe_event.resolved': 'payload',
} as const satisfies Record<string, WebhookObjectKind>;

export type WebhookObjectKind = 'grant' | 'hold' | 'balance' | 'subscription' | 'invoice' | 'refund' | 'chargeback' | 'credit_note' | 'webhook_endpoint'
  | 'promotion' | 'redemption' | 'referral' | 'payload';
export type WebhookEventType = keyof typeof webhookEventTypes;

export function isWebhookEventType(type: string): type is WebhookEventType {
  return Object.hasOwn(webhookEventTypes, type);
}

/** True when an endpoint subscribed to `filter` (`["*"]` or a list of types) receives `type`. */
export function endpointWants(filter: readonly string[], type: string): boolean {
  return isWebhookEventType(type) && (filter.includes('*') || filter.includes(type));
}
