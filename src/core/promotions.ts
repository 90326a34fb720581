/**
 * Campaign rules (PRODUCT §15) as pure functions: how a single-use code is spelled from random
 * bytes, and whether a customer may redeem a code now. Time and randomness come in as values.
 */

/** Crockford base-32 (no I, L, O, U): easy to read aloud and to type. */
const alphabet = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/**
 * Random characters in a generated code: 16 base-32 characters are 80 bits, so guessing one code
 * of a campaign of 10,000 takes about 2^66 tries on average.
 */
export const generatedCodeRandomChars = 16;
/** Bytes of randomness a generated code consumes (5 bits per character). */
export const generatedCodeRandomBytes = (generatedCodeRandomChars * 5) / 8;

/** Spells `prefix-XXXXXXXXXXXXXXXX` from `generatedCodeRandomBytes` bytes of cryptographic randomness. */
export function generatedCode(prefix: string, random: Uint8Array): string {
  if (random.length !== generatedCodeRandomBytes) throw new Error(`a generated code needs ${generatedCodeRandomBytes} random bytes`);
  let bits = 0;
  let value = 0;
  let out = '';
  for (const byte of random) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += alphabet[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
    value &= (1 << bits) - 1;
  }
  return prefix ? `${prefix}-${out}` : out;
}

/** Codes are matched without regard to case: stored and looked up in upper case. */
export const normalizeCode = (code: string): string => code.trim().toUpperCase();

export interface CampaignTerms {
  active: boolean;
  validFromMs: number | null;
  validUntilMs: number | null;
  maxRedemptions: number | null;
  redemptions: number;
  maxPerCustomer: number;
  newCustomersOnly: boolean;
  plans: readonly string[];
}

export interface RedeemerFacts {
  /** The codes of this campaign the customer redeemed before, one per redemption. */
  codesRedeemed: readonly string[];
  /** Money paid on any invoice, subscriptions ever, redemptions of any campaign. */
  payments: number;
  subscriptions: number;
  redemptionsAnywhere: number;
  /** Plan codes of the customer's running subscriptions. */
  planCodes: readonly string[];
}

export interface Refusal {
  code: 'promotion_inactive' | 'promotion_expired' | 'promotion_already_redeemed' | 'promotion_exhausted' | 'promotion_not_eligible';
  message: string;
  reason: string;
}

/**
 * Why a customer may not redeem `code` (single-use, with `codeRedemptions` uses so far) of a
 * campaign at `nowMs`, or null. Checked in this order: inactive, outside the window
 * [valid_from, valid_until), the customer's own limit (or its own earlier use of this code), the
 * code or campaign used up, eligibility. A new customer is one with no money paid on any invoice,
 * no subscription ever, and no earlier redemption of any campaign.
 */
export function redemptionRefusal(terms: CampaignTerms, code: { code: string; singleUse: boolean; redemptions: number }, facts: RedeemerFacts, nowMs: number): Refusal | null {
  if (!terms.active) return { code: 'promotion_inactive', message: 'The campaign was deactivated.', reason: 'inactive' };
  if (terms.validFromMs !== null && nowMs < terms.validFromMs) return { code: 'promotion_expired', message: 'The campaign has not started yet.', reason: 'not_yet_valid' };
  if (terms.validUntilMs !== null && nowMs >= terms.validUntilMs) return { code: 'promotion_expired', message: 'The campaign has ended.', reason: 'ended' };
  if (facts.codesRedeemed.includes(code.code) && (code.singleUse || facts.codesRedeemed.length >= terms.maxPerCustomer)) {
    return { code: 'promotion_already_redeemed', message: 'The customer already redeemed this code.', reason: 'same_code' };
  }
  if (facts.codesRedeemed.length >= terms.maxPerCustomer) {
    return { code: 'promotion_already_redeemed', message: `The customer redeemed this campaign ${facts.codesRedeemed.length} time(s), its limit per customer.`, reason: 'per_customer_limit' };
  }
  if (code.singleUse && code.redemptions > 0) return { code: 'promotion_exhausted', message: 'This single-use code was already used.', reason: 'code_used' };
  if (terms.maxRedemptions !== null && terms.redemptions >= terms.maxRedemptions) {
    return { code: 'promotion_exhausted', message: `The campaign reached its ${terms.maxRedemptions} redemptions.`, reason: 'max_redemptions' };
  }
  if (terms.newCustomersOnly && (facts.payments > 0 || facts.subscriptions > 0 || facts.redemptionsAnywhere > 0)) {
    return { code: 'promotion_not_eligible', message: 'The campaign is for new customers only (no payment, subscription or redemption before).', reason: 'not_a_new_customer' };
  }
  if (terms.plans.length > 0 && !facts.planCodes.some((p) => terms.plans.includes(p))) {
    return { code: 'promotion_not_eligible', message: `The campaign is for subscribers of ${terms.plans.join(', ')}.`, reason: 'plan' };
  }
  return null;
}

/** A referral reward is clawed back by a refund or lost chargeback of its invoice within this long of the reward. */
export const referralClawBackWindowMs = 60 * 24 * 60 * 60 * 1000;

export function withinClawBackWindow(rewardedAtMs: number, nowMs: number): boolean {
  return nowMs - rewardedAtMs <= referralClawBackWindowMs;
}
