import { spawn, type ChildProcess } from 'node:child_process';
import { join, resolve } from 'node:path';
import { freePort } from './ports.ts';

const root = resolve(import.meta.dirname, '../..');
/** A hang guard, not a speed bound: a loaded CI machine may take many times the usual start-up. */
const startupTimeoutMs = 60_000;

/**
 * Starts `tally serve` the way `npm start` does, in `dir` with its default SQLite file, on a free
 * loopback port, with `extraEnv` on top of this process's environment (no admin key and no database
 * URL, as a new user has). Resolves once the banner names the bound address.
 */
export async function startReadmeServer(dir: string, extraEnv: NodeJS.ProcessEnv): Promise<{ server: ChildProcess; url: string }> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const env: NodeJS.ProcessEnv = { ...process.env, PORT: String(port), HOST: '127.0.0.1', ...extraEnv };
  delete env.TALLY_ADMIN_KEY;
  delete env.TALLY_DATABASE_URL;
  const server = spawn(process.execPath, [join(root, 'bin/tally.mjs'), 'serve'], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  server.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  server.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const deadline = Date.now() + startupTimeoutMs;
  while (!output.includes('listening on') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  if (!output.includes(`Tally listening on ${url}`)) {
    server.kill('SIGTERM');
    throw new Error(`tally serve did not report listening on ${url}:\n${output}`);
  }
  return { server, url };
}
