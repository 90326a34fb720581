import { formatTimestamp } from '../core/time.ts';
import type { WebhookAttemptRecord, WebhookDeliveryRecord, WebhookEndpointRecord } from '../store/records.ts';

const ts = (ms: number | null): string | null => (ms === null ? null : formatTimestamp(ms));

/** A webhook endpoint as the API shows it: never with its secret (that is shown once, on creation or rotation). */
export const webhookEndpointView = (e: WebhookEndpointRecord) => ({
  id: e.id,
  object: 'webhook_endpoint' as const,
  url: e.url,
  description: e.description,
  event_types: e.eventTypes,
  disabled: e.disabled,
  disabled_reason: e.disabledReason,
  previous_secret_expires_at: ts(e.previousSecretUntilMs),
  failing_since: ts(e.failingSinceMs),
  metadata: e.metadata,
  created_at: formatTimestamp(e.createdAtMs),
  updated_at: formatTimestamp(e.updatedAtMs),
});

export const webhookAttemptView = (a: WebhookAttemptRecord) => ({
  attempt: a.attempt,
  attempted_at: formatTimestamp(a.startedAtMs),
  status_code: a.statusCode,
  error: a.error,
  response_body: a.responseBody,
  duration_ms: a.durationMs,
  next_attempt_at: ts(a.nextAttemptAtMs),
});

export const webhookDeliveryView = (d: WebhookDeliveryRecord, attempts: readonly WebhookAttemptRecord[]) => ({
  id: d.id,
  object: 'webhook_delivery' as const,
  endpoint: d.endpointId,
  event: d.eventId,
  event_type: d.eventType,
  status: d.status,
  attempt_count: d.attempts,
  next_attempt_at: d.status === 'pending' ? ts(d.nextAttemptAtMs) : null,
  attempts: attempts.map(webhookAttemptView),
  created_at: formatTimestamp(d.createdAtMs),
});
