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
 * reports it over IPC. `bench/authorize-floor.ts` measures it alone.
 */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import Fastify from 'fastify';
import { stopper, type ServerChild } from './serve-process.ts';

/**
 * A reply as Tally gives figure 4 (after figures 2–3 have spent some of the grants), and a
 * request id header of the length Tally's has: the same bytes on the wire.
 */
export const bareReply = { allowed: true, available: '100006.974356', cost: '0.03468', reason: 'within_balance' } as const;
const requestId = 'req_wN8JszpBNURW0H4q';

/** Starts the bare server in a child process (with more Node options, such as `--cpu-prof`); resolves once it listens. */
export async function startBareServer(nodeOptions: string[] = []): Promise<ServerChild> {
  const child = fork(fileURLToPath(import.meta.url), ['--listen'], { execArgv: [...process.execArgv, ...nodeOptions], stdio: 'inherit' });
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

if (process.argv[2] === '--listen') await listen();
