import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminKey, useServer } from '../support/server.ts';
import { createCustomer } from '../../src/engine/customers.ts';

/**
 * The dashboard in Debian's Chromium (PRODUCT §12), against the real server with real data. One
 * browser for the file. Screenshots of each page go outside the repository (TALLY_SHOTS, default
 * <tmp>/tally-shots) for people to look at.
 */
const root = resolve(import.meta.dirname, '../..');
const shots = process.env.TALLY_SHOTS ?? join(tmpdir(), 'tally-shots');
const customersCount = 2000;

// Generous per-test time: a browser on a loaded 2-core machine is slow, and every wait below is on a condition.
describe('the dashboard in Chromium', { timeout: 120_000 }, () => {
  const ctx = useServer('sqlite');
  const profile = mkdtempSync(join(tmpdir(), 'tally-chromium-'));
  let browser: BrowserContext;
  let page: Page;
  let base = '';
  const target = { id: '', invoice: '', meterType: '', portalKey: '', other: '' };

  const api = () => ctx.api;
  const shot = (name: string) => page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });
  const text = async (selector: string) => (await page.locator(selector).first().innerText()).trim();
  const available = async () => (await text('[data-figure="available"] strong'));

  beforeAll(async () => {
    if (!existsSync(join(root, 'web/dist/index.html'))) execFileSync(process.execPath, [join(root, 'scripts/build-web.mjs')]);
    mkdirSync(shots, { recursive: true });
    base = ctx.api.baseUrl;
    // Thousands of customers to search among, made by the engine's own use case (faster than HTTP).
    for (let i = 0; i < customersCount; i++) {
      const n = String(i).padStart(5, '0');
      const made = await createCustomer(ctx.engine, { currency: 'USD', external_id: `bulk-${n}`, name: `Customer ${n}`, email: `c${n}@example.test` });
      expect(made.ok).toBe(true);
    }
    const zephyr = await api().post('/v1/customers', { currency: 'USD', external_id: 'zephyr', name: 'Zephyr Analytics', email: 'ops@zephyr.test', overage: true });
    target.id = zephyr.body.id;
    target.other = (await api().post('/v1/customers', { currency: 'USD', external_id: 'broken-books', name: 'Broken Books' })).body.id;
    target.meterType = `llm.completion.${Date.now()}`;
    expect((await api().post('/v1/meters', { code: `tokens_${Date.now()}`, event_type: target.meterType, aggregation: 'sum', value_property: 'tokens', rate: { model: 'per_unit', credits_per_unit: '0.002' } })).status).toBe(201);
    const purchase = await api().post(`/v1/customers/${target.id}/purchases`, { credits: '100', amount: 1000 });
    target.invoice = purchase.body.invoice.id;
    expect((await api().post(`/v1/invoices/${target.invoice}/payments`, { amount: 1000 })).status).toBe(201);
    const portal = await api().post('/v1/api_keys', { scopes: ['read'], customer: target.id, name: 'zephyr portal' });
    target.portalKey = portal.body.secret;

    browser = await chromium.launchPersistentContext(profile, {
      executablePath: '/usr/bin/chromium',
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      viewport: { width: 1360, height: 900 },
      acceptDownloads: true,
    });
    page = browser.pages()[0] ?? await browser.newPage();
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    rmSync(profile, { recursive: true, force: true });
  });

  async function signIn(key: string) {
    await page.goto(`${base}/dashboard`);
    await page.fill('#sign-in-key', key);
    await page.click('[data-action="Sign in"]');
  }

  it('signs in with an API key kept in the session, and finds a customer among thousands', async () => {
    await page.goto(`${base}/dashboard`);
    await shot('01-sign-in');
    await page.fill('#sign-in-key', 'not-a-key');
    await page.click('[data-action="Sign in"]');
    await expect.poll(() => text('[data-error="form"]')).toContain('not valid');
    await signIn(adminKey);
    await page.waitForSelector('#customers tbody tr');
    expect(await page.locator('#customers tbody tr').count()).toBe(25);
    expect(await page.evaluate(() => sessionStorage.getItem('tally.key'))).toBe(adminKey);
    await shot('02-customers');
    for (const q of ['zephyr', 'ops@zephyr.test', 'Zeph', 'zEPHYR anal', 'OPS@ZEPHYR', target.id]) {
      await page.fill('input[name="q"]', q);
      await page.click('form.search button');
      await expect.poll(() => page.locator('#customers tbody tr').count(), { message: q }).toBe(1);
      expect(await text('#customers tbody tr')).toContain('Zephyr Analytics');
    }
    await page.click(`#customers a[href="#/customers/${target.id}"]`);
    await page.waitForSelector('[data-figure="available"]');
    expect(await available()).toBe('100');
  });

  it('shows the balance change after usage is ingested', async () => {
    await page.goto(`${base}/dashboard#/customers/${target.id}`);
    await expect.poll(available).toBe('100');
    const ingested = await api().post('/v1/events', { events: [{ id: `ui_ev_${Date.now()}`, customer: target.id, type: target.meterType, properties: { tokens: 1500 } }] });
    expect(ingested.body.results[0]).toMatchObject({ status: 'accepted', credits: '3' });
    await page.reload();
    await expect.poll(available).toBe('97');
    expect(await text('#usage tbody tr')).toContain('1500 → 3');
    await shot('03-customer');
  });

  it('lists a customer\'s holds, newest first, with what each still holds', async () => {
    const customer = (await api().post('/v1/customers', { currency: 'USD', external_id: `holder-${Date.now()}` })).body.id as string;
    expect((await api().post('/v1/grants', { customer, credits: '50', category: 'paid', source: 'purchase' })).status).toBe(201);
    const released = (await api().post('/v1/holds', { customer, credits: '10', expires_in: 600 })).body.id as string;
    expect((await api().post(`/v1/holds/${released}/release`)).status).toBe(200);
    const active = (await api().post('/v1/holds', { customer, credits: '30', expires_in: 600 })).body.id as string;
    await page.goto(`${base}/dashboard#/customers/${customer}`);
    await expect.poll(available).toBe('20');
    const rows = async () => (await page.locator('#holds tbody tr').allInnerTexts()).map((r) => r.split('\t').slice(0, 4).map((c) => c.trim()));
    await expect.poll(rows).toEqual([[active, '30', '30', 'active'], [released, '10', '0', 'released']]);
  });

  it('grants credits with a reason and shows the ledger line with it; bad input shows the API message at the field and stores nothing', async () => {
    await page.goto(`${base}/dashboard#/customers/${target.id}`);
    await page.click('details summary');
    const grantsBefore = (await api().get(`/v1/grants?customer=${target.id}`)).body.data.length;
    await page.fill('#grant-form-credits', 'ten');
    await page.fill('#grant-form-reason', 'Typo test');
    await page.click('[data-action="Grant credits"]');
    await expect.poll(() => text('#grant-form [data-error="credits"]')).toMatch(/must match pattern/i);
    await shot('04-grant-bad-input');
    expect((await api().get(`/v1/grants?customer=${target.id}`)).body.data.length).toBe(grantsBefore);

    await page.fill('#grant-form-credits', '25');
    await page.selectOption('#grant-form-category', 'promotional');
    await page.fill('#grant-form-reason', 'Goodwill for the May outage');
    await page.click('[data-action="Grant credits"]');
    await expect.poll(() => page.locator('#ledger tbody tr', { hasText: 'Goodwill for the May outage' }).count()).toBe(1);
    expect(await available()).toBe('122');
    await shot('05-grant-ledger');
  });

  it('refunds with a preview whose numbers equal the refund made', async () => {
    await page.goto(`${base}/dashboard#/invoices/${target.invoice}`);
    await page.fill('#refund-form-amount', '500');
    await page.selectOption('#refund-form-credit_policy', 'proportional');
    await page.fill('#refund-form-reason', 'Half the pack, as agreed');
    await page.click('[data-action="Preview refund"]');
    await page.waitForSelector('#confirm-refund');
    const previewed = { revoked: await text('[data-preview="credits_revoked"]'), shortfall: await text('[data-preview="credits_shortfall"]') };
    expect(previewed.revoked).toBe('50');
    expect((await api().get(`/v1/refunds?customer=${target.id}`)).body.data).toEqual([]);
    await shot('06-refund-preview');
    await page.click('#confirm-refund');
    await page.waitForSelector('#refund-done');
    expect(await text('[data-made="credits_revoked"]')).toBe(previewed.revoked);
    expect(previewed.shortfall.startsWith(await text('[data-made="credits_shortfall"]'))).toBe(true);
    const [refund] = (await api().get(`/v1/refunds?customer=${target.id}`)).body.data;
    expect(refund).toMatchObject({ amount: 500, credits_revoked: '50', credit_policy: 'proportional' });
    await shot('07-refund-done');
  });

  it('changes a plan after a preview of its proration, which the change then makes', async () => {
    const code = (suffix: string) => `ui_plan_${suffix}_${Date.now()}`;
    const [small, large] = [code('small'), code('large')];
    for (const [c, amount, included] of [[small, 1000, '100'], [large, 3000, '500']] as const) {
      expect((await api().post('/v1/plans', { code: c, name: c, currency: 'USD', interval: 'month', amount, included_credits: included })).status).toBe(201);
    }
    // On a test clock: the preview and the change happen at the same instant, as they would if made together.
    const clock = (await api().post('/v1/test_clocks', { frozen_time: '2026-05-01T00:00:00Z' })).body.id;
    const clocked = (await api().post('/v1/customers', { currency: 'USD', name: 'Clocked Co', test_clock: clock })).body.id;
    const sub = (await api().post('/v1/subscriptions', { customer: clocked, plan: small })).body;
    expect((await api().post(`/v1/test_clocks/${clock}/advance`, { frozen_time: '2026-05-11T00:00:00Z' })).status).toBe(200);
    await page.goto(`${base}/dashboard#/customers/${clocked}`);
    await page.click('.sub-actions button');
    await page.selectOption(`#change-${sub.id}-plan`, large);
    await page.click('[data-action="Preview change"]');
    await page.waitForSelector(`[data-confirm="${sub.id}"]`);
    const previewLines = await page.locator('.sub-actions .notice table').first().innerText();
    expect((await api().get(`/v1/subscriptions/${sub.id}`)).body.plan).not.toContain(large);
    await shot('08-subscription-preview');
    await page.click(`[data-confirm="${sub.id}"]`);
    await expect.poll(async () => (await api().get(`/v1/invoices?subscription=${sub.id}`)).body.data.some((i: { kind: string }) => i.kind === 'proration')).toBe(true);
    const proration = (await api().get(`/v1/invoices?subscription=${sub.id}`)).body.data.find((i: { kind: string }) => i.kind === 'proration');
    for (const line of proration.lines) expect(previewLines).toContain(`${line.description}\t${(line.amount < 0 ? '−' : '') + String(Math.abs(line.amount)).padStart(3, '0').replace(/(\d\d)$/, '.$1')} USD`);
  });

  it('opens a reconciliation discrepancy and lands on its record', async () => {
    await api().post('/v1/grants', { customer: target.other, credits: '10', category: 'paid', source: 'adjustment' });
    // A stored balance that no longer equals the sum of its entries: what the check exists to catch.
    await ctx.database.db.run(`UPDATE accounts SET balance = balance + 1 WHERE customer_id = ? AND code LIKE 'grant:%'`, [target.other]);
    await page.goto(`${base}/dashboard#/reconciliation`);
    await page.waitForSelector('#discrepancies');
    expect(await text('#reconciliation-status')).toMatch(/discrepanc/);
    await shot('08-reconciliation');
    await page.click(`#discrepancies a[href="#/records/${target.other}"]`);
    await expect.poll(() => page.url()).toContain(`#/customers/${target.other}`);
    await page.waitForSelector('[data-figure="available"]');
    expect(await text('h1')).toContain('Broken Books');
    await ctx.database.db.run(`UPDATE accounts SET balance = balance - 1 WHERE customer_id = ? AND code LIKE 'grant:%'`, [target.other]);
  });

  it('shows reports with date filters and a CSV download', async () => {
    await page.goto(`${base}/dashboard#/reports?name=revenue&from=2020-01-01&to=2100-01-01`);
    await page.waitForSelector('#report-rows');
    const download = page.waitForEvent('download');
    await page.click('#download-csv');
    const file = await download;
    expect(file.suggestedFilename()).toBe('revenue-from-2020-01-01-to-2100-01-01.csv');
    await shot('09-reports');
  });

  it('confines a portal token to its own customer', async () => {
    await page.click('text=Sign out');
    await signIn(target.portalKey);
    await page.waitForSelector('[data-figure="available"]');
    expect(page.url()).toContain(`#/customers/${target.id}`);
    expect(await page.locator('header nav a').allInnerTexts()).toEqual(['My account']);
    await shot('10-portal');
    await page.goto(`${base}/dashboard#/customers/${target.other}`);
    await expect.poll(() => page.locator('[data-error]').first().innerText()).toMatch(/not available to a customer portal token/);
    // The server refuses it too, whatever the page does.
    expect((await api().as(target.portalKey).get(`/v1/customers/${target.other}`)).status).toBe(404);
    expect((await api().as(target.portalKey).get('/v1/customers')).status).toBe(403);
  });

  it('serves the built dashboard compressed and cached', async () => {
    const index = await fetch(`${base}/dashboard`, { headers: { 'accept-encoding': 'br' } });
    expect(index.headers.get('content-encoding')).toBe('br');
    expect(index.headers.get('cache-control')).toBe('no-cache');
    const script = /src="\/dashboard\/(app\.[0-9a-f]+\.js)"/.exec(await index.text())![1]!;
    const asset = await fetch(`${base}/dashboard/${script}`, { headers: { 'accept-encoding': 'gzip' } });
    expect(asset.headers.get('cache-control')).toContain('immutable');
    expect(asset.headers.get('content-type')).toContain('javascript');
  });
});
