import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { startReadmeServer } from '../support/readme-server.ts';
import { WebhookReceiver } from '../support/webhook-receiver.ts';

/**
 * Runs the README's webhook walkthrough ("Connect your product and Stripe") verbatim against a
 * server started as `npm start` starts it (with TALLY_WEBHOOK_ALLOW_PRIVATE=1, as the README
 * says) and a real receiver on a loopback port that checks every signature.
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

function runBash(script: string, cwd: string, env: NodeJS.ProcessEnv, timeoutMs: number): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn('bash', ['-euo', 'pipefail', '-c', script], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

describe('README webhook walkthrough', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tally-readme-webhooks-'));
  let server: ChildProcess;
  let receiver: WebhookReceiver;
  let url = '';

  beforeAll(async () => {
    receiver = await WebhookReceiver.start();
    ({ server, url } = await startReadmeServer(dir, { TALLY_WEBHOOK_ALLOW_PRIVATE: '1' }));
  }, 90_000);

  afterAll(async () => {
    server?.kill('SIGTERM');
    await receiver?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('delivers signed grant.created, credits.balance_low and credits.depleted to the receiver', async () => {
    const env: NodeJS.ProcessEnv = { ...process.env, TALLY: url, RECEIVER: receiver.url };
    delete env.TALLY_ADMIN_KEY;
    // Asynchronously: the receiver answers from this process while the script runs.
    const result = await runBash(block('webhooks'), dir, env, 40_000);
    expect(result.status, result.stderr + result.stdout).toBe(0);
    const secret = /"secret":"(whsec_[^"]+)"/.exec(result.stdout)![1]!;
    // Each type once, then the retried one and the replay send them again with the same ids.
    await receiver.waitFor(() => receiver.ofType('credits.depleted').length >= 2, 20_000, 'the replay');
    receiver.verifyAll([secret]);
    const firstOfType = (type: string) => receiver.ofType(type)[0]!;
    expect(firstOfType('grant.created').json.data).toMatchObject({ object: 'grant', credits: '25', category: 'promotional' });
    expect(firstOfType('credits.balance_low').json.data).toMatchObject({ object: 'balance_signal', available: '15', threshold: '20' });
    expect(firstOfType('credits.depleted').json.data).toMatchObject({ available: '0' });
    expect(receiver.received.every((m) => m.verifiedByLibrary && m.verifiedByHmac)).toBe(true);
    expect(new Set(receiver.ofType('credits.depleted').map((m) => m.id)).size).toBe(1);
    expect(result.stdout).toContain('"object":"webhook_replay"');
    // Every command answered without an error: the retry and the rotation, sent with the JSON
    // content type and no body, were refused as invalid JSON.
    expect(result.stdout).not.toContain('"error":{');
    expect(result.stdout).toContain('"object":"webhook_delivery"');
    expect(/"previous_secret_expires_at":"[^"]+"/.test(result.stdout)).toBe(true);
  }, 60_000);
});
