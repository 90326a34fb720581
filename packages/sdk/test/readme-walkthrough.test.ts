import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { adminKey, useServer } from '../../../test/support/server.ts';

/**
 * The README's TypeScript walkthrough, verbatim: written to a program of its own, type-checked with
 * tsc (strict), then run with tsx against the real server.
 */
const run = promisify(execFile);
const root = resolve(import.meta.dirname, '../../..');
const readme = readFileSync(join(root, 'README.md'), 'utf8');
const start = readme.indexOf('<!-- walkthrough:sdk -->');
const fence = readme.indexOf('```ts', start);
const program = readme.slice(fence + 5, readme.indexOf('```', fence + 5));

describe('README walkthrough in TypeScript', () => {
  const ctx = useServer('sqlite');
  const dir = mkdtempSync(join(tmpdir(), 'tally-sdk-readme-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('compiles and runs the credits walkthrough with the SDK', async () => {
    expect(start).toBeGreaterThan(0);
    symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'));
    writeFileSync(join(dir, 'package.json'), '{"type":"module"}');
    writeFileSync(join(dir, 'walkthrough.ts'), program);
    writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({
      compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, noEmit: true, skipLibCheck: true, allowImportingTsExtensions: true, types: ['node'] },
      files: ['walkthrough.ts'],
    }));
    await run(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', dir], { cwd: dir, encoding: 'utf8' });
    const { stdout: out } = await run(process.execPath, ['--import', 'tsx', 'walkthrough.ts'], {
      cwd: dir, encoding: 'utf8', env: { ...process.env, TALLY: ctx.api.baseUrl, TALLY_ADMIN_KEY: adminKey }, timeout: 30_000,
    });
    expect(out).toContain('event accepted: 3 credits');
    expect(out).toContain('available 102 (paid 100, promotional 2)');
    expect(out).toContain('rated gpt4o_tokens: 1500 → 3 credits');
    expect(out).toMatch(/usage \(usage_event sdk_req_1\)/);
    expect(out).toContain('reconciled: true');
  }, 60_000);
});
