/**
 * The usage a load check sends (`test/http/batched-load.test.ts`, `bench/load-check.ts`): two
 * meters on one event type, and what a customer's events must cost on them, worked out here in
 * BigInt rather than by the engine's rating, so the engine is checked against it.
 */

/** A small, fast, seedable PRNG (mulberry32), so event streams are reproducible. */
export function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * The two meters' request bodies for event type `type`: tokens (property `tokens`) at 0.000037
 * credits each, and requests at 0.013 credits for the first 7 of the period and 0.0011 after.
 */
export function loadMeters(type: string, codes: { tokens: string; requests: string }): Record<string, unknown>[] {
  return [
    { code: codes.tokens, event_type: type, aggregation: 'sum', value_property: 'tokens', rate: { model: 'per_unit', credits_per_unit: '0.000037' } },
    {
      code: codes.requests, event_type: type, aggregation: 'count',
      rate: { model: 'graduated', tiers: [{ up_to: 7, credits_per_unit: '0.013' }, { up_to: null, credits_per_unit: '0.0011' }] },
    },
  ];
}

/** What `requests` events carrying `tokens` tokens in all cost in one period, in micro-credits. */
export function loadCostMicro(tokens: bigint, requests: bigint): bigint {
  const requestsMicro = requests <= 7n ? requests * 13_000n : 7n * 13_000n + (requests - 7n) * 1_100n;
  return tokens * 37n + requestsMicro;
}
