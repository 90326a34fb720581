import { describe, expect, it } from 'vitest';
import { dialects } from '../support/databases.ts';
import { must, useEngine } from '../support/engine.ts';
import { createTestClock } from '../../src/engine/test-clocks.ts';
import { createCustomer } from '../../src/engine/customers.ts';
import { createGrant } from '../../src/engine/grants.ts';
import { createMeter } from '../../src/engine/meters.ts';
import { IngestBatcher, lockedDeferralsMax } from '../../src/engine/ingest-batcher.ts';
import { openPostgresDatabase } from '../../src/store/postgres/postgres-database.ts';
import { getBalance } from '../../src/engine/balance.ts';
import { formatCredits } from '../../src/core/decimal.ts';

/**
 * Group commit (PRODUCT §13): many concurrent single-event requests, written in a few shared
 * transactions, each request answered with its own events' results only once they are durable.
 * On SQLite the next group starts while the previous group's WAL sync runs.
 */
describe.each(dialects)('ingest batcher on %s', (dialect) => {
  const ctx = useEngine(dialect);

  it('answers 300 concurrent requests each with its own results, charges every event once and keeps one rejected event to itself', async () => {
    const clock = must(await createTestClock(ctx.engine, { frozen_time: '2026-03-01T00:00:00Z' }));
    const customers = await Promise.all([0, 1, 2].map(async () => {
      const customer = must(await createCustomer(ctx.engine, { currency: 'USD', test_clock: clock.id }));
      must(await createGrant(ctx.engine, { customer: customer.id, credits: '1000', category: 'paid', source: 'purchase' }));
      return customer;
    }));
    const type = `batched_${dialect}`;
    must(await createMeter(ctx.engine, { code: type, event_type: type, aggregation: 'sum', value_property: 'n', rate: { model: 'per_unit', credits_per_unit: '0.25' } }));
    const groups: { events: number; requests: number }[] = [];
    const batcher = new IngestBatcher(ctx.engine, {}, { groupEventsMax: 50, onGroup: (events, requests) => groups.push({ events, requests }) });
    // Request 7 names an unknown customer; requests 100–109 send the events of 0–9 again, so all
    // but 107 are duplicates.
    const eventOf = (i: number) => ({ id: `b-${dialect}-${i}`, customer: i === 7 ? 'cus_missing' : customers[i % 3]!.id, type, properties: { n: (i % 5) + 1 } });
    const requests = Array.from({ length: 300 }, (_, i) => [eventOf(i >= 100 && i < 110 ? i - 100 : i)]);
    const isRefused = (i: number): boolean => i === 7 || i === 107;
    const isDuplicate = (i: number): boolean => i >= 100 && i < 110 && !isRefused(i);
    const replies = await Promise.all(requests.map((events) => batcher.submit(events)));

    replies.forEach((results, i) => {
      expect(results).toHaveLength(1);
      expect(results[0]!.id).toBe(requests[i]![0]!.id);
      if (isRefused(i)) expect(results[0]!.error?.code).toBe('customer_not_found');
      else if (isDuplicate(i)) expect(results[0]!.status).toBe('duplicate');
      else expect(results[0]).toMatchObject({ status: 'accepted', credits: formatCredits(BigInt((i % 5) + 1) * 250_000n) });
    });
    // Each customer paid exactly 0.25 per unit of its accepted events.
    for (const [k, customer] of customers.entries()) {
      let units = 0;
      requests.forEach((events, i) => {
        if (i % 3 === k && !isRefused(i) && !isDuplicate(i)) units += (i % 5) + 1;
      });
      const balance = must(await getBalance(ctx.engine, customer.id)).balance;
      expect(formatCredits(balance.availableMicro)).toBe(formatCredits(1000_000_000n - BigInt(units) * 250_000n));
    }
    // Every request went in exactly one group, none of more than 50 events.
    expect(groups.reduce((n, g) => n + g.requests, 0)).toBe(300);
    expect(groups.reduce((n, g) => n + g.events, 0)).toBe(300);
    expect(Math.max(...groups.map((g) => g.events))).toBeLessThanOrEqual(50);
    expect(groups.length).toBeLessThan(300);
    expect(await ctx.engine.store.read.ledger.balanceDiscrepancies()).toEqual([]);
    expect(await ctx.engine.store.read.ledger.unbalancedTransactions()).toEqual([]);
  });

  it('retries each request of a group the store failed on its own: only the failing one is refused, and every transaction is counted', async () => {
    const clock = must(await createTestClock(ctx.engine, { frozen_time: '2026-03-01T00:00:00Z' }));
    const customer = must(await createCustomer(ctx.engine, { currency: 'USD', test_clock: clock.id }));
    must(await createGrant(ctx.engine, { customer: customer.id, credits: '100', category: 'paid', source: 'purchase' }));
    const type = `retried_${dialect}`;
    must(await createMeter(ctx.engine, { code: type, event_type: type, aggregation: 'count', rate: { model: 'per_unit', credits_per_unit: '1' } }));
    // A real failure of the store, not a mock: a trigger refuses to write one event id.
    const c = ctx.engine.store.read.c;
    const failing = `boom-${dialect}`;
    if (dialect === 'sqlite') {
      await c.run(`CREATE TRIGGER refuse_boom BEFORE INSERT ON usage_events WHEN NEW.id = '${failing}' BEGIN SELECT RAISE(ABORT, 'refused by a test trigger'); END`);
    } else {
      await c.run(`CREATE FUNCTION refuse_boom() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF NEW.id = '${failing}' THEN RAISE EXCEPTION 'refused by a test trigger'; END IF; RETURN NEW; END $$`);
      await c.run(`CREATE TRIGGER refuse_boom BEFORE INSERT ON usage_events FOR EACH ROW EXECUTE FUNCTION refuse_boom()`);
    }
    try {
      const groups: { events: number; requests: number }[] = [];
      const batcher = new IngestBatcher(ctx.engine, {}, { onGroup: (events, requests) => groups.push({ events, requests }) });
      // The failing request first: the first group takes it with at least one neighbour (all four,
      // or with a writer thread half of those waiting, `IngestBatcher`).
      const ids = [failing, 'r-1', 'r-2', 'r-3'].map((id) => (id === failing ? id : `${id}-${dialect}`));
      const replies = await Promise.allSettled(ids.map((id) => batcher.submit([{ id, customer: customer.id, type }])));

      // The failing request is refused with the store's error; its neighbours are written.
      expect(replies.map((r) => r.status)).toEqual(['rejected', 'fulfilled', 'fulfilled', 'fulfilled']);
      expect(String((replies[0] as PromiseRejectedResult).reason)).toContain('refused by a test trigger');
      for (const reply of replies.filter((r) => r.status === 'fulfilled')) expect(reply.value[0]).toMatchObject({ status: 'accepted', credits: '1' });
      // A group with the failing request and its neighbours, then each request of that group in a
      // transaction of its own (every request counted once more for it); the requests that group
      // did not take went in later groups.
      const failed = groups[0]!;
      expect(failed.requests).toBeGreaterThan(1);
      expect(failed.events).toBe(failed.requests);
      expect(groups.filter((g) => g.events === 1 && g.requests === 1).length).toBeGreaterThanOrEqual(failed.requests);
      expect(groups.reduce((n, g) => n + g.requests, 0)).toBe(ids.length + failed.requests);
      expect(formatCredits(must(await getBalance(ctx.engine, customer.id)).balance.availableMicro)).toBe('97');
      expect(await ctx.engine.store.read.ledger.balanceDiscrepancies()).toEqual([]);
    } finally {
      await c.run('DROP TRIGGER refuse_boom' + (dialect === 'sqlite' ? '' : ' ON usage_events'));
      if (dialect !== 'sqlite') await c.run('DROP FUNCTION refuse_boom()');
    }
  });
});

/**
 * Several server processes on one PostgreSQL database each run their own group commits; a group
 * that wanted a customer another process's group holds used to wait, and every request in it with
 * it. Now the requests with an event of that customer go in a later group, and the rest are answered.
 */
describe.each(dialects.filter((d) => d === 'postgres'))('ingest batcher and customers locked elsewhere, on %s', (dialect) => {
  const ctx = useEngine(dialect);

  it('answers the rest of a group while another transaction holds a customer; that customer\'s requests follow it, whole', async () => {
    const clock = must(await createTestClock(ctx.engine, { frozen_time: '2026-03-01T00:00:00Z' }));
    const [a, b, c] = await Promise.all([0, 1, 2].map(async () => {
      const customer = must(await createCustomer(ctx.engine, { currency: 'USD', test_clock: clock.id }));
      must(await createGrant(ctx.engine, { customer: customer.id, credits: '100', category: 'paid', source: 'purchase' }));
      return customer;
    }));
    const type = 'locked_elsewhere';
    must(await createMeter(ctx.engine, { code: type, event_type: type, aggregation: 'count', rate: { model: 'per_unit', credits_per_unit: '1' } }));
    const available = async (id: string) => formatCredits(must(await getBalance(ctx.engine, id)).balance.availableMicro);

    // Another process's transaction holds customer A.
    const other = await openPostgresDatabase(ctx.database.url, { max: 1 });
    let release!: () => void;
    const released = new Promise<void>((resolve) => { release = resolve; });
    let locked!: () => void;
    const isLocked = new Promise<void>((resolve) => { locked = resolve; });
    const holding = other.transaction(async (conn) => {
      await conn.query('SELECT id FROM customers WHERE id = ? FOR UPDATE', [a!.id]);
      locked();
      await released;
    });
    await isLocked;
    try {
      await sendWhileLocked();
    } finally {
      release();
      await holding;
      await other.close();
    }
    expect([await available(a!.id), await available(b!.id), await available(c!.id)]).toEqual(['98', '99', '99']);
    expect(await ctx.engine.store.read.ledger.balanceDiscrepancies()).toEqual([]);

    async function sendWhileLocked(): Promise<void> {
      const groups: { events: number; requests: number }[] = [];
      let waitingGroupStarted!: () => void;
      const waitingGroup = new Promise<void>((resolve) => { waitingGroupStarted = resolve; });
      const batcher = new IngestBatcher(ctx.engine, {}, {
        onGroup: (events, requests) => {
          groups.push({ events, requests });
          if (groups.length === lockedDeferralsMax + 1) waitingGroupStarted();
        },
      });
      const event = (n: number, customer: string) => ({ id: `le-${n}`, customer, type });
      const settled: string[] = [];
      const forA = batcher.submit([event(1, a!.id)]).finally(() => settled.push('A'));
      const forB = batcher.submit([event(2, b!.id)]).finally(() => settled.push('B'));
      const forCAndA = batcher.submit([event(3, c!.id), event(4, a!.id)]).finally(() => settled.push('C+A'));

      // B is answered while A is held; the request for C and A is held back whole, C not yet charged.
      // (A watchdog, not an ordering: if B waited for A's lock, the test fails here and releases it.)
      const stuck = new Promise<never>((_, reject) => setTimeout(() => reject(new Error('B was not answered while A was held')), 30_000).unref());
      expect((await Promise.race([forB, stuck]))[0]).toMatchObject({ status: 'accepted', credits: '1' });
      expect(settled).toEqual(['B']);
      expect(await available(b!.id)).toBe('99');
      expect(await available(c!.id)).toBe('100');
      // Left out twice, then a group waits for A: nothing is answered while it waits.
      await Promise.race([waitingGroup, stuck]);
      expect(groups).toEqual([{ events: 4, requests: 3 }, { events: 3, requests: 2 }, { events: 3, requests: 2 }]);
      expect(settled).toEqual(['B']);

      release();
      expect((await forA).map((r) => r.status)).toEqual(['accepted']);
      expect((await forCAndA).map((r) => r.status)).toEqual(['accepted', 'accepted']);
    }
  });
});
