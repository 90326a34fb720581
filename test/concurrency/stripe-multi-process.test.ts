import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dialects, freshDatabase, type FreshDatabase } from '../support/databases.ts';
import { Api } from '../support/server.ts';
import { freePort, ServerProcess } from '../support/server-processes.ts';
import { StripeStandIn } from '../support/stripe-stand-in.ts';
import { waitFor } from '../support/wait-for.ts';

/**
 * Three real `tally serve` processes on one PostgreSQL database, each running the Stripe push
 * worker against one Stripe stand-in (PRODUCT §11, §12): every finalized invoice reaches Stripe
 * exactly once, and no attempt is made twice (each idempotency key is sent once, so the claims,
 * not only Stripe's keys, keep the servers apart). The same signed `invoice.paid` sent to all
 * three at once records one payment.
 */
const skipReason = dialects.includes('postgres') ? '' : 'skipped: no PostgreSQL test server; these tests need real PostgreSQL';
if (skipReason) console.warn(`stripe-multi-process.test.ts ${skipReason}`);

const adminKey = 'stripe-multi-process-admin-key';
const webhookSecret = 'whsec_multi_process';
const customerCount = 6;
const purchasesPerCustomer = 3;
/** Three servers compile and start at once; on a loaded 2-core machine that takes a while. */
const serverStartupMs = 300_000;

describe.skipIf(skipReason !== '')('Stripe push from three server processes on one PostgreSQL database', () => {
  let database: FreshDatabase;
  let standIn: StripeStandIn;
  let servers: ServerProcess[] = [];
  let apis: Api[] = [];

  beforeAll(async () => {
    database = await freshDatabase('postgres');
    standIn = await StripeStandIn.start();
    const ports = new Set<number>();
    while (ports.size < 3) ports.add(await freePort());
    const env = { TALLY_STRIPE_SECRET_KEY: standIn.secretKey, TALLY_STRIPE_API_BASE: standIn.url, TALLY_STRIPE_WEBHOOK_SECRET: webhookSecret };
    servers = await Promise.all([...ports].map((port) => ServerProcess.start({ port, databaseUrl: database.url, adminKey, env })));
    apis = servers.map((s) => new Api(s.baseUrl, adminKey));
  }, serverStartupMs);

  afterAll(async () => {
    await Promise.all(servers.map((s) => s.kill()));
    await standIn?.close();
    await database?.drop();
  });

  it('pushes every invoice once, with each attempt made by one server', { timeout: 90_000 }, async () => {
    const invoices = (await Promise.all(Array.from({ length: customerCount }, async (_, c) => {
      const api = apis[c % apis.length]!;
      const customer = await api.post('/v1/customers', { currency: 'EUR', name: `Buyer ${c}` });
      expect(customer.status, JSON.stringify(customer.body)).toBe(201);
      const made: string[] = [];
      for (let p = 0; p < purchasesPerCustomer; p++) {
        const bought = await apis[(c + p) % apis.length]!.post(`/v1/customers/${customer.body.id}/purchases`, { credits: '100', amount: 1000 + p });
        expect(bought.status, JSON.stringify(bought.body)).toBe(201);
        made.push(bought.body.invoice.id as string);
      }
      return made;
    }))).flat();

    const pushed = await waitFor('every invoice pushed', async () => {
      const rows = await database.db.query(`SELECT id, provider_invoice_id FROM invoices ORDER BY id`);
      return rows.length === invoices.length && rows.every((r) => r.provider_invoice_id !== null) ? rows : null;
    }, { timeoutMs: 45_000, intervalMs: 100 }).catch(async (error: Error) => {
      // What the jobs and the servers say, so a miss names its cause.
      const jobs = await database.db.query(`SELECT invoice_id, status, attempts, next_attempt_at, claimed_until, last_error FROM stripe_pushes ORDER BY invoice_id`);
      const logs = servers.map((s, i) => `server ${i}:\n${s.recentOutput}`).join('\n');
      throw new Error(`${error.message}; ${jobs.length} push jobs: ${JSON.stringify(jobs, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v))}\n${logs}`);
    });

    expect(standIn.counts.invoices).toBe(invoices.length);
    expect(standIn.counts.customers).toBe(customerCount);
    expect(standIn.counts.invoiceItems).toBe(invoices.length);
    expect(standIn.counts.finalizations).toBe(invoices.length);
    for (const row of pushed) {
      const remote = standIn.invoices.get(row.provider_invoice_id as string)!;
      expect(remote).toMatchObject({ status: 'open', currency: 'eur', metadata: { tally_invoice_id: row.id } });
    }
    // Each invoice's requests were made by one server once. A customer's key may be sent by two
    // servers pushing two of its invoices at once: Stripe's key then makes the customer once.
    const repeated = [...standIn.keyUses].filter(([key, uses]) => uses > 1 && !key.startsWith('tally:customer:'));
    expect(repeated).toEqual([]);
    expect([...standIn.keyUses.keys()].filter((key) => key.startsWith('tally:invoice:'))).toHaveLength(invoices.length);
    expect(servers.every((s) => s.running)).toBe(true);
  });

  it('records one payment when the same signed invoice.paid reaches all three servers at once', async () => {
    const [row] = await database.db.query(`SELECT id, provider_invoice_id FROM invoices ORDER BY id LIMIT 1`);
    const paid = await standIn.client().invoices.pay(row!.provider_invoice_id as string);
    const { body, signature } = StripeStandIn.sign(standIn.event('invoice.paid', paid as never), webhookSecret);
    const replies = await Promise.all(apis.map((api) => api.as(null).request('POST', '/v1/integrations/stripe/webhook', body, { 'stripe-signature': signature })));
    expect(replies.map((r) => r.status)).toEqual([200, 200, 200]);
    expect(replies.filter((r) => r.body.duplicate === false)).toHaveLength(1);
    const payments = await database.db.query(`SELECT amount, provider FROM payments WHERE invoice_id = ?`, [row!.id as string]);
    expect(payments).toEqual([{ amount: 1000n, provider: 'stripe' }]);
  });
});
