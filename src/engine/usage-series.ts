import { invalid, notFound, ok, type FieldError, type Outcome } from '../core/errors.ts';
import { parseTimestamp } from '../core/time.ts';
import { layOutSeries, seriesWindow, type MeterSeries, type SeriesInterval, type SeriesWindow } from '../core/usage-series.ts';
import type { CustomerRecord } from '../store/records.ts';
import { customerNows, type Engine } from './context.ts';

export interface UsageSeriesInput {
  customer: string;
  meter?: string | undefined;
  from?: string | undefined;
  to?: string | undefined;
  interval?: SeriesInterval | undefined;
}

export interface UsageSeries {
  customer: CustomerRecord;
  /** The meter asked for (its code), or null for every meter the customer used. */
  meter: string | null;
  window: SeriesWindow;
  series: MeterSeries[];
}

/**
 * A customer's consumption over time (PRODUCT §12): per meter and per UTC hour or day, the
 * quantity counted and the credits charged, summed in the database over the usage events of the
 * window. Every bad field is reported at once; the window is bounded (`usageSeriesBucketsMax`).
 * The default window ends at the customer's now (its test clock, if any).
 */
export async function usageSeries(engine: Engine, input: UsageSeriesInput): Promise<Outcome<UsageSeries>> {
  const tx = engine.store.read;
  const fields: FieldError[] = [];
  const time = (field: 'from' | 'to'): number | null => {
    const text = input[field];
    if (text === undefined) return null;
    const parsed = parseTimestamp(text);
    if (!parsed.ok) fields.push({ field, ...parsed.problem });
    return parsed.ok ? parsed.value : null;
  };
  const fromMs = time('from');
  const toMs = time('to');
  if (fields.length) return invalid(fields);
  const customer = await tx.customers.find(input.customer);
  if (!customer) return notFound('customer', input.customer);
  let meterCode: string | null = null;
  if (input.meter !== undefined) {
    const meter = await tx.usage.meterByCode(input.meter);
    if (!meter) return notFound('meter', input.meter);
    meterCode = meter.code;
  }
  const nowMs = (await customerNows(engine, tx, [customer])).get(customer.id)!;
  const window = seriesWindow(input.interval ?? 'day', fromMs, toMs, nowMs);
  if (!window.ok) return invalid(window.fields);
  const sums = await tx.usage.series(customer.id, meterCode, window.value.fromMs, window.value.toMs, window.value.bucketMs);
  return ok({ customer, meter: meterCode, window: window.value, series: layOutSeries(window.value, sums, meterCode ? [meterCode] : []) });
}
