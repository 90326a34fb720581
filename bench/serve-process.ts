import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, openSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { freePort } from '../test/support/ports.ts';

/** A server the benchmark runs in a child process: where it listens and its pid, for its CPU time. */
export interface ServerChild {
  baseUrl: string;
  pid: number;
  /** Stops the server and waits for its process to exit (a CPU profile is written at exit). */
  stop(): Promise<void>;
}

const repoRoot = fileURLToPath(new URL('..', import.meta.url));
export const serverEntry = `${repoRoot}dist/cli/main.js`;
/** A hang guard: the server opens and migrates its database before it listens. */
const startupTimeoutMsDefault = 60_000;

export interface TallyServeOptions {
  /** A SQLite database file no other process has open. */
  path: string;
  adminKey: string;
  /** Node options before the entry point, such as `--cpu-prof`. */
  nodeOptions?: string[];
  /** How long it may take to answer `/healthz` (default 60 s). */
  startupTimeoutMs?: number;
}

/**
 * `tally serve` as `npm start` runs it (the built `dist/cli/main.js`, so `npm run build:server`
 * first) on a loopback port, with the request log off and the rate limit lifted: the benchmark
 * offers more requests per key than the production default allows. Resolves once `/healthz`
 * answers; `stop()` sends SIGTERM, which closes the server and exits cleanly.
 */
export async function startTallyServe(options: TallyServeOptions): Promise<ServerChild> {
  if (!existsSync(serverEntry)) throw new Error(`${serverEntry} is missing: run \`npm run build:server\` first`);
  const port = await freePort();
  const env: NodeJS.ProcessEnv = {
    ...process.env, PORT: String(port), HOST: '127.0.0.1', TALLY_DATABASE_URL: `sqlite:${options.path}`, TALLY_ADMIN_KEY: options.adminKey, TALLY_RATE_LIMIT_MAX: '0',
  };
  delete env.TALLY_LOG;
  // The server's standard output is dropped, or written to `BENCH_SERVER_STDOUT` (V8's `--trace-gc` lines, say).
  const stdout = process.env.BENCH_SERVER_STDOUT === undefined ? 'ignore' : openSync(process.env.BENCH_SERVER_STDOUT, 'w');
  const child = spawn(process.execPath, [...(options.nodeOptions ?? []), serverEntry, 'serve'], { cwd: repoRoot, env, stdio: ['ignore', stdout, 'inherit'] });
  const stop = stopper(child);
  const baseUrl = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + (options.startupTimeoutMs ?? startupTimeoutMsDefault);
  while ((await fetch(`${baseUrl}/healthz`).catch(() => null))?.ok !== true) {
    if (child.exitCode !== null || Date.now() > deadline) {
      await stop();
      throw new Error(`tally serve did not start (exit code ${child.exitCode})`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return { baseUrl, pid: child.pid!, stop };
}

/** SIGTERM, then the wait for the process's exit; a second call waits for the same exit. */
export function stopper(child: ChildProcess): () => Promise<void> {
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
  };
}
