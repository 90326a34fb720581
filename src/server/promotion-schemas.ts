import { Type, type TObject, type TProperties, type TSchema } from '@sinclair/typebox';
import { Nullable, responds } from './openapi.ts';
import { limits } from '../engine/limits.ts';
import { Code, Credits, CustomerPageQuery, Metadata, Name, KeptTimestamp, Timestamp } from './schemas.ts';

/**
 * Request and response schemas of campaigns, redemptions and referrals (PRODUCT §15). The same
 * objects validate requests, shape replies and produce the OpenAPI document.
 */
const CustomerRef = Type.String({ minLength: 1, maxLength: limits.customerRefLengthMax, description: 'Customer id or external_id.' });
const PromotionCode = Type.String({ minLength: 1, maxLength: limits.promotionCodeLengthMax, pattern: '^[A-Za-z0-9_-]+$', description: 'Matched without regard to case.' });

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
  valid_from: Type.Optional(KeptTimestamp),
  valid_until: Type.Optional(KeptTimestamp),
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

export const ReferralQuery = Type.Composite([CustomerPageQuery, Type.Object({
  referrer: Type.Optional(Type.String({ maxLength: 255 })),
  referred: Type.Optional(Type.String({ maxLength: 255 })),
})], { additionalProperties: false });

export const RedemptionQuery = Type.Composite([CustomerPageQuery, Type.Object({ promotion: Type.Optional(Type.String({ maxLength: 255 })) })], { additionalProperties: false });

const record = <P extends TProperties>(id: string, description: string, properties: P): TObject<P> =>
  Type.Object(properties, { $id: id, additionalProperties: false, description });
const Time = Type.String({ format: 'date-time', description: 'RFC 3339 date-time in UTC.' });
const CreditsOut = Type.String({ description: 'Credits as an exact decimal string.', examples: ['50'] });
const Strings = Type.Record(Type.String(), Type.String());

export const Promotion = record('Promotion', 'A campaign: its code (or generated single-use codes), the credits a redemption grants, and its limits.', {
  id: Type.String({ description: 'prm_…' }),
  object: Type.Literal('promotion'),
  name: Nullable(Type.String()),
  code: Nullable(Type.String({ description: 'The shared code; null when single-use codes were generated.' })),
  codes: Nullable(Type.Object({ count: Type.Integer(), prefix: Nullable(Type.String()) }, { additionalProperties: false })),
  credits: CreditsOut,
  priority: Type.Integer(),
  grant_expires_in: Nullable(Type.Integer({ description: 'Seconds after redemption until the grant expires.' })),
  valid_from: Nullable(Time),
  valid_until: Nullable(Time),
  max_redemptions: Nullable(Type.Integer()),
  max_per_customer: Type.Integer(),
  new_customers_only: Type.Boolean(),
  plans: Type.Array(Type.String()),
  active: Type.Boolean(),
  redemptions: Type.Integer(),
  metadata: Strings,
  created_at: Time,
  deactivated_at: Nullable(Time),
});

export const PromotionCodeView = record('PromotionCode', 'One code of a campaign, with how often it was redeemed.', {
  code: Type.String(),
  promotion: Type.String(),
  single_use: Type.Boolean(),
  redemptions: Type.Integer(),
  created_at: Time,
});

export const Redemption = record('PromotionRedemption', 'A redemption: the promotional grant (source `promotion`) a code gave a customer.', {
  id: Type.String({ description: 'rdm_…' }),
  object: Type.Literal('promotion_redemption'),
  promotion: Type.String(),
  code: Type.String(),
  customer: Type.String(),
  grant: Type.String(),
  credits: CreditsOut,
  grant_expires_at: Nullable(Time),
  created_at: Time,
});

export const ReferralClawBack = record('ReferralClawBack', 'The unspent part of a referral reward taken back by a refund or lost chargeback of the rewarding invoice.', {
  id: Type.String({ description: 'rcb_…' }),
  referral: Type.String(),
  return: Type.String({ description: 'The refund or chargeback that caused it.' }),
  customer: Type.String(),
  grant: Type.String(),
  credits: CreditsOut,
  transaction: Nullable(Type.String({ description: 'The revoke transaction (null when nothing was left to take).' })),
  created_at: Time,
});

export const Referral = record('Referral', "A referral: rewards when the referred customer's first invoice is paid with money (not only from the balance), clawed back with its money.", {
  id: Type.String({ description: 'rfl_…' }),
  object: Type.Literal('referral'),
  referrer: Type.String(),
  referred: Type.String(),
  reward_credits: CreditsOut,
  referred_credits: Nullable(CreditsOut),
  status: Type.Union([Type.Literal('pending'), Type.Literal('rewarded')]),
  invoice: Nullable(Type.String({ description: "The referred customer's first invoice paid with money." })),
  referrer_grant: Nullable(Type.String()),
  referred_grant: Nullable(Type.String()),
  rewarded_at: Nullable(Time),
  claw_backs: Type.Array(Type.Ref(ReferralClawBack)),
  metadata: Strings,
  created_at: Time,
});

const FateColumns = {
  redemptions: Type.Integer({ description: 'Redemptions (campaign) or rewarded referrals (referrer) in the window.' }),
  grants: Type.Integer(),
  credits_granted: CreditsOut,
  credits_consumed: CreditsOut,
  credits_expired: CreditsOut,
  credits_revoked: CreditsOut,
  credits_unspent: CreditsOut,
  revenue_after: Type.Record(Type.String(), Type.Integer(), { description: 'Minor units those customers paid after their redemption or referral (in the window), by currency.' }),
  customers: Type.Integer(),
};

export const PromotionsReport = record('PromotionsReport', 'Per campaign and per referrer: redemptions, the fate of the credits granted, and the revenue their customers paid afterwards.', {
  object: Type.Literal('report'),
  report: Type.Literal('promotions'),
  from: Nullable(Time),
  to: Nullable(Time),
  customer: Nullable(Type.String()),
  rows: Type.Array(Type.Object({
    kind: Type.Union([Type.Literal('campaign'), Type.Literal('referrer')]),
    promotion: Nullable(Type.String()),
    code: Nullable(Type.String()),
    referrer: Nullable(Type.String()),
    ...FateColumns,
  }, { additionalProperties: false })),
  totals: Type.Object(FateColumns, { additionalProperties: false }),
});

/** The shared components this file adds to the OpenAPI document. */
export const promotionComponents = [Promotion, PromotionCodeView, Redemption, ReferralClawBack, Referral, PromotionsReport];

export const CsvText = Type.String({ description: 'RFC 4180 CSV with a header row.' });

/** A reply that is JSON by default and CSV with `Accept: text/csv`. */
export function respondsJsonOrCsv(schema: TSchema, description: string): Record<string, unknown> {
  return { ...responds(200, schema, description), 200: { description, content: { 'application/json': { schema }, 'text/csv': { schema: CsvText } } } };
}
