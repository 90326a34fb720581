/**
 * Where a server's main thread spent a profiled phase, by part of the stack, per request:
 *
 *   npx tsx bench/profile-breakdown.ts <profile.cpuprofile> <requests> [top]
 *
 * for example figure 4's `authorize.cpuprofile` (`BENCH_PROFILE=<dir>`) and the requests the
 * phase answered. Each sample's time goes to one part, by the frame it was taken in (a native
 * frame, which has no script, goes by the nearest caller that has one): SQLite (the adapter's
 * calls into better-sqlite3: the native statement runs inside them), the socket write (`writev`,
 * kernel time), Fastify and its parsers, request validation, Tally's server (routes, hooks,
 * authentication), the engine and core, the store's row mapping, the metrics, Node's HTTP and
 * streams, garbage collection, and idle. Sampled time is wall time on the thread: on a loaded
 * machine a thread taken off the CPU counts against the frame it was in.
 */
import { readCpuProfile, sampleDurations, type CpuProfile } from './cpu-profile.ts';

type Frame = CpuProfile['nodes'][number]['callFrame'];

const parts: [string, (frame: Frame) => boolean][] = [
  ['idle', (f) => f.functionName === '(idle)'],
  ['garbage collection', (f) => f.functionName === '(garbage collector)'],
  ['V8 and native, unattributed', (f) => f.functionName === '(program)'],
  ['socket write (writev, kernel)', (f) => f.url === '' && f.functionName === 'writev'],
  ['SQLite (better-sqlite3 calls)', (f) => f.url.includes('/store/sqlite/')],
  ['store: SQL built, rows mapped', (f) => f.url.includes('/store/')],
  ['request validation (ajv, usage checks)', (f) => /\/ajv\/|\/engine\/usage-validation\.|\/engine\/validate/.test(f.url) || /^validate\d*$/.test(f.functionName)],
  ['engine and core (authorize, rating)', (f) => /\/(engine|core)\//.test(f.url) && !f.url.includes('node_modules')],
  ['Tally server (routes, hooks, auth)', (f) => /\/server\//.test(f.url) && !f.url.includes('node_modules')],
  ['metrics (prom-client)', (f) => f.url.includes('/prom-client/')],
  ['Fastify (routing, parsing, reply)', (f) => /\/node_modules\/(fastify|@fastify|find-my-way|secure-json-parse|fast-json-stringify|fast-querystring|avvio|light-my-request|toad-cache|fast-uri)\//.test(f.url)],
  ['Node: HTTP, net, streams, timers', (f) => f.url.startsWith('node:')],
];
const other = 'other';

export function breakdown(profile: CpuProfile): { part: string; us: number }[] & { top: { name: string; us: number }[] } {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const partOf = new Map<number, string>();
  const classify = (id: number): string => {
    const known = partOf.get(id);
    if (known !== undefined) return known;
    const frame = byId.get(id)!.callFrame;
    let part = parts.find(([, test]) => test(frame))?.[0];
    // A native frame (no script) belongs where it was called from.
    if (part === undefined) part = frame.url === '' && parent.has(id) ? classify(parent.get(id)!) : other;
    partOf.set(id, part);
    return part;
  };
  const durations = sampleDurations(profile);
  const us = new Map<string, number>();
  const functions = new Map<string, number>();
  profile.samples.forEach((id, i) => {
    const part = classify(id);
    us.set(part, (us.get(part) ?? 0) + durations[i]!);
    const f = byId.get(id)!.callFrame;
    const name = `${f.functionName || '(anonymous)'} ${f.url.replace(/^.*\/node_modules\//, '').replace(/^file:\/\/.*?\/(dist|src)\//, '$1/')}:${f.lineNumber + 1}`;
    functions.set(name, (functions.get(name) ?? 0) + durations[i]!);
  });
  const rows = [...us].map(([part, t]) => ({ part, us: t })).sort((a, b) => b.us - a.us);
  return Object.assign(rows, { top: [...functions].map(([name, t]) => ({ name, us: t })).sort((a, b) => b.us - a.us) });
}

if (process.argv[1] === new URL(import.meta.url).pathname) {
  const [path, requestsText, topText] = process.argv.slice(2);
  if (!path || !requestsText) throw new Error('usage: npx tsx bench/profile-breakdown.ts <profile.cpuprofile> <requests> [top]');
  const profile = readCpuProfile(path);
  const requests = Number(requestsText);
  const rows = breakdown(profile);
  const wallUs = profile.endTime - profile.startTime;
  const busyUs = rows.filter((r) => r.part !== 'idle').reduce((sum, r) => sum + r.us, 0);
  const perRequest = (t: number) => `${(t / requests).toFixed(1).padStart(7)} µs`;
  console.log(`${(wallUs / 1e6).toFixed(2)} s sampled, ${requests} requests: main thread busy ${perRequest(busyUs)} of ${perRequest(wallUs)} per request (${((busyUs / wallUs) * 100).toFixed(0)}%)`);
  for (const r of rows) console.log(`  ${r.part.padEnd(40)} ${perRequest(r.us)}  ${r.part === 'idle' ? '' : `${((r.us / busyUs) * 100).toFixed(1).padStart(5)}% of busy`}`);
  console.log(`top functions by time in the function itself:`);
  for (const f of rows.top.slice(0, Number(topText ?? 15))) console.log(`  ${perRequest(f.us)}  ${f.name}`);
}
