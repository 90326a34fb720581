import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it, vi } from 'vitest';
import type { Engine } from '../../src/engine/context.ts';
import { dialects } from '../support/databases.ts';
import { unique, useServer, type Api } from '../support/server.ts';
import { ManualClock } from '../../src/engine/clock.ts';
import { grantExpiry, holdExpiry, runDue } from '../../src/engine/due-work.ts';
import { advance, at, balance, days, domainEvents, expectLedgerConsistent, ingest, minutes, newClock, newCustomer, newGrant, perUnitMeter, seconds, transactions } from './fixtures.ts';

/** Holds for long jobs (PRODUCT §5): reserve, capture actual usage, release, expire. */
describe.each(dialects)('holds on %s', (dialect) => {
  const ctx = useServer(dialect);

  async function newHold(customer: string, credits: string, expiresIn = 600): Promise<any> {
    const created = await ctx.api.post('/v1/holds', { customer, credits, expires_in: expiresIn });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    return created.body;
  }

  /** Credits bought and paid: the invoice and its grant. */
  async function bought(api: Api, customer: string, credits: string, amount: number): Promise<{ invoice: any; grant: any }> {
    const made = await api.post(`/v1/customers/${customer}/purchases`, { credits, amount });
    expect(made.status, JSON.stringify(made.body)).toBe(201);
    expect((await api.post(`/v1/invoices/${made.body.invoice.id}/payments`, { amount })).status).toBe(201);
    return made.body;
  }

  async function expectReconciled(api: Api): Promise<void> {
    const reconciliation = await api.get('/v1/reconciliation');
    expect(reconciliation.status).toBe(200);
    expect(reconciliation.body).toMatchObject({ ok: true, discrepancies: [] });
    await expectLedgerConsistent(api);
  }

  it('reserves credits: held goes up, available down', async () => {
    const { api } = ctx;
    const customer = await newCustomer(api);
    await newGrant(api, customer.id, '100');
    const hold = await newHold(customer.externalId, '40', 120);
    expect(hold).toMatchObject({ object: 'hold', customer: customer.id, credits: '40', status: 'active', expires_at: at(120 * seconds).replace('.000Z', 'Z'), captured: null });
    expect(hold.id).toMatch(/^hld_/);
    expect(await balance(api, customer.id)).toMatchObject({ available: '60', held: '40', paid: '60' });
    expect((await api.get(`/v1/holds/${hold.id}`)).body).toMatchObject({ id: hold.id, status: 'active' });
    expect(await domainEvents(api, customer.id, 'hold.created')).toMatchObject([{ data: { hold: hold.id, credits: '40' } }]);
  });

  it('lists a customer\'s holds, active and closed, with what each still holds; a portal token sees its own only', async () => {
    const { api } = ctx;
    const [customer, other] = [await newCustomer(api), await newCustomer(api)];
    await newGrant(api, customer.id, '100');
    await newGrant(api, other.id, '10');
    const [first, second] = [await newHold(customer.id, '30'), await newHold(customer.id, '20')];
    const theirs = await newHold(other.id, '5');
    expect((await api.post(`/v1/holds/${first.id}/release`)).status).toBe(200);

    const listed = await api.get(`/v1/holds?customer=${customer.externalId}`);
    expect(listed.status, JSON.stringify(listed.body)).toBe(200);
    expect(listed.body).toMatchObject({ object: 'list', has_more: false, next_cursor: null });
    expect(listed.body.data.map((h: any) => [h.id, h.status, h.credits, h.held])).toEqual([[first.id, 'released', '30', '0'], [second.id, 'active', '20', '20']]);
    expect(listed.body.data[1]).toEqual((await api.get(`/v1/holds/${second.id}`)).body);
    const newest = (await api.get(`/v1/holds?customer=${customer.id}&order=desc&limit=1`)).body;
    expect([newest.data.map((h: any) => h.id), newest.has_more, newest.next_cursor]).toEqual([[second.id], true, second.id]);
    expect((await api.get(`/v1/holds?customer=${customer.id}&order=desc&starting_after=${second.id}`)).body.data.map((h: any) => h.id)).toEqual([first.id]);
    expect((await api.get('/v1/holds?limit=100&order=desc')).body.data.map((h: any) => h.id)).toEqual(expect.arrayContaining([first.id, second.id, theirs.id]));

    const portal = (await api.post('/v1/api_keys', { scopes: ['read'], customer: customer.id })).body.secret;
    expect((await api.as(portal).get('/v1/holds')).body.data.map((h: any) => h.id)).toEqual([first.id, second.id]);
    const hidden = await api.as(portal).get(`/v1/holds?customer=${other.id}`);
    expect(hidden.status).toBe(404);
    expect((await api.get('/v1/holds?customer=cus_nobody')).status).toBe(404);
  });

  it('captures actual usage from the hold and releases the rest', async () => {
    const { api } = ctx;
    const customer = await newCustomer(api);
    const meter = await perUnitMeter(api);
    const grant = await newGrant(api, customer.id, '100');
    const hold = await newHold(customer.id, '40', 3600);
    const eventId = unique('ev');
    const captured = await api.post(`/v1/holds/${hold.id}/capture`, { event: { id: eventId, type: meter.type, properties: { n: 25 } } });
    expect(captured.status, JSON.stringify(captured.body)).toBe(200);
    expect(captured.body).toMatchObject({
      id: hold.id,
      status: 'captured',
      captured: '25',
      event: eventId,
      result: { id: eventId, status: 'accepted', credits: '25', paid_by: [{ grant: hold.id, credits: '25' }] },
    });
    expect(await balance(api, customer.id)).toMatchObject({ available: '75', held: '0', grants: [{ id: grant.id, remaining: '75' }] });
    const explained = await api.get(`/v1/usage_events/${eventId}`);
    expect(explained.body).toMatchObject({ customer: customer.id, credits: '25', paid_by: [{ grant: hold.id, credits: '25' }] });
    expect(explained.body.transaction.entries).toEqual(expect.arrayContaining([{ account: `hold:${hold.id}`, amount: '-25' }]));
    expect(await domainEvents(api, customer.id, 'hold.captured')).toMatchObject([{ data: { hold: hold.id, released: '15', captured: '25' } }]);
    await expectLedgerConsistent(api);
  });

  it('charges usage beyond the hold from the grants', async () => {
    const { api } = ctx;
    const customer = await newCustomer(api);
    const meter = await perUnitMeter(api);
    const grant = await newGrant(api, customer.id, '100');
    const hold = await newHold(customer.id, '10');
    const eventId = unique('ev');
    const captured = await api.post(`/v1/holds/${hold.id}/capture`, { event: { id: eventId, type: meter.type, properties: { n: 25 } } });
    expect(captured.body).toMatchObject({
      status: 'captured',
      captured: '10',
      result: { credits: '25', paid_by: [{ grant: hold.id, credits: '10' }, { grant: grant.id, credits: '15' }] },
    });
    expect(await balance(api, customer.id)).toMatchObject({ available: '75', held: '0' });
    await expectLedgerConsistent(api);
  });

  it('releases a hold: everything goes back; a later capture is 409 hold_not_active', async () => {
    const { api } = ctx;
    const customer = await newCustomer(api);
    const meter = await perUnitMeter(api);
    await newGrant(api, customer.id, '100');
    const hold = await newHold(customer.id, '40', 3600);
    const released = await api.post(`/v1/holds/${hold.id}/release`);
    expect(released.status).toBe(200);
    expect(released.body).toMatchObject({ id: hold.id, status: 'released', captured: '0' });
    expect(await balance(api, customer.id)).toMatchObject({ available: '100', held: '0' });

    const eventId = unique('ev');
    const capture = await api.post(`/v1/holds/${hold.id}/capture`, { event: { id: eventId, type: meter.type, properties: { n: 5 } } });
    expect(capture.status).toBe(409);
    expect(capture.body.error).toMatchObject({ code: 'hold_not_active', details: { status: 'released' } });
    expect((await api.get(`/v1/usage_events/${eventId}`)).status).toBe(404);
    const again = await api.post(`/v1/holds/${hold.id}/release`);
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('hold_not_active');
    expect(await balance(api, customer.id)).toMatchObject({ available: '100', held: '0' });
    expect((await api.post('/v1/holds/hld_nope/release')).status).toBe(404);
  });

  it('frees an expired hold when the test clock passes expires_in', async () => {
    const { api } = ctx;
    const customer = await newCustomer(api);
    await newGrant(api, customer.id, '100');
    const hold = await newHold(customer.id, '30', 60);
    await advance(api, customer.clock!, at(59 * seconds));
    expect(await balance(api, customer.id)).toMatchObject({ available: '70', held: '30' });
    await advance(api, customer.clock!, at(61 * seconds));
    expect((await api.get(`/v1/holds/${hold.id}`)).body).toMatchObject({ status: 'expired', closed_at: at(60 * seconds).replace('.000Z', 'Z') });
    expect(await balance(api, customer.id)).toMatchObject({ available: '100', held: '0' });
    expect(await domainEvents(api, customer.id, 'hold.expired')).toMatchObject([{ data: { hold: hold.id, released: '30' } }]);
    await expectLedgerConsistent(api);
  });

  it('refuses to capture a hold past its expiry even before the expiry job has run', async () => {
    const { api } = ctx;
    // On the real clock: the test server runs no scheduler, so the hold is still stored as active.
    const customer = await newCustomer(api, { clock: null });
    const meter = await perUnitMeter(api);
    await newGrant(api, customer.id, '100');
    const hold = await newHold(customer.id, '10', 1);
    await sleep(Math.max(0, Date.parse(hold.expires_at) - Date.now()) + 50);
    const eventId = unique('ev');
    const capture = await api.post(`/v1/holds/${hold.id}/capture`, { event: { id: eventId, type: meter.type, properties: { n: 1 } } });
    expect(capture.status).toBe(409);
    expect(capture.body.error.code).toBe('hold_expired');
    expect((await api.get(`/v1/usage_events/${eventId}`)).status).toBe(404);
  });

  it('refuses a hold bigger than what is available with 402 insufficient_credits, reserving nothing', async () => {
    const { api } = ctx;
    const customer = await newCustomer(api);
    await newGrant(api, customer.id, '50');
    await newHold(customer.id, '20');
    const response = await api.post('/v1/holds', { customer: customer.id, credits: '30.000001', expires_in: 60 });
    expect(response.status).toBe(402);
    expect(response.body.error).toMatchObject({ code: 'insufficient_credits', details: { available: '30', requested: '30.000001' } });
    expect(await balance(api, customer.id)).toMatchObject({ available: '30', held: '20' });
    expect(await domainEvents(api, customer.id, 'hold.created')).toHaveLength(1);
    expect((await api.post('/v1/holds', { customer: unique('ghost'), credits: '1', expires_in: 60 })).status).toBe(404);
  });

  it('never reserves more than is available under concurrent requests', async () => {
    const { api } = ctx;
    const customer = await newCustomer(api);
    await newGrant(api, customer.id, '100');
    const responses = await Promise.all(Array.from({ length: 10 }, () => api.post('/v1/holds', { customer: customer.id, credits: '20', expires_in: 60 })));
    expect(responses.map((r) => r.status).sort()).toEqual([201, 201, 201, 201, 201, 402, 402, 402, 402, 402]);
    expect(await balance(api, customer.id)).toMatchObject({ available: '0', held: '100' });
    await expectLedgerConsistent(api);
  });

  it('refuses a capture whose event is a duplicate or unreadable, leaving the hold active', async () => {
    const { api } = ctx;
    const customer = await newCustomer(api);
    const meter = await perUnitMeter(api);
    await newGrant(api, customer.id, '100');
    const hold = await newHold(customer.id, '20');
    const unreadable = await api.post(`/v1/holds/${hold.id}/capture`, { event: { id: unique('ev'), type: meter.type, properties: {} } });
    expect(unreadable.status).toBe(400);
    expect(unreadable.body.error.details.fields).toMatchObject([{ field: 'event.properties.n', code: 'missing_property' }]);

    const first = await newHold(customer.id, '5');
    const eventId = unique('ev');
    expect((await api.post(`/v1/holds/${first.id}/capture`, { event: { id: eventId, type: meter.type, properties: { n: 1 } } })).status).toBe(200);
    const duplicate = await api.post(`/v1/holds/${hold.id}/capture`, { event: { id: eventId, type: meter.type, properties: { n: 1 } } });
    expect(duplicate.status).toBe(409);
    expect(duplicate.body.error.code).toBe('event_already_recorded');
    expect((await api.get(`/v1/holds/${hold.id}`)).body.status).toBe('active');
    expect(await balance(api, customer.id)).toMatchObject({ available: '79', held: '20' });
    await expectLedgerConsistent(api);
  });

  it('counts held credits as unspent for a refund: 100 bought for 10.00, 60 held, 5.00 back unused_only revokes 50 (40 left, 10 from the hold); capturing 30 leaves 20', async () => {
    const { api } = ctx;
    const customer = await newCustomer(api);
    const meter = await perUnitMeter(api);
    const { invoice, grant } = await bought(api, customer.id, '100', 1000);
    const hold = await newHold(customer.id, '60');
    expect(hold).toMatchObject({ credits: '60', held: '60' });

    const refund = await api.post('/v1/refunds', { invoice: invoice.id, amount: 500, reason: 'half back', credit_policy: 'unused_only' });
    expect(refund.status, JSON.stringify(refund.body)).toBe(201);
    // Before, only the 40 left on the grant were unused: 40 revoked, and the hold kept all 60.
    expect(refund.body).toMatchObject({ credits_granted: '100', credits_revoked: '50', credits_shortfall: '0' });
    expect(await balance(api, customer.id)).toMatchObject({ available: '0', held: '50', debt: '0' });
    expect((await api.get(`/v1/holds/${hold.id}`)).body).toMatchObject({ status: 'active', credits: '60', held: '50' });
    expect(await domainEvents(api, customer.id, 'hold.reduced')).toMatchObject([{ data: { hold: hold.id, released: '10', held: '50', reduced_by: refund.body.id } }]);
    const ledger = await transactions(api, customer.id);
    const reduced = ledger.find((t) => t.kind === 'hold_release');
    expect(reduced).toMatchObject({ cause: { type: 'hold', id: hold.id }, refs: { reduced_by: refund.body.id } });
    expect(reduced.entries).toEqual([{ account: `hold:${hold.id}`, amount: '-10' }, { account: `grant:${grant.id}`, amount: '10' }]);
    expect(ledger.find((t) => t.kind === 'revoke').entries).toEqual([{ account: `grant:${grant.id}`, amount: '-50' }, { account: 'revoked', amount: '50' }]);

    const captured = await api.post(`/v1/holds/${hold.id}/capture`, { event: { id: unique('ev'), type: meter.type, properties: { n: 30 } } });
    expect(captured.status, JSON.stringify(captured.body)).toBe(200);
    expect(captured.body).toMatchObject({ status: 'captured', captured: '30', held: '0', result: { credits: '30', paid_by: [{ grant: hold.id, credits: '30' }] } });
    // Before: 30 came back to the grant, 30 left of credits whose half was refunded.
    expect(await balance(api, customer.id)).toMatchObject({ available: '20', held: '0', grants: [{ id: grant.id, remaining: '20' }] });
    const deferred = await api.get(`/v1/reports/deferred_revenue?customer=${customer.id}`);
    expect(deferred.body.rows).toMatchObject([{
      grant: grant.id, credits_consumed: '30', credits_revoked: '50', credits_unspent: '20', recognized: 300, revoked: 500, closing_deferred: 200,
    }]);
    await expectReconciled(api);
  });

  it('a refund or chargeback reads what the customer\'s active holds hold in one statement: 1 or 40 holds, the same statements', async () => {
    const { api, engine } = ctx;
    const statements: Record<string, number[]> = { refund: [], chargeback: [] };
    for (const holds of [1, 40]) {
      const customer = await newCustomer(api);
      const { invoice } = await bought(api, customer.id, '100', 1000);
      for (let i = 0; i < holds; i++) await newHold(customer.id, '1');
      // 10 of the 100 - holds left on the grant: nothing is taken back from a hold.
      for (const kind of ['refund', 'chargeback'] as const) {
        const made = await countingStatements(engine, () => api.post(`/v1/${kind}s`, { invoice: invoice.id, amount: 100, reason: 'x', credit_policy: 'unused_only' }));
        expect(made.value.status, JSON.stringify(made.value.body)).toBe(201);
        expect(made.value.body).toMatchObject({ credits_revoked: '10', credits_shortfall: '0' });
        statements[kind]!.push(made.statements);
      }
      expect(await balance(api, customer.id)).toMatchObject({ available: String(80 - holds), held: String(holds) });
    }
    // Before: two more statements per hold (each hold's transactions, then their entries).
    expect(statements.refund![0]).toBeGreaterThan(0);
    expect(statements.refund![1]).toBe(statements.refund![0]);
    expect(statements.chargeback![1]).toBe(statements.chargeback![0]);
  });

  it('a capture beyond what a refund left of the hold is charged from the grants: 60 held, full refund with the spent part written off, then 45 used', async () => {
    const { api } = ctx;
    const customer = await newCustomer(api);
    const meter = await perUnitMeter(api);
    const { invoice } = await bought(api, customer.id, '100', 1000);
    const other = await newGrant(api, customer.id, '30');
    const hold = await newHold(customer.id, '60');
    const refund = await api.post('/v1/refunds', { invoice: invoice.id, amount: 1000, reason: 'all back', credit_policy: 'full', shortfall: 'write_off' });
    expect(refund.status, JSON.stringify(refund.body)).toBe(201);
    // Before: 40 revoked and 60 written off as spent, while the hold kept them.
    expect(refund.body).toMatchObject({ credits_revoked: '100', credits_shortfall: '0' });
    expect(await balance(api, customer.id)).toMatchObject({ available: '30', held: '0', debt: '0' });
    const captured = await api.post(`/v1/holds/${hold.id}/capture`, { event: { id: unique('ev'), type: meter.type, properties: { n: 45 } } });
    expect(captured.status, JSON.stringify(captured.body)).toBe(200);
    expect(captured.body).toMatchObject({ captured: '0', result: { credits: '45', paid_by: [{ grant: other.id, credits: '30' }] } });
    expect(await balance(api, customer.id)).toMatchObject({ available: '0', held: '0', debt: '15' });
    await expectReconciled(api);
  });

  it('a released hold brings back none of what a write-off refund revoked: 100 bought, 60 held, full refund, release leaves 0 (was 60)', async () => {
    const { api } = ctx;
    const customer = await newCustomer(api);
    const { invoice, grant } = await bought(api, customer.id, '100', 1000);
    const hold = await newHold(customer.id, '60');
    const refund = await api.post('/v1/refunds', { invoice: invoice.id, amount: 1000, reason: 'all back', credit_policy: 'unused_only', shortfall: 'write_off' });
    expect(refund.body).toMatchObject({ credits_revoked: '100', credits_shortfall: '0' });
    const released = await api.post(`/v1/holds/${hold.id}/release`);
    expect(released.body).toMatchObject({ status: 'released', captured: '0', held: '0' });
    expect(await domainEvents(api, customer.id, 'hold.released')).toMatchObject([{ data: { hold: hold.id, released: '0' } }]);
    expect(await balance(api, customer.id)).toMatchObject({ available: '0', held: '0', grants: [] });
    expect((await api.get(`/v1/grants/${grant.id}`)).body).toMatchObject({ remaining: '0' });
    await expectReconciled(api);
  });

  it('a referral claw-back takes the reward back from a hold that reserved it: 20 rewarded, 20 held, refund unused_only revokes 20', async () => {
    const { api } = ctx;
    const clock = await newClock(api);
    const [a, b] = [await newCustomer(api, { clock }), await newCustomer(api, { clock })];
    const referral = (await api.post('/v1/referrals', { referrer: a.id, referred: b.id, reward_credits: '20' })).body;
    const plan = unique('plan');
    expect((await api.post('/v1/plans', { code: plan, name: 'Team', currency: 'USD', interval: 'month', amount: 2900, included_credits: '0' })).status).toBe(201);
    expect((await api.post('/v1/subscriptions', { customer: b.id, plan })).status).toBe(201);
    const [invoice] = (await api.get(`/v1/invoices?customer=${b.id}`)).body.data;
    expect((await api.post(`/v1/invoices/${invoice.id}/payments`, { amount: 2900 })).status).toBe(201);
    const reward = (await api.get(`/v1/referrals/${referral.id}`)).body.referrer_grant;
    const hold = await newHold(a.id, '20', 3 * 24 * 3600);
    await advance(api, clock, at(2 * days));
    const refund = await api.post('/v1/refunds', { invoice: invoice.id, amount: 2900, reason: 'x', credit_policy: 'unused_only' });
    expect(refund.status, JSON.stringify(refund.body)).toBe(201);
    // Before: nothing was left on the grant, nothing clawed back, and the 20 came back on release.
    expect(refund.body.referral_claw_backs).toMatchObject([{ customer: a.id, grant: reward, credits: '20' }]);
    expect((await api.get(`/v1/holds/${hold.id}`)).body).toMatchObject({ status: 'active', held: '0' });
    expect((await api.post(`/v1/holds/${hold.id}/release`)).status).toBe(200);
    expect(await balance(api, a.id)).toMatchObject({ available: '0', held: '0' });
    await expectReconciled(api);
  });

  it('a void takes back what holds reserve of the grant: 50 granted, 40 held, void revokes 50; a capture of 10 is then paid by the other grant', async () => {
    const { api } = ctx;
    const customer = await newCustomer(api);
    const meter = await perUnitMeter(api);
    const voided = await newGrant(api, customer.id, '50', { priority: 10 });
    const other = await newGrant(api, customer.id, '30');
    const hold = await newHold(customer.id, '40', 3600);
    const response = await api.post(`/v1/grants/${voided.id}/void`, { reason: 'issued by mistake' });
    expect(response.status, JSON.stringify(response.body)).toBe(200);
    expect(response.body).toMatchObject({ status: 'voided', remaining: '0' });
    // Before, the void revoked the 10 left and the hold kept 40 of the void grant to spend.
    expect(await domainEvents(api, customer.id, 'grant.voided')).toMatchObject([{ data: { grant: voided.id, credits: '50' } }]);
    expect(await domainEvents(api, customer.id, 'hold.reduced')).toMatchObject([{ data: { hold: hold.id, released: '40', held: '0', reduced_by: voided.id } }]);
    expect(await balance(api, customer.id)).toMatchObject({ available: '30', held: '0' });
    const captured = await api.post(`/v1/holds/${hold.id}/capture`, { event: { id: unique('ev'), type: meter.type, properties: { n: 10 } } });
    expect(captured.body).toMatchObject({ status: 'captured', captured: '0', result: { credits: '10', paid_by: [{ grant: other.id, credits: '10' }] } });
    expect(await balance(api, customer.id)).toMatchObject({ available: '20', held: '0', grants: [{ id: other.id, remaining: '20' }] });
    const revoked = (await transactions(api, customer.id)).filter((t) => t.kind === 'void');
    expect(revoked.map((t) => t.entries)).toEqual([[{ account: `grant:${voided.id}`, amount: '-50' }, { account: 'revoked', amount: '50' }]]);
    await expectReconciled(api);
  });

  it('an invoice voided takes back what holds reserve of the credits it gave: an allowance of 100 on an open invoice, 60 held, void revokes 100', async () => {
    const { api } = ctx;
    const customer = await newCustomer(api, { net_days: 30 });
    const meter = await perUnitMeter(api);
    const plan = unique('plan');
    expect((await api.post('/v1/plans', { code: plan, name: 'Team', currency: 'USD', interval: 'month', amount: 2900, included_credits: '100' })).status).toBe(201);
    expect((await api.post('/v1/subscriptions', { customer: customer.id, plan })).status).toBe(201);
    const [invoice] = (await api.get(`/v1/invoices?customer=${customer.id}`)).body.data;
    expect(invoice).toMatchObject({ status: 'open' });
    const hold = await newHold(customer.id, '60');
    expect(await balance(api, customer.id)).toMatchObject({ available: '40', held: '60' });
    expect((await api.post(`/v1/invoices/${invoice.id}/void`)).status).toBe(200);
    // Before: 40 revoked, and the hold kept 60 of the revoked allowance to spend.
    expect(await domainEvents(api, customer.id, 'credits.revoked')).toMatchObject([{ data: { invoice: invoice.id, credits: '100' } }]);
    expect((await api.get(`/v1/holds/${hold.id}`)).body).toMatchObject({ status: 'active', held: '0' });
    const captured = await api.post(`/v1/holds/${hold.id}/capture`, { event: { id: unique('ev'), type: meter.type, properties: { n: 10 } } });
    expect(captured.body).toMatchObject({ status: 'captured', captured: '0', result: { credits: '10', debt: '10' } });
    expect(await balance(api, customer.id)).toMatchObject({ available: '0', held: '0', debt: '10' });
    await expectReconciled(api);
  });

  it('an expiry takes back what holds reserve of the grant: 50 expiring at 10 minutes and 50 more, 70 held; at 20 minutes a capture of 10 leaves 40', async () => {
    const { api } = ctx;
    const customer = await newCustomer(api);
    const meter = await perUnitMeter(api);
    const expiring = await newGrant(api, customer.id, '50', { expires_at: at(10 * 60 * seconds) });
    const lasting = await newGrant(api, customer.id, '50');
    const hold = await newHold(customer.id, '70', 3600);
    expect(await balance(api, customer.id)).toMatchObject({ available: '30', held: '70' });
    await advance(api, customer.clock!, at(20 * 60 * seconds));
    expect(await domainEvents(api, customer.id, 'grant.expired')).toMatchObject([{ data: { grant: expiring.id, credits: '50' } }]);
    expect(await domainEvents(api, customer.id, 'hold.reduced')).toMatchObject([{ data: { hold: hold.id, released: '50', held: '20', reduced_by: expiring.id } }]);
    expect(await balance(api, customer.id)).toMatchObject({ available: '30', held: '20' });
    const captured = await api.post(`/v1/holds/${hold.id}/capture`, { event: { id: unique('ev'), type: meter.type, properties: { n: 10 } } });
    expect(captured.body).toMatchObject({ status: 'captured', captured: '10', result: { credits: '10', paid_by: [{ grant: hold.id, credits: '10' }] } });
    // Before: the 10 were paid from what the hold kept of the grant expired at 10 minutes, and 50 were left.
    expect(await balance(api, customer.id)).toMatchObject({ available: '40', held: '0', grants: [{ id: lasting.id, remaining: '40' }] });
    expect((await api.get(`/v1/grants/${expiring.id}`)).body).toMatchObject({ status: 'expired', remaining: '0' });
    await expectReconciled(api);
  });

  it('refuses a capture whose event names another customer than the hold\'s, and takes one that names its own', async () => {
    const { api } = ctx;
    const customer = await newCustomer(api);
    const other = await newCustomer(api);
    const meter = await perUnitMeter(api);
    await newGrant(api, customer.id, '100');
    await newGrant(api, other.id, '100');
    const hold = await newHold(customer.id, '20');
    for (const named of [other.id, other.externalId, unique('ghost')]) {
      const eventId = unique('ev');
      // Before: 200, the event charged to the hold's customer under another customer's name.
      const refused = await api.post(`/v1/holds/${hold.id}/capture`, { event: { id: eventId, customer: named, type: meter.type, properties: { n: 5 } } });
      expect(refused.status, JSON.stringify(refused.body)).toBe(400);
      expect(refused.body.error.details.fields).toMatchObject([{ field: 'event.customer', code: 'customer_mismatch' }]);
      expect((await api.get(`/v1/usage_events/${eventId}`)).status).toBe(404);
    }
    expect((await api.get(`/v1/holds/${hold.id}`)).body).toMatchObject({ status: 'active', held: '20' });
    const own = await api.post(`/v1/holds/${hold.id}/capture`, { event: { id: unique('ev'), customer: customer.externalId, type: meter.type, properties: { n: 5 } } });
    expect(own.status, JSON.stringify(own.body)).toBe(200);
    expect(own.body).toMatchObject({ status: 'captured', captured: '5' });
    expect(await balance(api, customer.id)).toMatchObject({ available: '95', held: '0' });
    expect(await balance(api, other.id)).toMatchObject({ available: '100' });
  });
  describe('a capture pays its event as ingestion pays it at its time, the hold released first', () => {
    const hours = 60 * minutes;

    /** 100 from the start, and 50 more from 1:00 that burn first; the clock at 1:30, 40 held (all of the later grant). */
    async function heldFromLaterGrant(api: Api): Promise<{ customer: any; meter: any; older: any; later: any; hold: any }> {
      const customer = await newCustomer(api);
      const meter = await perUnitMeter(api);
      const older = await newGrant(api, customer.id, '100');
      const later = await newGrant(api, customer.id, '50', { effective_at: at(1 * hours), priority: 10 });
      await advance(api, customer.clock!, at(90 * minutes));
      const hold = await newHold(customer.id, '40', 3600);
      expect(await balance(api, customer.id)).toMatchObject({ available: '110', held: '40', grants: expect.arrayContaining([expect.objectContaining({ id: later.id, remaining: '10' })]) });
      return { customer, meter, older, later, hold };
    }

    it('a capture stamped before the funding grant started is paid by an older grant: 50 from 1:00, 40 held at 1:30, 10 used at 0:30', async () => {
      const { api } = ctx;
      const { customer, meter, older, later, hold } = await heldFromLaterGrant(api);
      const eventId = unique('ev');
      const captured = await api.post(`/v1/holds/${hold.id}/capture`, { event: { id: eventId, type: meter.type, timestamp: at(30 * minutes), properties: { n: 10 } } });
      expect(captured.status, JSON.stringify(captured.body)).toBe(200);
      // Before: paid by the hold, so by the grant that started at 1:00 (40 left of it, 100 of the older).
      expect(captured.body).toMatchObject({ status: 'captured', captured: '0', held: '0', result: { credits: '10', paid_by: [{ grant: older.id, credits: '10' }] } });
      expect(await balance(api, customer.id)).toMatchObject({ available: '140', held: '0' });
      expect((await api.get(`/v1/grants/${later.id}`)).body).toMatchObject({ remaining: '50' });
      expect((await api.get(`/v1/grants/${older.id}`)).body).toMatchObject({ remaining: '90' });
      expect(await domainEvents(api, customer.id, 'hold.captured')).toMatchObject([{ data: { hold: hold.id, released: '40', captured: '0' } }]);
      expect(await domainEvents(api, customer.id, 'hold.reduced')).toEqual([]);
      // Given back naming the event, and the charge (effective at its time); nothing left to return at the close.
      const ledger = (await transactions(api, customer.id)).filter((t) => ['hold_release', 'usage'].includes(t.kind));
      expect(ledger.map((t) => [t.kind, t.cause, t.refs, t.entries])).toEqual(expect.arrayContaining([
        ['hold_release', { type: 'hold', id: hold.id }, { reduced_by: eventId }, [{ account: `hold:${hold.id}`, amount: '-40' }, { account: `grant:${later.id}`, amount: '40' }]],
        ['usage', { type: 'usage_event', id: eventId }, {}, expect.arrayContaining([{ account: `grant:${older.id}`, amount: '-10' }])],
      ]));
      expect(ledger).toHaveLength(2);
      await expectReconciled(api);
    });

    it('without older credits, a capture stamped before the funding grant started is overage or debt: 10 at 0:30 with only the grant from 1:00', async () => {
      const { api } = ctx;
      for (const overage of [true, false]) {
        const customer = await newCustomer(api, { overage });
        const meter = await perUnitMeter(api);
        const later = await newGrant(api, customer.id, '50', { effective_at: at(1 * hours) });
        await advance(api, customer.clock!, at(90 * minutes));
        const hold = await newHold(customer.id, '40', 3600);
        const captured = await api.post(`/v1/holds/${hold.id}/capture`, { event: { id: unique('ev'), type: meter.type, timestamp: at(30 * minutes), properties: { n: 10 } } });
        expect(captured.status, JSON.stringify(captured.body)).toBe(200);
        // Before: paid by the hold, 40 left of the grant and no overage or debt.
        expect(captured.body.result).toMatchObject(overage ? { credits: '10', paid_by: [], overage: '10' } : { credits: '10', paid_by: [], debt: '10' });
        expect((await api.get(`/v1/grants/${later.id}`)).body).toMatchObject({ remaining: '50' });
        expect(await balance(api, customer.id)).toMatchObject({ available: '50', held: '0', debt: overage ? '0' : '10' });
        await expectReconciled(api);
      }
    });

    it('a capture stamped after the funding grant expires is paid by a lasting grant: 50 expiring at 2:00, 40 held, the clock at 1:58, 10 used at 2:03', async () => {
      const { api } = ctx;
      const customer = await newCustomer(api);
      const meter = await perUnitMeter(api);
      const expiring = await newGrant(api, customer.id, '50', { expires_at: at(2 * hours) });
      const lasting = await newGrant(api, customer.id, '100');
      await advance(api, customer.clock!, at(90 * minutes));
      const hold = await newHold(customer.id, '40', 3600);
      await advance(api, customer.clock!, at(118 * minutes));
      const captured = await api.post(`/v1/holds/${hold.id}/capture`, { event: { id: unique('ev'), type: meter.type, timestamp: at(123 * minutes), properties: { n: 10 } } });
      expect(captured.status, JSON.stringify(captured.body)).toBe(200);
      // Before: paid by the hold, so by the grant gone at 2:00 (40 left of it, 100 of the lasting one).
      expect(captured.body).toMatchObject({ captured: '0', result: { credits: '10', paid_by: [{ grant: lasting.id, credits: '10' }] } });
      expect((await api.get(`/v1/grants/${expiring.id}`)).body).toMatchObject({ remaining: '50' });
      expect((await api.get(`/v1/grants/${lasting.id}`)).body).toMatchObject({ remaining: '90' });
      await advance(api, customer.clock!, at(130 * minutes));
      expect(await domainEvents(api, customer.id, 'grant.expired')).toMatchObject([{ data: { grant: expiring.id, credits: '50' } }]);
      expect(await balance(api, customer.id)).toMatchObject({ available: '90', held: '0' });
      await expectReconciled(api);
    });

    it('a capture stamped within the grants\' lives is paid by the hold as before, the rest back: 10 at 1:15 of 40 held from 1:00, 10 at 1:59 of 40 held expiring at 2:00', async () => {
      const { api } = ctx;
      const first = await heldFromLaterGrant(api);
      const inLife = await api.post(`/v1/holds/${first.hold.id}/capture`, { event: { id: unique('ev'), type: first.meter.type, timestamp: at(75 * minutes), properties: { n: 10 } } });
      expect(inLife.body).toMatchObject({ captured: '10', result: { credits: '10', paid_by: [{ grant: first.hold.id, credits: '10' }] } });
      expect((await api.get(`/v1/grants/${first.later.id}`)).body).toMatchObject({ remaining: '40' });
      expect(await domainEvents(api, first.customer.id, 'hold.captured')).toMatchObject([{ data: { released: '30', captured: '10' } }]);
      await expectReconciled(api);

      const customer = await newCustomer(api);
      const expiring = await newGrant(api, customer.id, '50', { expires_at: at(2 * hours) });
      await newGrant(api, customer.id, '100');
      await advance(api, customer.clock!, at(90 * minutes));
      const hold = await newHold(customer.id, '40', 3600);
      await advance(api, customer.clock!, at(118 * minutes));
      const beforeExpiry = await api.post(`/v1/holds/${hold.id}/capture`, { event: { id: unique('ev'), type: first.meter.type, timestamp: at(119 * minutes), properties: { n: 10 } } });
      expect(beforeExpiry.body).toMatchObject({ captured: '10', result: { credits: '10', paid_by: [{ grant: hold.id, credits: '10' }] } });
      expect((await api.get(`/v1/grants/${expiring.id}`)).body).toMatchObject({ remaining: '40' });
      await expectReconciled(api);
    });

    it('a capture of two grants\' shares uses the one that can pay its event and gives the other back: 30 from 1:00 and 20 from the start held, 25 used at 0:30', async () => {
      const { api } = ctx;
      const customer = await newCustomer(api);
      const meter = await perUnitMeter(api);
      const older = await newGrant(api, customer.id, '20', { priority: 20, cost_basis: { amount: 200, currency: 'USD' } });
      const later = await newGrant(api, customer.id, '30', { effective_at: at(1 * hours), priority: 10, cost_basis: { amount: 300, currency: 'USD' } });
      const lasting = await newGrant(api, customer.id, '100', { priority: 90 });
      await advance(api, customer.clock!, at(90 * minutes));
      const hold = await newHold(customer.id, '50', 3600);
      const captured = await api.post(`/v1/holds/${hold.id}/capture`, { event: { id: unique('ev'), type: meter.type, timestamp: at(30 * minutes), properties: { n: 25 } } });
      // Before: 25 from the hold, 25 of the grant from 1:00 spent (5 of it back) and all of the older one back.
      expect(captured.body).toMatchObject({ captured: '20', result: { credits: '25', paid_by: [{ grant: hold.id, credits: '20' }, { grant: lasting.id, credits: '5' }] } });
      expect(await balance(api, customer.id)).toMatchObject({ available: '125', held: '0' });
      expect((await api.get(`/v1/grants/${later.id}`)).body).toMatchObject({ remaining: '30' });
      expect((await api.get(`/v1/grants/${older.id}`)).body).toMatchObject({ remaining: '0' });
      const deferred = await api.get(`/v1/reports/deferred_revenue?customer=${customer.id}`);
      expect(deferred.body.rows).toEqual([
        expect.objectContaining({ grant: older.id, credits_consumed: '20', credits_unspent: '0', recognized: 200, closing_deferred: 0 }),
        expect.objectContaining({ grant: later.id, credits_consumed: '0', credits_unspent: '30', recognized: 0, closing_deferred: 300 }),
      ]);
      await expectReconciled(api);
    });

    it('a capture while the funding grant is frozen is not paid by it: an allowance of 100 unpaid, 40 held on day 3, 10 used on day 9 go to overage', async () => {
      const { api } = ctx;
      const clock = await newClock(api, '2026-03-01T00:00:00Z');
      const customer = await newCustomer(api, { clock, overage: true });
      const meter = await perUnitMeter(api);
      const plan = unique('plan');
      expect((await api.post('/v1/plans', { code: plan, name: 'Team', currency: 'USD', interval: 'month', amount: 2000, included_credits: '100', overage: { unit_amount_per_credit: '1' } })).status).toBe(201);
      expect((await api.post('/v1/subscriptions', { customer: customer.id, plan })).status).toBe(201);
      await advance(api, clock, '2026-03-04T00:00:00Z');
      const hold = await newHold(customer.id, '40', 6 * 24 * 3600);
      await advance(api, clock, '2026-03-09T00:00:00Z');
      expect(await balance(api, customer.id)).toMatchObject({ available: '0', frozen: '60', held: '40' });
      const captured = await api.post(`/v1/holds/${hold.id}/capture`, { event: { id: unique('ev'), type: meter.type, properties: { n: 10 } } });
      expect(captured.status, JSON.stringify(captured.body)).toBe(200);
      // Before: paid by the hold, from the allowance frozen since day 8 (50 of it left).
      expect(captured.body).toMatchObject({ captured: '0', result: { credits: '10', paid_by: [], overage: '10' } });
      expect(await balance(api, customer.id)).toMatchObject({ available: '0', frozen: '100', held: '0' });
      await expectReconciled(api);
    });

    it('a refused capture writes nothing, not even the release of shares its event could not use', async () => {
      const { api } = ctx;
      const { customer, meter, later, hold } = await heldFromLaterGrant(api);
      const ledgerBefore = await transactions(api, customer.id);
      const refusals = [
        { body: { id: unique('ev'), type: meter.type, timestamp: at(30 * minutes), properties: {} }, code: 'missing_property' },
        { body: { id: unique('ev'), type: meter.type, timestamp: at(30 * minutes), properties: { n: 1e13 } }, code: 'amount_out_of_range' },
      ];
      for (const refusal of refusals) {
        const refused = await api.post(`/v1/holds/${hold.id}/capture`, { event: refusal.body });
        expect(refused.status, JSON.stringify(refused.body)).toBe(400);
        expect(refused.body.error.details.fields).toMatchObject([{ code: refusal.code }]);
        expect((await api.get(`/v1/usage_events/${refusal.body.id}`)).status).toBe(404);
      }
      const recorded = unique('ev');
      expect(await ingest(api, [{ id: recorded, customer: customer.id, type: meter.type, timestamp: at(80 * minutes), properties: { n: 1 } }])).toMatchObject([{ status: 'accepted' }]);
      const duplicate = await api.post(`/v1/holds/${hold.id}/capture`, { event: { id: recorded, type: meter.type, timestamp: at(80 * minutes), properties: { n: 1 } } });
      expect(duplicate.status).toBe(409);
      expect(duplicate.body.error.code).toBe('event_already_recorded');
      // Before the refusals rolled back, each left the hold holding nothing and 40 more on the grant from 1:00.
      expect((await api.get(`/v1/holds/${hold.id}`)).body).toMatchObject({ status: 'active', held: '40' });
      expect((await api.get(`/v1/grants/${later.id}`)).body).toMatchObject({ remaining: '9' });
      expect((await transactions(api, customer.id)).filter((t) => t.kind === 'hold_release')).toEqual([]);
      expect((await transactions(api, customer.id)).length).toBe(ledgerBefore.length + 1);
      expect(await domainEvents(api, customer.id, 'hold.reduced')).toEqual([]);
      await expectReconciled(api);
    });
  });
});

/**
 * A hold closed (released, captured, expired) after a grant it holds credits of has passed its
 * `expires_at`, but before that grant's expiry ran (the scheduler runs every few seconds on the
 * real clock): the share goes back to the grant, so a late event stamped before the expiry can
 * still spend it there, as it could had the expiry run first (taking the share back from the hold)
 * and the event then taken it back from `expired`. The server's clock is held by hand here, and
 * due work runs only when the test runs it.
 */
describe.each(dialects)('a hold closed after its grant\'s expires_at, before the expiry ran, on %s', (dialect) => {
  const startMs = Math.floor(Date.now() / 1000) * 1000;
  const clock = new ManualClock(startMs);
  const ctx = useServer(dialect, { clock });
  const iso = (offsetMs: number) => new Date(startMs + offsetMs).toISOString();

  it.each(['released', 'captured', 'expired'] as const)('100 expiring at 10 minutes and 100 lasting, 60 held, %s at 15 minutes: a late event of 80 stamped at 5 minutes is paid by the expiring grant', async (close) => {
    const { api, engine } = ctx;
    clock.set(startMs);
    const customer = await newCustomer(api, { clock: null });
    const meter = await perUnitMeter(api);
    const expiring = await newGrant(api, customer.id, '100', { expires_at: iso(10 * minutes) });
    const lasting = await newGrant(api, customer.id, '100');
    const hold = (await api.post('/v1/holds', { customer: customer.id, credits: '60', expires_in: close === 'expired' ? 12 * 60 : 3600 })).body;
    expect(await balance(api, customer.id)).toMatchObject({ available: '140', held: '60' });
    clock.set(startMs + 15 * minutes);
    if (close === 'released') {
      expect((await api.post(`/v1/holds/${hold.id}/release`)).body).toMatchObject({ status: 'released' });
    } else if (close === 'captured') {
      const captured = await api.post(`/v1/holds/${hold.id}/capture`, { event: { id: unique('ev'), type: meter.type, timestamp: iso(4 * minutes), properties: { n: 10 } } });
      expect(captured.body).toMatchObject({ status: 'captured', captured: '10' });
    } else {
      expect(await runDue(engine, null, clock.now(), { kinds: [holdExpiry] })).toBe(1);
      expect((await api.get(`/v1/holds/${hold.id}`)).body).toMatchObject({ status: 'expired' });
    }
    const returned = close === 'captured' ? '50' : '60';
    // Before: the share went to `expired` (no balance counts the grant after 10 minutes either way).
    const release = (await transactions(api, customer.id)).filter((t) => t.kind === 'hold_release' && Object.keys(t.refs).length === 0);
    expect(release.map((t) => t.entries)).toEqual([[{ account: `hold:${hold.id}`, amount: `-${returned}` }, { account: `grant:${expiring.id}`, amount: returned }]]);
    expect(await balance(api, customer.id)).toMatchObject({ available: '100', held: '0' });

    const [late] = await ingest(api, [{ id: unique('ev'), customer: customer.id, type: meter.type, timestamp: iso(5 * minutes), properties: { n: 80 } }]);
    // Before: 40 from the expiring grant (its remainder) and 40 from the lasting one, which kept 60.
    expect(late).toMatchObject({ status: 'accepted', credits: '80', paid_by: [{ grant: expiring.id, credits: '80' }] });
    expect(await runDue(engine, null, clock.now(), { kinds: [grantExpiry] })).toBe(1);
    expect(await domainEvents(api, customer.id, 'grant.expired')).toMatchObject([{ data: { grant: expiring.id, credits: close === 'captured' ? '10' : '20' } }]);
    expect(await balance(api, customer.id)).toMatchObject({ available: '100', held: '0', grants: [{ id: lasting.id, remaining: '100' }] });
    const reconciliation = await api.get('/v1/reconciliation');
    expect(reconciliation.body).toMatchObject({ ok: true, discrepancies: [] });
    await expectLedgerConsistent(api);
  });
});

/**
 * Runs `run` and counts the statements the store's write transactions sent meanwhile (every
 * `query` and `run` of a transaction's connection, prepared ones included).
 */
async function countingStatements<T>(engine: Engine, run: () => Promise<T>): Promise<{ value: T; statements: number }> {
  const prototype = await engine.store.transaction(async (tx) => Object.getPrototypeOf((tx.ledger as unknown as { c: object }).c) as Record<string, unknown>);
  let statements = 0;
  const spies = ['query', 'run', 'queryPrepared', 'runPrepared'].filter((m) => typeof prototype[m] === 'function').map((m) => {
    const original = prototype[m] as (...args: unknown[]) => unknown;
    return vi.spyOn(prototype as Record<string, (...args: unknown[]) => unknown>, m).mockImplementation(function (this: unknown, ...args: unknown[]) {
      statements += 1;
      return original.apply(this, args);
    });
  });
  try {
    return { value: await run(), statements };
  } finally {
    for (const spy of spies) spy.mockRestore();
  }
}
