import { describe, expect, it } from 'vitest';
import { nextWebhookAttemptAt, shouldDisableEndpoint, webhookRetryWindowMs } from './webhook-retries.ts';

const s = 1000;
const h = 3600 * s;

describe('webhook retry schedule', () => {
  it('waits 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, then every 10 h', () => {
    // Each attempt fails the moment it runs: the next one is due after the scheduled delay.
    const delays: number[] = [];
    let at = 0;
    for (let attempt = 1; ; attempt++) {
      const next = nextWebhookAttemptAt(attempt, 0, at);
      if (next === null) break;
      delays.push(next - at);
      at = next;
    }
    expect(delays.slice(0, 6)).toEqual([5 * s, 300 * s, 1800 * s, 2 * h, 5 * h, 10 * h]);
    expect(delays.slice(6).every((d) => d === 10 * h)).toBe(true);
    // The last attempt is inside the 3-day window, and one more would be outside it.
    expect(at).toBeLessThanOrEqual(webhookRetryWindowMs);
    expect(at + 10 * h).toBeGreaterThan(webhookRetryWindowMs);
    expect(delays.length).toBe(11);
  });

  it('counts the window from the first attempt', () => {
    expect(nextWebhookAttemptAt(8, 0, 70 * h)).toBeNull();
    expect(nextWebhookAttemptAt(8, 10 * h, 70 * h)).toBe(80 * h);
  });

  it('disables an endpoint failing for 5 days', () => {
    expect(shouldDisableEndpoint(null, 10 * 24 * h)).toBe(false);
    expect(shouldDisableEndpoint(0, 5 * 24 * h - 1)).toBe(false);
    expect(shouldDisableEndpoint(0, 5 * 24 * h)).toBe(true);
  });
});
