import type { FieldError } from './errors.ts';

/**
 * The one rule for a grant's life, used by every path that creates a grant with a caller-given
 * expiry (`/v1/grants`, credit purchases): it must end after it starts. A grant effective now
 * (the default) therefore cannot be created already expired, whichever path sells or gives it.
 */
export function grantWindowErrors(effectiveAtMs: number, expiresAtMs: number | null): FieldError[] {
  if (expiresAtMs !== null && expiresAtMs <= effectiveAtMs) {
    return [{ field: 'expires_at', code: 'expires_before_effective', message: 'expires_at must be later than effective_at (default: now).' }];
  }
  return [];
}
