/** Small helpers for turning measurements into printed figures. */

/** The q-quantile (0..1) of an ascending list, nearest rank. */
export function percentile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank]!;
}

export function latencySummary(samples: number[]): { p50: number; p99: number; max: number } {
  samples.sort((a, b) => a - b);
  return { p50: percentile(samples, 0.5), p99: percentile(samples, 0.99), max: samples[samples.length - 1] ?? 0 };
}

export const rate = (n: number): string => Math.round(n).toLocaleString('en-US');
export const ms = (n: number): string => (n < 10 ? n.toFixed(3) : n.toFixed(1));
export const pct = (n: number): string => `${(n * 100).toFixed(1)}%`;

/** CPU time of this process since `since`, in milliseconds. */
export function cpuMsSince(since: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(since);
  return (used.user + used.system) / 1000;
}
