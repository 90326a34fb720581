import { Type, type TSchema } from '@sinclair/typebox';
import { limits } from '../engine/limits.ts';
import { usageSeriesBucketsDefault, usageSeriesBucketsMax } from '../core/usage-series.ts';

/**
 * Request schemas: Fastify validates every request with them (all errors at once) and the OpenAPI
 * document is generated from the same objects. Amounts of credits are decimal strings; money is
 * integer minor units; times are RFC 3339 strings.
 */
export const Credits = Type.String({ pattern: '^-?[0-9]+(\\.[0-9]+)?$', maxLength: 40, description: 'Credits as a decimal string, up to 6 fraction digits.', examples: ['1500', '0.000250'] });
export const Timestamp = Type.String({ maxLength: 40, description: 'RFC 3339 date-time in UTC.', examples: ['2026-01-31T10:00:00Z'] });
/** A time set on something kept, from which others are derived (`limits.keptTimeMinMs`, `keptTimeMaxMs`). */
export const KeptTimestamp = Type.String({ maxLength: 40, description: 'RFC 3339 date-time in UTC, from 0100-01-01T00:00:00Z and before 9900-01-01T00:00:00Z.', examples: ['2026-01-31T10:00:00Z'] });
export const Name = Type.String({ minLength: 1, maxLength: limits.nameLengthMax });
export const Code = Type.String({ minLength: 1, maxLength: limits.codeLengthMax, pattern: '^[A-Za-z0-9_.:-]+$' });
/**
 * The bounds of a record's keys. TypeBox's `Record` keys its values by `patternProperties` and drops
 * its key schema's bounds (a 1,000-character or an empty metadata key was stored), so they are
 * stated as JSON Schema's `propertyNames`.
 */
export const boundedKeys = { propertyNames: { minLength: 1, maxLength: limits.recordKeyLengthMax } };
export const Metadata = Type.Record(Type.String(), Type.String({ maxLength: limits.metadataValueLengthMax }), { maxProperties: limits.metadataKeysMax, ...boundedKeys });
export const Currency = Type.String({ pattern: '^[A-Z]{3}$', description: 'ISO 4217 currency code.' });
export const MinorAmount = Type.Integer({ minimum: 0, maximum: 1e15, description: 'Integer count of minor units of the currency.' });

/** An id or external_id the caller refers to: never empty (PRODUCT §16), at most 255 characters. */
export const IdRef = Type.String({ minLength: 1, maxLength: limits.idLengthMax });
export const IdParam = Type.Object({ id: IdRef });

/**
 * Query strings take only the parameters their route reads: one it does not know is refused like
 * an unknown body field (`validation_failed`, the parameter named), where ignoring it would answer
 * a misspelt filter (`?custmer=`) with every record.
 */
const cursorFields = {
  limit: Type.Optional(Type.String({ pattern: '^[0-9]{1,3}$', description: `Page size, 1 to ${limits.pageSizeMax} (default ${limits.pageSizeDefault}); another is \`400 validation_failed\` with \`limit\` at fault (\`out_of_range\`).` })),
  starting_after: Type.Optional(Type.String({ minLength: 1, maxLength: limits.idLengthMax, description: 'The cursor: the last id of the previous page (its `next_cursor`). It must name a record of this list, filters included (a record that has since left a filter it can leave, such as a Stripe event resolved or a customer renamed out of a search, still continues it); another is `400 validation_failed` with `starting_after` at fault (`cursor_not_found`).' })),
};
const pageFields = {
  ...cursorFields,
  order: Type.Optional(Type.Union([Type.Literal('asc'), Type.Literal('desc')], { description: '`desc`: newest first, and `starting_after` continues towards older records. Default `asc` (the order they were written).' })),
};
const customerField = { customer: Type.Optional({ ...IdRef, description: "Only this customer's records (its id or external_id)." }) };
/** A list in the order its records were written, or newest first. */
export const PageQuery = Type.Object(pageFields, { additionalProperties: false });
/** A list that can also be narrowed to one customer. */
export const CustomerPageQuery = Type.Object({ ...pageFields, ...customerField }, { additionalProperties: false });
/** A list in an order of its own (a campaign's codes, by code): a size and a cursor only. */
export const CursorQuery = Type.Object(cursorFields, { additionalProperties: false });
/** The query of a route that takes no parameters: every one is unknown (`refuseUnknownQueries`). */
export const NoQuery = Type.Object({}, { additionalProperties: false });

/** Payment terms: invoices fall due this many days after finalization. */
export const NetDays = Type.Integer({ minimum: 0, maximum: 365, description: 'Payment terms: invoices are due this many days after finalization (default 0: on finalization).' });

export const CreateCustomer = Type.Object({
  external_id: Type.Optional(Type.String({ minLength: 1, maxLength: limits.customerRefLengthMax })),
  name: Type.Optional(Name),
  email: Type.Optional(Type.String({ maxLength: 320, pattern: '^[^@\\s]+@[^@\\s]+$' })),
  currency: Currency,
  test_clock: Type.Optional(IdRef),
  overage: Type.Optional(Type.Boolean({ description: 'Consumption beyond grants goes to overage (billed) when true, to debt when false.' })),
  low_balance_threshold: Type.Optional(Type.Union([Credits, Type.Null()])),
  net_days: Type.Optional(NetDays),
  metadata: Type.Optional(Metadata),
}, { additionalProperties: false });

export const UpdateCustomer = Type.Object({
  name: Type.Optional(Name),
  email: Type.Optional(Type.String({ maxLength: 320, pattern: '^[^@\\s]+@[^@\\s]+$' })),
  overage: Type.Optional(Type.Boolean()),
  low_balance_threshold: Type.Optional(Type.Union([Credits, Type.Null()])),
  net_days: Type.Optional(NetDays),
  metadata: Type.Optional(Metadata),
}, { additionalProperties: false });

const Decimalish = Type.Union([Type.Number(), Type.String({ maxLength: 40 })]);
export const RateSchema = Type.Union([
  Type.Object({ model: Type.Literal('per_unit'), credits_per_unit: Type.String({ maxLength: 40 }) }, { additionalProperties: false }),
  Type.Object({
    model: Type.Literal('graduated'),
    tiers: Type.Array(Type.Object({ up_to: Type.Union([Decimalish, Type.Null()]), credits_per_unit: Type.String({ maxLength: 40 }) }, { additionalProperties: false }), { minItems: 1, maxItems: 50 }),
  }, { additionalProperties: false }),
  Type.Object({ model: Type.Literal('package'), package_size: Decimalish, credits_per_package: Type.String({ maxLength: 40 }) }, { additionalProperties: false }),
]);

export const CreateMeter = Type.Object({
  code: Code,
  name: Type.Optional(Name),
  event_type: Type.String({ minLength: 1, maxLength: limits.eventTypeLengthMax }),
  filter: Type.Optional(Type.Record(Type.String(), Type.Union([Type.String({ maxLength: 500 }), Type.Number(), Type.Boolean()]), { maxProperties: 20, ...boundedKeys })),
  aggregation: Type.Union([Type.Literal('count'), Type.Literal('sum'), Type.Literal('max'), Type.Literal('unique_count')]),
  value_property: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
  // The rate is checked by the domain parser, which reports every bad tier at once.
  rate: Type.Unsafe<unknown>({ ...RateSchema, description: 'per_unit, graduated (up_to inclusive, null last) or package (partial blocks round up), in credits.' }),
}, { additionalProperties: false });

export const CreateGrant = Type.Object({
  customer: IdRef,
  credits: Credits,
  category: Type.Union([Type.Literal('paid'), Type.Literal('promotional')]),
  source: Type.Union([Type.Literal('purchase'), Type.Literal('promotion'), Type.Literal('referral'), Type.Literal('adjustment')]),
  priority: Type.Optional(Type.Integer({ minimum: 0, maximum: 100, description: 'Lower burns first (default 50).' })),
  effective_at: Type.Optional(KeptTimestamp),
  expires_at: Type.Optional(KeptTimestamp),
  invoice: Type.Optional({ ...IdRef, description: 'An invoice of the customer the credits were bought on (a purchase made through Tally names its own).' }),
  cost_basis: Type.Optional(Type.Object({ amount: MinorAmount, currency: Currency }, { additionalProperties: false })),
  metadata: Type.Optional(Metadata),
}, { additionalProperties: false });

export const VoidGrant = Type.Object({ reason: Type.String({ minLength: 1, maxLength: 500 }) }, { additionalProperties: false });

export const UsageEvent = Type.Object({
  id: Type.String({ description: "The caller's idempotency key for this event." }),
  customer: Type.String({ description: 'Customer id or external_id.' }),
  type: Type.String(),
  timestamp: Type.Optional(Timestamp),
  properties: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
});

export const IngestEvents = Type.Object({
  // Items are checked one by one by the engine, so one bad event does not sink the batch: request
  // validation lets every item through, and the document shows the event's shape (below).
  events: Type.Array(Type.Unknown({ description: 'A usage event; each is validated on its own.' }), { minItems: 1, maxItems: limits.eventsPerBatchMax }),
}, { additionalProperties: false });

/** IngestEvents as the OpenAPI document shows it (`documentedBody` of the route). */
export const IngestEventsDocumented = Type.Object({
  events: Type.Array({ ...UsageEvent, description: 'A usage event; each is validated on its own, so one bad event does not refuse the batch.' }, { minItems: 1, maxItems: limits.eventsPerBatchMax }),
}, { additionalProperties: false });

export const Authorize = Type.Object({
  credits: Type.Optional(Credits),
  event: Type.Optional(Type.Object({ type: Type.String(), timestamp: Type.Optional(Timestamp), properties: Type.Optional(Type.Record(Type.String(), Type.Unknown())) })),
}, { additionalProperties: false });

export const CreateHold = Type.Object({
  customer: IdRef,
  credits: Credits,
  expires_in: Type.Integer({ minimum: 1, maximum: limits.holdSecondsMax, description: 'Seconds until the hold frees itself.' }),
  metadata: Type.Optional(Metadata),
}, { additionalProperties: false });

export const CaptureHold = Type.Object({
  event: Type.Unsafe<unknown>({ ...Type.Omit(UsageEvent, ['customer']) }),
}, { additionalProperties: false });

export const CreateTestClock = Type.Object({ frozen_time: KeptTimestamp, name: Type.Optional(Name) }, { additionalProperties: false });
export const AdvanceTestClock = Type.Object({
  frozen_time: { ...KeptTimestamp, description: "RFC 3339 date-time in UTC, before 9900-01-01T00:00:00Z: not before the clock's frozen_time and at most 10 years (3,660 days) after it." },
}, { additionalProperties: false });

export const CreateApiKey = Type.Object({
  name: Type.Optional(Name),
  scopes: Type.Array(Type.Union([Type.Literal('admin'), Type.Literal('ingest'), Type.Literal('read')]), { minItems: 1, maxItems: 3 }),
  customer: Type.Optional(Type.String({ minLength: 1, maxLength: limits.idLengthMax, description: 'Bind the key to one customer (a portal token, read scope only).' })),
}, { additionalProperties: false });

export const CustomerQuery = Type.Object({
  ...pageFields,
  q: Type.Optional(Type.String({ minLength: 1, maxLength: 320, description: 'Search: an id, external id or email, or the start of a name or email.' })),
}, { additionalProperties: false });

/** A list that can also be read newest first: the ledger, webhook deliveries. Oldest first by default. */
export const EventsLogQuery = Type.Object({ ...pageFields, ...customerField, type: Type.Optional(Type.String({ maxLength: 100 })) }, { additionalProperties: false });

export const UsageSeriesQuery = Type.Object({
  meter: Type.Optional(Type.String({ minLength: 1, maxLength: limits.codeLengthMax, description: 'A meter code or id: only this meter. Default: every meter the customer used.' })),
  from: Type.Optional({ ...Timestamp, description: `Start of the window, rounded down to the hour or day (UTC). Default: ${usageSeriesBucketsDefault} buckets before \`to\`.` }),
  to: Type.Optional({ ...Timestamp, description: "End of the window (exclusive), rounded up to the hour or day (UTC). Default: the customer's now (its test clock, if any)." }),
  interval: Type.Optional(Type.Union([Type.Literal('hour'), Type.Literal('day')], { description: `Bucket size (default day). At most ${usageSeriesBucketsMax} buckets per window.` })),
}, { additionalProperties: false });

export type Schema = TSchema;
