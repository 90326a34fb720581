import { Type, type TSchema } from '@sinclair/typebox';
import { limits } from '../engine/limits.ts';
import { Code, Credits, Metadata, Name, PageQuery, Timestamp } from './schemas.ts';

/**
 * Request and response schemas of campaigns, redemptions and referrals (PRODUCT §15). The same
 * objects validate requests, shape replies and produce the OpenAPI document.
 */
const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);
const CustomerRef = Type.String({ minLength: 1, maxLength: limits.customerRefLengthMax, description: 'Customer id or external_id.' });
const PromotionCode = Type.String({ minLength: 1, maxLength: limits.promotionCodeLengthMax, pattern: '^[A-Za-z0-9_-]+$', description: 'Matched without regard to case.' });

export const ErrorResponse = Type.Object({
  error: Type.Object({
    code: Type.String({ description: 'Stable snake_case error code.' }),
    message: Type.String(),
    details: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  }),
}, { description: 'An error: {"error": {"code", "message", "details"?}}.' });

/** `response` of a route: the success status and schema, and the error shape for every other status. */
export const replies = (status: number, schema: TSchema) => ({ [status]: schema, '4xx': ErrorResponse, '5xx': ErrorResponse });

export const CreatePromotion = Type.Object({
  name: Type.Optional(Name),
  code: Type.Optional(PromotionCode),
  codes: Type.Optional(Type.Object({
    count: Type.Integer({ minimum: 1, maximum: limits.promotionCodesPerCampaignMax, description: `Single-use codes to generate (at most ${limits.promotionCodesPerCampaignMax}).` }),
    prefix: Type.Optional(Type.String({ maxLength: limits.promotionCodePrefixLengthMax, pattern: '^[A-Za-z0-9]*$' })),
  }, { additionalProperties: false })),
  credits: Credits,
  priority: Type.Optional(Type.Integer({ minimum: 0, maximum: 100, description: 'Burn-down priority of the grants (default 50).' })),
  grant_expires_in: Type.Optional(Type.Integer({ minimum: 1, maximum: limits.promotionGrantSecondsMax, description: 'Seconds after redemption until the grant expires.' })),
  valid_from: Type.Optional(Timestamp),
  valid_until: Type.Optional(Timestamp),
  max_redemptions: Type.Optional(Type.Integer({ minimum: 1, maximum: 1e12 })),
  max_per_customer: Type.Optional(Type.Integer({ minimum: 1, maximum: 1e6, description: 'Default 1.' })),
  new_customers_only: Type.Optional(Type.Boolean({ description: 'Only customers with no money paid, no subscription ever and no earlier redemption.' })),
  plans: Type.Optional(Type.Array(Code, { maxItems: limits.promotionPlansMax, description: 'Only subscribers of these plan codes.' })),
  metadata: Type.Optional(Metadata),
}, { additionalProperties: false });

export const Redeem = Type.Object({ code: PromotionCode, customer: CustomerRef }, { additionalProperties: false });

export const CreateReferral = Type.Object({
  referrer: CustomerRef,
  referred: CustomerRef,
  reward_credits: Credits,
  referred_credits: Type.Optional(Credits),
  metadata: Type.Optional(Metadata),
}, { additionalProperties: false });

export const ReferralQuery = Type.Composite([PageQuery, Type.Object({
  referrer: Type.Optional(Type.String({ maxLength: 255 })),
  referred: Type.Optional(Type.String({ maxLength: 255 })),
})]);

export const RedemptionQuery = Type.Composite([PageQuery, Type.Object({ promotion: Type.Optional(Type.String({ maxLength: 255 })) })]);

export const Promotion = Type.Object({
  id: Type.String(),
  object: Type.Literal('promotion'),
  name: Nullable(Type.String()),
  code: Nullable(Type.String({ description: 'The shared code; null when single-use codes were generated.' })),
  codes: Nullable(Type.Object({ count: Type.Integer(), prefix: Nullable(Type.String()) })),
  credits: Credits,
  priority: Type.Integer(),
  grant_expires_in: Nullable(Type.Integer()),
  valid_from: Nullable(Timestamp),
  valid_until: Nullable(Timestamp),
  max_redemptions: Nullable(Type.Integer()),
  max_per_customer: Type.Integer(),
  new_customers_only: Type.Boolean(),
  plans: Type.Array(Type.String()),
  active: Type.Boolean(),
  redemptions: Type.Integer(),
  metadata: Type.Record(Type.String(), Type.String()),
  created_at: Timestamp,
  deactivated_at: Nullable(Timestamp),
});

export const PromotionCodeView = Type.Object({
  code: Type.String(),
  promotion: Type.String(),
  single_use: Type.Boolean(),
  redemptions: Type.Integer(),
  created_at: Timestamp,
});

export const Redemption = Type.Object({
  id: Type.String(),
  object: Type.Literal('promotion_redemption'),
  promotion: Type.String(),
  code: Type.String(),
  customer: Type.String(),
  grant: Type.String(),
  credits: Credits,
  grant_expires_at: Nullable(Timestamp),
  created_at: Timestamp,
});

export const ReferralClawBack = Type.Object({
  id: Type.String(),
  referral: Type.String(),
  return: Type.String({ description: 'The refund or chargeback that caused it.' }),
  customer: Type.String(),
  grant: Type.String(),
  credits: Credits,
  transaction: Nullable(Type.String()),
  created_at: Timestamp,
});

export const Referral = Type.Object({
  id: Type.String(),
  object: Type.Literal('referral'),
  referrer: Type.String(),
  referred: Type.String(),
  reward_credits: Credits,
  referred_credits: Nullable(Credits),
  status: Type.Union([Type.Literal('pending'), Type.Literal('rewarded')]),
  invoice: Nullable(Type.String({ description: "The referred customer's first paid invoice." })),
  referrer_grant: Nullable(Type.String()),
  referred_grant: Nullable(Type.String()),
  rewarded_at: Nullable(Timestamp),
  claw_backs: Type.Array(ReferralClawBack),
  metadata: Type.Record(Type.String(), Type.String()),
  created_at: Timestamp,
});

export const listOf = (item: TSchema) => Type.Object({
  object: Type.Literal('list'),
  data: Type.Array(item),
  has_more: Type.Boolean(),
  next_cursor: Nullable(Type.String()),
});

const FateColumns = {
  redemptions: Type.Integer(),
  grants: Type.Integer(),
  credits_granted: Credits,
  credits_consumed: Credits,
  credits_expired: Credits,
  credits_revoked: Credits,
  credits_unspent: Credits,
  revenue_after: Type.Record(Type.String(), Type.Integer(), { description: 'Minor units those customers paid after their redemption or referral (in the window), by currency.' }),
};

export const PromotionsReport = Type.Object({
  object: Type.Literal('report'),
  report: Type.Literal('promotions'),
  from: Nullable(Timestamp),
  to: Nullable(Timestamp),
  customer: Nullable(Type.String()),
  rows: Type.Array(Type.Object({
    kind: Type.Union([Type.Literal('campaign'), Type.Literal('referrer')]),
    promotion: Nullable(Type.String()),
    code: Nullable(Type.String()),
    referrer: Nullable(Type.String()),
    customers: Type.Integer(),
    ...FateColumns,
  })),
  totals: Type.Object({ ...FateColumns, customers: Type.Integer() }),
});

export const CsvText = Type.String({ description: 'RFC 4180 CSV with a header row.' });
