import { describe, expect, it } from 'vitest';
import { dialects } from '../support/databases.ts';
import { unique, useServer, type Api } from '../support/server.ts';
import { at, balance, days, newClock, newCustomer, perUnitMeter, use } from './fixtures.ts';

/** Campaigns and redemptions over HTTP (PRODUCT §15, issue 13), on both databases. */
describe.each(dialects)('promotions on %s', (dialect) => {
  const ctx = useServer(dialect);

  async function campaign(api: Api, body: Record<string, unknown>): Promise<any> {
    const created = await api.post('/v1/promotions', body);
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    return created.body;
  }
  const redeem = (api: Api, code: string, customer: string, headers?: Record<string, string>) =>
    api.post('/v1/promotions/redeem', { code, customer }, headers);

  it('SPRING: 50 credits, max_redemptions 2: A, A again, B, C; A uses 30; the report shows 100 granted, 30 consumed', async () => {
    const api = ctx.api;
    const code = unique('SPRING').toUpperCase();
    const spring = await campaign(api, { code, credits: '50', max_redemptions: 2, name: 'Spring' });
    expect(spring).toMatchObject({ object: 'promotion', code, credits: '50', max_redemptions: 2, max_per_customer: 1, active: true, redemptions: 0 });
    const [a, b, c] = [await newCustomer(api), await newCustomer(api), await newCustomer(api)];

    const first = await redeem(api, code.toLowerCase(), a.externalId);
    expect(first.status, JSON.stringify(first.body)).toBe(201);
    expect(first.body).toMatchObject({ object: 'promotion_redemption', promotion: spring.id, code, customer: a.id, credits: '50' });
    const grant = (await api.get(`/v1/grants/${first.body.grant}`)).body;
    expect(grant).toMatchObject({ customer: a.id, credits: '50', remaining: '50', category: 'promotional', source: 'promotion', metadata: { promotion: spring.id, redemption: first.body.id, code } });

    const again = await redeem(api, code, a.id);
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('promotion_already_redeemed');
    expect((await redeem(api, code, b.id)).status).toBe(201);
    const late = await redeem(api, code, c.id);
    expect(late.status).toBe(409);
    expect(late.body.error).toMatchObject({ code: 'promotion_exhausted', details: { reason: 'max_redemptions' } });
    expect((await balance(api, c.id)).available).toBe('0');

    const meter = await perUnitMeter(api);
    await use(api, a.id, meter.type, 30);
    expect((await balance(api, a.id)).available).toBe('20');

    const report = await api.get(`/v1/reports/promotions`);
    expect(report.status, JSON.stringify(report.body)).toBe(200);
    const row = report.body.rows.find((r: any) => r.promotion === spring.id);
    expect(row).toMatchObject({ kind: 'campaign', code, redemptions: 2, customers: 2, credits_granted: '100', credits_consumed: '30', credits_expired: '0', credits_revoked: '0', credits_unspent: '70' });
    const events = (await api.get(`/v1/domain_events?customer=${a.id}&type=promotion.redeemed`)).body.data;
    expect(events.map((e: any) => e.payload ?? e.data)).toEqual([expect.objectContaining({ redemption: first.body.id, promotion: spring.id, grant: grant.id, credits: '50' })]);
    const promotion = (await api.get(`/v1/promotions/${spring.id}`)).body;
    expect(promotion.redemptions).toBe(2);
    const reconciliation = (await api.get('/v1/reconciliation')).body;
    expect(reconciliation.checks).toContainEqual({ name: 'promotion_grants_linked', ok: true });
    expect(reconciliation.ok, JSON.stringify(reconciliation.discrepancies)).toBe(true);
    const csv = await api.request('GET', '/v1/reports/promotions', undefined, { accept: 'text/csv' });
    expect(csv.headers.get('content-type')).toMatch(/text\/csv/);
    const [header, ...lines] = (csv.body as string).trim().split('\r\n');
    expect(header).toBe('kind,promotion,code,referrer,customers,redemptions,grants,credits_granted,credits_consumed,credits_expired,credits_revoked,credits_unspent');
    expect(lines.find((l) => l.includes(spring.id))).toBe(`campaign,${spring.id},${code},,2,2,2,100,30,0,0,70`);
  });

  it('a customer brought by two campaigns and a referral pays 29.00 once: each row shows 29.00, the totals 29.00, not 87.00', async () => {
    const api = ctx.api;
    const clock = await newClock(api);
    const [x, referrer] = [await newCustomer(api, { clock }), await newCustomer(api, { clock })];
    const [first, second] = [await campaign(api, { code: unique('FIRST'), credits: '5' }), await campaign(api, { code: unique('SECOND'), credits: '7' })];
    expect((await api.post('/v1/referrals', { referrer: referrer.id, referred: x.id, reward_credits: '10' })).status).toBe(201);
    expect((await redeem(api, first.code, x.id)).status).toBe(201);
    expect((await redeem(api, second.code, x.id)).status).toBe(201);
    const plan = unique('plan');
    expect((await api.post('/v1/plans', { code: plan, name: 'Team', currency: 'USD', interval: 'month', amount: 2900, included_credits: '100' })).status).toBe(201);
    expect((await api.post('/v1/subscriptions', { customer: x.id, plan })).status).toBe(201);
    const invoice = (await api.get(`/v1/invoices?customer=${x.id}`)).body.data[0];
    expect((await api.post(`/v1/invoices/${invoice.id}/payments`, { amount: 2900 })).status).toBe(201);

    const report = (await api.get(`/v1/reports/promotions?customer=${x.id}`)).body;
    expect(report.rows.map((r: any) => [r.kind, r.promotion ?? r.referrer, r.customers, r.revenue_after])).toEqual(expect.arrayContaining([
      ['campaign', first.id, 1, { USD: 2900 }], ['campaign', second.id, 1, { USD: 2900 }], ['referrer', referrer.id, 1, { USD: 2900 }],
    ]));
    // Before: the totals added the rows' revenue, 87.00 from the one customer who paid 29.00.
    expect(report.totals).toMatchObject({ customers: 1, redemptions: 3, credits_granted: '12', revenue_after: { USD: 2900 } });
  });

  it('generates unique single-use codes, lists them as JSON pages and as CSV, and spends each once', async () => {
    const api = ctx.api;
    const promo = await campaign(api, { codes: { count: 25, prefix: 'wel' }, credits: '5', grant_expires_in: 7 * 86400 });
    expect(promo).toMatchObject({ code: null, codes: { count: 25, prefix: 'WEL' }, grant_expires_in: 604800 });
    const page = await api.get(`/v1/promotions/${promo.id}/codes?limit=10`);
    expect(page.status).toBe(200);
    expect(page.body.data).toHaveLength(10);
    expect(page.body.has_more).toBe(true);
    const next = await api.get(`/v1/promotions/${promo.id}/codes?limit=100&starting_after=${page.body.next_cursor}`);
    expect(next.body.data).toHaveLength(15);
    const csv = await api.request('GET', `/v1/promotions/${promo.id}/codes`, undefined, { accept: 'text/csv' });
    expect(csv.status).toBe(200);
    expect(csv.headers.get('content-type')).toMatch(/text\/csv/);
    const lines = (csv.body as string).trim().split('\r\n');
    expect(lines[0]).toBe('code,promotion,single_use,redemptions,created_at');
    const codes = lines.slice(1).map((l) => l.split(',')[0]!);
    expect(new Set(codes).size).toBe(25);
    for (const code of codes) expect(code).toMatch(/^WEL-[0-9A-HJKMNP-TV-Z]{16}$/);

    const [a, b] = [await newCustomer(api), await newCustomer(api)];
    const redeemed = await redeem(api, codes[0]!, a.id);
    expect(redeemed.status, JSON.stringify(redeemed.body)).toBe(201);
    expect(redeemed.body.grant_expires_at).toBe('2026-05-08T00:00:00Z');
    expect((await redeem(api, codes[0]!, a.id)).body.error.code).toBe('promotion_already_redeemed');
    const taken = await redeem(api, codes[0]!, b.id);
    expect(taken.status).toBe(409);
    expect(taken.body.error).toMatchObject({ code: 'promotion_exhausted', details: { reason: 'code_used' } });
    expect((await redeem(api, codes[1]!, b.id)).status).toBe(201);
    const used = (await api.get(`/v1/promotions/${promo.id}/codes?limit=100`)).body.data.filter((c: any) => c.redemptions > 0).map((c: any) => c.code);
    expect(used.sort()).toEqual([codes[0], codes[1]].sort());
    const listed = await api.get(`/v1/promotions/redemptions?promotion=${promo.id}`);
    expect(listed.body.data.map((r: any) => r.customer)).toEqual([a.id, b.id]);
  });

  it('refuses outside the window, when inactive, unknown, not new, or not on the plan; nothing is stored', async () => {
    const api = ctx.api;
    const clock = await newClock(api);
    const a = await newCustomer(api, { clock });
    const windowed = await campaign(api, { code: unique('WIN'), credits: '10', valid_from: at(1 * days), valid_until: at(2 * days) });
    const early = await redeem(api, windowed.code, a.id);
    expect(early.status).toBe(409);
    expect(early.body.error).toMatchObject({ code: 'promotion_expired', details: { reason: 'not_yet_valid' } });
    await api.post(`/v1/test_clocks/${clock}/advance`, { frozen_time: at(2 * days) });
    expect((await redeem(api, windowed.code, a.id)).body.error).toMatchObject({ code: 'promotion_expired', details: { reason: 'ended' } });

    const stopped = await campaign(api, { code: unique('OFF'), credits: '10' });
    const deactivated = await api.post(`/v1/promotions/${stopped.id}/deactivate`);
    expect(deactivated.status).toBe(200);
    expect(deactivated.body).toMatchObject({ active: false, deactivated_at: expect.any(String) });
    expect((await redeem(api, stopped.code, a.id)).body.error.code).toBe('promotion_inactive');

    const unknown = await redeem(api, 'NO-SUCH-CODE', a.id);
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe('promotion_not_found');

    const fresh = await campaign(api, { code: unique('NEW'), credits: '10', new_customers_only: true });
    const meter = await perUnitMeter(api);
    const buy = await api.post(`/v1/customers/${a.id}/purchases`, { credits: '1', amount: 100 });
    await api.post(`/v1/invoices/${buy.body.invoice.id}/payments`, { amount: 100 });
    expect((await redeem(api, fresh.code, a.id)).body.error).toMatchObject({ code: 'promotion_not_eligible', details: { reason: 'not_a_new_customer' } });
    const b = await newCustomer(api);
    expect((await redeem(api, fresh.code, b.id)).status).toBe(201);

    const plan = unique('plan');
    expect((await api.post('/v1/plans', { code: plan, name: 'Pro', currency: 'USD', interval: 'month', amount: 0, included_credits: '0' })).status).toBe(201);
    const forPro = await campaign(api, { code: unique('PRO'), credits: '10', plans: [plan] });
    const c = await newCustomer(api);
    expect((await redeem(api, forPro.code, c.id)).body.error).toMatchObject({ code: 'promotion_not_eligible', details: { reason: 'plan' } });
    expect((await api.post('/v1/subscriptions', { customer: c.id, plan })).status).toBe(201);
    expect((await redeem(api, forPro.code, c.id)).status).toBe(201);

    // Nothing of a refusal is stored: a's only grant is the credit purchase, and no redemption of it exists.
    const grants = (await api.get(`/v1/grants?customer=${a.id}`)).body.data;
    expect(grants.map((g: any) => g.source)).toEqual(['purchase']);
    expect((await api.get(`/v1/promotions/redemptions?customer=${a.id}`)).body.data).toEqual([]);
    void meter;
  });

  it('refuses bad campaigns with the field at fault and stores nothing', async () => {
    const api = ctx.api;
    const before = (await api.get('/v1/promotions?limit=100')).body.data.length;
    const cases: [Record<string, unknown>, string, string][] = [
      [{ code: 'X1', credits: '-5' }, 'credits', 'negative_not_allowed'],
      [{ code: 'X2', credits: '0' }, 'credits', 'must_be_positive'],
      [{ credits: '5' }, 'code', 'code_or_codes'],
      [{ code: 'X3', codes: { count: 2 }, credits: '5' }, 'code', 'code_or_codes'],
      [{ codes: { count: 10_001 }, credits: '5' }, 'codes.count', 'out_of_range'],
      [{ code: 'X4', credits: '5', valid_from: '2026-02-01T00:00:00Z', valid_until: '2026-01-01T00:00:00Z' }, 'valid_until', 'window_empty'],
      [{ code: 'X5', credits: '5', plans: ['no_such_plan'] }, 'plans[0]', 'plan_not_found'],
      [{ code: 'bad code!', credits: '5' }, 'code', 'invalid_format'],
    ];
    for (const [body, field, code] of cases) {
      const refused = await api.post('/v1/promotions', body);
      expect(refused.status, JSON.stringify(body)).toBe(400);
      expect(refused.body.error.details.fields, JSON.stringify(refused.body)).toEqual(expect.arrayContaining([expect.objectContaining({ field, code })]));
    }
    const code = unique('DUP');
    await campaign(api, { code, credits: '1' });
    const dup = await api.post('/v1/promotions', { code: code.toLowerCase(), credits: '1' });
    expect(dup.status).toBe(409);
    expect(dup.body.error.code).toBe('promotion_code_taken');
    expect((await api.get('/v1/promotions?limit=100')).body.data.length).toBe(before + 1);
    expect((await redeem(api, code, 'no_such_customer')).body.error.code).toBe('customer_not_found');
  });

  it('replays a redemption sent again with the same Idempotency-Key', async () => {
    const api = ctx.api;
    const promo = await campaign(api, { code: unique('IDEM'), credits: '3', max_per_customer: 2 });
    const a = await newCustomer(api);
    const key = unique('key');
    const first = await redeem(api, promo.code, a.id, { 'idempotency-key': key });
    const replay = await redeem(api, promo.code, a.id, { 'idempotency-key': key });
    expect(replay.status).toBe(201);
    expect(replay.body).toEqual(first.body);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect((await balance(api, a.id)).available).toBe('3');
    // max_per_customer 2: a second redemption of the shared code is allowed, a third is not.
    expect((await redeem(api, promo.code, a.id)).status).toBe(201);
    expect((await redeem(api, promo.code, a.id)).body.error.code).toBe('promotion_already_redeemed');
  });

  it('20 concurrent redemptions by 20 customers of a code with max_redemptions 5 make exactly 5 grants', async () => {
    const api = ctx.api;
    const promo = await campaign(api, { code: unique('RUSH'), credits: '7', max_redemptions: 5 });
    const customers = await Promise.all(Array.from({ length: 20 }, () => newCustomer(api, { clock: null })));
    const results = await Promise.all(customers.map((c) => redeem(api, promo.code, c.id)));
    const statuses = results.map((r) => (r.status === 201 ? 'ok' : r.body.error.code));
    expect(statuses.filter((s) => s === 'ok')).toHaveLength(5);
    expect(statuses.filter((s) => s === 'promotion_exhausted')).toHaveLength(15);
    expect((await api.get(`/v1/promotions/${promo.id}`)).body.redemptions).toBe(5);
    const redemptions = (await api.get(`/v1/promotions/redemptions?promotion=${promo.id}`)).body.data;
    expect(redemptions).toHaveLength(5);
    let granted = 0;
    for (const c of customers) granted += Number((await balance(api, c.id)).available);
    expect(granted).toBe(35);
  });

  it('documents every promotions operation in the OpenAPI document with an operationId and response schemas', async () => {
    const doc = (await ctx.api.as(null).get('/openapi.json')).body;
    const operations: [string, string, string][] = [
      ['/v1/promotions', 'post', 'createPromotion'], ['/v1/promotions', 'get', 'listPromotions'], ['/v1/promotions/{id}', 'get', 'getPromotion'],
      ['/v1/promotions/{id}/deactivate', 'post', 'deactivatePromotion'], ['/v1/promotions/{id}/codes', 'get', 'listPromotionCodes'],
      ['/v1/promotions/redeem', 'post', 'redeemPromotion'], ['/v1/promotions/redemptions', 'get', 'listPromotionRedemptions'],
      ['/v1/reports/promotions', 'get', 'promotionsReport'],
    ];
    for (const [path, method, operationId] of operations) {
      const op = doc.paths[path]?.[method];
      expect(op?.operationId, `${method} ${path}`).toBe(operationId);
      const success = op.responses['200'] ?? op.responses['201'];
      const schema = success.content['application/json'].schema;
      expect(schema.$ref ?? schema.type, `${method} ${path}`).toMatch(/^(#\/components\/schemas\/|object$)/);
      expect(op.responses['4XX'].content['application/json'].schema, `${method} ${path}`).toEqual({ $ref: '#/components/schemas/Error' });
    }
    expect(doc.paths['/v1/promotions/redeem'].post.responses['201'].content['application/json'].schema).toEqual({ $ref: '#/components/schemas/PromotionRedemption' });
    expect(doc.components.schemas.Refund.properties.referral_claw_backs.items).toEqual({ $ref: '#/components/schemas/ReferralClawBack' });
    expect(doc.paths['/v1/promotions/{id}/codes'].get.responses['200'].content['text/csv']).toBeDefined();
  });
});
