import type { FieldError } from './errors.ts';

/**
 * The arithmetic of a usage time series: a window cut into UTC hours or days, and the sums the
 * store returns per bucket laid out on every bucket of the window (zeros where nothing was used),
 * so that the series of several meters line up bucket for bucket.
 */
export type SeriesInterval = 'hour' | 'day';

export const intervalMs: Record<SeriesInterval, number> = { hour: 3_600_000, day: 86_400_000 };

/** The most buckets one series may have: 41 days by the hour, 2.7 years by the day. */
export const usageSeriesBucketsMax = 1000;

/** Buckets in a window when the caller gives no `from`: the last 30 hours or days. */
export const usageSeriesBucketsDefault = 30;

export interface SeriesWindow {
  interval: SeriesInterval;
  bucketMs: number;
  /** The first bucket's start: `from` rounded down to a UTC hour or day. */
  fromMs: number;
  /** The end of the last bucket: `to` rounded up to a UTC hour or day. */
  toMs: number;
  buckets: number;
}

const floorTo = (ms: number, unit: number) => Math.floor(ms / unit) * unit;
const ceilTo = (ms: number, unit: number) => Math.ceil(ms / unit) * unit;

/**
 * The window a request names, rounded outwards to whole buckets; every problem as a field error.
 * `to` defaults to `nowMs`, `from` to `usageSeriesBucketsDefault` buckets before `to`.
 */
export function seriesWindow(interval: SeriesInterval, fromMs: number | null, toMs: number | null, nowMs: number): { ok: true; value: SeriesWindow } | { ok: false; fields: FieldError[] } {
  const bucketMs = intervalMs[interval];
  const end = ceilTo(toMs ?? nowMs, bucketMs);
  const start = fromMs === null ? end - usageSeriesBucketsDefault * bucketMs : floorTo(fromMs, bucketMs);
  if (fromMs !== null && toMs !== null && fromMs >= toMs) {
    return { ok: false, fields: [{ field: 'to', code: 'invalid_window', message: 'to must be later than from.' }] };
  }
  if (end <= start) return { ok: false, fields: [{ field: fromMs === null ? 'to' : 'from', code: 'invalid_window', message: 'from must be earlier than to.' }] };
  const buckets = (end - start) / bucketMs;
  if (buckets > usageSeriesBucketsMax) {
    return {
      ok: false,
      fields: [{ field: 'from', code: 'too_many_buckets', message: `The window holds ${buckets} ${interval} buckets; at most ${usageSeriesBucketsMax} are allowed (a shorter window, or interval=day).` }],
    };
  }
  return { ok: true, value: { interval, bucketMs, fromMs: start, toMs: end, buckets } };
}

/** One meter's sums in one bucket, in micro-units, as the store adds them up. */
export interface BucketSum {
  bucketStartMs: number;
  meter: string;
  quantityMicro: bigint;
  creditsMicro: bigint;
}

export interface MeterSeries {
  meter: string;
  quantityMicro: bigint;
  creditsMicro: bigint;
  points: { startMs: number; quantityMicro: bigint; creditsMicro: bigint }[];
}

/**
 * One series per meter (by code), each with every bucket of the window in time order. `meters`
 * are listed even without usage (a meter asked for by name shows as zeros, not as nothing).
 */
export function layOutSeries(window: SeriesWindow, sums: readonly BucketSum[], meters: readonly string[] = []): MeterSeries[] {
  const codes = [...new Set([...meters, ...sums.map((s) => s.meter)])].sort();
  const byMeter = new Map(codes.map((code) => [code, new Map<number, BucketSum>()]));
  for (const s of sums) byMeter.get(s.meter)!.set(s.bucketStartMs, s);
  return codes.map((meter) => {
    const found = byMeter.get(meter)!;
    const points = Array.from({ length: window.buckets }, (_, i) => {
      const startMs = window.fromMs + i * window.bucketMs;
      const s = found.get(startMs);
      return { startMs, quantityMicro: s?.quantityMicro ?? 0n, creditsMicro: s?.creditsMicro ?? 0n };
    });
    return {
      meter,
      quantityMicro: points.reduce((total, p) => total + p.quantityMicro, 0n),
      creditsMicro: points.reduce((total, p) => total + p.creditsMicro, 0n),
      points,
    };
  });
}
