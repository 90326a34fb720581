import { describe, expect, it } from 'vitest';
import { dialects } from '../support/databases.ts';
import { useServer } from '../support/server.ts';
import {
  advance, at, balance, days, domainEvents, expectLedgerConsistent, ingest, minutes, newCustomer, newGrant, perUnitMeter, transactions,
} from './fixtures.ts';

const z = (iso: string): string => iso.replace('.000Z', 'Z');

/**
 * Event time rules (PRODUCT §5): an event is paid by the grants usable at its timestamp. A late
 * event whose grant has expired since takes back from `expired` what it needs, in a transaction
 * of that expiry; an event stamped at or after `expires_at` never burns the grant.
 */
describe.each(dialects)('event time rules on %s', (dialect) => {
  const ctx = useServer(dialect);

  it('pays a late event from the grant live at its timestamp, taking it back from expired', async () => {
    const { api } = ctx;
    const customer = await newCustomer(api, { overage: true });
    const meter = await perUnitMeter(api);
    // $100.00 for 100 credits, expiring after one day; a lasting grant that must NOT pay.
    const expiring = await newGrant(api, customer.id, '100', { expires_at: at(1 * days), cost_basis: { amount: 10000, currency: 'USD' } });
    const lasting = await newGrant(api, customer.id, '50', { priority: 90 });
    await advance(api, customer.clock!, at(2 * days));
    expect((await api.get(`/v1/grants/${expiring.id}`)).body.status).toBe('expired');

    // Stamped half a day, well before the expiry; it arrives a day after it.
    const [late] = await ingest(api, [{ id: `late-${customer.id}`, customer: customer.id, type: meter.type, timestamp: at(12 * 60 * minutes), properties: { n: 30 } }]);
    expect(late).toMatchObject({ status: 'accepted', credits: '30', paid_by: [{ grant: expiring.id, credits: '30' }] });
    expect(late.overage).toBeUndefined();
    expect(await balance(api, customer.id)).toMatchObject({ available: '50', overage: '0' });
    expect((await api.get(`/v1/grants/${lasting.id}`)).body.remaining).toBe('50');

    const txns = await transactions(api, customer.id);
    const taken = txns.filter((t) => t.kind === 'expiry' && t.cause.id === expiring.id);
    expect(taken).toHaveLength(2);
    const reclaim = taken.find((t) => t.refs.usage_event === late.id);
    expect(reclaim).toMatchObject({ cause: { type: 'grant_expiry', id: expiring.id }, effective_at: z(at(1 * days)) });
    expect(reclaim.entries).toEqual(expect.arrayContaining([{ account: 'expired', amount: '-30' }, { account: `grant:${expiring.id}`, amount: '30' }]));
    const usage = txns.find((t) => t.kind === 'usage' && t.cause.id === late.id);
    expect(usage).toMatchObject({ effective_at: z(at(12 * 60 * minutes)) });
    expect(await domainEvents(api, customer.id, 'grant.expiry_reclaimed')).toMatchObject([{ data: { grant: expiring.id, credits: '30', usage_event: late.id } }]);

    // A second late event takes the rest; a third finds nothing left of it: the lasting grant pays.
    const [second, third] = await ingest(api, [
      { id: `late2-${customer.id}`, customer: customer.id, type: meter.type, timestamp: at(13 * 60 * minutes), properties: { n: 70 } },
      { id: `late3-${customer.id}`, customer: customer.id, type: meter.type, timestamp: at(14 * 60 * minutes), properties: { n: 5 } },
    ]);
    expect(second).toMatchObject({ status: 'accepted', paid_by: [{ grant: expiring.id, credits: '70' }] });
    expect(third).toMatchObject({ status: 'accepted', paid_by: [{ grant: lasting.id, credits: '5' }] });

    // Reports: the whole $100.00 is recognized, no breakage is left; reconciliation agrees.
    const deferred = await api.get(`/v1/reports/deferred_revenue?customer=${customer.id}`);
    expect(deferred.body.totals).toEqual([expect.objectContaining({ purchased: 10000, recognized: 10000, breakage: 0, closing_deferred: 0 })]);
    // Grants made directly through /v1/grants name no invoice: a purchase made outside Tally, which
    // the purchase-link check leaves out.
    const reconciliation = await api.get('/v1/reconciliation');
    const ours = reconciliation.body.discrepancies.filter((d: { check: string; ids: string[] }) => d.ids.includes(customer.id) || d.ids.includes(expiring.id));
    expect(ours).toEqual([]);
    await expectLedgerConsistent(api);
  });

  it('never burns a grant with an event stamped at or after its expires_at, even when it arrives before', async () => {
    const { api } = ctx;
    const customer = await newCustomer(api, { overage: true });
    const meter = await perUnitMeter(api);
    const grant = await newGrant(api, customer.id, '100', { expires_at: at(1 * days) });
    // One minute before the expiry, an event stamped exactly at expires_at (within the 5-minute
    // tolerance for clocks ahead) and one a minute after it.
    await advance(api, customer.clock!, at(1 * days - 1 * minutes));
    const [atExpiry, after, before] = await ingest(api, [
      { id: `at-${customer.id}`, customer: customer.id, type: meter.type, timestamp: at(1 * days), properties: { n: 10 } },
      { id: `after-${customer.id}`, customer: customer.id, type: meter.type, timestamp: at(1 * days + 1 * minutes), properties: { n: 1 } },
      { id: `before-${customer.id}`, customer: customer.id, type: meter.type, timestamp: at(1 * days - 1), properties: { n: 2 } },
    ]);
    expect(atExpiry).toMatchObject({ status: 'accepted', paid_by: [], overage: '10' });
    expect(after).toMatchObject({ status: 'accepted', paid_by: [], overage: '1' });
    expect(before).toMatchObject({ status: 'accepted', paid_by: [{ grant: grant.id, credits: '2' }] });
    await advance(api, customer.clock!, at(2 * days));
    expect(await domainEvents(api, customer.id, 'grant.expired')).toMatchObject([{ data: { grant: grant.id, credits: '98' } }]);
    await expectLedgerConsistent(api);
  });

  it('pays a late event from a grant that expired after the latest expiry an earlier batch read', async () => {
    // Ingestion reads expired grants for late events only when some grant expired after the
    // earliest of them, and on SQLite keeps the latest expiry it read from one batch to the next.
    // Here a batch reads it before this grant expires (no later than a day in: the other tests'),
    // the grant expires on the third day, and a late event stamped just before that must find it.
    const { api } = ctx;
    const customer = await newCustomer(api, { overage: true });
    const meter = await perUnitMeter(api);
    const expiring = await newGrant(api, customer.id, '100', { expires_at: at(3 * days) });
    const lasting = await newGrant(api, customer.id, '50', { priority: 90 });
    await advance(api, customer.clock!, at(2 * days + 12 * 60 * minutes));
    const [first] = await ingest(api, [
      { id: `first-${customer.id}`, customer: customer.id, type: meter.type, timestamp: at(2 * days + 11 * 60 * minutes), properties: { n: 10 } },
    ]);
    expect(first).toMatchObject({ status: 'accepted', paid_by: [{ grant: expiring.id, credits: '10' }] });
    await advance(api, customer.clock!, at(4 * days));
    expect((await api.get(`/v1/grants/${expiring.id}`)).body.status).toBe('expired');
    const [late, after] = await ingest(api, [
      { id: `late-${customer.id}`, customer: customer.id, type: meter.type, timestamp: at(3 * days - 1 * minutes), properties: { n: 20 } },
      { id: `after-${customer.id}`, customer: customer.id, type: meter.type, timestamp: at(3 * days + 1 * minutes), properties: { n: 5 } },
    ]);
    expect(late).toMatchObject({ status: 'accepted', paid_by: [{ grant: expiring.id, credits: '20' }] });
    expect(after).toMatchObject({ status: 'accepted', paid_by: [{ grant: lasting.id, credits: '5' }] });
    expect(await domainEvents(api, customer.id, 'grant.expiry_reclaimed')).toMatchObject([{ data: { grant: expiring.id, credits: '20', usage_event: late.id } }]);
    await expectLedgerConsistent(api);
  });

  it('does not pay a late event from a grant that started after its timestamp', async () => {
    const { api } = ctx;
    const customer = await newCustomer(api, { overage: false });
    const meter = await perUnitMeter(api);
    await advance(api, customer.clock!, at(1 * days));
    const grant = await newGrant(api, customer.id, '100');
    const [early, now] = await ingest(api, [
      { id: `early-${customer.id}`, customer: customer.id, type: meter.type, timestamp: at(12 * 60 * minutes), properties: { n: 4 } },
      { id: `now-${customer.id}`, customer: customer.id, type: meter.type, properties: { n: 1 } },
    ]);
    expect(early).toMatchObject({ status: 'accepted', paid_by: [], debt: '4' });
    expect(now).toMatchObject({ status: 'accepted', paid_by: [{ grant: grant.id, credits: '1' }] });
    await expectLedgerConsistent(api);
  });
});
