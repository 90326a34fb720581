import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { RequestRefused } from './request-guards.ts';

/** Requests allowed per API key in each window, counted per server instance. */
export interface RateLimitSettings {
  max: number;
  windowMs: number;
}

/**
 * Rate limits per API key (`@fastify/rate-limit`, in memory, per instance): `max` requests per
 * `windowMs` for each key; requests without a valid key count per client address. Checked after
 * authentication (so the key is known) and before the handler; beyond the limit the reply is
 * `429 rate_limited` in the API's error shape, with `Retry-After` in seconds.
 */
export async function registerRateLimit(app: FastifyInstance, settings: RateLimitSettings): Promise<void> {
  await app.register(rateLimit, {
    global: true,
    hook: 'preHandler',
    max: settings.max,
    timeWindow: settings.windowMs,
    keyGenerator: (request: FastifyRequest) => (request.caller ? `key:${request.caller.keyId}` : `ip:${request.ip}`),
    addHeadersOnExceeding: { 'x-ratelimit-limit': true, 'x-ratelimit-remaining': true, 'x-ratelimit-reset': true },
    addHeaders: { 'x-ratelimit-limit': true, 'x-ratelimit-remaining': true, 'x-ratelimit-reset': true, 'retry-after': true },
    errorResponseBuilder: (_request, context) => new RequestRefused(429, {
      error: {
        code: 'rate_limited',
        message: `Too many requests for this API key: at most ${context.max} per ${context.after}. Retry after the Retry-After header's seconds.`,
        details: { limit: context.max, retry_after_seconds: Math.ceil(context.ttl / 1000) },
      },
    }),
  });
}

/** Reads `TALLY_RATE_LIMIT_MAX` and `TALLY_RATE_LIMIT_WINDOW_MS`; a max of 0 turns limits off. */
export function rateLimitFromEnv(env: NodeJS.ProcessEnv): RateLimitSettings | null {
  const max = env.TALLY_RATE_LIMIT_MAX === undefined ? rateLimitDefaults.max : Number(env.TALLY_RATE_LIMIT_MAX);
  const windowMs = env.TALLY_RATE_LIMIT_WINDOW_MS === undefined ? rateLimitDefaults.windowMs : Number(env.TALLY_RATE_LIMIT_WINDOW_MS);
  if (!Number.isSafeInteger(max) || max < 0) throw new Error('TALLY_RATE_LIMIT_MAX must be a non-negative integer.');
  if (!Number.isSafeInteger(windowMs) || windowMs < 1) throw new Error('TALLY_RATE_LIMIT_WINDOW_MS must be a positive integer.');
  return max === 0 ? null : { max, windowMs };
}

/** 1,000 requests a second per key and instance: far above an interactive client, below a runaway loop. */
export const rateLimitDefaults: RateLimitSettings = { max: 1000, windowMs: 1000 };
