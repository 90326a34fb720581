/**
 * Verifies a webhook from Tally per the Standard Webhooks spec (standardwebhooks.com): the
 * `webhook-signature` header holds `v1,<base64 HMAC-SHA256>` signatures (several while a secret
 * rotates) of `${webhook-id}.${webhook-timestamp}.${body}`, keyed with the base64 part of the
 * endpoint's `whsec_…` secret. Uses WebCrypto, so it runs in Node ≥ 20 and in browsers alike.
 */
export class WebhookVerificationError extends Error {
  override readonly name = 'WebhookVerificationError';
}

export interface WebhookMessage<T = unknown> {
  type: string;
  timestamp: string;
  data: T;
}

/** Seconds a signature stays acceptable either side of now (the spec's five minutes). */
export const webhookToleranceSeconds = 5 * 60;

type HeaderSource = Headers | Record<string, string | string[] | undefined>;

function header(headers: HeaderSource, name: string): string | undefined {
  if (typeof (headers as Headers).get === 'function') return (headers as Headers).get(name) ?? undefined;
  const record = headers as Record<string, string | string[] | undefined>;
  const key = Object.keys(record).find((k) => k.toLowerCase() === name);
  const value = key === undefined ? undefined : record[key];
  return Array.isArray(value) ? value[0] : value;
}

function base64ToBytes(text: string): Uint8Array {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i += 1) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

function bytesToBase64(bytes: Uint8Array): string {
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary);
}

function equalInConstantTime(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let difference = 0;
  for (let i = 0; i < a.length; i += 1) difference |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return difference === 0;
}

/** The `v1,…` signature of a message, as the sender computes it. */
export async function signWebhook(secret: string, id: string, timestampSeconds: number, body: string): Promise<string> {
  const key = await globalThis.crypto.subtle.importKey('raw', base64ToBytes(secret.replace(/^whsec_/, '')) as BufferSource, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  const mac = await globalThis.crypto.subtle.sign('HMAC', key, new TextEncoder().encode(`${id}.${timestampSeconds}.${body}`));
  return `v1,${bytesToBase64(new Uint8Array(mac))}`;
}

/**
 * Returns the parsed message when one of its signatures matches `secret` and its timestamp is
 * within the tolerance; throws WebhookVerificationError otherwise. Pass the raw body, as received.
 */
export async function verifyWebhook<T = unknown>(body: string, headers: HeaderSource, secret: string, nowSeconds = Math.floor(Date.now() / 1000)): Promise<WebhookMessage<T>> {
  const id = header(headers, 'webhook-id');
  const timestamp = header(headers, 'webhook-timestamp');
  const signatures = header(headers, 'webhook-signature');
  if (!id || !timestamp || !signatures) throw new WebhookVerificationError('Missing webhook-id, webhook-timestamp or webhook-signature.');
  const seconds = Number(timestamp);
  if (!/^\d+$/.test(timestamp) || Math.abs(nowSeconds - seconds) > webhookToleranceSeconds) throw new WebhookVerificationError('The webhook timestamp is too old or too new.');
  const expected = await signWebhook(secret, id, seconds, body);
  const matches = signatures.split(' ').some((candidate) => equalInConstantTime(candidate, expected));
  if (!matches) throw new WebhookVerificationError('No signature matches the secret.');
  return JSON.parse(body) as WebhookMessage<T>;
}
