import { Type } from '@sinclair/typebox';

/** Request and response schemas of the Stripe integration routes (PRODUCT §11). */

export const ErrorResponse = Type.Object({
  error: Type.Object({
    code: Type.String(),
    message: Type.String(),
    details: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
    fields: Type.Optional(Type.Array(Type.Object({ field: Type.String(), code: Type.String(), message: Type.String() }))),
  }),
}, { description: 'An error with a stable snake_case code.' });

const EventStatus = Type.Union([Type.Literal('processed'), Type.Literal('ignored'), Type.Literal('unmatched'), Type.Literal('rejected')]);

export const StripeWebhookReceipt = Type.Object({
  received: Type.Literal(true),
  event: Type.String({ description: 'The Stripe event id.' }),
  duplicate: Type.Boolean({ description: 'True when this event id was received before; nothing was applied again.' }),
  status: EventStatus,
  invoice: Type.Union([Type.String(), Type.Null()], { description: 'The Tally invoice the event was matched to.' }),
  outcome: Type.Record(Type.String(), Type.Unknown(), { description: 'What the event did: the payment, refund or chargeback ids it recorded, or why it was not applied.' }),
});

export const StripeEventView = Type.Object({
  id: Type.String(),
  object: Type.Literal('stripe_event'),
  type: Type.String(),
  status: EventStatus,
  object_id: Type.Union([Type.String(), Type.Null()]),
  invoice: Type.Union([Type.String(), Type.Null()]),
  outcome: Type.Record(Type.String(), Type.Unknown()),
  received_at: Type.String(),
  payload: Type.Record(Type.String(), Type.Unknown(), { description: 'The event as Stripe sent it.' }),
});

export const StripeEventList = Type.Object({
  object: Type.Literal('list'),
  data: Type.Array(StripeEventView),
  has_more: Type.Boolean(),
  next_cursor: Type.Union([Type.String(), Type.Null()]),
});
