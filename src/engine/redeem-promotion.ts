import { fail, invalid, invariant, notFound, ok, type Outcome } from '../core/errors.ts';
import { formatCredits } from '../core/decimal.ts';
import { normalizeCode, redemptionRefusal } from '../core/promotions.ts';
import type { GrantRecord } from '../store/records.ts';
import type { RedemptionRecord } from '../store/promotion-records.ts';
import { Changes, customerNow, findCustomerLocked, type Engine } from './context.ts';
import { issueGrant } from './grants.ts';
import { limits } from './limits.ts';

export interface RedeemInput {
  code: string;
  customer: string;
}

/**
 * Redeems a code for a customer: in ONE transaction, the campaign's limits are checked under the
 * customer's lock and the campaign row's lock (so concurrent redemptions, from any number of
 * servers, queue on the campaign and never pass `max_redemptions`), the counters move, and the
 * promotional grant (source `promotion`), the redemption record and `promotion.redeemed` are
 * written together.
 */
export async function redeemPromotion(engine: Engine, input: RedeemInput): Promise<Outcome<{ redemption: RedemptionRecord; grant: GrantRecord }>> {
  const code = normalizeCode(input.code);
  if (code === '' || code.length > limits.promotionCodeLengthMax) {
    return invalid([{ field: 'code', code: 'invalid_code', message: `code must be 1 to ${limits.promotionCodeLengthMax} characters.` }]);
  }
  return engine.store.transaction(async (tx) => {
    const found = await tx.promotions.code(code);
    if (!found) return fail('promotion_not_found', `No campaign has the code ${JSON.stringify(code)}.`, { fields: [{ field: 'code', code: 'promotion_not_found', message: 'unknown code' }] });
    const customer = await findCustomerLocked(tx, input.customer);
    if (!customer) return notFound('customer', input.customer);
    // Its writes are the customer's grant and the campaign's counts, which nothing kept reads.
    tx.scopeWritesTo([customer.id]);
    const promotion = (await tx.promotions.lock(found.promotionId))!;
    const codeRow = (await tx.promotions.code(code))!;
    const nowMs = await customerNow(engine, tx, customer);
    const history = await tx.promotions.customerHistory(customer.id);
    const refusal = redemptionRefusal(promotion, codeRow, {
      codesRedeemed: await tx.promotions.codesRedeemedBy(customer.id, promotion.id),
      payments: history.payments,
      subscriptions: history.subscriptions,
      redemptionsAnywhere: history.redemptions,
      planCodes: promotion.plans.length ? await tx.promotions.subscribedPlanCodes(customer.id) : [],
    }, nowMs);
    if (refusal) return fail(refusal.code, refusal.message, { details: { reason: refusal.reason, promotion: promotion.id } });
    // Under the campaign's lock these cannot fail; if they ever did, throwing rolls everything back.
    invariant(await tx.promotions.countRedemption(promotion.id) === 1, 'campaign counter moved under its lock');
    invariant(await tx.promotions.spendCode(code) === 1, 'single-use code spent under its campaign lock');
    const redemptionId = engine.ids.next('rdm');
    const changes = new Changes(engine);
    const grant = await issueGrant(engine, tx, changes, customer, nowMs, {
      creditsMicro: promotion.creditsMicro,
      category: 'promotional',
      source: 'promotion',
      priority: promotion.priority,
      effectiveAtMs: nowMs,
      expiresAtMs: promotion.grantExpiresInSeconds === null ? null : nowMs + promotion.grantExpiresInSeconds * 1000,
      metadata: { promotion: promotion.id, redemption: redemptionId, code },
      refs: { promotion: promotion.id, redemption: redemptionId },
    });
    const redemption: RedemptionRecord = {
      id: redemptionId, promotionId: promotion.id, code, customerId: customer.id, grantId: grant.id, creditsMicro: promotion.creditsMicro, createdAtMs: nowMs,
    };
    await tx.promotions.insertRedemption(redemption);
    changes.event('promotion.redeemed', customer.id, {
      redemption: redemptionId, promotion: promotion.id, code, customer: customer.id, grant: grant.id, credits: formatCredits(promotion.creditsMicro),
    }, nowMs);
    await changes.flush(tx);
    return ok({ redemption, grant });
  });
}
