import { invalid, notFound, ok, type Outcome } from '../core/errors.ts';
import { parseDecimal } from '../core/decimal.ts';
import { isCurrency } from '../core/money.ts';
import { overagePriceScale, overageUnitMaxScaled } from '../core/plans.ts';
import { parseRate, type Rate } from '../core/rating.ts';
import type { PlanRecord } from '../store/queries/billing.ts';
import { Changes, type Engine } from './context.ts';
import { FieldCheck } from './input.ts';

export interface CreatePlanInput {
  code: string;
  name: string;
  currency: string;
  interval: 'month' | 'year';
  amount: number;
  included_credits: string;
  rollover?: { max_credits: string } | undefined;
  overage?: { unit_amount_per_credit: string; limit_credits?: string | undefined } | undefined;
  rates?: Record<string, unknown> | undefined;
}

/**
 * Creates a plan, or a new version of an existing code. A version that has been subscribed to is
 * immutable: posting the code again makes version n+1, and existing subscriptions keep theirs.
 * A version nobody subscribed to yet is replaced in place.
 */
export async function createPlan(engine: Engine, input: CreatePlanInput): Promise<Outcome<PlanRecord>> {
  const check = new FieldCheck();
  if (!isCurrency(input.currency)) check.add('currency', 'invalid_currency', 'currency must be an ISO 4217 code.');
  if (!Number.isSafeInteger(input.amount) || input.amount < 0) check.add('amount', 'invalid_amount', 'amount must be a non-negative integer of minor units.');
  const includedCreditsMicro = check.credits('included_credits', input.included_credits);
  const rolloverMaxMicro = input.rollover ? check.credits('rollover.max_credits', input.rollover.max_credits) : null;
  let overageUnitScaled: bigint | null = null;
  let overageLimitMicro: bigint | null = null;
  if (input.overage) {
    const price = parseDecimal(input.overage.unit_amount_per_credit, overagePriceScale, { maxAbs: overageUnitMaxScaled });
    if (!price.ok) check.add('overage.unit_amount_per_credit', price.problem.code, price.problem.message);
    else overageUnitScaled = price.value;
    overageLimitMicro = check.optionalCredits('overage.limit_credits', input.overage.limit_credits);
  }
  const rates: Record<string, Rate> = {};
  for (const [code, raw] of Object.entries(input.rates ?? {})) {
    const parsed = parseRate(raw, `rates.${code}`);
    if (parsed.ok) rates[code] = parsed.rate;
    else for (const p of parsed.problems) check.add(p.field, p.code, p.message);
  }
  if (check.errors.length) return invalid(check.errors);
  return engine.store.transaction(async (tx) => {
    const latest = await tx.billing.plan(input.code);
    if (latest && latest.code !== input.code) return invalid([{ field: 'code', code: 'invalid_code', message: 'A plan code may not look like a plan id.' }]);
    const unknownMeters: string[] = [];
    for (const code of Object.keys(rates)) if (!(await tx.usage.meterByCode(code))) unknownMeters.push(code);
    if (unknownMeters.length) return invalid(unknownMeters.map((code) => ({ field: `rates.${code}`, code: 'meter_not_found', message: `No meter ${JSON.stringify(code)}.` })));
    const replace = latest !== null && !latest.subscribed;
    if (replace) await tx.billing.deletePlan(latest.id);
    const plan: PlanRecord = {
      id: engine.ids.next('pln'),
      code: input.code,
      version: latest ? (replace ? latest.version : latest.version + 1) : 1,
      name: input.name,
      currency: input.currency,
      interval: input.interval,
      amountMinor: BigInt(input.amount),
      includedCreditsMicro,
      rolloverMaxMicro,
      overageUnitScaled,
      overageLimitMicro,
      rates,
      subscribed: false,
      createdAtMs: engine.clock.now(),
    };
    await tx.billing.insertPlan(plan);
    const changes = new Changes(engine);
    changes.event('plan.created', null, { plan: plan.id, code: plan.code, version: plan.version }, plan.createdAtMs);
    await changes.flush(tx);
    return ok(plan);
  });
}

export async function getPlan(engine: Engine, ref: string): Promise<Outcome<PlanRecord>> {
  const plan = await engine.store.read.billing.plan(ref);
  return plan ? ok(plan) : notFound('plan', ref);
}
