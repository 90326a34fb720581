import { freePort } from './ports.ts';
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/**
 * Real `tally serve` processes for the multi-process tests: each is a child running the CLI exactly
 * as `npm start` does, on its own loopback port, against the database URL it is given. The last
 * lines of each child's output are kept so a failure can show why a server died.
 */

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
// A hang guard: a loaded CI machine may take many times the usual start-up.
const startupTimeoutMs = 120_000;
const outputLinesKept = 60;

/** Every child started here, so a crashed test run can still kill them on exit. */
const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

export class ServerProcess {
  private readonly output: string[] = [];
  readonly exited: Promise<void>;

  private constructor(readonly port: number, private readonly child: ChildProcess) {
    live.add(child);
    this.exited = new Promise((resolve) => {
      child.once('exit', () => {
        live.delete(child);
        resolve();
      });
    });
    const keep = (chunk: Buffer) => {
      this.output.push(...chunk.toString('utf8').split('\n').filter((line) => line !== ''));
      this.output.splice(0, Math.max(0, this.output.length - outputLinesKept));
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
  }

  get baseUrl(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** The exit code once it has exited (null while running, or when a signal ended it). */
  get exitCode(): number | null {
    return this.child.exitCode;
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get recentOutput(): string {
    return this.output.join('\n');
  }

  /** Spawns `node --import tsx src/cli/main.ts serve` (in `cwd`, this checkout by default) and waits until `/healthz` answers. */
  static async start(options: { port: number; databaseUrl: string; adminKey: string; env?: Record<string, string>; cwd?: string }): Promise<ServerProcess> {
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      ...options.env,
      PORT: String(options.port),
      HOST: '127.0.0.1',
      TALLY_DATABASE_URL: options.databaseUrl,
      TALLY_ADMIN_KEY: options.adminKey,
    };
    delete env.TALLY_LOG;
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'serve'], {
      cwd: options.cwd ?? repoRoot,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const server = new ServerProcess(options.port, child);
    try {
      await server.waitUntilHealthy();
    } catch (error) {
      await server.kill();
      throw error;
    }
    return server;
  }

  /** SIGKILL by default: no shutdown hook runs, in-flight requests are cut off. */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    if (this.running) this.child.kill(signal);
    await this.exited;
  }

  private async waitUntilHealthy(): Promise<void> {
    const deadline = Date.now() + startupTimeoutMs;
    for (;;) {
      if (!this.running) throw new Error(`server on port ${this.port} exited during startup:\n${this.recentOutput}`);
      try {
        const response = await fetch(`${this.baseUrl}/healthz`, { signal: AbortSignal.timeout(2_000) });
        if (response.ok) return;
      } catch {
        // Not listening yet.
      }
      if (Date.now() > deadline) throw new Error(`server on port ${this.port} not healthy after ${startupTimeoutMs} ms:\n${this.recentOutput}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}


export { freePort };
