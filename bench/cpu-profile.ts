import { writeFileSync } from 'node:fs';
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
