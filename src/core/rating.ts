/**
 * A meter's rate turns a quantity into credits (PRODUCT §3). Costs are defined on the period's
 * TOTAL quantity and each event is charged the difference it makes (`marginalCost`), so the
 * credits deducted over a period always equal the rate applied to the period total: rounding
 * happens once on the total, and per-event rounding never drifts.
 *
 * Units: quantities are micro-units (scale 6). Per-unit prices are pico-credits (scale 12), so
 * that token-sized prices such as "0.0000005" credits per unit are exact; package prices and
 * every cost are micro-credits (scale 6).
 */
import { creditsScale, divRound, formatCredits, formatDecimal, parseCredits, parseDecimal, pow10, quantityFromJson, quantityScale, type Parsed } from './decimal.ts';
import { invariant } from './errors.ts';
import { isPlainObject } from './json.ts';

/** Fraction digits a per-unit price may carry: 10^-12 credits per unit. */
export const unitPriceScale = 12;
/** More tiers than this is a configuration mistake, and bounding it bounds the rating loop. */
export const rateTiersMax = 50;

export type GraduatedTier = { upToMicro: bigint | null; creditsPerUnitPico: bigint };

export type Rate =
  | { model: 'per_unit'; creditsPerUnitPico: bigint }
  | { model: 'graduated'; tiers: GraduatedTier[] }
  | { model: 'package'; packageSizeMicro: bigint; creditsPerPackageMicro: bigint };

/** Dividing quantity × unit price by this gives micro-credits. */
const unitCostDivisor = pow10(quantityScale + unitPriceScale - creditsScale);

/** Micro-credits for a total quantity, rounded half away from zero once. */
export function costOfQuantity(rate: Rate, quantityMicro: bigint): bigint {
  switch (rate.model) {
    case 'per_unit':
      // Negative totals are allowed here, because corrections can bring a period total down.
      return divRound(quantityMicro * rate.creditsPerUnitPico, unitCostDivisor);
    case 'graduated':
      return quantityMicro <= 0n ? 0n : divRound(graduatedCostScaled(rate.tiers, quantityMicro), unitCostDivisor);
    case 'package':
      if (quantityMicro <= 0n) return 0n;
      return divRound(quantityMicro, rate.packageSizeMicro, 'ceiling') * rate.creditsPerPackageMicro;
  }
}

/** The exact, unrounded graduated cost: each slice of the quantity at its own tier's price. */
function graduatedCostScaled(tiers: readonly GraduatedTier[], quantityMicro: bigint): bigint {
  let total = 0n;
  let lowerMicro = 0n;
  for (const tier of tiers) {
    if (tier.upToMicro === null || quantityMicro <= tier.upToMicro) {
      return total + (quantityMicro - lowerMicro) * tier.creditsPerUnitPico;
    }
    total += (tier.upToMicro - lowerMicro) * tier.creditsPerUnitPico;
    lowerMicro = tier.upToMicro;
  }
  invariant(false, 'A graduated rate must end with an unbounded tier.');
}

/** What an event adds when it moves the period total from `beforeMicro` to `afterMicro`. */
export function marginalCost(rate: Rate, beforeMicro: bigint, afterMicro: bigint): bigint {
  return costOfQuantity(rate, afterMicro) - costOfQuantity(rate, beforeMicro);
}

export type RateProblem = { field: string; code: string; message: string };

export type RateWire =
  | { model: 'per_unit'; credits_per_unit: string }
  | { model: 'graduated'; tiers: { up_to: number | string | null; credits_per_unit: string }[] }
  | { model: 'package'; package_size: number | string; credits_per_package: string };

const allowedKeys: Record<Rate['model'], readonly string[]> = {
  per_unit: ['model', 'credits_per_unit'],
  graduated: ['model', 'tiers'],
  package: ['model', 'package_size', 'credits_per_package'],
};

/**
 * Collects problems while parsing, so one pass reports every bad field at once. A missing
 * field is `required` rather than whatever the value parser would say about `undefined`.
 */
class Problems {
  readonly list: RateProblem[] = [];

  add(field: string, code: string, message: string): void {
    this.list.push({ field, code, message });
  }

  read(record: Record<string, unknown>, key: string, path: string, parse: (value: unknown) => Parsed<bigint>): bigint | undefined {
    if (record[key] === undefined) {
      this.add(`${path}.${key}`, 'required', `${key} is required.`);
      return undefined;
    }
    const parsed = parse(record[key]);
    if (parsed.ok) return parsed.value;
    this.add(`${path}.${key}`, parsed.problem.code, parsed.problem.message);
    return undefined;
  }

  positive(record: Record<string, unknown>, key: string, path: string): bigint | undefined {
    const value = this.read(record, key, path, quantityFromJson);
    if (value === undefined || value > 0n) return value;
    this.add(`${path}.${key}`, 'must_be_positive', `${key} must be greater than zero.`);
    return undefined;
  }

  unknownKeys(record: Record<string, unknown>, allowed: readonly string[], path: string): void {
    for (const key of Object.keys(record)) {
      if (!allowed.includes(key)) this.add(`${path}.${key}`, 'unknown_field', `Unknown field ${key}.`);
    }
  }
}

const parseUnitPrice = (value: unknown): Parsed<bigint> => parseDecimal(value, unitPriceScale);

/** Parses the wire form of a rate (PRODUCT §3), reporting every bad field with its path. */
export function parseRate(input: unknown, fieldPrefix = 'rate'): { ok: true; rate: Rate } | { ok: false; problems: RateProblem[] } {
  const problems = new Problems();
  if (!isPlainObject(input)) {
    problems.add(fieldPrefix, 'invalid_rate', 'A rate must be an object with a model.');
    return { ok: false, problems: problems.list };
  }
  const model = input.model;
  if (model !== 'per_unit' && model !== 'graduated' && model !== 'package') {
    const code = model === undefined ? 'required' : 'invalid_model';
    problems.add(`${fieldPrefix}.model`, code, 'model must be one of per_unit, graduated, package.');
    return { ok: false, problems: problems.list };
  }
  problems.unknownKeys(input, allowedKeys[model], fieldPrefix);
  const rate = parseModel(model, input, fieldPrefix, problems);
  return rate && problems.list.length === 0 ? { ok: true, rate } : { ok: false, problems: problems.list };
}

function parseModel(model: Rate['model'], input: Record<string, unknown>, path: string, problems: Problems): Rate | undefined {
  if (model === 'per_unit') {
    const creditsPerUnitPico = problems.read(input, 'credits_per_unit', path, parseUnitPrice);
    return creditsPerUnitPico === undefined ? undefined : { model, creditsPerUnitPico };
  }
  if (model === 'package') {
    const packageSizeMicro = problems.positive(input, 'package_size', path);
    const creditsPerPackageMicro = problems.read(input, 'credits_per_package', path, (value) => parseCredits(value));
    if (packageSizeMicro === undefined || creditsPerPackageMicro === undefined) return undefined;
    return { model, packageSizeMicro, creditsPerPackageMicro };
  }
  const tiers = parseTiers(input.tiers, `${path}.tiers`, problems);
  return tiers === undefined ? undefined : { model, tiers };
}

function parseTiers(input: unknown, path: string, problems: Problems): GraduatedTier[] | undefined {
  if (!Array.isArray(input) || input.length === 0 || input.length > rateTiersMax) {
    const code = input === undefined ? 'required' : 'invalid_tiers';
    problems.add(path, code, `tiers must be a list of 1 to ${rateTiersMax} tiers.`);
    return undefined;
  }
  const tiers: GraduatedTier[] = [];
  let previousUpToMicro = 0n;
  input.forEach((tier: unknown, index) => {
    const tierPath = `${path}[${index}]`;
    if (!isPlainObject(tier)) return problems.add(tierPath, 'invalid_tier', 'A tier must be an object.');
    problems.unknownKeys(tier, ['up_to', 'credits_per_unit'], tierPath);
    const upToMicro = parseUpTo(tier, tierPath, index === input.length - 1, previousUpToMicro, problems);
    const creditsPerUnitPico = problems.read(tier, 'credits_per_unit', tierPath, parseUnitPrice);
    if (typeof upToMicro === 'bigint') previousUpToMicro = upToMicro;
    if (upToMicro !== undefined && creditsPerUnitPico !== undefined) tiers.push({ upToMicro, creditsPerUnitPico });
  });
  return tiers.length === input.length ? tiers : undefined;
}

/** Bounds are inclusive and strictly increasing; only the last tier is open (`null`). */
function parseUpTo(
  tier: Record<string, unknown>,
  tierPath: string,
  isLast: boolean,
  previousUpToMicro: bigint,
  problems: Problems,
): bigint | null | undefined {
  const field = `${tierPath}.up_to`;
  if (isLast) {
    if (tier.up_to === null) return null;
    problems.add(field, 'last_tier_must_be_unbounded', 'The last tier must have up_to null.');
    return undefined;
  }
  if (tier.up_to === null) {
    problems.add(field, 'only_last_tier_unbounded', 'Only the last tier may have up_to null.');
    return undefined;
  }
  const upToMicro = problems.positive(tier, 'up_to', tierPath);
  if (upToMicro === undefined || upToMicro > previousUpToMicro) return upToMicro;
  problems.add(field, 'tiers_not_increasing', 'up_to must be greater than the previous tier\'s up_to.');
  return undefined;
}

/** Quantities go out as JSON numbers when whole (as they usually come in), else as strings. */
function quantityToWire(quantityMicro: bigint): number | string {
  const unit = pow10(quantityScale);
  const whole = quantityMicro / unit;
  const isExactNumber = quantityMicro % unit === 0n && whole <= BigInt(Number.MAX_SAFE_INTEGER);
  return isExactNumber ? Number(whole) : formatDecimal(quantityMicro, quantityScale);
}

/** The inverse of `parseRate`: parseRate(rateToWire(r)) gives r back. */
export function rateToWire(rate: Rate): RateWire {
  switch (rate.model) {
    case 'per_unit':
      return { model: 'per_unit', credits_per_unit: formatDecimal(rate.creditsPerUnitPico, unitPriceScale) };
    case 'graduated':
      return {
        model: 'graduated',
        tiers: rate.tiers.map((tier) => ({
          up_to: tier.upToMicro === null ? null : quantityToWire(tier.upToMicro),
          credits_per_unit: formatDecimal(tier.creditsPerUnitPico, unitPriceScale),
        })),
      };
    case 'package':
      return {
        model: 'package',
        package_size: quantityToWire(rate.packageSizeMicro),
        credits_per_package: formatCredits(rate.creditsPerPackageMicro),
      };
  }
}
