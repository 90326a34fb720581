import { describe, expect, it } from 'vitest';
import { intervalMs, layOutSeries, seriesWindow, usageSeriesBucketsMax } from './usage-series.ts';

const t0 = Date.parse('2026-05-01T00:00:00Z');
const hour = intervalMs.hour;
const day = intervalMs.day;

describe('the usage series window', () => {
  it('rounds the window outwards to whole UTC hours or days', () => {
    const w = seriesWindow('hour', t0 + 90 * 60_000, t0 + 150 * 60_000, t0);
    expect(w).toEqual({ ok: true, value: { interval: 'hour', bucketMs: hour, fromMs: t0 + hour, toMs: t0 + 3 * hour, buckets: 2 } });
    expect(seriesWindow('day', t0 + 1, t0 + 2, t0)).toMatchObject({ ok: true, value: { fromMs: t0, toMs: t0 + day, buckets: 1 } });
  });

  it('defaults to the 30 buckets up to now', () => {
    expect(seriesWindow('day', null, null, t0 + 5)).toMatchObject({ ok: true, value: { fromMs: t0 + day - 30 * day, toMs: t0 + day, buckets: 30 } });
  });

  it('refuses an empty or reversed window, and more than the bound of buckets, naming the field', () => {
    expect(seriesWindow('day', t0, t0, t0)).toEqual({ ok: false, fields: [{ field: 'to', code: 'invalid_window', message: 'to must be later than from.' }] });
    expect(seriesWindow('hour', t0, t0 + usageSeriesBucketsMax * hour, t0)).toMatchObject({ ok: true, value: { buckets: usageSeriesBucketsMax } });
    const tooMany = seriesWindow('hour', t0, t0 + (usageSeriesBucketsMax + 1) * hour, t0);
    expect(tooMany.ok).toBe(false);
    if (!tooMany.ok) expect(tooMany.fields.map((f) => `${f.field}:${f.code}`)).toEqual(['from:too_many_buckets']);
    // A `from` after the default `to` (now) is a window that ends before it starts.
    expect(seriesWindow('day', t0 + 3 * day, null, t0)).toMatchObject({ ok: false, fields: [{ field: 'from', code: 'invalid_window' }] });
  });
});

describe('laying out the sums', () => {
  const window = { interval: 'day' as const, bucketMs: day, fromMs: t0, toMs: t0 + 3 * day, buckets: 3 };

  it('puts each meter on every bucket, zeros included, and totals it exactly', () => {
    const series = layOutSeries(window, [
      { bucketStartMs: t0, meter: 'tokens', quantityMicro: 1_500_750_000n, creditsMicro: 1_500_750n },
      { bucketStartMs: t0 + 2 * day, meter: 'tokens', quantityMicro: 1n, creditsMicro: 1n },
      { bucketStartMs: t0 + day, meter: 'calls', quantityMicro: 3_000_000n, creditsMicro: 300_000n },
    ]);
    expect(series.map((s) => [s.meter, s.quantityMicro, s.creditsMicro, s.points.map((p) => p.creditsMicro)])).toEqual([
      ['calls', 3_000_000n, 300_000n, [0n, 300_000n, 0n]],
      ['tokens', 1_500_750_001n, 1_500_751n, [1_500_750n, 0n, 1n]],
    ]);
    expect(series[0]!.points.map((p) => p.startMs)).toEqual([t0, t0 + day, t0 + 2 * day]);
  });

  it('shows a meter asked for by name even without usage', () => {
    expect(layOutSeries(window, [], ['tokens'])).toEqual([{ meter: 'tokens', quantityMicro: 0n, creditsMicro: 0n, points: [0, 1, 2].map((i) => ({ startMs: t0 + i * day, quantityMicro: 0n, creditsMicro: 0n })) }]);
  });
});
