import { formatCredits } from '../core/decimal.ts';
import { formatTimestamp } from '../core/time.ts';
import { minorToJson } from '../core/money.ts';
import type { ProgramFigures } from '../core/promotion-report.ts';
import type { PromotionsReport } from '../engine/promotion-report.ts';
import type { GrantRecord } from '../store/records.ts';
import type { PromotionCodeRecord, PromotionRecord, RedemptionRecord, ReferralClawBackRecord, ReferralRecord } from '../store/promotion-records.ts';

/** Campaigns, codes, redemptions and referrals in their wire form. */
const ts = (ms: number | null): string | null => (ms === null ? null : formatTimestamp(ms));

export const promotionView = (p: PromotionRecord) => ({
  id: p.id,
  object: 'promotion' as const,
  name: p.name,
  code: p.code,
  codes: p.code === null ? { count: p.codeCount, prefix: p.codePrefix } : null,
  credits: formatCredits(p.creditsMicro),
  priority: p.priority,
  grant_expires_in: p.grantExpiresInSeconds,
  valid_from: ts(p.validFromMs),
  valid_until: ts(p.validUntilMs),
  max_redemptions: p.maxRedemptions,
  max_per_customer: p.maxPerCustomer,
  new_customers_only: p.newCustomersOnly,
  plans: p.plans,
  active: p.active,
  redemptions: p.redemptions,
  metadata: p.metadata,
  created_at: formatTimestamp(p.createdAtMs),
  deactivated_at: ts(p.deactivatedAtMs),
});

export const promotionCodeView = (c: PromotionCodeRecord) => ({
  code: c.code,
  promotion: c.promotionId,
  single_use: c.singleUse,
  redemptions: c.redemptions,
  created_at: formatTimestamp(c.createdAtMs),
});

export const redemptionView = (r: RedemptionRecord, grant?: Pick<GrantRecord, 'expiresAtMs'> | null) => ({
  id: r.id,
  object: 'promotion_redemption' as const,
  promotion: r.promotionId,
  code: r.code,
  customer: r.customerId,
  grant: r.grantId,
  credits: formatCredits(r.creditsMicro),
  grant_expires_at: ts(grant?.expiresAtMs ?? null),
  created_at: formatTimestamp(r.createdAtMs),
});

export const referralClawBackView = (c: ReferralClawBackRecord) => ({
  id: c.id,
  referral: c.referralId,
  return: c.returnId,
  customer: c.customerId,
  grant: c.grantId,
  credits: formatCredits(c.creditsMicro),
  transaction: c.txnId,
  created_at: formatTimestamp(c.createdAtMs),
});

export const referralView = (r: ReferralRecord, clawBacks: readonly ReferralClawBackRecord[] = []) => ({
  id: r.id,
  object: 'referral' as const,
  referrer: r.referrerId,
  referred: r.referredId,
  reward_credits: formatCredits(r.rewardCreditsMicro),
  referred_credits: r.referredCreditsMicro === null ? null : formatCredits(r.referredCreditsMicro),
  status: r.status,
  invoice: r.invoiceId,
  referrer_grant: r.referrerGrantId,
  referred_grant: r.referredGrantId,
  rewarded_at: ts(r.rewardedAtMs),
  claw_backs: clawBacks.map(referralClawBackView),
  metadata: r.metadata,
  created_at: formatTimestamp(r.createdAtMs),
});

const figures = (f: ProgramFigures) => ({
  grants: f.grants,
  credits_granted: formatCredits(f.grantedMicro),
  credits_consumed: formatCredits(f.consumedMicro),
  credits_expired: formatCredits(f.expiredMicro),
  credits_revoked: formatCredits(f.revokedMicro),
  credits_unspent: formatCredits(f.unspentMicro),
  revenue_after: Object.fromEntries([...f.revenueAfter].sort(([a], [b]) => (a < b ? -1 : 1)).map(([currency, amount]) => [currency, minorToJson(amount)])),
});

export const promotionsReportView = (r: PromotionsReport) => ({
  object: 'report' as const,
  report: 'promotions' as const,
  from: ts(r.filter.from),
  to: ts(r.filter.to),
  customer: r.filter.customerId,
  rows: r.rows.map((row) => ({
    kind: row.group.kind,
    promotion: row.group.promotionId,
    code: row.group.code,
    referrer: row.group.referrerId,
    customers: row.customers,
    redemptions: row.group.redemptionsInWindow,
    ...figures(row),
  })),
  totals: { customers: r.totals.customers, redemptions: r.totals.redemptions, ...figures(r.totals) },
});

export const promotionsReportColumns = ['kind', 'promotion', 'code', 'referrer', 'customers', 'redemptions', 'grants', 'credits_granted', 'credits_consumed',
  'credits_expired', 'credits_revoked', 'credits_unspent'];
