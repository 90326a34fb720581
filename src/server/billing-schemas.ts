import { Type } from '@sinclair/typebox';
import { boundedKeys, Code, Credits, Currency, CustomerPageQuery, Metadata, MinorAmount, Name, RateSchema, KeptTimestamp, Timestamp } from './schemas.ts';

/** Request schemas of plans, subscriptions, invoices, payments and purchases (PRODUCT §6–§7). */
export const CreatePlan = Type.Object({
  code: Code,
  name: Name,
  currency: Currency,
  interval: Type.Union([Type.Literal('month'), Type.Literal('year')]),
  amount: MinorAmount,
  included_credits: Credits,
  rollover: Type.Optional(Type.Object({
    max_credits: { ...Credits, description: 'Most credits a period carries into the next: what was left of its allowance and rollover at its end, unless frozen then for an unpaid fee.' },
  }, { additionalProperties: false })),
  overage: Type.Optional(Type.Object({
    unit_amount_per_credit: Type.String({ pattern: '^[0-9]+(\\.[0-9]+)?$', maxLength: 40, description: 'Minor units per credit, as a decimal string ("0.1" = $0.001 a credit), up to 10^12 with up to 6 fraction digits.' }),
    limit_credits: Type.Optional({ ...Credits, description: 'Most overage credits a period may add through authorization: POST /v1/customers/{id}/authorize answers allowed false, reason overage_limit_reached, beyond it. Ingestion never refuses usage for it; what is consumed is billed.' }),
  }, { additionalProperties: false })),
  rates: Type.Optional(Type.Record(Type.String(), Type.Unsafe<unknown>({ ...RateSchema }), { maxProperties: 50, ...boundedKeys, description: 'Rate overrides per meter code.' })),
}, { additionalProperties: false });

export const CreateSubscription = Type.Object({
  customer: Type.String({ minLength: 1, maxLength: 255 }),
  plan: Type.String({ minLength: 1, maxLength: 255, description: 'Plan code (latest version) or plan version id.' }),
  start_at: Type.Optional({ ...KeptTimestamp, description: 'The anchor of the periods (default now): at most 35 days past (too_old), and not before the customer\'s previous subscription ended (before_previous_end).' }),
  metadata: Type.Optional(Metadata),
}, { additionalProperties: false });

const Timing = Type.Union([Type.Literal('immediate'), Type.Literal('period_end')]);
export const ChangeSubscription = Type.Object({ plan: Type.String({ minLength: 1, maxLength: 255 }), timing: Timing }, { additionalProperties: false });
export const CancelSubscription = Type.Object({ timing: Timing }, { additionalProperties: false });

export const RecordPayment = Type.Object({
  amount: Type.Integer({ minimum: 1, maximum: 1e15, description: 'Minor units received.' }),
  provider: Type.Optional(Type.String({ maxLength: 50 })),
  provider_payment_id: Type.Optional(Type.String({ minLength: 1, maxLength: 255 })),
}, { additionalProperties: false });

export const Purchase = Type.Object({
  credits: Credits,
  amount: MinorAmount,
  priority: Type.Optional(Type.Integer({ minimum: 0, maximum: 100 })),
  expires_at: Type.Optional(KeptTimestamp),
}, { additionalProperties: false });

export const AutoTopUpSettings = Type.Object({
  auto_top_up: Type.Union([
    Type.Object({ threshold: Credits, credits: Credits, amount: MinorAmount }, { additionalProperties: false }),
    Type.Null(),
  ]),
}, { additionalProperties: false });

export const InvoiceQuery = Type.Composite([CustomerPageQuery, Type.Object({
  subscription: Type.Optional(Type.String({ minLength: 1, maxLength: 255 })),
  period_start: Type.Optional(Timestamp),
})], { additionalProperties: false });

export { Currency };
