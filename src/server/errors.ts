import type { DomainError } from '../core/errors.ts';

/**
 * The one map from stable error codes to HTTP statuses. Codes not listed are 400s; every reply
 * has the shape `{"error": {"code", "message", "details"?}}`.
 */
const statusByCode: Record<string, number> = {
  missing_api_key: 401,
  invalid_api_key: 401,
  insufficient_scope: 403,
  customer_forbidden: 403,
  not_found: 404,
  route_not_found: 404,
  customer_not_found: 404,
  grant_not_found: 404,
  meter_not_found: 404,
  hold_not_found: 404,
  test_clock_not_found: 404,
  usage_event_not_found: 404,
  transaction_not_found: 404,
  api_key_not_found: 404,
  plan_not_found: 404,
  subscription_not_found: 404,
  invoice_not_found: 404,
  refund_not_found: 404,
  chargeback_not_found: 404,
  webhook_endpoint_not_found: 404,
  stripe_webhook_not_configured: 404,
  webhook_delivery_not_found: 404,
  webhook_delivery_in_flight: 409,
  promotion_not_found: 404,
  referral_not_found: 404,
  method_not_allowed: 405,
  idempotency_key_reused: 409,
  idempotency_key_in_use: 409,
  external_id_taken: 409,
  meter_code_taken: 409,
  plan_code_taken: 409,
  grant_not_active: 409,
  hold_not_active: 409,
  hold_expired: 409,
  event_already_recorded: 409,
  clock_cannot_go_back: 409,
  insufficient_credits: 402,
  subscription_exists: 409,
  subscription_not_active: 409,
  invoice_not_open: 409,
  invoice_in_provider: 409,
  invoice_not_voidable: 409,
  overpayment: 409,
  amount_exceeds_paid: 409,
  chargeback_closed: 409,
  credit_note_not_found: 404,
  credit_note_not_refundable: 409,
  customer_has_unpaid_invoices: 409,
  stripe_event_not_found: 404,
  stripe_event_not_in_review: 409,
  amount_exceeds_remaining: 409,
  invoice_void: 409,
  promotion_code_taken: 409,
  promotion_inactive: 409,
  promotion_expired: 409,
  promotion_exhausted: 409,
  promotion_already_redeemed: 409,
  promotion_not_eligible: 409,
  customer_already_referred: 409,
  referral_not_eligible: 409,
  amount_beyond_json: 422,
  balance_out_of_range: 422,
  sum_out_of_range: 422,
  payload_too_large: 413,
  unsupported_media_type: 415,
  internal_error: 500,
  service_unavailable: 503,
};

export function statusFor(code: string): number {
  return statusByCode[code] ?? 400;
}

export interface ErrorBody {
  error: { code: string; message: string; details?: Record<string, unknown> };
}

export function errorBody(error: DomainError): ErrorBody {
  const details: Record<string, unknown> = { ...error.details };
  if (error.fields) details.fields = error.fields;
  return Object.keys(details).length
    ? { error: { code: error.code, message: error.message, details } }
    : { error: { code: error.code, message: error.message } };
}

/** Turns ajv's errors into our field errors: every bad field, with a stable code each. */
export function fromSchemaErrors(
  errors: { instancePath: string; keyword: string; params: Record<string, unknown>; message?: string; propertyName?: string }[],
  where: string,
): DomainError {
  const codeByKeyword: Record<string, string> = {
    required: 'required',
    type: 'invalid_type',
    pattern: 'invalid_format',
    format: 'invalid_format',
    enum: 'invalid_value',
    const: 'invalid_value',
    additionalProperties: 'unknown_field',
    maxLength: 'too_long',
    minLength: 'too_short',
    minimum: 'out_of_range',
    maximum: 'out_of_range',
    maxItems: 'too_many_items',
    minItems: 'too_few_items',
    maxProperties: 'too_many_keys',
  };
  // A key of a record out of its bounds (`propertyNames`) comes as the bound's own error, with the
  // key in `propertyName`, then a summary error, dropped: the record is the field at fault.
  const fields = errors.filter((e) => e.keyword !== 'propertyNames').map((e) => {
    let path = e.instancePath.replace(/^\//, '').split('/').filter(Boolean)
      .map((part) => (/^\d+$/.test(part) ? `[${part}]` : `.${part}`)).join('').replace(/^\./, '');
    if (e.keyword === 'required') path = path ? `${path}.${String(e.params.missingProperty)}` : String(e.params.missingProperty);
    if (e.keyword === 'additionalProperties') path = path ? `${path}.${String(e.params.additionalProperty)}` : String(e.params.additionalProperty);
    const message = e.message ?? 'is invalid';
    return { field: path || where, code: codeByKeyword[e.keyword] ?? 'invalid', message: e.propertyName === undefined ? message : `a key ${message}` };
  });
  const unique = fields.filter((f, i) => fields.findIndex((g) => g.field === f.field && g.code === f.code) === i);
  const first = unique[0]!;
  return { code: 'validation_failed', message: `${first.field}: ${first.message}`, fields: unique };
}
