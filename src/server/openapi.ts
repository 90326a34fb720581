import { Type, type TSchema } from '@sinclair/typebox';

/**
 * The conventions of the OpenAPI document. Every route declares, in its `schema`:
 * - `operationId` (camelCase verb + noun, unique), `tags` (one of `tags` below) and `summary`;
 * - `response: responds(status, Schema)`: the real success status with the schema that
 *   SERIALIZES the reply (fast-json-stringify drops any property the schema does not name, so the
 *   view and the schema must match exactly; the test servers check every reply against it), and
 *   the shared `Error` schema for 4xx and 5xx.
 * Records are shared components (an `$id` in records-schemas.ts, registered by
 * `registerComponents`), referenced with `Type.Ref(Record)`.
 */

export const ErrorSchema = Type.Object({
  error: Type.Object({
    code: Type.String({ description: 'Stable snake_case code; branch on this, not on the message.', examples: ['insufficient_credits'] }),
    message: Type.String({ description: 'A sentence for people.', examples: ['The customer has 10 credits available; 25 are needed.'] }),
    details: Type.Optional(Type.Record(Type.String(), Type.Unknown(), {
      description: 'Facts about the error; `fields` lists every bad field ({field, code, message}) of a request that failed validation.',
    })),
  }, { additionalProperties: false }),
}, {
  $id: 'Error',
  additionalProperties: false,
  description: 'Every error the server sends has this shape.',
  examples: [{ error: { code: 'validation_failed', message: 'credits: must match pattern', details: { fields: [{ field: 'credits', code: 'invalid_format', message: 'must match pattern' }] } } }],
});

const errorRef = { $ref: 'Error', description: 'An error with its stable code.' };

/** The success status with its schema, and the shared error schema for every 4xx and 5xx. */
export function responds(status: 200 | 201, schema: TSchema, description?: string): Record<string, unknown> {
  return {
    [status]: description ? { ...schema, description } : schema,
    '4xx': errorRef,
    '5xx': errorRef,
  };
}

/** A value that may be null: a type array where the schema is a plain scalar, `anyOf` otherwise. */
export function Nullable<T extends TSchema>(schema: T) {
  const scalar = typeof schema.type === 'string' && !('anyOf' in schema) && !('$ref' in schema) && schema.type !== 'object' && schema.type !== 'array';
  return scalar
    ? Type.Unsafe<T['static'] | null>({ ...schema, type: [schema.type, 'null'] })
    : Type.Union([schema, Type.Null()]);
}

/** A page of a list: `data` in id order, and the cursor of the next page. */
export function List<T extends TSchema>(item: T, description: string) {
  return Type.Object({
    object: Type.Literal('list'),
    data: Type.Array(item),
    has_more: Type.Boolean(),
    next_cursor: Nullable(Type.String({ description: 'Pass as `starting_after` to read the next page; null on the last page.' })),
  }, { additionalProperties: false, description });
}

/** The tags of the document, in the order a reader meets them. */
export const tags = [
  { name: 'customers', description: 'The people and organizations that hold credits and pay invoices.' },
  { name: 'credits', description: 'Balances and real-time entitlement checks.' },
  { name: 'grants', description: 'Blocks of credits with a category, a priority and an expiry.' },
  { name: 'meters', description: 'What usage events count, and what they cost in credits.' },
  { name: 'usage', description: 'Usage events: ingested, rated and charged in one transaction, and explained.' },
  { name: 'holds', description: 'Credits reserved for long jobs, captured or released.' },
  { name: 'plans', description: 'Versioned plans with a fee, included credits, rollover and overage.' },
  { name: 'subscriptions', description: 'Customers on plans: periods, changes with proration, cancellation.' },
  { name: 'invoices', description: 'Invoices, payments, credit purchases and auto top-up.' },
  { name: 'credit notes', description: "Money owed to a customer, kept as balance and applied to invoices; the customer's money balance." },
  { name: 'refunds', description: 'Money returned on an invoice and the credits clawed back by policy.' },
  { name: 'chargebacks', description: 'Disputed payments: credits clawed back, restored if won.' },
  { name: 'promotions', description: 'Campaigns with shared or single-use codes, and their redemptions as promotional grants.' },
  { name: 'referrals', description: "Referral rewards on the referred customer's first paid invoice, clawed back with its money." },
  { name: 'reports', description: 'Finance reports (JSON or CSV) and the reconciliation.' },
  { name: 'ledger', description: 'The append-only double-entry ledger behind every balance.' },
  { name: 'events', description: 'The audit trail of typed domain events.' },
  { name: 'webhooks', description: 'Signed webhooks (Standard Webhooks) to your endpoints: deliveries with every attempt, retry and replay.' },
  { name: 'api keys', description: 'Hashed API keys with scopes; portal tokens bound to one customer.' },
  { name: 'test clocks', description: 'Simulated time for whole billing periods in tests.' },
  { name: 'stripe', description: 'Stripe, both ways: the webhook Stripe calls, and the Stripe events kept for review.' },
  { name: 'system', description: 'Health of the server and its database.' },
];

/** `@fastify/swagger` names each shared schema's component after its `$id`. */
export const refResolver = {
  buildLocalReference(json: { $id?: unknown }, _baseUri: unknown, _fragment: unknown, i: number): string {
    return typeof json.$id === 'string' ? json.$id : `def-${i}`;
  },
};

declare module 'fastify' {
  interface FastifySchema {
    /** The body as the document shows it, when the route validates it more loosely (see app.ts). */
    documentedBody?: unknown;
  }
}
