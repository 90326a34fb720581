import { Type } from '@sinclair/typebox';
import { Metadata, Timestamp } from './schemas.ts';
import { webhookEventTypesMax, webhookUrlLengthMax } from '../engine/webhook-endpoints.ts';

/** Request and response schemas of the webhook endpoints API (PRODUCT §11). */

const Url = Type.String({ minLength: 1, maxLength: webhookUrlLengthMax, description: 'https, or http to a public address.', examples: ['https://example.com/webhooks/tally'] });
const EventTypes = Type.Array(Type.String({ minLength: 1, maxLength: 100 }), {
  minItems: 1, maxItems: webhookEventTypesMax, description: 'The event types to receive, or `["*"]` for all.', examples: [['*'], ['credits.balance_low', 'invoice.paid']],
});
const Description = Type.String({ maxLength: 500 });
const NullableTime = Type.Union([Timestamp, Type.Null()]);

export const CreateWebhookEndpoint = Type.Object({
  url: Url,
  event_types: Type.Optional(EventTypes),
  description: Type.Optional(Description),
  metadata: Type.Optional(Metadata),
}, { additionalProperties: false });

export const UpdateWebhookEndpoint = Type.Object({
  url: Type.Optional(Url),
  event_types: Type.Optional(EventTypes),
  description: Type.Optional(Type.Union([Description, Type.Null()])),
  disabled: Type.Optional(Type.Boolean()),
  metadata: Type.Optional(Metadata),
}, { additionalProperties: false });

export const ReplayWebhooks = Type.Object({
  since: Timestamp,
}, { additionalProperties: false });

export const WebhookEndpoint = Type.Object({
  id: Type.String(),
  object: Type.Literal('webhook_endpoint'),
  url: Type.String(),
  description: Type.Union([Type.String(), Type.Null()]),
  event_types: Type.Array(Type.String()),
  disabled: Type.Boolean(),
  disabled_reason: Type.Union([Type.String({ description: '`disabled_by_user`, or `failing` (5 days of failed deliveries).' }), Type.Null()]),
  previous_secret_expires_at: Type.Union([Timestamp, Type.Null()], { description: 'After a rotation: until when the previous secret still signs.' }),
  failing_since: NullableTime,
  metadata: Type.Record(Type.String(), Type.String()),
  created_at: Timestamp,
  updated_at: Timestamp,
});

export const WebhookEndpointWithSecret = Type.Composite([WebhookEndpoint, Type.Object({
  secret: Type.String({ description: 'The signing secret (`whsec_…`). Shown in this reply only; stored encrypted.' }),
})]);

export const WebhookEndpointList = Type.Object({
  object: Type.Literal('list'),
  data: Type.Array(WebhookEndpoint),
  has_more: Type.Boolean(),
  next_cursor: Type.Union([Type.String(), Type.Null()]),
});

export const WebhookAttempt = Type.Object({
  attempt: Type.Integer(),
  attempted_at: Timestamp,
  status_code: Type.Union([Type.Integer(), Type.Null()], { description: 'The HTTP status, or null when no answer came.' }),
  error: Type.Union([Type.String({ description: '`timeout`, `connection_refused`, …' }), Type.Null()]),
  response_body: Type.Union([Type.String({ description: 'The first 1 KiB of the response.' }), Type.Null()]),
  duration_ms: Type.Integer(),
  next_attempt_at: NullableTime,
});

export const WebhookDelivery = Type.Object({
  id: Type.String(),
  object: Type.Literal('webhook_delivery'),
  endpoint: Type.String(),
  event: Type.String({ description: 'The domain event id, sent as `webhook-id` on every attempt.' }),
  event_type: Type.String(),
  status: Type.Union([Type.Literal('pending'), Type.Literal('succeeded'), Type.Literal('failed')]),
  attempt_count: Type.Integer(),
  next_attempt_at: NullableTime,
  attempts: Type.Array(WebhookAttempt),
  created_at: Timestamp,
});

export const WebhookDeliveryList = Type.Object({
  object: Type.Literal('list'),
  data: Type.Array(WebhookDelivery),
  has_more: Type.Boolean(),
  next_cursor: Type.Union([Type.String(), Type.Null()]),
});

export const DeletedWebhookEndpoint = Type.Object({ id: Type.String(), object: Type.Literal('webhook_endpoint'), deleted: Type.Literal(true) });

export const ReplayResult = Type.Object({
  object: Type.Literal('webhook_replay'),
  endpoint: Type.String(),
  since: Timestamp,
  deliveries: Type.Integer({ description: 'Deliveries created, one per event the endpoint wants.' }),
  truncated: Type.Boolean({ description: 'True when more events remain than one replay sends (10,000): replay again from a later time.' }),
});

/** The error reply, the same for every 4xx and 5xx. */
export const ErrorReply = Type.Object({
  error: Type.Object({ code: Type.String(), message: Type.String(), details: Type.Optional(Type.Record(Type.String(), Type.Unknown())) }),
});
