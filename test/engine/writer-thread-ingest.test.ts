import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { must, useEngine } from '../support/engine.ts';
import { createEngine } from '../../src/engine/create-engine.ts';
import { createCustomer } from '../../src/engine/customers.ts';
import { createGrant } from '../../src/engine/grants.ts';
import { createMeter } from '../../src/engine/meters.ts';
import { createTestClock } from '../../src/engine/test-clocks.ts';
import { IngestBatcher } from '../../src/engine/ingest-batcher.ts';
import { getBalance } from '../../src/engine/balance.ts';
import { checkLedger, reconcile } from '../../src/engine/reconcile.ts';
import { HotState, hotStateCounts } from '../../src/engine/hot-state.ts';
import { formatCredits } from '../../src/core/decimal.ts';
import { openSqliteDatabase } from '../../src/store/sqlite/sqlite-database.ts';
import { WriterThread } from '../../src/store/sqlite/writer-thread.ts';

/**
 * Ingestion with the writer thread (store/sqlite/writer-thread.ts) as production runs it: the hot
 * state unchecked (the suite's TALLY_CHECK_HOT_STATE=1 would wait for every group before reading),
 * so a group is rated while the groups before it are still being written. Each case has an answer
 * that a group reading the database behind those writes would get wrong.
 */
describe('ingestion with groups in flight on the writer thread, on sqlite', () => {
  const saved = process.env.TALLY_CHECK_HOT_STATE;
  beforeAll(() => {
    process.env.TALLY_CHECK_HOT_STATE = '0';
  });
  afterAll(() => {
    process.env.TALLY_CHECK_HOT_STATE = saved;
  });
  const ctx = useEngine('sqlite', { sqliteWriterThread: true });
  let type = '';

  beforeAll(async () => {
    type = 'inflight';
    must(await createMeter(ctx.engine, { code: type, event_type: type, aggregation: 'sum', value_property: 'n', rate: { model: 'per_unit', credits_per_unit: '0.5' } }));
    must(await createMeter(ctx.engine, { code: 'inflight_users', event_type: 'inflight_user', aggregation: 'unique_count', value_property: 'user', rate: { model: 'per_unit', credits_per_unit: '2' } }));
  });

  it('finds a repeated event id among groups not yet written, charges each event once, and no group fails', async () => {
    const clock = must(await createTestClock(ctx.engine, { frozen_time: '2026-05-10T00:00:00Z' }));
    const customers = await Promise.all(Array.from({ length: 5 }, async () => {
      const customer = must(await createCustomer(ctx.engine, { currency: 'USD', test_clock: clock.id }));
      must(await createGrant(ctx.engine, { customer: customer.id, credits: '100000', category: 'paid', source: 'adjustment' }));
      return customer.id;
    }));
    const found = vi.spyOn(HotState.prototype, 'pendingEvent');
    const groups: { events: number; requests: number }[] = [];
    const batcher = new IngestBatcher(ctx.engine, {}, { groupEventsMax: 40, onGroup: (events, requests) => groups.push({ events, requests }) });
    // 400 requests of 4 events; from request 20 on, each repeats an event of the request 12 before it
    // (three groups back: likely still on its way) with the same body, and every 50th sends one of
    // them with another body.
    const event = (r: number, k: number) => ({ id: `f-${r}-${k}`, customer: customers[(r + k) % 5]!, type, properties: { n: (r % 7) + k + 1 } });
    const requests = Array.from({ length: 400 }, (_, r) => {
      const own = [0, 1, 2, 3].map((k) => event(r, k));
      if (r >= 20) {
        const again = event(r - 12, 1);
        own[3] = r % 50 === 0 ? { ...again, properties: { n: 999 } } : again;
      }
      return own;
    });
    try {
      const replies = await Promise.all(requests.map((events) => batcher.submit(events)));
      const expectedMicro = new Map(customers.map((c) => [c, 0n]));
      replies.forEach((results, r) => {
        results.forEach((result, k) => {
          const sent = requests[r]![k]!;
          const first = r >= 20 && k === 3 ? event(r - 12, 1) : null;
          if (first === null) {
            const credits = BigInt(sent.properties.n) * 500_000n;
            expect(result).toMatchObject({ id: sent.id, status: 'accepted', credits: formatCredits(credits) });
            expectedMicro.set(sent.customer, expectedMicro.get(sent.customer)! + credits);
          } else if (r % 50 === 0) {
            expect(result.error?.code).toBe('idempotency_conflict');
          } else {
            expect(result).toMatchObject({ id: sent.id, status: 'duplicate', credits: formatCredits(BigInt(first.properties.n) * 500_000n) });
          }
        });
      });
      // Some repeats were found on their way to the database, not in it.
      expect(found.mock.results.some((x) => x.value !== undefined)).toBe(true);
      // Every request in exactly one group: none failed and was sent again on its own.
      expect(groups.reduce((n, g) => n + g.requests, 0)).toBe(400);
      for (const c of customers) {
        expect(must(await getBalance(ctx.engine, c)).balance.availableMicro).toBe(100_000_000_000n - expectedMicro.get(c)!);
      }
      expect(await ctx.engine.store.read.c.query(`SELECT COUNT(*) AS n FROM usage_events WHERE id LIKE 'f-%'`)).toEqual([{ n: 1220n }]);
      expect(await checkLedger(ctx.engine)).toEqual({ unbalanced: [], discrepancies: [] });
      expect(must(await reconcile(ctx.engine)).discrepancies).toEqual([]);
    } finally {
      found.mockRestore();
    }
  });

  it('refuses alone the event whose group the database refused for a debt past the bound, the groups around it taken', async () => {
    const clock = must(await createTestClock(ctx.engine, { frozen_time: '2026-05-10T00:00:00Z' }));
    const owing = must(await createCustomer(ctx.engine, { currency: 'USD', test_clock: clock.id })).id;
    const paying = must(await createCustomer(ctx.engine, { currency: 'USD', test_clock: clock.id })).id;
    must(await createGrant(ctx.engine, { customer: paying, credits: '100000', category: 'paid', source: 'adjustment' }));
    // Twelve meters of 10^6 credits a unit: one event of 10^6 units on each is 10^12 credits, and
    // the owing customer's debts add up in one account, past the bound at the tenth.
    const types = Array.from({ length: 12 }, (_, k) => `bound_${k}`);
    for (const t of types) must(await createMeter(ctx.engine, { code: t, event_type: t, aggregation: 'sum', value_property: 'n', rate: { model: 'per_unit', credits_per_unit: '1000000' } }));
    const groups: { events: number; requests: number }[] = [];
    const batcher = new IngestBatcher(ctx.engine, {}, { groupEventsMax: 6, onGroup: (events, requests) => groups.push({ events, requests }) });
    const requests = types.map((t, k) => [
      { id: `owe-${k}`, customer: owing, type: t, properties: { n: 1_000_000 } },
      { id: `pay-${k}`, customer: paying, type, properties: { n: 2 } },
    ]);
    const replies = await Promise.all(requests.map((events) => batcher.submit(events)));
    expect(replies.map((r) => r[0]!.status)).toEqual([...Array(9).fill('accepted'), 'rejected', 'rejected', 'rejected']);
    expect(replies.slice(9).map((r) => r[0]!.error?.code)).toEqual(['balance_out_of_range', 'balance_out_of_range', 'balance_out_of_range']);
    expect(replies.map((r) => r[1]!.status)).toEqual(Array(12).fill('accepted'));
    expect(must(await getBalance(ctx.engine, owing)).balance.debtMicro).toBe(9n * 10n ** 18n);
    expect(must(await getBalance(ctx.engine, paying)).balance.availableMicro).toBe(100_000_000_000n - 12n * 1_000_000n);
    expect(await checkLedger(ctx.engine)).toEqual({ unbalanced: [], discrepancies: [] });
  });

  it('keeps the hot state across a group on the thread that wrote nothing, every event a duplicate', async () => {
    const clock = must(await createTestClock(ctx.engine, { frozen_time: '2026-05-10T00:00:00Z' }));
    const customers = await Promise.all([0, 1].map(async () => {
      const customer = must(await createCustomer(ctx.engine, { currency: 'USD', test_clock: clock.id })).id;
      must(await createGrant(ctx.engine, { customer, credits: '100', category: 'paid', source: 'adjustment' }));
      return customer;
    }));
    const batcher = new IngestBatcher(ctx.engine, {}, {});
    const events = (tag: string) => customers.map((customer, k) => ({ id: `kept-${tag}-${k}`, customer, type, properties: { n: 1 } }));
    const counts = () => hotStateCounts(ctx.engine.store.db);
    // Two groups one by one: the second finds both customers kept, so the next go to the thread.
    await batcher.submit(events('a'));
    await batcher.submit(events('b'));
    const begun = vi.spyOn(HotState, 'begin');
    try {
      expect((await batcher.submit(events('b'))).map((r) => r.status)).toEqual(['duplicate', 'duplicate']);
      // That group ran with its writes deferred to the thread, and had none.
      expect(begun.mock.calls.map(([tx]) => tx.c.writeOrder?.deferred)).toEqual([true]);
      const before = counts();
      expect((await batcher.submit(events('c'))).map((r) => r.status)).toEqual(['accepted', 'accepted']);
      expect(counts()).toEqual({ memory: before.memory + 2, database: before.database });
    } finally {
      begun.mockRestore();
    }
    for (const c of customers) expect(formatCredits(must(await getBalance(ctx.engine, c)).balance.availableMicro)).toBe('98.5');
    expect(must(await reconcile(ctx.engine)).discrepancies).toEqual([]);
  });

  it('counts a unique value once when it comes again while the group that first counted it is being written', async () => {
    const clock = must(await createTestClock(ctx.engine, { frozen_time: '2026-05-10T00:00:00Z' }));
    const customer = must(await createCustomer(ctx.engine, { currency: 'USD', test_clock: clock.id })).id;
    must(await createGrant(ctx.engine, { customer, credits: '1000', category: 'paid', source: 'adjustment' }));
    const batcher = new IngestBatcher(ctx.engine, {}, { groupEventsMax: 3 });
    // 60 requests, 12 distinct users, each user 5 times in requests far apart.
    const replies = await Promise.all(Array.from({ length: 60 }, (_, r) =>
      batcher.submit([{ id: `u-${r}`, customer, type: 'inflight_user', properties: { user: `user-${r % 12}` } }])));
    const charged = replies.map((results) => results[0]!.credits);
    expect(charged.filter((c) => c === '2')).toHaveLength(12);
    expect(charged.filter((c) => c === '0')).toHaveLength(48);
    expect(formatCredits(must(await getBalance(ctx.engine, customer)).balance.availableMicro)).toBe('976');
    expect(must(await reconcile(ctx.engine)).discrepancies).toEqual([]);
  });

  it('pays a late event from the grant a group on its way spent from, as the database will hold it', async () => {
    const clock = must(await createTestClock(ctx.engine, { frozen_time: '2026-05-10T00:00:00Z' }));
    const customer = must(await createCustomer(ctx.engine, { currency: 'USD', test_clock: clock.id })).id;
    const since = '2026-05-09T00:00:00Z';
    const small = must(await createGrant(ctx.engine, { customer, credits: '10', category: 'paid', source: 'adjustment', priority: 1, effective_at: since })).id;
    const big = must(await createGrant(ctx.engine, { customer, credits: '1000', category: 'paid', source: 'adjustment', priority: 2, effective_at: since })).id;
    const batcher = new IngestBatcher(ctx.engine, {}, { groupEventsMax: 1 });
    // 8 + 8 events of 1 credit each: the small grant pays the first ten whatever their order,
    // the late ones (an hour before the clock) included.
    const at = (minutesBefore: number) => new Date(Date.parse('2026-05-10T00:00:00Z') - minutesBefore * 60_000).toISOString();
    const replies = await Promise.all(Array.from({ length: 16 }, (_, r) => batcher.submit([{
      id: `late-${r}`, customer, type, properties: { n: 2 }, ...(r % 2 === 1 ? { timestamp: at(60) } : {}),
    }])));
    const fromSmall = replies.flatMap((results) => results[0]!.paid_by ?? []).filter((p) => p.grant === small);
    expect(fromSmall.reduce((n, p) => n + Number(p.credits), 0)).toBe(10);
    const balance = must(await getBalance(ctx.engine, customer)).balance;
    expect(formatCredits(balance.availableMicro)).toBe('994');
    expect(replies.flatMap((results) => results[0]!.paid_by ?? []).filter((p) => p.grant === big).reduce((n, p) => n + Number(p.credits), 0)).toBe(6);
    expect(must(await reconcile(ctx.engine)).discrepancies).toEqual([]);
  });

  it('stops the writer thread once it has had nothing to write for a while, and starts it again for the next group', async () => {
    const clock = must(await createTestClock(ctx.engine, { frozen_time: '2026-05-10T00:00:00Z' }));
    const customer = must(await createCustomer(ctx.engine, { currency: 'USD', test_clock: clock.id })).id;
    must(await createGrant(ctx.engine, { customer, credits: '100', category: 'paid', source: 'adjustment' }));
    const db = ctx.engine.store.db;
    const posted = vi.spyOn(WriterThread.prototype, 'post');
    const batcher = new IngestBatcher(ctx.engine, {}, { writerIdleParkMs: 20 });
    const burst = (from: number) => Promise.all(Array.from({ length: 20 }, (_, r) =>
      batcher.submit([{ id: `park-${from + r}`, customer, type, properties: { n: 1 } }])));
    // Groups go to the thread once the hot state holds their customers: two groups first, one by one.
    for (const id of ['park-warm-1', 'park-warm-2']) expect((await batcher.submit([{ id, customer, type, properties: { n: 1 } }]))[0]!.status).toBe('accepted');
    try {
      for (const results of await burst(0)) expect(results[0]!.status).toBe('accepted');
      // Groups went to the thread; with nothing more to write it stops (polled: no ordering by sleep).
      expect(posted).toHaveBeenCalled();
      await vi.waitFor(() => expect(db.writerRunning).toBe(false), { timeout: 10_000, interval: 10 });
      posted.mockClear();
      for (const results of await burst(20)) expect(results[0]!.status).toBe('accepted');
      // A thread of its own took the next groups.
      expect(posted).toHaveBeenCalled();
    } finally {
      posted.mockRestore();
    }
    expect(formatCredits(must(await getBalance(ctx.engine, customer)).balance.availableMicro)).toBe('79');
    expect(await ctx.engine.store.read.c.query(`SELECT COUNT(*) AS n FROM usage_events WHERE id LIKE 'park-%'`)).toEqual([{ n: 42n }]);
    expect(must(await reconcile(ctx.engine)).discrepancies).toEqual([]);
    // The thread the second burst started stops in turn.
    await vi.waitFor(() => expect(db.writerRunning).toBe(false), { timeout: 10_000, interval: 10 });
  });

  it("builds a group again when another process committed under it, and pays from that process's grant", async () => {
    const clock = must(await createTestClock(ctx.engine, { frozen_time: '2026-05-10T00:00:00Z' }));
    const customer = must(await createCustomer(ctx.engine, { currency: 'USD', test_clock: clock.id })).id;
    const first = must(await createGrant(ctx.engine, { customer, credits: '10', category: 'paid', source: 'adjustment', priority: 10 })).id;
    const batcher = new IngestBatcher(ctx.engine);
    const one = async (id: string) => (await batcher.submit([{ id, customer, type, properties: { n: 2 } }]))[0]!;
    expect((await one('ext-1')).paid_by).toEqual([{ grant: first, credits: '1' }]);
    const other = openSqliteDatabase(ctx.database.url.slice('sqlite:'.length), { writerThread: false });
    let sooner: string;
    try {
      sooner = must(await createGrant(await createEngine(other), { customer, credits: '1', category: 'paid', source: 'adjustment', priority: 1 })).id;
    } finally {
      await other.close();
    }
    // The hot state still holds the first grant alone; the writer thread sends the group back.
    expect((await one('ext-2')).paid_by).toEqual([{ grant: sooner, credits: '1' }]);
    expect(formatCredits(must(await getBalance(ctx.engine, customer)).balance.availableMicro)).toBe('9');
    expect(must(await reconcile(ctx.engine)).discrepancies).toEqual([]);
  });
});
