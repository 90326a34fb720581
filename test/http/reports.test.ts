import { beforeAll, describe, expect, it } from 'vitest';
import { dialects } from '../support/databases.ts';
import { useServer } from '../support/server.ts';
import { newCustomer, perUnitMeter, use } from './fixtures.ts';

/** The finance reports and the reconciliation over HTTP: JSON by default, CSV on request (PRODUCT §10). */
describe.each(dialects)('reports and reconciliation over HTTP on %s', (dialect) => {
  const ctx = useServer(dialect);
  let customer: { id: string; externalId: string };
  let invoiceId: string;

  beforeAll(async () => {
    const { api } = ctx;
    customer = await newCustomer(api);
    const meter = await perUnitMeter(api);
    const bought = await api.post(`/v1/customers/${customer.id}/purchases`, { credits: '1000', amount: 10000 });
    expect(bought.status, JSON.stringify(bought.body)).toBe(201);
    invoiceId = bought.body.invoice.id;
    expect((await api.post(`/v1/invoices/${invoiceId}/payments`, { amount: 10000 })).status).toBe(201);
    await use(api, customer.id, meter.type, 300);
    expect((await api.post('/v1/refunds', { invoice: invoiceId, amount: 1000, reason: 'requested', credit_policy: 'unused_only' })).status).toBe(201);
  });

  it('serves deferred revenue as JSON: 30.00 recognized of 100.00 with 30% spent', async () => {
    const response = await ctx.api.get(`/v1/reports/deferred_revenue?customer=${customer.externalId}`);
    expect(response.status, JSON.stringify(response.body)).toBe(200);
    expect(response.body).toMatchObject({ object: 'report', report: 'deferred_revenue', from: null, to: null, customer: customer.id });
    // 100 of the 700 unspent credits were revoked by the refund: 10.00 leaves the liability.
    expect(response.body.totals).toEqual([{ currency: 'USD', opening_deferred: 0, purchased: 10000, recognized: 3000, breakage: 0, revoked: 1000, closing_deferred: 6000 }]);
    expect(response.body.rows[0]).toMatchObject({ invoice: invoiceId, credits: '1000', cost: 10000, credits_consumed: '300', credits_revoked: '100', credits_unspent: '600' });
  });

  it('serves every report as one CSV table with a header row', async () => {
    for (const name of ['revenue', 'usage', 'overage', 'refunds', 'promotional', 'deferred_revenue']) {
      const response = await ctx.api.request('GET', `/v1/reports/${name}?customer=${customer.id}&from=2026-01-01T00:00:00Z&to=2027-01-01T00:00:00Z`, undefined, { accept: 'text/csv' });
      expect(response.status, name).toBe(200);
      expect(response.headers.get('content-type'), name).toMatch(/^text\/csv/);
      const lines = String(response.body).trimEnd().split('\r\n');
      expect(lines[0], name).toMatch(/^[a-z_.]+(,[a-z_.]+)+$/);
      if (name === 'revenue') {
        expect(lines[0]).toContain('invoiced,paid,refunded,charged_back,credit_notes,net');
        const header = lines[0]!.split(',');
        const row = lines[1]!.split(',');
        expect(Object.fromEntries(header.map((h, i) => [h, row[i]]))).toMatchObject({ invoiced: '10000', paid: '10000', refunded: '1000', net: '9000', 'lines.credit_purchase': '10000' });
      }
      if (name === 'usage') expect(lines[1]).toMatch(/,300,1$/);
    }
  });

  it('answers a window that is not RFC 3339 with 400 validation_failed', async () => {
    const response = await ctx.api.get('/v1/reports/revenue?from=last-tuesday');
    expect(response.status).toBe(400);
    expect(response.body.error.code).toBe('validation_failed');
    expect(response.body.error.details.fields).toEqual([expect.objectContaining({ field: 'from' })]);
    const reconciliation = await ctx.api.get('/v1/reconciliation?to=soon');
    expect([reconciliation.status, reconciliation.body.error.code]).toEqual([400, 'validation_failed']);
  });

  it('reconciles the store: every check ok', async () => {
    const response = await ctx.api.get('/v1/reconciliation?from=2000-01-01T00:00:00Z');
    expect(response.status).toBe(200);
    expect(response.body.ok).toBe(true);
    expect(response.body.checks.map((c: { name: string }) => c.name)).toContain('claw_backs_applied');
    expect(response.body.discrepancies).toEqual([]);
  });

  it('lets a read key see reports, and pins a portal token to its customer', async () => {
    const read = await ctx.api.post('/v1/api_keys', { name: 'finance', scopes: ['read'] });
    expect((await ctx.api.as(read.body.secret).get('/v1/reports/usage')).status).toBe(200);
    const other = await newCustomer(ctx.api);
    const portal = await ctx.api.post('/v1/api_keys', { name: 'portal', scopes: ['read'], customer: other.id });
    const own = await ctx.api.as(portal.body.secret).get('/v1/reports/revenue');
    expect([own.status, own.body.customer, own.body.rows]).toEqual([200, other.id, []]);
    expect((await ctx.api.as(portal.body.secret).get(`/v1/reports/revenue?customer=${customer.id}`)).status).toBe(404);
    expect((await ctx.api.as(portal.body.secret).get('/v1/reconciliation')).status).toBe(403);
  });
});
