import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminKey, unique, useServer } from '../support/server.ts';
import { eventually, WebhookReceiver } from '../support/webhook-receiver.ts';
import { advance, newClock } from '../http/fixtures.ts';
import { StripeStandIn } from '../support/stripe-stand-in.ts';
import { SecretBox } from '../../src/engine/secret-box.ts';
import { startWebhookWorker, type WebhookWorker } from '../../src/integrations/webhooks/delivery-worker.ts';

/**
 * The dashboard's money-side pages in Debian's Chromium, with real data: webhook endpoints and
 * their deliveries (a real receiver on a loopback port), credit notes and the money balance,
 * dunning on an unpaid invoice, promotions with their redemptions, referrals, and the
 * consumption chart from the usage series. Screenshots go to TALLY_SHOTS (default
 * <tmp>/tally-shots), outside the repository.
 */
const root = resolve(import.meta.dirname, '../..');
const shots = process.env.TALLY_SHOTS ?? join(tmpdir(), 'tally-shots');

describe('the finance pages of the dashboard in Chromium', { timeout: 120_000 }, () => {
  const box = new SecretBox('dashboard-webhook-test-key');
  const stripeWebhookSecret = 'whsec_dashboard_review';
  // Inbound Stripe only (no secret key, so nothing is pushed): events kept for review reach the Stripe page.
  const ctx = useServer('sqlite', {
    webhooks: { box, allowPrivate: true },
    stripe: { secretKey: null, webhookSecret: stripeWebhookSecret, apiBase: null, refundPolicy: 'proportional', retryDelaysMs: [60_000], pollIntervalMs: 60_000 },
  });
  const profile = mkdtempSync(join(tmpdir(), 'tally-chromium-'));
  let browser: BrowserContext;
  let page: Page;
  let worker: WebhookWorker;
  let receiver: WebhookReceiver;
  let base = '';

  const api = () => ctx.api;
  const shot = (name: string) => page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });
  const text = async (selector: string) => (await page.locator(selector).first().innerText()).trim();
  const open = async (hash: string, ready: string) => {
    await page.goto(`${base}/dashboard#${hash}`);
    await page.waitForSelector(ready);
  };
  const created = async (path: string, body: unknown) => {
    const reply = await api().post(path, body);
    expect(reply.status, JSON.stringify(reply.body)).toBe(201);
    return reply.body;
  };

  beforeAll(async () => {
    if (!existsSync(join(root, 'web/dist/index.html'))) execFileSync(process.execPath, [join(root, 'scripts/build-web.mjs')]);
    mkdirSync(shots, { recursive: true });
    base = ctx.api.baseUrl;
    worker = startWebhookWorker(ctx.engine, { box, allowPrivate: true, intervalMs: 50, timeoutMs: 1500 });
    receiver = await WebhookReceiver.start();
    browser = await chromium.launchPersistentContext(profile, {
      executablePath: '/usr/bin/chromium',
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      viewport: { width: 1360, height: 900 },
    });
    page = browser.pages()[0] ?? await browser.newPage();
    page.on('dialog', (dialog) => void dialog.accept());
    await page.goto(`${base}/dashboard`);
    await page.fill('#sign-in-key', adminKey);
    await page.click('[data-action="Sign in"]');
    await page.waitForSelector('form.search');
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await worker?.stop();
    await receiver?.close();
    rmSync(profile, { recursive: true, force: true });
  });

  it('adds a webhook endpoint (secret shown once), shows its deliveries, and retries a failed one now', async () => {
    await open('/webhooks', '#endpoint-form');
    // Bad input: the API's message next to the field, and nothing stored.
    await page.fill('#endpoint-form-url', 'ftp://example.com/hook');
    await page.click('[data-action="Add endpoint"]');
    await expect.poll(() => text('#endpoint-form [data-error="url"]')).not.toBe('');
    expect((await api().get('/v1/webhook_endpoints')).body.data).toEqual([]);

    await page.fill('#endpoint-form-url', receiver.url);
    await page.fill('#endpoint-form-event_types', 'grant.created, credit_note.created');
    await page.fill('#endpoint-form-description', 'Finance data warehouse');
    await page.click('[data-action="Add endpoint"]');
    const secret = await (await page.waitForSelector('[data-secret]')).innerText();
    expect(secret).toMatch(/^whsec_/);
    receiver.secrets = [secret];
    await expect.poll(() => page.locator('#webhook-endpoints tbody tr').count()).toBe(1);
    await shot('20-webhooks-created');
    const [endpoint] = (await api().get('/v1/webhook_endpoints')).body.data;
    expect(endpoint).toMatchObject({ url: receiver.url, event_types: ['grant.created', 'credit_note.created'], description: 'Finance data warehouse' });
    expect((await api().get(`/v1/webhook_endpoints/${endpoint.id}`)).body.secret).toBeUndefined();

    // The receiver fails the first two attempts: the third is scheduled 5 minutes later.
    receiver.script.push(500, 500);
    const customer = await created('/v1/customers', { currency: 'USD', name: 'Hooked Ltd' });
    await created('/v1/grants', { customer: customer.id, credits: '40', category: 'paid', source: 'adjustment' });
    const delivery = await eventually(async () => {
      const [d] = (await api().get(`/v1/webhook_endpoints/${endpoint.id}/deliveries`)).body.data;
      // Claimed attempts count before they are recorded: wait for both records.
      return d && d.attempts.length === 2 ? d : undefined;
    }, 60_000, 'two failed attempts');
    expect(delivery.status).toBe('pending');
    const scheduledMs = Date.parse(delivery.next_attempt_at);
    expect(scheduledMs - Date.parse(delivery.attempts[1].attempted_at)).toBeGreaterThan(60_000);

    await open(`/webhooks/${endpoint.id}`, '#webhook-deliveries');
    expect(await text('#webhook-deliveries tbody tr')).toContain('grant.created');
    expect(await text('#webhook-deliveries tbody tr')).toContain('500');
    await page.click(`#webhook-deliveries tbody tr summary`);
    await shot('21-webhook-deliveries-failed');
    await page.click(`[data-retry="${delivery.id}"]`);
    await page.waitForSelector(`[data-retried="${delivery.id}"]`);
    const done = await eventually(async () => {
      const d = (await api().get(`/v1/webhook_endpoints/${endpoint.id}/deliveries`)).body.data.find((x: { id: string }) => x.id === delivery.id);
      return d.status === 'succeeded' && d.attempts.length === 3 ? d : undefined;
    }, 30_000, 'the retried delivery');
    // Sent by the click, long before its scheduled time, and verified by the receiver.
    expect(Date.parse(done.attempts[2].attempted_at)).toBeLessThan(scheduledMs);
    expect(receiver.ofType('grant.created').at(-1)).toMatchObject({ verifiedByLibrary: true, verifiedByHmac: true, answer: 200 });
    await page.reload();
    await expect.poll(() => text(`[data-delivery-status]`)).toBe('succeeded');
    await shot('22-webhook-deliveries-retried');

    // Rotate (the new secret shown once) and disable from the page.
    await page.click('#rotate-secret');
    const rotated = await (await page.waitForSelector('[data-secret]')).innerText();
    expect(rotated).toMatch(/^whsec_/);
    expect(rotated).not.toBe(secret);
    await page.click('#toggle-endpoint');
    await expect.poll(async () => (await api().get(`/v1/webhook_endpoints/${endpoint.id}`)).body.disabled).toBe(true);
    await expect.poll(() => text('[data-state]')).toBe('disabled');
    await shot('23-webhook-endpoint-disabled');
  });

  it('shows credit notes from a downgrade and from a goodwill credit, and the customer\'s money balance', async () => {
    const stamp = unique('cn');
    const plan = async (code: string, amount: number) => created('/v1/plans', { code: `${stamp}_${code}`, name: code, currency: 'USD', interval: 'month', amount, included_credits: '100' });
    const [large, small] = [await plan('team', 3000), await plan('starter', 1000)];
    const clock = (await created('/v1/test_clocks', { frozen_time: '2026-04-01T00:00:00Z' })).id;
    const customer = await created('/v1/customers', { currency: 'USD', name: 'Downgrading Inc', test_clock: clock });
    const sub = await created('/v1/subscriptions', { customer: customer.id, plan: large.code });
    const [first] = (await api().get(`/v1/invoices?customer=${customer.id}`)).body.data;
    await created(`/v1/invoices/${first.id}/payments`, { amount: first.amount_remaining });
    expect((await api().post(`/v1/test_clocks/${clock}/advance`, { frozen_time: '2026-04-16T00:00:00Z' })).status).toBe(200);
    expect((await api().post(`/v1/subscriptions/${sub.id}/change`, { plan: small.code, timing: 'immediate' })).status).toBe(200);
    const [downgrade] = (await api().get(`/v1/customers/${customer.id}/credit_notes`)).body.data;
    expect(downgrade).toMatchObject({ source: 'proration', amount: 1000, remaining: 1000 });

    await open(`/customers/${customer.id}`, '#credit-notes');
    expect(await text('[data-money="USD"] strong')).toBe('10.00 USD');
    expect(await text('#credit-notes tbody tr')).toContain('downgrade credit');
    // A goodwill credit note from the customer page, with its reason; bad input first.
    await page.click('text=Issue a goodwill credit note');
    await page.fill('#goodwill-form-amount', '-5');
    await page.fill('#goodwill-form-reason', 'Outage on 14 April');
    await page.click('[data-action="Issue credit note"]');
    await expect.poll(() => text('#goodwill-form [data-error="amount"]')).not.toBe('');
    expect((await api().get(`/v1/customers/${customer.id}/credit_notes`)).body.data).toHaveLength(1);
    await page.fill('#goodwill-form-amount', '2500');
    await page.click('[data-action="Issue credit note"]');
    await page.waitForSelector('#credit-note');
    expect(await text('[data-figure="remaining"] strong')).toBe('25.00 USD');
    expect(await text('#credit-note')).toContain('Outage on 14 April');
    await shot('24-credit-note');

    await open(`/customers/${customer.id}`, '#credit-notes');
    expect(await text('[data-money="USD"] strong')).toBe('35.00 USD');
    expect(await page.locator('#credit-notes tbody tr').count()).toBe(2);
    await shot('25-customer-money-balance');
    await open('/credit-notes', '#credit-notes');
    expect(await text('#credit-notes')).toContain(customer.id);
    await shot('26-credit-notes-list');
    await page.click(`#credit-notes a[href="#/credit-notes/${downgrade.id}"]`);
    await page.waitForSelector('#credit-note-uses');
    expect(await text('#credit-note')).toContain('downgrade credit');
    // Whose money it gives back: the 30.00 fee's, all 10.00 of it.
    expect(await text('#credit-note-gives-back tbody tr')).toContain(first.id);
    expect(await text('#credit-note-gives-back tbody tr')).toContain('10.00 USD');
    await shot('26-credit-note-downgrade');

    // The 30.00 fee charged back in full: it kept 20.00 beside the 10.00 note, which the chargeback takes back.
    const chargeback = await created('/v1/chargebacks', { invoice: first.id, amount: 3000, reason: 'fraudulent', credit_policy: 'none' });
    expect(chargeback).toMatchObject({ credit_notes_reversed: 1000, credit_notes_shortfall: 0 });
    await open(`/invoices/${first.id}`, '#returns');
    expect(await text('#returns tbody tr')).toContain('10.00 USD');
    await open(`/credit-notes/${downgrade.id}`, '#credit-note-uses');
    expect(await text('[data-figure="reversed by chargebacks"] strong')).toBe('10.00 USD');
    expect(await text('[data-figure="remaining"] strong')).toBe('0.00 USD');
    expect(await text('#credit-note-uses')).toContain('taken back by a chargeback');
    await shot('26-credit-note-reversed');
  });

  it('shows an unpaid invoice past due, with its payment attempts and the next retry', async () => {
    const customer = await created('/v1/customers', { currency: 'USD', name: 'Late Payer GmbH' });
    const purchase = await created(`/v1/customers/${customer.id}/purchases`, { credits: '500', amount: 5000 });
    const invoice = purchase.invoice;
    const failed = await created(`/v1/invoices/${invoice.id}/payment_attempts`, { outcome: 'failed', failure_code: 'card_declined' });
    expect(failed.invoice_detail.past_due).toBe(true);
    await open(`/invoices/${invoice.id}`, '#payment-attempts');
    expect(await text('#collection-state')).toContain('past due');
    expect(await text('#collection-state')).toContain('50.00 USD');
    expect(await text('#payment-attempts tbody tr')).toContain('card_declined');
    expect(await text('[data-next-retry]')).toBe(`${failed.invoice_detail.next_payment_attempt.slice(0, 10)} ${failed.invoice_detail.next_payment_attempt.slice(11, 16)} UTC`);
    await shot('27-invoice-past-due');
    await open(`/customers/${customer.id}`, '#invoices');
    expect(await text('#invoices [data-status]')).toBe('past due');
  });

  it('shows an uncollectible invoice with what is still unpaid, then paid late', async () => {
    const clock = await newClock(api(), '2026-03-01T00:00:00Z');
    const customer = await created('/v1/customers', { currency: 'USD', name: 'Written Off Ltd', test_clock: clock });
    const { invoice } = await created(`/v1/customers/${customer.id}/purchases`, { credits: '300', amount: 3000 });
    await created(`/v1/invoices/${invoice.id}/payment_attempts`, { outcome: 'failed' });
    await advance(api(), clock, '2026-03-18T00:00:00Z');
    await open(`/invoices/${invoice.id}`, '#payment-attempts');
    expect(await text('#collection-state')).toContain('uncollectible');
    expect(await text('#collection-state')).toContain('30.00 USD unpaid');
    expect(await text('[data-remaining]')).toBe('30.00 USD');
    await shot('27-invoice-uncollectible');
    await created(`/v1/invoices/${invoice.id}/payments`, { amount: 3000 });
    await open(`/customers/${customer.id}`, '#invoices');
    expect(await text('#invoices [data-status]')).toBe('paid');
    await open(`/invoices/${invoice.id}`, '#payment-attempts');
    expect(await text('#collection-state')).toContain('after being marked uncollectible 2026-03-17');
  });

  it('lists the Stripe events kept for review and settles one with a note', async () => {
    const event = {
      id: unique('evt'), object: 'event', type: 'invoice.paid', created: Math.floor(Date.now() / 1000), livemode: false,
      data: { object: { id: unique('in'), object: 'invoice', amount_paid: 4200, currency: 'usd', metadata: {} } },
    };
    const { body, signature } = StripeStandIn.sign(event, stripeWebhookSecret);
    const received = await api().as(null).request('POST', '/v1/integrations/stripe/webhook', body, { 'stripe-signature': signature });
    expect(received.body).toMatchObject({ status: 'unmatched' });
    await open('/stripe', '#stripe-review');
    expect(await text('#stripe-review')).toContain(event.id);
    expect(await text('#stripe-review')).toContain('No Tally invoice matched it.');
    await shot('28-stripe-review');
    // Bad input: the API's message next to the field, and the event still kept.
    await page.click(`#resolve-${event.id} [data-action="Resolve"]`);
    await expect.poll(() => text(`#resolve-${event.id} [data-error="note"]`)).not.toBe('');
    await page.fill(`#resolve-${event.id}-note`, 'No such invoice in Stripe: a test event');
    await page.click(`#resolve-${event.id} [data-action="Resolve"]`);
    await page.waitForSelector('#stripe-review-empty');
    const resolved = (await api().get('/v1/integrations/stripe/unmatched')).body.data;
    expect(resolved.map((e: any) => e.id)).not.toContain(event.id);
  });

  it('lists promotions, opens one with its redemptions, and lists referrals', async () => {
    const code = unique('SPRING').replace(/_/g, '').toUpperCase();
    const promotion = await created('/v1/promotions', { name: 'Spring launch', code, credits: '250', max_redemptions: 100 });
    const redeemers = [];
    for (const name of ['Early Bird Co', 'Second Mover LLC']) {
      const c = await created('/v1/customers', { currency: 'USD', name });
      redeemers.push(c);
      await created('/v1/promotions/redeem', { code, customer: c.id });
    }
    await created('/v1/referrals', { referrer: redeemers[0]!.id, referred: (await created('/v1/customers', { currency: 'USD', name: 'Referred Friend' })).id, reward_credits: '100', referred_credits: '50' });

    await open('/promotions', '#promotions');
    expect(await text(`#promotions tr:has(a[href="#/promotions/${promotion.id}"])`)).toContain('2 of 100');
    await shot('28-promotions');
    await page.click(`#promotions a[href="#/promotions/${promotion.id}"]`);
    await page.waitForSelector('#redemptions');
    expect(await page.locator('#redemptions tbody tr').count()).toBe(2);
    for (const c of redeemers) expect(await text('#redemptions')).toContain(c.id);
    expect(await text('[data-redemptions]')).toBe('2 of 100');
    await shot('29-promotion');
    // A redemption's grant is on the customer's page, with its promotional credits.
    await page.click(`#redemptions a[href="#/customers/${redeemers[1]!.id}"]`);
    await page.waitForSelector('#grants');
    expect(await text('#grants')).toContain('250');

    await open('/referrals', '#referrals');
    expect(await text('#referrals tbody tr')).toContain('pending');
    expect(await text('#referrals tbody tr')).toContain(redeemers[0]!.id);
    await shot('30-referrals');
  });

  it('charts consumption from the usage series, with the exact sums per meter', async () => {
    const type = unique('llm');
    const meter = unique('tokens');
    await created('/v1/meters', { code: meter, event_type: type, aggregation: 'sum', value_property: 'tokens', rate: { model: 'per_unit', credits_per_unit: '0.001' } });
    const clock = (await created('/v1/test_clocks', { frozen_time: '2026-03-01T00:00:00Z' })).id;
    const customer = await created('/v1/customers', { currency: 'USD', name: 'Charted Co', test_clock: clock, overage: true });
    await created('/v1/grants', { customer: customer.id, credits: '1000', category: 'paid', source: 'adjustment', effective_at: '2026-03-01T00:00:00Z' });
    expect((await api().post(`/v1/test_clocks/${clock}/advance`, { frozen_time: '2026-03-10T00:00:00Z' })).status).toBe(200);
    const events = [['2026-03-02T10:00:00Z', 1200.5], ['2026-03-02T11:00:00Z', 0.25], ['2026-03-05T09:00:00Z', 300], ['2026-03-08T23:59:00Z', 7]] as const;
    const ingested = await api().post('/v1/events', { events: events.map(([timestamp, tokens]) => ({ id: unique('ev'), customer: customer.id, type, timestamp, properties: { tokens } })) });
    expect(ingested.body.results.map((r: { status: string }) => r.status)).toEqual(['accepted', 'accepted', 'accepted', 'accepted']);

    await open(`/customers/${customer.id}`, '#usage-series');
    expect(await text('#usage-series tbody tr')).toBe(`${meter}\t1,507.75\t1.50775`);
    expect(await page.locator('svg.chart rect').count()).toBe(30);
    await shot('31-customer-consumption');
    await page.selectOption('#usage-filters select', 'hour');
    await page.fill('#usage-filters input[name="usage_from"]', '2026-03-02');
    await page.fill('#usage-filters input[name="usage_to"]', '2026-03-03');
    await page.click('#usage-filters button');
    await expect.poll(() => page.locator('svg.chart rect').count()).toBe(24);
    expect(await text('#usage-series tbody tr')).toBe(`${meter}\t1,200.75\t1.20075`);
    await shot('32-customer-consumption-hourly');
    // The ledger is newest first.
    const newest = (await api().get(`/v1/ledger/transactions?customer=${customer.id}&order=desc&limit=1`)).body.data[0];
    expect(await page.locator('#ledger tbody tr').first().innerText()).toContain(newest.cause.id);
  });
});
