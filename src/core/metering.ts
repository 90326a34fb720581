import { quantityFromJson, type Parsed } from './decimal.ts';

/**
 * How a meter turns one usage event into a quantity. Filters match event properties exactly;
 * `count` counts events, `sum` and `max` read a numeric property, `unique_count` a property whose
 * distinct values are counted per period.
 */
export type Aggregation = 'count' | 'sum' | 'max' | 'unique_count';

export interface MeterShape {
  eventType: string;
  filter: Record<string, string | number | boolean>;
  aggregation: Aggregation;
  valueProperty: string | null;
}

export const oneUnitMicro = 1_000_000n;

export function meterMatches(meter: MeterShape, type: string, properties: Record<string, unknown>): boolean {
  if (meter.eventType !== type) return false;
  for (const key in meter.filter) if (properties[key] !== meter.filter[key]) return false;
  return true;
}

export type Reading = { kind: 'quantity'; quantityMicro: bigint } | { kind: 'unique'; value: string };

/** A `count` meter's reading, the same for every event: one object, never changed. */
const countReading: Parsed<Reading> = Object.freeze({ ok: true, value: Object.freeze({ kind: 'quantity', quantityMicro: oneUnitMicro }) });

/** What one event contributes to a meter, or why it cannot be read. */
export function readEvent(meter: MeterShape, properties: Record<string, unknown>): Parsed<Reading> {
  if (meter.aggregation === 'count') return countReading;
  const property = meter.valueProperty ?? '';
  const raw = properties[property];
  if (raw === undefined || raw === null) {
    return { ok: false, problem: { code: 'missing_property', message: `Property ${JSON.stringify(property)} is required by a meter on this event type.` } };
  }
  if (meter.aggregation === 'unique_count') {
    if (typeof raw !== 'string' && typeof raw !== 'number' && typeof raw !== 'boolean') {
      return { ok: false, problem: { code: 'invalid_property', message: `Property ${JSON.stringify(property)} must be a string, number or boolean.` } };
    }
    return { ok: true, value: { kind: 'unique', value: String(raw) } };
  }
  const quantity = quantityFromJson(raw);
  if (!quantity.ok) return quantity;
  if (quantity.value < 0n) {
    return { ok: false, problem: { code: 'negative_quantity', message: `Property ${JSON.stringify(property)} must not be negative.` } };
  }
  return { ok: true, value: { kind: 'quantity', quantityMicro: quantity.value } };
}

/** The running period total after one reading. `seen` tells whether a unique value was counted already. */
export function nextQuantity(aggregation: Aggregation, beforeMicro: bigint, reading: Reading, seen: boolean): bigint {
  if (reading.kind === 'unique') return seen ? beforeMicro : beforeMicro + oneUnitMicro;
  if (aggregation === 'max') return reading.quantityMicro > beforeMicro ? reading.quantityMicro : beforeMicro;
  return beforeMicro + reading.quantityMicro;
}
