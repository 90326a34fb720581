import { parseCredits, formatCredits } from '../core/decimal.ts';
import { parseTimestamp } from '../core/time.ts';
import type { FieldError } from '../core/errors.ts';
import { limits } from './limits.ts';
import type { Metadata } from '../store/records.ts';

/**
 * Collects every bad field of one request, so the caller hears about all of them at once. The
 * HTTP schemas already checked types; this checks meaning (decimal precision, ranges, times).
 */
export class FieldCheck {
  readonly errors: FieldError[] = [];

  add(field: string, code: string, message: string): void {
    this.errors.push({ field, code, message });
  }

  credits(field: string, value: unknown, options: { positive?: boolean; allowNegative?: boolean } = {}): bigint {
    const parsed = parseCredits(value, { allowNegative: options.allowNegative ?? false, maxAbs: limits.creditsMaxMicro });
    if (!parsed.ok) {
      this.add(field, parsed.problem.code, parsed.problem.message);
      return 0n;
    }
    if (options.positive && parsed.value <= 0n) {
      this.add(field, 'must_be_positive', `${field} must be greater than zero.`);
    }
    return parsed.value;
  }

  optionalCredits(field: string, value: unknown): bigint | null {
    return value === undefined || value === null ? null : this.credits(field, value);
  }

  timestamp(field: string, value: unknown): number | null {
    if (value === undefined || value === null) return null;
    const parsed = parseTimestamp(value);
    if (!parsed.ok) {
      this.add(field, 'invalid_timestamp', `${field} must be an RFC 3339 date-time.`);
      return null;
    }
    return parsed.value;
  }

  /**
   * A time the request sets on something kept (`limits.keptTimeMinMs` to `keptTimeMaxMs`): a test clock's time, a
   * subscription's start, a grant's, a purchase's or a promotion's times.
   */
  keptTime(field: string, value: unknown): number | null {
    const ms = this.timestamp(field, value);
    if (ms !== null && (ms < limits.keptTimeMinMs || ms > limits.keptTimeMaxMs)) {
      this.add(field, 'out_of_range', `${field} must be from 0100-01-01T00:00:00Z and before 9900-01-01T00:00:00Z.`);
      return null;
    }
    return ms;
  }

  metadata(field: string, value: unknown): Metadata {
    if (value === undefined || value === null) return {};
    if (typeof value !== 'object' || Array.isArray(value)) {
      this.add(field, 'invalid_metadata', 'metadata must be an object of strings.');
      return {};
    }
    const entries = Object.entries(value as Record<string, unknown>);
    if (entries.length > limits.metadataKeysMax) this.add(field, 'too_many_keys', `metadata may hold at most ${limits.metadataKeysMax} keys.`);
    for (const [key, v] of entries) {
      if (typeof v !== 'string' || v.length > limits.metadataValueLengthMax) {
        this.add(`${field}.${key}`, 'invalid_metadata', `metadata values must be strings of at most ${limits.metadataValueLengthMax} characters.`);
      }
    }
    return value as Metadata;
  }
}

export { formatCredits };
