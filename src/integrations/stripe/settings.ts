import type { CreditPolicy } from '../../store/records.ts';

/** How Tally talks to Stripe, from the environment (README "Configuration"). */
export interface StripeSettings {
  /** `TALLY_STRIPE_SECRET_KEY`: enables the outbound push. */
  secretKey: string | null;
  /** `TALLY_STRIPE_WEBHOOK_SECRET`: enables the inbound webhook; works without the secret key. */
  webhookSecret: string | null;
  /** `TALLY_STRIPE_API_BASE`: another API host (a local stand-in), e.g. `http://127.0.0.1:12111`. */
  apiBase: string | null;
  /** `TALLY_STRIPE_REFUND_POLICY`: the credit policy for refunds and disputes that arrive from Stripe. */
  refundPolicy: CreditPolicy;
  /** Delays before the 2nd, 3rd… push attempt; when they run out the push is `failed`. */
  retryDelaysMs: readonly number[];
  /** How often the push worker looks for work. */
  pollIntervalMs: number;
}

/**
 * Push retries: 10 s, 1 min, 5 min, 30 min, 2 h, 6 h, 12 h. They end within 21 hours, inside the
 * 24 hours for which Stripe keeps idempotency keys, so no retry can outlive the key that makes it
 * safe.
 */
export const defaultRetryDelaysMs: readonly number[] = [10_000, 60_000, 300_000, 1_800_000, 7_200_000, 21_600_000, 43_200_000];

const policies: readonly CreditPolicy[] = ['proportional', 'full', 'unused_only', 'none'];

export function stripeSettingsFromEnv(env: NodeJS.ProcessEnv = process.env): StripeSettings {
  const policy = env.TALLY_STRIPE_REFUND_POLICY ?? 'proportional';
  if (!policies.includes(policy as CreditPolicy)) {
    throw new Error(`TALLY_STRIPE_REFUND_POLICY must be one of ${policies.join(', ')} (got ${JSON.stringify(policy)}).`);
  }
  const apiBase = env.TALLY_STRIPE_API_BASE || null;
  if (apiBase !== null) parseApiBase(apiBase);
  return {
    secretKey: env.TALLY_STRIPE_SECRET_KEY || null,
    webhookSecret: env.TALLY_STRIPE_WEBHOOK_SECRET || null,
    apiBase,
    refundPolicy: policy as CreditPolicy,
    retryDelaysMs: defaultRetryDelaysMs,
    pollIntervalMs: 1000,
  };
}

/** `http://127.0.0.1:12111` → the host/port/protocol options of the `stripe` client. */
export function parseApiBase(apiBase: string): { host: string; port: number; protocol: 'http' | 'https' } {
  let url: URL;
  try {
    url = new URL(apiBase);
  } catch {
    throw new Error(`TALLY_STRIPE_API_BASE is not a URL: ${JSON.stringify(apiBase)}.`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('TALLY_STRIPE_API_BASE must be http:// or https://.');
  const protocol = url.protocol === 'http:' ? 'http' : 'https';
  return { host: url.hostname, port: url.port ? Number(url.port) : protocol === 'http' ? 80 : 443, protocol };
}
