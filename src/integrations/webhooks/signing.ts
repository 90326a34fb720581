import { Webhook } from 'standardwebhooks';

/**
 * The Standard Webhooks headers for one attempt: `webhook-id` (the domain event id, the same on
 * every attempt), `webhook-timestamp` (seconds, this attempt) and `webhook-signature`, one
 * `v1,<base64 HMAC-SHA256>` per secret, space-separated: during a rotation the old and the new
 * secret both sign, so a receiver holding either verifies.
 */
export function webhookHeaders(secrets: readonly string[], eventId: string, atMs: number, body: string): Record<string, string> {
  const at = new Date(atMs);
  return {
    'webhook-id': eventId,
    'webhook-timestamp': String(Math.floor(atMs / 1000)),
    'webhook-signature': secrets.map((secret) => new Webhook(secret).sign(eventId, at, body)).join(' '),
  };
}
