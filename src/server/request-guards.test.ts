import { describe, expect, it } from 'vitest';
import { newRequestId, requestIdFor } from './request-guards.ts';

describe('request ids', () => {
  it('are well formed and distinct across several refills of the random pool', () => {
    const ids = Array.from({ length: 2_000 }, () => newRequestId());
    for (const id of ids) expect(id).toMatch(/^req_[A-Za-z0-9_-]{16}$/);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it("keep the caller's well-formed X-Request-Id and replace any other", () => {
    expect(requestIdFor({ headers: { 'x-request-id': 'trace-42' } })).toBe('trace-42');
    expect(requestIdFor({ headers: { 'x-request-id': 'bad id' } })).toMatch(/^req_/);
    expect(requestIdFor({ headers: {} })).toMatch(/^req_/);
  });
});
