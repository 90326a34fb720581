import { randomBytes } from 'node:crypto';
import { fail, invalid, notFound, ok, type FieldError, type Outcome } from '../core/errors.ts';
import { formatCredits } from '../core/decimal.ts';
import { generatedCode, generatedCodeRandomBytes, normalizeCode } from '../core/promotions.ts';
import type { Metadata } from '../store/records.ts';
import type { PromotionCodeRecord, PromotionRecord } from '../store/promotion-records.ts';
import { Changes, type Engine } from './context.ts';
import { FieldCheck } from './input.ts';
import { limits } from './limits.ts';

export interface CreatePromotionInput {
  name?: string | undefined;
  code?: string | undefined;
  codes?: { count: number; prefix?: string | undefined } | undefined;
  credits: string;
  priority?: number | undefined;
  grant_expires_in?: number | undefined;
  valid_from?: string | undefined;
  valid_until?: string | undefined;
  max_redemptions?: number | undefined;
  max_per_customer?: number | undefined;
  new_customers_only?: boolean | undefined;
  plans?: string[] | undefined;
  metadata?: Metadata | undefined;
}

const codePattern = /^[A-Za-z0-9_-]+$/;
const prefixPattern = /^[A-Za-z0-9]*$/;

/** Checks a campaign's terms, every bad field at once. */
function checkTerms(input: CreatePromotionInput): { errors: FieldError[]; creditsMicro: bigint; validFromMs: number | null; validUntilMs: number | null; metadata: Metadata } {
  const check = new FieldCheck();
  if ((input.code === undefined) === (input.codes === undefined)) {
    check.add('code', 'code_or_codes', 'Give exactly one of code (one shared code) and codes (generated single-use codes).');
  }
  if (input.code !== undefined && (!codePattern.test(input.code) || input.code.length > limits.promotionCodeLengthMax)) {
    check.add('code', 'invalid_code', `code must be 1 to ${limits.promotionCodeLengthMax} letters, digits, '_' or '-'.`);
  }
  if (input.codes !== undefined) {
    const { count, prefix } = input.codes;
    if (!Number.isSafeInteger(count) || count < 1 || count > limits.promotionCodesPerCampaignMax) {
      check.add('codes.count', 'out_of_range', `codes.count must be 1 to ${limits.promotionCodesPerCampaignMax}.`);
    }
    if (prefix !== undefined && (!prefixPattern.test(prefix) || prefix.length > limits.promotionCodePrefixLengthMax)) {
      check.add('codes.prefix', 'invalid_code', `codes.prefix must be at most ${limits.promotionCodePrefixLengthMax} letters or digits.`);
    }
  }
  const creditsMicro = check.credits('credits', input.credits, { positive: true });
  const validFromMs = check.keptTime('valid_from', input.valid_from);
  const validUntilMs = check.keptTime('valid_until', input.valid_until);
  if (validFromMs !== null && validUntilMs !== null && validUntilMs <= validFromMs) check.add('valid_until', 'window_empty', 'valid_until must be later than valid_from.');
  const positiveInt = (field: string, value: number | undefined, max: number): void => {
    if (value !== undefined && (!Number.isSafeInteger(value) || value < 1 || value > max)) check.add(field, 'out_of_range', `${field} must be an integer from 1 to ${max}.`);
  };
  positiveInt('grant_expires_in', input.grant_expires_in, limits.promotionGrantSecondsMax);
  positiveInt('max_redemptions', input.max_redemptions, 1e12);
  positiveInt('max_per_customer', input.max_per_customer, 1e6);
  if (input.priority !== undefined && (!Number.isInteger(input.priority) || input.priority < 0 || input.priority > 100)) check.add('priority', 'out_of_range', 'priority must be 0 to 100.');
  if ((input.plans?.length ?? 0) > limits.promotionPlansMax) check.add('plans', 'too_many_items', `At most ${limits.promotionPlansMax} plans.`);
  const metadata = check.metadata('metadata', input.metadata);
  return { errors: check.errors, creditsMicro, validFromMs, validUntilMs, metadata };
}

/**
 * Creates a campaign with one shared code or `codes.count` generated single-use codes, each made
 * from 80 bits of `crypto.randomBytes` (src/core/promotions.ts), written in one transaction with
 * a `promotion.created` domain event.
 */
export async function createPromotion(engine: Engine, input: CreatePromotionInput): Promise<Outcome<PromotionRecord>> {
  const terms = checkTerms(input);
  if (terms.errors.length) return invalid(terms.errors);
  const plans = [...new Set(input.plans ?? [])];
  return engine.store.transaction(async (tx) => {
    const missing = [];
    for (const [i, code] of plans.entries()) if (!(await tx.billing.plan(code))) missing.push({ field: `plans[${i}]`, code: 'plan_not_found', message: `No plan ${JSON.stringify(code)}.` });
    if (missing.length) return invalid(missing);
    const nowMs = engine.clock.now();
    const id = engine.ids.next('prm');
    const shared = input.code === undefined ? null : normalizeCode(input.code);
    if (shared !== null && (await tx.promotions.code(shared))) {
      return fail('promotion_code_taken', `The code ${shared} belongs to another campaign.`, { fields: [{ field: 'code', code: 'promotion_code_taken', message: 'code is taken' }] });
    }
    const prefix = input.codes?.prefix === undefined ? null : normalizeCode(input.codes.prefix) || null;
    const codes: PromotionCodeRecord[] = shared !== null
      ? [{ code: shared, promotionId: id, singleUse: false, redemptions: 0, createdAtMs: nowMs }]
      : generateCodes(prefix ?? '', input.codes!.count).map((code) => ({ code, promotionId: id, singleUse: true, redemptions: 0, createdAtMs: nowMs }));
    const promotion: PromotionRecord = {
      id,
      name: input.name ?? null,
      code: shared,
      codePrefix: prefix,
      codeCount: shared === null ? codes.length : 0,
      creditsMicro: terms.creditsMicro,
      priority: input.priority ?? 50,
      grantExpiresInSeconds: input.grant_expires_in ?? null,
      validFromMs: terms.validFromMs,
      validUntilMs: terms.validUntilMs,
      maxRedemptions: input.max_redemptions ?? null,
      maxPerCustomer: input.max_per_customer ?? 1,
      newCustomersOnly: input.new_customers_only ?? false,
      plans,
      active: true,
      redemptions: 0,
      metadata: terms.metadata,
      createdAtMs: nowMs,
      deactivatedAtMs: null,
    };
    await tx.promotions.insert(promotion, codes);
    const changes = new Changes(engine);
    changes.event('promotion.created', null, { promotion: id, code: shared, codes: promotion.codeCount, credits: formatCredits(promotion.creditsMicro) }, nowMs);
    await changes.flush(tx);
    return ok(promotion);
  });
}

/** `count` distinct codes; a repeat (odds about 2^-80 a pair) is simply drawn again. */
function generateCodes(prefix: string, count: number): string[] {
  const codes = new Set<string>();
  while (codes.size < count) codes.add(generatedCode(prefix, randomBytes(generatedCodeRandomBytes)));
  return [...codes];
}

/** Stops a campaign: later redemptions are refused with `promotion_inactive`; grants already made stay. */
export async function deactivatePromotion(engine: Engine, id: string): Promise<Outcome<PromotionRecord>> {
  return engine.store.transaction(async (tx) => {
    const promotion = await tx.promotions.lock(id);
    if (!promotion) return notFound('promotion', id);
    if (!promotion.active) return ok(promotion);
    const nowMs = engine.clock.now();
    await tx.promotions.deactivate(id, nowMs);
    const changes = new Changes(engine);
    changes.event('promotion.deactivated', null, { promotion: id }, nowMs);
    await changes.flush(tx);
    return ok({ ...promotion, active: false, deactivatedAtMs: nowMs });
  });
}
