import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { freePort } from '../support/ports.ts';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

/**
 * Runs the README walkthroughs verbatim against a server started the way `npm start` starts it
 * (the CLI, embedded SQLite under ./data, the generated admin key), in a fresh directory.
 */
const root = resolve(import.meta.dirname, '../..');
const readme = readFileSync(join(root, 'README.md'), 'utf8');

function block(name: string): string {
  const start = readme.indexOf(`<!-- walkthrough:${name} -->`);
  const fence = readme.indexOf('```bash', start);
  const end = readme.indexOf('```', fence + 7);
  if (start < 0 || fence < 0 || end < 0) throw new Error(`README has no walkthrough ${name}`);
  return readme.slice(fence + 7, end);
}

describe('README walkthroughs', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tally-readme-'));
  let server: ChildProcess;
  let url = '';

  beforeAll(async () => {
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    const env: NodeJS.ProcessEnv = { ...process.env, PORT: String(port), HOST: '127.0.0.1' };
    delete env.TALLY_ADMIN_KEY;
    delete env.TALLY_DATABASE_URL;
    server = spawn(process.execPath, [join(root, 'bin/tally.mjs'), 'serve'], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    server.stdout!.on('data', (d: Buffer) => (output += d.toString()));
    server.stderr!.on('data', (d: Buffer) => (output += d.toString()));
    const deadline = Date.now() + 90_000;
    while (!output.includes('listening on') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(output).toContain(`Tally listening on http://127.0.0.1:${port}`);
  });

  afterAll(() => {
    server?.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  });

  const run = (name: string): string => {
    const env: NodeJS.ProcessEnv = { ...process.env, TALLY: url };
    delete env.TALLY_ADMIN_KEY;
    const result = spawnSync('bash', ['-euo', 'pipefail', '-c', block(name)], { cwd: dir, env, encoding: 'utf8', timeout: 120_000 });
    expect(result.status, result.stderr).toBe(0);
    // No command of a walkthrough is answered with an error.
    expect(result.stdout).not.toContain('"error":{');
    return result.stdout;
  };

  it('credits: the balance moves exactly and at once', () => {
    const out = run('credits');
    expect(out).toContain('"status":"accepted","credits":"3"');
    expect(out).toContain('"status":"duplicate"');
    expect(out).toContain('"available":"102","paid":"100","promotional":"2"');
    expect(out).toContain('"ok":true');
    expect(out).toContain('"rating":[{"meter":"gpt4o_tokens","quantity":"1500","credits":"3"}]');
  });

  it('billing: a subscription renews on the test clock with a second invoice', () => {
    const out = run('billing');
    const list = JSON.parse(out.trim().split('\n').at(-2)!) as { data: { total: number; lines: { type: string }[] }[] };
    expect(list.data.map((i) => [i.total, i.lines.map((l) => l.type)])).toEqual([[1000, ['subscription_fee']], [1000, ['subscription_fee']]]);
    expect(out.trim().split('\n').at(-1)).toContain('"available":"1000"');
  });
});
