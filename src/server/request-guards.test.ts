import { describe, expect, it } from 'vitest';
import { newRequestId, requestIdFor } from './request-guards.ts';

describe('request ids', () => {
  it('are req_ and 16 base64url characters, all different, across many refills of the random pool', () => {
    const ids = Array.from({ length: 5000 }, newRequestId);
    for (const id of ids) expect(id).toMatch(/^req_[A-Za-z0-9_-]{16}$/);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('keep a well-formed X-Request-Id given by the caller and replace any other', () => {
    expect(requestIdFor({ headers: { 'x-request-id': 'trace-42.a:b' } })).toBe('trace-42.a:b');
    for (const given of [undefined, '', 'has space', 'x'.repeat(129), ['a', 'b']]) {
      expect(requestIdFor({ headers: { 'x-request-id': given } })).toMatch(/^req_[A-Za-z0-9_-]{16}$/);
    }
  });
});
