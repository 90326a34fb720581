/**
 * Where figure 2's server time goes: the real server in this process, batches of usage events
 * posted over loopback by the benchmark's load client (a child process), and the main thread's
 * CPU profile of the timed phase alone:
 *
 *   npx tsx bench/http-batch-profile.ts [profile.cpuprofile]
 *
 * `BENCH_EVENTS` (default 40,000) in requests of `BENCH_BATCH` events (default 500), 4 clients.
 * Prints events per second and the server's CPU time per event beside in-process ingestion of the
 * same number of events (figure 1's path, no HTTP), measured right after on the same fixture.
 */
import os from 'node:os';
import { ingestEvents } from '../src/engine/ingest-events.ts';
import { EventSource } from './events.ts';
import { openFixture } from './fixture.ts';
import { startCpuProfile } from './cpu-profile.ts';
import { startIngestServer } from './http.ts';
import { cpuMsSince } from './stats.ts';

const events = Number(process.env.BENCH_EVENTS ?? 40_000);
const perRequest = Number(process.env.BENCH_BATCH ?? 500);
const profilePath = process.argv[2];

const fixture = await openFixture('http-profile', 1000);
const server = await startIngestServer(fixture, { eventsPerRequest: perRequest, clients: 4 });
try {
  await server.batches('warm', 20, 1);
  const stopProfile = await startCpuProfile(profilePath);
  const cpu = process.cpuUsage();
  const report = await server.batches('timed', Math.ceil(events / perRequest), 2);
  const serverCpuMs = cpuMsSince(cpu);
  await stopProfile();
  const accepted = report.statuses.accepted ?? 0;
  console.log(`HTTP: ${accepted} events accepted in ${(report.elapsedMs / 1000).toFixed(2)} s, ${(accepted / (report.elapsedMs / 1000)).toFixed(0)} events/s, server CPU ${((serverCpuMs * 1000) / accepted).toFixed(1)} µs/event (load ${os.loadavg()[0]!.toFixed(2)})`);

  const source = new EventSource('direct', fixture.customerIds, 9);
  const directCpu = process.cpuUsage();
  const started = performance.now();
  for (let i = 0; i < events / 1000; i++) await ingestEvents(fixture.engine, source.batch(1000));
  const ms = performance.now() - started;
  console.log(`in process: ${events} events in ${(ms / 1000).toFixed(2)} s, ${(events / (ms / 1000)).toFixed(0)} events/s, CPU ${((cpuMsSince(directCpu) * 1000) / events).toFixed(1)} µs/event (load ${os.loadavg()[0]!.toFixed(2)})`);
} finally {
  await server.close();
  await fixture.close();
}
