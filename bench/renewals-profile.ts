/**
 * Where a test clock advance spends its time (figure 8's in-process part), with the population's
 * set-up out of the picture:
 *
 *   npx tsx bench/renewals-profile.ts [subscriptions] [profile.cpuprofile]
 *
 * Writes `subscriptions` (default 3,000) as `bench/renewals.ts` does, then advances the clock past
 * the period end, printing wall and CPU time per renewal and the statements run per renewal. With
 * a file argument, the main thread's CPU profile of the advance alone is written there.
 */
import os from 'node:os';
import { advanceTestClock } from '../src/engine/test-clocks.ts';
import { startCpuProfile } from './cpu-profile.ts';
import { openTempDatabase } from './fixture.ts';
import { populate, targetTime } from './renewals.ts';
import { cpuMsSince } from './stats.ts';

const subscriptions = Number(process.argv[2] ?? 3000);
const profilePath = process.argv[3];
const temp = openTempDatabase('renewals-profile');
try {
  const { engine, clockId } = await populate(temp.db, subscriptions);
  const stopProfile = await startCpuProfile(profilePath);
  const cpu = process.cpuUsage();
  const started = performance.now();
  const advanced = await advanceTestClock(engine, clockId, { frozen_time: targetTime });
  const ms = performance.now() - started;
  const cpuMs = cpuMsSince(cpu);
  await stopProfile();
  if (!advanced.ok) throw new Error(JSON.stringify(advanced));
  console.log(`${subscriptions} renewals (${advanced.value.ran} items): ${(ms / 1000).toFixed(2)} s, ${(ms / subscriptions).toFixed(3)} ms and ${(cpuMs / subscriptions).toFixed(3)} ms CPU per renewal (load ${os.loadavg()[0]!.toFixed(2)})`);
} finally {
  await temp.remove();
}
