import { describe, expect, it } from 'vitest';
import { generatedCode, generatedCodeRandomBytes, redemptionRefusal, withinClawBackWindow, referralClawBackWindowMs, type CampaignTerms, type RedeemerFacts } from './promotions.ts';
import { promotionGrantProblems } from './promotion-reconciliation.ts';

const terms = (t: Partial<CampaignTerms> = {}): CampaignTerms => ({
  active: true, validFromMs: null, validUntilMs: null, maxRedemptions: null, redemptions: 0, maxPerCustomer: 1, newCustomersOnly: false, plans: [], ...t,
});
const facts = (f: Partial<RedeemerFacts> = {}): RedeemerFacts => ({ codesRedeemed: [], payments: 0, subscriptions: 0, redemptionsAnywhere: 0, planCodes: [], ...f });
const shared = { code: 'SPRING', singleUse: false, redemptions: 0 };

describe('generated codes', () => {
  it('spell 80 random bits as 16 Crockford base-32 characters after the prefix', () => {
    expect(generatedCode('WEL', new Uint8Array(generatedCodeRandomBytes))).toBe('WEL-0000000000000000');
    expect(generatedCode('', new Uint8Array(generatedCodeRandomBytes).fill(255))).toBe('ZZZZZZZZZZZZZZZZ');
    expect(generatedCode('A', Uint8Array.from([0x84, 0x21, 0x08, 0x42, 0x10, 0x84, 0x21, 0x08, 0x42, 0x10]))).toBe('A-GGGGGGGGGGGGGGGG');
    expect(() => generatedCode('A', new Uint8Array(4))).toThrow();
  });
});

describe('redemptionRefusal', () => {
  const table: [string, CampaignTerms, { code: string; singleUse: boolean; redemptions: number }, RedeemerFacts, number, string | null][] = [
    ['allowed', terms(), shared, facts(), 0, null],
    ['inactive first', terms({ active: false, redemptions: 9, maxRedemptions: 1 }), shared, facts(), 0, 'inactive'],
    ['before the window', terms({ validFromMs: 10 }), shared, facts(), 9, 'not_yet_valid'],
    ['at valid_until (exclusive)', terms({ validUntilMs: 10 }), shared, facts(), 10, 'ended'],
    ['same customer again', terms({ maxRedemptions: 2, redemptions: 2 }), shared, facts({ codesRedeemed: ['SPRING'] }), 0, 'same_code'],
    ['same code again within max_per_customer', terms({ maxPerCustomer: 2 }), shared, facts({ codesRedeemed: ['SPRING'] }), 0, null],
    ['per customer limit', terms({ maxPerCustomer: 2 }), shared, facts({ codesRedeemed: ['SPRING', 'SPRING'] }), 0, 'same_code'],
    ['another code of the campaign past the limit', terms(), { code: 'B', singleUse: true, redemptions: 0 }, facts({ codesRedeemed: ['A'] }), 0, 'per_customer_limit'],
    ['single-use code used by another', terms(), { code: 'B', singleUse: true, redemptions: 1 }, facts(), 0, 'code_used'],
    ['exhausted', terms({ maxRedemptions: 2, redemptions: 2 }), shared, facts(), 0, 'max_redemptions'],
    ['not new: paid', terms({ newCustomersOnly: true }), shared, facts({ payments: 1 }), 0, 'not_a_new_customer'],
    ['not new: subscribed', terms({ newCustomersOnly: true }), shared, facts({ subscriptions: 1 }), 0, 'not_a_new_customer'],
    ['not new: redeemed elsewhere', terms({ newCustomersOnly: true }), shared, facts({ redemptionsAnywhere: 1 }), 0, 'not_a_new_customer'],
    ['not on the plan', terms({ plans: ['pro'] }), shared, facts({ planCodes: ['basic'] }), 0, 'plan'],
    ['on the plan', terms({ plans: ['pro'] }), shared, facts({ planCodes: ['basic', 'pro'] }), 0, null],
  ];
  it.each(table)('%s', (_name, t, code, f, nowMs, reason) => {
    expect(redemptionRefusal(t, code, f, nowMs)?.reason ?? null).toBe(reason);
  });
});

describe('referral claw-back window', () => {
  it('is 60 days from the reward, inclusive', () => {
    expect(withinClawBackWindow(0, referralClawBackWindowMs)).toBe(true);
    expect(withinClawBackWindow(0, referralClawBackWindowMs + 1)).toBe(false);
  });
});

describe('promotionGrantProblems', () => {
  const grant = { grantId: 'grt_1', customerId: 'cus_a', creditsMicro: 5n, category: 'promotional', source: 'promotion', refs: { redemption: 'rdm_1' } };
  it('accepts a grant linked both ways, and leaves direct grants alone', () => {
    expect(promotionGrantProblems({ ...grant, redemption: { id: 'rdm_1', customerId: 'cus_a', creditsMicro: 5n }, referral: null })).toEqual([]);
    expect(promotionGrantProblems({ ...grant, refs: {}, redemption: null, referral: null })).toEqual([]);
  });
  it('names every disagreement with the ids', () => {
    expect(promotionGrantProblems({ ...grant, redemption: null, referral: null }).map((d) => d.ids)).toEqual([['grt_1', 'rdm_1']]);
    const bad = promotionGrantProblems({ ...grant, category: 'paid', redemption: { id: 'rdm_1', customerId: 'cus_b', creditsMicro: 6n }, referral: null });
    expect(bad).toHaveLength(3);
    expect(bad.every((d) => d.check === 'promotion_grants_linked')).toBe(true);
  });
});
