import { Type } from '@sinclair/typebox';
import { Metadata, Timestamp } from './schemas.ts';
import { List, Nullable } from './openapi.ts';
import { webhookEventTypesMax, webhookUrlLengthMax } from '../engine/webhook-endpoints.ts';

/** Request and response schemas of the webhook endpoints API (PRODUCT §11). */

const Url = Type.String({ minLength: 1, maxLength: webhookUrlLengthMax, description: 'https, or http to a public address.', examples: ['https://example.com/webhooks/tally'] });
const EventTypes = Type.Array(Type.String({ minLength: 1, maxLength: 100 }), {
  minItems: 1, maxItems: webhookEventTypesMax, description: 'The event types to receive, or `["*"]` for all.', examples: [['*'], ['credits.balance_low', 'invoice.paid']],
});
const Description = Type.String({ maxLength: 500 });

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

const Time = Type.String({ format: 'date-time', description: 'RFC 3339 date-time in UTC.', examples: ['2026-05-01T00:00:00.000Z'] });
const NullableTime = Nullable(Time);

const endpointProperties = {
  id: Type.String({ description: 'whk_…' }),
  object: Type.Literal('webhook_endpoint'),
  url: Type.String(),
  description: Nullable(Type.String()),
  event_types: Type.Array(Type.String(), { description: 'The event types delivered, or `["*"]` for all.' }),
  disabled: Type.Boolean(),
  disabled_reason: Nullable(Type.String({ description: '`disabled_by_user`, or `failing` (5 days of failed deliveries).' })),
  previous_secret_expires_at: Nullable(Type.String({ format: 'date-time', description: 'After a rotation: until when the previous secret still signs.' })),
  failing_since: NullableTime,
  metadata: Type.Record(Type.String(), Type.String(), { description: 'Your key-value pairs, returned as given.' }),
  created_at: Time,
  updated_at: Time,
};

export const WebhookEndpoint = Type.Object(endpointProperties, {
  $id: 'WebhookEndpoint', additionalProperties: false, description: 'Where webhooks go, and which types. The signing secret is never shown here.',
});

export const WebhookEndpointWithSecret = Type.Object({
  ...endpointProperties,
  secret: Type.String({ description: 'The signing secret (`whsec_…`). Shown in this reply only; stored encrypted.' }),
}, { additionalProperties: false, description: 'The endpoint with its signing secret.' });

export const WebhookAttempt = Type.Object({
  attempt: Type.Integer(),
  attempted_at: Time,
  status_code: Nullable(Type.Integer({ description: 'The HTTP status, or null when no answer came.' })),
  error: Nullable(Type.String({ description: '`timeout`, `connection_refused`, …' })),
  response_body: Nullable(Type.String({ description: 'The first 1 KiB of the response.' })),
  duration_ms: Type.Integer(),
  next_attempt_at: NullableTime,
}, { additionalProperties: false });

export const WebhookDelivery = Type.Object({
  id: Type.String({ description: 'dlv_…' }),
  object: Type.Literal('webhook_delivery'),
  endpoint: Type.String(),
  event: Type.String({ description: 'The domain event id, sent as `webhook-id` on every attempt.' }),
  event_type: Type.String(),
  status: Type.Union([Type.Literal('pending'), Type.Literal('succeeded'), Type.Literal('failed')]),
  attempt_count: Type.Integer(),
  next_attempt_at: NullableTime,
  attempts: Type.Array(WebhookAttempt),
  created_at: Time,
}, { $id: 'WebhookDelivery', additionalProperties: false, description: 'One domain event sent to one endpoint, with every attempt.' });

export const WebhookEndpointList = List(Type.Ref(WebhookEndpoint), 'A page of webhook endpoints.');
export const WebhookDeliveryList = List(Type.Ref(WebhookDelivery), 'A page of deliveries, oldest first (newest first with order=desc).');

export const DeletedWebhookEndpoint = Type.Object({ id: Type.String(), object: Type.Literal('webhook_endpoint'), deleted: Type.Literal(true) }, { additionalProperties: false });

export const ReplayResult = Type.Object({
  object: Type.Literal('webhook_replay'),
  endpoint: Type.String(),
  since: Time,
  deliveries: Type.Integer({ description: 'Deliveries created, one per event the endpoint wants.' }),
  truncated: Type.Boolean({ description: 'True when more events remain than one replay sends (10,000): replay again from a later time.' }),
}, { additionalProperties: false });
