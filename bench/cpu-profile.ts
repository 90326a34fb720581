import { readFileSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';

/**
 * The main thread's CPU profile of one stretch of a benchmark (Chrome DevTools format), sampled
 * every 200 µs: `const stop = await startCpuProfile(path)`, the work, then `await stop()`. With no
 * path nothing is recorded and `stop` does nothing.
 */
export async function startCpuProfile(path: string | undefined): Promise<() => Promise<void>> {
  if (!path) return async () => {};
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 200 });
  await session.post('Profiler.start');
  return async () => {
    const { profile } = await session.post('Profiler.stop');
    writeFileSync(path, JSON.stringify(profile));
    session.disconnect();
  };
}

/** The parts of a `.cpuprofile` read here; times are microseconds of the monotonic clock. */
export interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; hitCount?: number; children?: number[]; positionTicks?: unknown }[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export function readCpuProfile(path: string): CpuProfile {
  return JSON.parse(readFileSync(path, 'utf8')) as CpuProfile;
}

/**
 * The samples of a profile taken between `fromUs` and `toUs` (the clock of
 * `process.hrtime.bigint() / 1000n`, which V8's profiler shares on Linux): a process profiled
 * from its start (`node --cpu-prof`) cut down to one measured phase.
 */
export function cutCpuProfile(profile: CpuProfile, fromUs: number, toUs: number): CpuProfile {
  const samples: number[] = [];
  const timeDeltas: number[] = [];
  let at = profile.startTime;
  let last = fromUs;
  for (let i = 0; i < profile.samples.length; i++) {
    at += profile.timeDeltas[i]!;
    if (at < fromUs || at > toUs) continue;
    samples.push(profile.samples[i]!);
    timeDeltas.push(at - last);
    last = at;
  }
  const hits = new Map<number, number>();
  for (const id of samples) hits.set(id, (hits.get(id) ?? 0) + 1);
  const nodes = profile.nodes.map(({ positionTicks: _ticks, ...node }) => ({ ...node, hitCount: hits.get(node.id) ?? 0 }));
  return { nodes, startTime: fromUs, endTime: toUs, samples, timeDeltas };
}

/** Each sample's duration: the time until the next sample (as DevTools counts it). */
export function sampleDurations(profile: CpuProfile): number[] {
  return profile.samples.map((_, i) => profile.timeDeltas[i + 1] ?? 0);
}
