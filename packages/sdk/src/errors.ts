/** A field the server found at fault in a request, as `details.fields` lists them. */
export interface FieldError {
  field: string;
  code: string;
  message: string;
}

/**
 * An error reply of the API: `code` is the server's stable snake_case code (`insufficient_credits`,
 * `validation_failed`, `customer_not_found`, `idempotency_key_reused`…); branch on it.
 */
export class TallyError extends Error {
  override readonly name = 'TallyError';

  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: Record<string, unknown> = {},
    readonly requestId: string | null = null,
  ) {
    super(message);
  }

  /** The fields at fault, when the request failed validation. */
  get fields(): FieldError[] {
    return Array.isArray(this.details.fields) ? (this.details.fields as FieldError[]) : [];
  }

  static from(status: number, text: string, requestId: string | null): TallyError {
    try {
      const body = JSON.parse(text) as { error?: { code?: unknown; message?: unknown; details?: unknown } };
      if (body.error && typeof body.error.code === 'string') {
        return new TallyError(status, body.error.code, String(body.error.message ?? body.error.code), (body.error.details ?? {}) as Record<string, unknown>, requestId);
      }
    } catch {
      // Not JSON: a proxy's page, say. Reported with the status alone.
    }
    return new TallyError(status, `http_${status}`, `The server answered ${status}.`, {}, requestId);
  }
}

/** The server could not be reached (after the retries). */
export class TallyNetworkError extends Error {
  override readonly name = 'TallyNetworkError';
}
