import { freePort } from './ports.ts';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import {
  accessSync,
  chownSync,
  closeSync,
  constants,
  existsSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readdirSync,
  rmSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import pg from 'pg';

/**
 * Starts and stops a throwaway PostgreSQL server for the test suite: a fresh cluster in a temp
 * directory, trust auth on a free loopback port, removed again on stop.
 */

// A hang guard: a loaded CI machine may take many times the usual start-up.
const startupTimeoutMs = 120_000;
/** How long a stopped server's process may take to exit before it is killed. */
const stopTimeoutMs = 30_000;
const systemUser = 'postgres';

export interface PostgresServer {
  /** A superuser URL for the `postgres` database, e.g. `postgres://postgres@127.0.0.1:5433/postgres`. */
  url: string;
  stop(): Promise<void>;
}

/** True when `initdb` and `pg_ctl` can be found on this machine. */
export function postgresAvailable(): boolean {
  return findBinDir() !== undefined;
}

/**
 * `settings`: more server settings (`-c name=value`), e.g. `shared_preload_libraries` for a
 * benchmark that reads `pg_stat_statements`.
 */
export async function startPostgres(options: { settings?: Readonly<Record<string, string>> } = {}): Promise<PostgresServer> {
  const binDir = findBinDir();
  if (binDir === undefined) {
    throw new Error(
      'PostgreSQL server binaries (initdb, pg_ctl) were not found on PATH or in ' +
        '/usr/lib/postgresql/*/bin. Install them (Debian: apt-get install postgresql) or set ' +
        'TALLY_TEST_SKIP_POSTGRES=1 to run the SQLite tests only.',
    );
  }
  const asRoot = process.getuid?.() === 0;
  if (asRoot) ensureSystemUser();

  const baseDir = makeBaseDir(asRoot);
  const dataDir = join(baseDir, 'data');
  const logFile = join(baseDir, 'server.log');
  const command = (name: string, args: string[]): [string, string[]] =>
    asRoot ? ['runuser', ['-u', systemUser, '--', join(binDir, name), ...args]] : [join(binDir, name), args];
  const readLog = (): string => (existsSync(logFile) ? readFileSync(logFile, 'utf8') : '(no server log)');

  let server: ChildProcess | undefined;
  let serverExited: Promise<void> = Promise.resolve();
  const stop = async (): Promise<void> => {
    process.removeListener('exit', stopOnExit);
    const child = server;
    if (child !== undefined && child.exitCode === null && child.signalCode === null) {
      // The child is unref'd while it runs, so from here its exit must hold the event loop open
      // itself: `pg_ctl -w stop` returns once the pid file is gone, which can be before the child
      // has exited (as root the child is `runuser`, which exits only after the postmaster). With
      // nothing else pending, Node would end the process (exit code 13) while this awaits it.
      child.ref();
      await execute(...command('pg_ctl', ['-D', dataDir, '-m', 'fast', '-w', 'stop']), baseDir).catch(() => {
        child.kill('SIGKILL');
      });
      await stopChild(child, serverExited, stopTimeoutMs);
    }
    server = undefined;
    rmSync(baseDir, { recursive: true, force: true });
  };
  // If the test run dies without its teardown, do not leave a server behind.
  const stopOnExit = (): void => {
    if (server !== undefined && server.exitCode === null) {
      spawnSync(...command('pg_ctl', ['-D', dataDir, '-m', 'immediate', '-w', 'stop']), { stdio: 'ignore' });
    }
    rmSync(baseDir, { recursive: true, force: true });
  };
  process.on('exit', stopOnExit);

  try {
    await execute(
      ...command('initdb', ['-D', dataDir, '--auth=trust', '--username=postgres', '--encoding=UTF8', '--no-locale', '--no-sync']),
      baseDir,
    );
    // The postmaster runs as this process's child rather than daemonized by `pg_ctl start`, so it
    // is reaped here when it stops (a container's init may never reap an orphan). A port is free
    // when picked but could be taken before the server binds it; then another one is picked.
    for (let attempt = 1; ; attempt++) {
      const port = await freePort();
      const log = openSync(logFile, 'a');
      server = spawn(...command('postgres', ['-D', dataDir, ...serverArgs(dataDir, port, options.settings ?? {})]), {
        cwd: baseDir,
        stdio: ['ignore', log, log],
      });
      closeSync(log);
      server.unref();
      const child = server;
      serverExited = new Promise((resolve) => child.once('exit', () => resolve()));
      const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
      try {
        await waitUntilAccepting(url, child);
        return { url, stop };
      } catch (error) {
        if (attempt >= 3 || !readLog().includes('already in use')) throw error;
        await stopChild(child, serverExited);
      }
    }
  } catch (error) {
    const log = readLog();
    await stop();
    throw new Error(`PostgreSQL failed to start: ${(error as Error).message}\n--- server log ---\n${log}`);
  }
}

/**
 * Waits up to `graceMs` for the child to exit, then kills it and waits for that. The child is
 * ref'd first: an unref'd child's exit does not keep the process alive while it is awaited.
 */
async function stopChild(child: ChildProcess, exited: Promise<void>, graceMs = 0): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.ref();
  let timer: NodeJS.Timeout | undefined;
  const graceOver = new Promise<void>((resolve) => { timer = setTimeout(resolve, graceMs); });
  await Promise.race([exited, graceOver]);
  clearTimeout(timer);
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await exited;
}

function serverArgs(dataDir: string, port: number, settings: Readonly<Record<string, string>>): string[] {
  const extra = Object.entries(settings).flatMap(([name, value]) => ['-c', `${name}=${value}`]);
  return [
    '-p', String(port),
    '-c', 'listen_addresses=127.0.0.1',
    '-c', `unix_socket_directories=${dataDir}`,
    '-c', 'fsync=on',
    '-c', 'max_connections=200',
    '-c', 'shared_buffers=128MB',
    ...extra,
  ];
}

/** initdb and pg_ctl from PATH first, else the newest /usr/lib/postgresql/<version>/bin. */
function findBinDir(): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir !== '' && isExecutable(join(dir, 'initdb')) && isExecutable(join(dir, 'pg_ctl'))) return dir;
  }
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root)
    .filter((name) => /^\d+(\.\d+)?$/.test(name))
    .sort((a, b) => Number(b) - Number(a));
  for (const version of versions) {
    const dir = join(root, version, 'bin');
    if (isExecutable(join(dir, 'initdb')) && isExecutable(join(dir, 'pg_ctl'))) return dir;
  }
  return undefined;
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** PostgreSQL refuses to run as root, so as root the server runs as the `postgres` system user. */
function ensureSystemUser(): void {
  if (spawnSync('id', ['-u', systemUser], { stdio: 'ignore' }).status === 0) return;
  const result = spawnSync('useradd', ['--system', '--user-group', '--no-create-home', '--shell', '/bin/sh', systemUser], {
    encoding: 'utf8',
  });
  if (result.status !== 0) {
    throw new Error(`Could not create the '${systemUser}' system user: ${result.stderr || result.error?.message}`);
  }
}

/** A temp directory the server's user owns; as root, one under a path that user can reach. */
function makeBaseDir(asRoot: boolean): string {
  const candidates = asRoot ? [tmpdir(), '/tmp'] : [tmpdir()];
  for (const parent of candidates) {
    const dir = mkdtempSync(join(parent, 'tally-pg-'));
    if (!asRoot) return dir;
    const ids = userIds(systemUser);
    chownSync(dir, ids.uid, ids.gid);
    const reachable = spawnSync('runuser', ['-u', systemUser, '--', 'test', '-w', dir], { stdio: 'ignore' }).status === 0;
    if (reachable) return dir;
    rmSync(dir, { recursive: true, force: true });
  }
  throw new Error(`No temp directory is writable by the '${systemUser}' user.`);
}

function userIds(user: string): { uid: number; gid: number } {
  const uid = spawnSync('id', ['-u', user], { encoding: 'utf8' });
  const gid = spawnSync('id', ['-g', user], { encoding: 'utf8' });
  if (uid.status !== 0 || gid.status !== 0) throw new Error(`Unknown user '${user}'.`);
  return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
}

function execute(command: string, args: string[], cwd: string): Promise<void> {
  return new Promise((resolve, reject) => {
    // stdout is ignored: pg_ctl's server child could otherwise hold the pipe open after exit.
    const child = spawn(command, args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      stderr += chunk;
    });
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (code === 0) resolve();
      else reject(new Error(`${[command, ...args].join(' ')} exited with ${code ?? signal}: ${stderr.trim()}`));
    });
  });
}


/** Connects in a retry loop until the server accepts queries, or fails early if it exits. */
async function waitUntilAccepting(url: string, server: ChildProcess): Promise<void> {
  const deadline = Date.now() + startupTimeoutMs;
  for (;;) {
    if (server.exitCode !== null || server.signalCode !== null) {
      throw new Error(`the server exited with ${server.exitCode ?? server.signalCode}`);
    }
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2_000 });
    client.on('error', () => {});
    try {
      await client.connect();
      await client.query('SELECT 1');
      return;
    } catch (error) {
      if (Date.now() > deadline) {
        throw new Error(`timed out after ${startupTimeoutMs / 1000} s connecting to ${url}: ${(error as Error).message}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    } finally {
      await client.end().catch(() => {});
    }
  }
}
