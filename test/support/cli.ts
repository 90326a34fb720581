import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { runCommand } from '../../src/cli/commands.ts';
import { createEngine } from '../../src/engine/create-engine.ts';
import { openDatabase } from '../../src/store/open-database.ts';

/** What a `tally` command did: its exit code and what it printed. */
export interface CliRun { code: number; stdout: string; stderr: string }

const root = fileURLToPath(new URL('../..', import.meta.url));

/**
 * `tally <args>` on the database at `databaseUrl`, as a user runs it: a process of its own from
 * the sources (`node --import tsx src/cli/main.ts`), its exit code the one `main` exits with.
 * Each costs about three seconds of CPU, mostly loading and compiling the sources, so a test
 * spawns the commands whose process it means to check and runs the rest with `tallyInProcess`.
 */
export async function tallySpawned(databaseUrl: string, ...args: string[]): Promise<CliRun> {
  const env = { ...process.env, TALLY_DATABASE_URL: databaseUrl };
  return promisify(execFile)(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { cwd: root, env, timeout: 60_000 })
    .then((r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }))
    .catch((e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }));
}

/**
 * The same command through `runCommand`, the function `main` hands every command but `serve` and
 * `migrate` to, on a database connection of its own (opened and closed by the command, as in its
 * own process). What it prints to stdout and stderr (`console` and the streams) is captured while
 * it runs, and the process's exit code it sets is put back.
 */
export async function tallyInProcess(databaseUrl: string, ...args: string[]): Promise<CliRun> {
  const out: string[] = [];
  const err: string[] = [];
  const text = (values: unknown[]) => `${values.map((v) => (typeof v === 'string' ? v : String(v))).join(' ')}\n`;
  const saved = { log: console.log, error: console.error, out: process.stdout.write, err: process.stderr.write, exitCode: process.exitCode };
  console.log = (...values: unknown[]) => { out.push(text(values)); };
  console.error = (...values: unknown[]) => { err.push(text(values)); };
  process.stdout.write = ((chunk: string | Uint8Array) => { out.push(String(chunk)); return true; }) as typeof process.stdout.write;
  process.stderr.write = ((chunk: string | Uint8Array) => { err.push(String(chunk)); return true; }) as typeof process.stderr.write;
  try {
    const [command = 'help', ...rest] = args;
    const code = await runCommand(command, rest, { databaseUrl, createEngine, openDatabase }).catch((error: unknown) => {
      err.push(`${error instanceof Error ? error.message : String(error)}\n`);
      return 1;
    });
    return { code, stdout: out.join(''), stderr: err.join('') };
  } finally {
    Object.assign(console, { log: saved.log, error: saved.error });
    process.stdout.write = saved.out;
    process.stderr.write = saved.err;
    process.exitCode = saved.exitCode;
  }
}
