/**
 * Figure 4's baseline: a Fastify server (the framework and version Tally's server uses) with
 * nothing but the authorize route, answering every request with the same constant reply, in a
 * child process of its own as `tally serve` runs in figure 4. What it costs per request and the
 * p99 it reaches at figure 4's rate is what this machine, Node and the framework allow before any
 * of Tally's work: the floor for figure 4's target.
 *
 * The reply has the shape and length of Tally's (`{allowed, available, cost, reason}`, and an
 * `X-Request-Id` header). Fastify parses the JSON body as it does for Tally; there is no schema,
 * no hook, no authentication and no database. The child listens on a free loopback port and
 * reports it over IPC.
 *
 * Run alone, it measures that floor by itself, figure 4's phases against the bare route only,
 * `BENCH_ROUNDS` times (default 3), each round in a fresh server:
 *
 *   npx tsx bench/bare-server.ts
 */
import { fork } from 'node:child_process';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import Fastify from 'fastify';
import { stopper, type ServerChild } from './serve-process.ts';
import { ms } from './stats.ts';

/**
 * A reply as Tally gives figure 4 (after figures 2–3 have spent some of the grants), and a
 * request id header of the length Tally's has: the same bytes on the wire.
 */
export const bareReply = { allowed: true, available: '100006.974356', cost: '0.03468', reason: 'within_balance' } as const;
const requestId = 'req_wN8JszpBNURW0H4q';

/** Starts the bare server in a child process; resolves once it listens. */
export async function startBareServer(): Promise<ServerChild> {
  const child = fork(fileURLToPath(import.meta.url), ['--listen'], { execArgv: process.execArgv, stdio: 'inherit' });
  const stop = stopper(child);
  const port = await new Promise<number>((resolve, reject) => {
    child.once('message', (message: { port: number }) => resolve(message.port));
    child.once('exit', (code) => reject(new Error(`the bare server exited before listening (exit code ${code})`)));
  });
  return { baseUrl: `http://127.0.0.1:${port}`, pid: child.pid!, stop };
}

async function listen(): Promise<void> {
  const app = Fastify();
  app.post('/v1/customers/:id/authorize', async (_request, reply) => {
    reply.header('x-request-id', requestId);
    return bareReply;
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  process.send!({ port: typeof address === 'object' && address !== null ? address.port : 0 });
  const close = (): void => void app.close().then(() => process.exit(0));
  process.on('SIGTERM', close);
  process.on('disconnect', close);
}

/** Figure 4's phases (2,000 requests/s, 2 s of warm-up, 1 s of quiet, 5 s measured) against fresh bare servers. */
async function measureAlone(rounds: number): Promise<void> {
  // Imported here, so that the server child does not load Tally's server and engine with it.
  const { authorizeAgainst, startClient } = await import('./http.ts');
  const client = startClient();
  try {
    const customerIds = Array.from({ length: 1000 }, (_, i) => `cus_${i}`);
    for (let round = 1; round <= rounds; round++) {
      const loadBefore = os.loadavg()[0]!;
      const { report, serverCpuMs, serverMainThreadCpuMs } = await authorizeAgainst(startBareServer, client, { ratePerSecond: 2000, warmupMs: 2000, durationMs: 5000, sockets: 32 }, { apiKey: 'bench-key', customerIds });
      const l = report.latencyMs;
      console.log(`round ${round}: p50 ${ms(l.p50)} ms, p90 ${ms(l.p90)} ms, p99 ${ms(l.p99)} ms, max ${ms(l.max)} ms; server ${Math.round((serverCpuMs * 1000) / report.requests)} µs CPU per request (main thread ${Math.round((serverMainThreadCpuMs! * 1000) / report.requests)}), client ${Math.round((report.clientCpuMs * 1000) / report.requests)} µs; ${report.requests} answered, HTTP errors ${report.httpErrors}, all sockets busy ${report.late}; load average ${loadBefore.toFixed(2)} → ${os.loadavg()[0]!.toFixed(2)}`);
    }
  } finally {
    client.child.disconnect();
  }
}

if (process.argv[2] === '--listen') await listen();
else if (process.argv[1] === fileURLToPath(import.meta.url)) await measureAlone(Number(process.env.BENCH_ROUNDS ?? 3));
