import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { startReadmeServer } from '../support/readme-server.ts';
import { StripeStandIn } from '../support/stripe-stand-in.ts';

/**
 * Runs the README's Stripe steps ("Connect your product and Stripe") verbatim against a server
 * started the way `npm start` starts it, configured with the Stripe settings the README names and
 * pointed at the local Stripe stand-in. Between the two blocks, the stand-in collects the invoice
 * and sends the signed `invoice.paid`, as Stripe would.
 */
const root = resolve(import.meta.dirname, '../..');
const readme = readFileSync(join(root, 'README.md'), 'utf8');
const webhookSecret = 'whsec_readme_walkthrough';

function block(name: string): string {
  const start = readme.indexOf(`<!-- walkthrough:${name} -->`);
  const fence = readme.indexOf('```bash', start);
  const end = readme.indexOf('```', fence + 7);
  if (start < 0 || fence < 0 || end < 0) throw new Error(`README has no walkthrough ${name}`);
  return readme.slice(fence + 7, end);
}

describe('README: Connect your product and Stripe', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tally-readme-stripe-'));
  let standIn: StripeStandIn;
  let server: ChildProcess;
  let url = '';

  beforeAll(async () => {
    standIn = await StripeStandIn.start();
    ({ server, url } = await startReadmeServer(dir, {
      TALLY_STRIPE_SECRET_KEY: standIn.secretKey, TALLY_STRIPE_WEBHOOK_SECRET: webhookSecret, TALLY_STRIPE_API_BASE: standIn.url,
    }));
  }, 90_000);

  afterAll(async () => {
    server?.kill('SIGTERM');
    await standIn?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Runs a README block in bash; asynchronously, because the Stripe stand-in answers from this process. */
  const run = async (name: string): Promise<string> => {
    const env: NodeJS.ProcessEnv = { ...process.env, TALLY: url };
    delete env.TALLY_ADMIN_KEY;
    const child = spawn('bash', ['-euo', 'pipefail', '-c', block(name)], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 90_000);
    const code = await new Promise<number | null>((done) => child.once('close', done));
    clearTimeout(timer);
    expect(code, stderr).toBe(0);
    // No command of a walkthrough is answered with an error.
    expect(stdout).not.toContain('"error":{');
    return stdout;
  };

  it('pushes the purchase to Stripe, and the paid Stripe invoice makes the credits usable', { timeout: 120_000 }, async () => {
    const pushed = (await run('stripe-push')).trim().split('\n');
    const [stripeInvoice, stripeCustomer] = pushed.slice(-2);
    expect(stripeInvoice).toMatch(/^in_/);
    expect(stripeCustomer).toMatch(/^cus_/);
    expect(standIn.invoices.get(stripeInvoice!)).toMatchObject({ customer: stripeCustomer, total: 5000, currency: 'usd', status: 'open' });

    const paid = await standIn.client().invoices.pay(stripeInvoice!);
    const { body, signature } = StripeStandIn.sign(standIn.event('invoice.paid', paid as never), webhookSecret);
    const delivered = await fetch(`${url}/v1/integrations/stripe/webhook`, { method: 'POST', body, headers: { 'content-type': 'application/json', 'stripe-signature': signature } });
    expect(delivered.status).toBe(200);

    const out = (await run('stripe-paid')).trim().split('\n');
    expect(out[0]).toContain('"available":"1000"');
    const invoices = JSON.parse(out[1]!) as { data: { status: string; provider: string; provider_invoice_id: string }[] };
    expect(invoices.data).toEqual([expect.objectContaining({ status: 'paid', provider: 'stripe', provider_invoice_id: stripeInvoice })]);
    expect(JSON.parse(out[2]!)).toMatchObject({ object: 'list', data: [] });
    expect(JSON.parse(out[3]!)).toMatchObject({ ok: true });
  });
});
