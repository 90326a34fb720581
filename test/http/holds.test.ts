import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { dialects } from '../support/databases.ts';
import { unique, useServer } from '../support/server.ts';
import { advance, at, balance, domainEvents, expectLedgerConsistent, newCustomer, newGrant, perUnitMeter, seconds } from './fixtures.ts';

/** Holds for long jobs (PRODUCT §5): reserve, capture actual usage, release, expire. */
describe.each(dialects)('holds on %s', (dialect) => {
  const ctx = useServer(dialect);

  async function newHold(customer: string, credits: string, expiresIn = 600): Promise<any> {
    const created = await ctx.api.post('/v1/holds', { customer, credits, expires_in: expiresIn });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    return created.body;
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

  it('captures actual usage from the hold and releases the rest', async () => {
    const { api } = ctx;
    const customer = await newCustomer(api);
    const meter = await perUnitMeter(api);
    const grant = await newGrant(api, customer.id, '100');
    const hold = await newHold(customer.id, '40');
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
    const hold = await newHold(customer.id, '40');
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
});
