import type { Metadata } from './records.ts';

/** The rows of campaigns, their codes and redemptions, and referrals (PRODUCT §15). */
export interface PromotionRecord {
  id: string;
  name: string | null;
  /** The shared code, or null when the campaign generated single-use codes. */
  code: string | null;
  codePrefix: string | null;
  /** How many single-use codes were generated (0 for a shared code). */
  codeCount: number;
  creditsMicro: bigint;
  priority: number;
  grantExpiresInSeconds: number | null;
  validFromMs: number | null;
  validUntilMs: number | null;
  maxRedemptions: number | null;
  maxPerCustomer: number;
  newCustomersOnly: boolean;
  plans: string[];
  active: boolean;
  redemptions: number;
  metadata: Metadata;
  createdAtMs: number;
  deactivatedAtMs: number | null;
}

export interface PromotionCodeRecord {
  code: string;
  promotionId: string;
  singleUse: boolean;
  redemptions: number;
  createdAtMs: number;
}

export interface RedemptionRecord {
  id: string;
  promotionId: string;
  code: string;
  customerId: string;
  grantId: string;
  creditsMicro: bigint;
  createdAtMs: number;
}

export type ReferralStatus = 'pending' | 'rewarded';

export interface ReferralRecord {
  id: string;
  referrerId: string;
  referredId: string;
  rewardCreditsMicro: bigint;
  referredCreditsMicro: bigint | null;
  status: ReferralStatus;
  /** The referred customer's first paid invoice, which triggered the rewards. */
  invoiceId: string | null;
  referrerGrantId: string | null;
  referredGrantId: string | null;
  rewardedAtMs: number | null;
  metadata: Metadata;
  createdAtMs: number;
}

/** One reward grant's claw-back by a refund or lost chargeback of the rewarding invoice. */
export interface ReferralClawBackRecord {
  id: string;
  referralId: string;
  /** The refund or chargeback that caused it. */
  returnId: string;
  customerId: string;
  grantId: string;
  creditsMicro: bigint;
  txnId: string | null;
  createdAtMs: number;
}
