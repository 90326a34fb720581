/**
 * Expected failures are values, not exceptions: every use case returns an `Outcome`, and the
 * server maps the stable `code` to an HTTP status in one place. `throw` is kept for broken
 * invariants (an unbalanced transaction, a state that cannot happen).
 */
export interface FieldError {
  field: string;
  code: string;
  message: string;
}

export interface DomainError {
  code: string;
  message: string;
  /** Every bad field at once, when the failure is about input. */
  fields?: FieldError[];
  details?: Record<string, unknown>;
}

export type Outcome<T> = { ok: true; value: T } | { ok: false; error: DomainError };

export function ok<T>(value: T): Outcome<T> {
  return { ok: true, value };
}

export function fail<T = never>(code: string, message: string, extra?: Omit<DomainError, 'code' | 'message'>): Outcome<T> {
  return { ok: false, error: { code, message, ...extra } };
}

export function invalid<T = never>(fields: FieldError[]): Outcome<T> {
  const first = fields[0];
  const message = first ? `${first.field}: ${first.message}` : 'The request is invalid.';
  return { ok: false, error: { code: 'validation_failed', message, fields } };
}

export function notFound<T = never>(what: string, id: string): Outcome<T> {
  return fail(`${what}_not_found`, `No ${what.replace(/_/g, ' ')} ${JSON.stringify(id)}.`, { details: { id } });
}

/** Raised when an invariant breaks; never caught to be turned into a 4xx. */
export class InvariantError extends Error {
  override readonly name = 'InvariantError';
}

export function invariant(condition: unknown, message: string): asserts condition {
  if (!condition) throw new InvariantError(message);
}
