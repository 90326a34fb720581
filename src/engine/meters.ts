import { fail, invalid, ok, type Outcome } from '../core/errors.ts';
import { parseRate } from '../core/rating.ts';
import type { Aggregation, MeterFilter, MeterRecord } from '../store/records.ts';
import { Changes, type Engine } from './context.ts';
import { FieldCheck } from './input.ts';

export interface CreateMeterInput {
  code: string;
  name?: string | undefined;
  event_type: string;
  filter?: MeterFilter | undefined;
  aggregation: Aggregation;
  value_property?: string | undefined;
  rate: unknown;
}

export async function createMeter(engine: Engine, input: CreateMeterInput): Promise<Outcome<MeterRecord>> {
  const check = new FieldCheck();
  if (input.aggregation !== 'count' && !input.value_property) {
    check.add('value_property', 'required', `value_property is required for ${input.aggregation} meters.`);
  }
  if (input.aggregation === 'count' && input.value_property) {
    check.add('value_property', 'not_allowed', 'count meters do not read a property.');
  }
  const rate = parseRate(input.rate, 'rate');
  if (!rate.ok) for (const p of rate.problems) check.add(p.field, p.code, p.message);
  if (check.errors.length || !rate.ok) return invalid(check.errors);
  return engine.store.transaction(async (tx) => {
    if (await tx.usage.meterByCode(input.code)) {
      return fail('meter_code_taken', `A meter with code ${JSON.stringify(input.code)} exists already.`, { fields: [{ field: 'code', code: 'meter_code_taken', message: 'already in use' }] });
    }
    const meter: MeterRecord = {
      id: engine.ids.next('mtr'),
      code: input.code,
      name: input.name ?? null,
      eventType: input.event_type,
      filter: input.filter ?? {},
      aggregation: input.aggregation,
      valueProperty: input.value_property ?? null,
      rate: rate.rate,
      createdAtMs: engine.clock.now(),
    };
    await tx.usage.insertMeter(meter);
    const changes = new Changes(engine);
    changes.event('meter.created', null, { meter: meter.id, code: meter.code }, meter.createdAtMs);
    await changes.flush(tx);
    return ok(meter);
  });
}
