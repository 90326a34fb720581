/**
 * When a webhook delivery is tried again (PRODUCT §11): after 5 s, 5 min, 30 min, 2 h, 5 h and
 * 10 h, then every 10 h until 3 days have passed since the first attempt; then it has failed. An
 * endpoint whose deliveries have failed without a success in between for 5 days is disabled.
 */
const second = 1000;
const minute = 60 * second;
const hour = 60 * minute;

export const webhookRetryDelaysMs: readonly number[] = [5 * second, 5 * minute, 30 * minute, 2 * hour, 5 * hour, 10 * hour];
export const webhookRetryEveryMs = 10 * hour;
export const webhookRetryWindowMs = 3 * 24 * hour;
export const webhookEndpointDisableAfterMs = 5 * 24 * hour;
/** An attempt that has not answered within this is a failure (a timeout). */
export const webhookAttemptTimeoutMs = 15 * second;

/**
 * The time of the next attempt after attempt number `attempt` (1-based) failed at `failedAtMs`,
 * or null when the retry window since the first attempt is over and the delivery has failed.
 */
export function nextWebhookAttemptAt(attempt: number, firstAttemptAtMs: number, failedAtMs: number): number | null {
  const delay = webhookRetryDelaysMs[attempt - 1] ?? webhookRetryEveryMs;
  const next = failedAtMs + delay;
  return next - firstAttemptAtMs > webhookRetryWindowMs ? null : next;
}

/** True when an endpoint failing since `failingSinceMs` has failed long enough to be disabled. */
export function shouldDisableEndpoint(failingSinceMs: number | null, nowMs: number): boolean {
  return failingSinceMs !== null && nowMs - failingSinceMs >= webhookEndpointDisableAfterMs;
}

/** A 2xx answer is a success; anything else (other statuses, timeouts, refused connections) is not. */
export function isWebhookSuccess(statusCode: number | null): boolean {
  return statusCode !== null && statusCode >= 200 && statusCode < 300;
}
