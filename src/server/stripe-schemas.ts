import { Type } from '@sinclair/typebox';
import { List, Nullable } from './openapi.ts';

/** Reply schemas of the Stripe integration routes (PRODUCT §11); each matches its view key for key. */

const EventStatus = Type.Union([Type.Literal('processed'), Type.Literal('ignored'), Type.Literal('unmatched'), Type.Literal('rejected'), Type.Literal('resolved')], {
  description: '`processed` (applied), `ignored` (a type Tally does not act on), `unmatched` (no Tally invoice), `rejected` (the flow refused it), '
    + '`resolved` (one kept for review that an operator settled; `outcome.resolution` says how).',
});
const Outcome = Type.Record(Type.String(), Type.Unknown(), { description: 'What the event did: the payment, refund or chargeback ids it recorded, or why it was not applied.' });

export const StripeWebhookReceipt = Type.Object({
  received: Type.Literal(true),
  event: Type.String({ description: 'The Stripe event id.' }),
  duplicate: Type.Boolean({ description: 'True when this event id was received before; nothing was applied again.' }),
  status: EventStatus,
  invoice: Nullable(Type.String({ description: 'The Tally invoice the event was matched to.' })),
  outcome: Outcome,
}, { additionalProperties: false, description: 'The acknowledgement Stripe receives.' });

export const StripeEventView = Type.Object({
  id: Type.String({ description: 'The Stripe event id (`evt_…`).' }),
  object: Type.Literal('stripe_event'),
  type: Type.String({ examples: ['invoice.paid'] }),
  status: EventStatus,
  object_id: Nullable(Type.String({ description: 'The id of the Stripe object the event is about.' })),
  invoice: Nullable(Type.String({ description: 'The Tally invoice it was matched to.' })),
  outcome: Outcome,
  received_at: Type.String({ format: 'date-time' }),
  payload: Type.Record(Type.String(), Type.Unknown(), { description: 'The event as Stripe sent it.' }),
}, { additionalProperties: false, description: 'A Stripe event as received.' });

export const StripeEventList = List(StripeEventView, 'Stripe events kept for review, oldest first.');

export const ResolveStripeEvent = Type.Object({
  note: Type.String({ minLength: 1, maxLength: 500, description: 'How it was settled outside Tally (a refund in Stripe, a payment matched by hand).' }),
}, { additionalProperties: false });
