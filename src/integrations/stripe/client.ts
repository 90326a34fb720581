import Stripe from 'stripe';
import { parseApiBase, type StripeSettings } from './settings.ts';

/** Each Stripe request gives up after this long; the push is then retried with the same keys. */
const requestTimeoutMs = 15_000;

/**
 * The official client, pointed at Stripe or at `TALLY_STRIPE_API_BASE`. Its own retries are off:
 * the push worker retries with backoff, with the same idempotency keys, and records each attempt.
 */
export function createStripeClient(settings: StripeSettings): Stripe {
  if (!settings.secretKey) throw new Error('TALLY_STRIPE_SECRET_KEY is not set.');
  return new Stripe(settings.secretKey, {
    maxNetworkRetries: 0,
    timeout: requestTimeoutMs,
    appInfo: { name: 'Tally' },
    ...(settings.apiBase ? parseApiBase(settings.apiBase) : {}),
  });
}
