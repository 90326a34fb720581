import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { must, useEngine } from '../support/engine.ts';
import { createCustomer } from '../../src/engine/customers.ts';
import { createMeter } from '../../src/engine/meters.ts';
import { createGrant } from '../../src/engine/grants.ts';
import { eventsPerPassMax, inPasses, ingestEvents, type IngestResult } from '../../src/engine/ingest-events.ts';
import { getBalance } from '../../src/engine/balance.ts';
import { checkLedger, reconcile } from '../../src/engine/reconcile.ts';
import { hotStateCounts } from '../../src/engine/hot-state.ts';
import { formatCredits } from '../../src/core/decimal.ts';

/**
 * On SQLite a large batch (a group commit) is ingested in passes of `eventsPerPassMax` events
 * within its one transaction, each pass reading what the passes before it wrote. Passes must not
 * change any result: an id sent again later in the batch stays in its first event's pass and is
 * answered as within one pass, running totals, unique values and tiers carry over, grants burn
 * down in order. The hot state is checked against the database at every pass
 * (`TALLY_CHECK_HOT_STATE=1`), and a later pass takes its customers from it.
 * PostgreSQL ingests a batch in one pass (`passSize` in engine/ingest-events.ts).
 */
describe('inPasses', () => {
  it('cuts a batch in order into passes of the size, each id in the pass of its first event', () => {
    fc.assert(fc.property(fc.array(fc.integer({ min: 0, max: 40 }), { minLength: 1, maxLength: 60 }), fc.integer({ min: 1, max: 12 }), (ids, size) => {
      const events = ids.map((n, i) => ({ id: `e${n}`, at: i }));
      const passes = inPasses(events, size);
      expect(passes.flat()).toEqual(events);
      for (const pass of passes) {
        expect(pass.length).toBeGreaterThan(0);
        // Longer than the size only to take in a later event of an id it holds.
        if (pass.length > size) expect(pass.slice(0, -1).map((e) => e.id)).toContain(pass.at(-1)!.id);
      }
      const passOf = new Map<string, number>();
      passes.forEach((pass, p) => {
        for (const e of pass) {
          expect(passOf.get(e.id) ?? p).toBe(p);
          passOf.set(e.id, p);
        }
      });
    }));
  });

  it('gives 2,500 distinct events in passes of 1,000 as 1,000, 1,000 and 500, and a repeated id keeps a pass open', () => {
    const events = Array.from({ length: 2500 }, (_, i) => ({ id: `e${i}` }));
    expect(inPasses(events, 1000).map((p) => p.length)).toEqual([1000, 1000, 500]);
    events[1500] = { id: 'e10' };
    expect(inPasses(events, 1000).map((p) => p.length)).toEqual([1501, 999]);
    expect(inPasses(events.slice(0, 800), 1000)).toEqual([events.slice(0, 800)]);
  });
});

describe('ingestion in passes, on sqlite', () => {
  const ctx = useEngine('sqlite');
  const type = 'passes';

  beforeAll(async () => {
    const { engine } = ctx;
    must(await createMeter(engine, { code: 'pass_tokens', event_type: type, aggregation: 'sum', value_property: 'n', rate: { model: 'per_unit', credits_per_unit: '0.5' } }));
    must(await createMeter(engine, {
      code: 'pass_calls', event_type: type, aggregation: 'count',
      rate: { model: 'graduated', tiers: [{ up_to: 3, credits_per_unit: '1' }, { up_to: null, credits_per_unit: '0.25' }] },
    }));
    must(await createMeter(engine, { code: 'pass_users', event_type: type, aggregation: 'unique_count', value_property: 'user', rate: { model: 'per_unit', credits_per_unit: '2' } }));
  });

  /**
   * Customers with a grant of 4 credits spent first and one of `paid`; every second one with
   * overage on, the others running into debt once both are spent.
   */
  async function customers(count: number, paid = '30'): Promise<{ ids: string[]; grants: Map<string, string> }> {
    const ids: string[] = [];
    const grants = new Map<string, string>();
    for (let i = 0; i < count; i++) {
      const id = must(await createCustomer(ctx.engine, { currency: 'USD', overage: i % 2 === 1 })).id;
      ids.push(id);
      grants.set(must(await createGrant(ctx.engine, { customer: id, credits: '4', category: 'promotional', source: 'promotion', priority: 10 })).id, `c${i}.first`);
      grants.set(must(await createGrant(ctx.engine, { customer: id, credits: paid, category: 'paid', source: 'adjustment', priority: 20 })).id, `c${i}.second`);
    }
    return { ids, grants };
  }

  /** A side's results with its own ids and grant ids replaced by labels, to compare two sides. */
  function labelled(results: IngestResult[], prefix: string, grants: Map<string, string>): unknown[] {
    return results.map((r) => ({ ...r, id: r.id.slice(prefix.length), ...(r.paid_by ? { paid_by: r.paid_by.map((p) => ({ ...p, grant: grants.get(p.grant) })) } : {}) }));
  }

  const available = async (customer: string): Promise<string> => formatCredits(must(await getBalance(ctx.engine, customer)).balance.availableMicro);

  /** `malformed`: an event validation refuses (a type that is not a string, an id that is not one). */
  interface Sent { customer: number; id: number; properties: Record<string, unknown>; malformed: 'type' | 'id' | null }
  const sent: fc.Arbitrary<Sent> = fc.record({
    customer: fc.integer({ min: 0, max: 2 }),
    id: fc.integer({ min: 0, max: 30 }),
    malformed: fc.oneof({ arbitrary: fc.constant(null), weight: 8 }, { arbitrary: fc.constantFrom<'type' | 'id'>('type', 'id'), weight: 1 }),
    properties: fc.record({
      n: fc.oneof({ arbitrary: fc.integer({ min: 0, max: 9 }), weight: 6 }, { arbitrary: fc.constant('many'), weight: 1 }),
      user: fc.constantFrom('ann', 'bob', 'cyd', 'dee'),
    }, { requiredKeys: ['user'] }),
  });
  /** Events, some of them an earlier one sent again whole (a duplicate) rather than an id reused (a conflict). */
  const batch = fc.array(fc.oneof({ arbitrary: sent, weight: 4 }, { arbitrary: fc.nat(), weight: 1 }), { minLength: 1, maxLength: 40 })
    .map((items) => {
      const out: Sent[] = [];
      for (const item of items) {
        if (typeof item !== 'number') out.push(item);
        else if (out.length > 0) out.push(out[item % out.length]!);
      }
      return out.length > 0 ? out : [{ customer: 0, id: 0, properties: { user: 'ann' }, malformed: null }];
    });

  let run = 0;
  it('answers and charges a batch in passes of any size as in one pass', async () => {
    await fc.assert(fc.asyncProperty(batch, fc.integer({ min: 1, max: 9 }), async (events, perPass) => {
      run += 1;
      const sides = await Promise.all(['a', 'b'].map(async (side) => ({ side, prefix: `pass-${run}-${side}-`, ...await customers(3) })));
      const outcomes = [];
      for (const { side, prefix, ids, grants } of sides) {
        const body = events.map((e) => ({
          id: e.malformed === 'id' ? e.id : `${prefix}${e.id}`, customer: ids[e.customer]!, type: e.malformed === 'type' ? 7 : type, properties: e.properties,
        }));
        const results = await ingestEvents(ctx.engine, body, { eventsPerPass: side === 'a' ? perPass : Number.POSITIVE_INFINITY });
        outcomes.push({ results: labelled(results, prefix, grants), balances: await Promise.all(ids.map(available)) });
      }
      expect(outcomes[0]).toEqual(outcomes[1]);
    }), { numRuns: 40 });
    expect(await checkLedger(ctx.engine)).toEqual({ unbalanced: [], discrepancies: [] });
    expect(must(await reconcile(ctx.engine)).discrepancies).toEqual([]);
  });

  it(`takes a group of more than ${eventsPerPassMax} events in passes by default, with every balance exact`, async () => {
    const { ids } = await customers(2, '100000');
    const count = 2500;
    const body = Array.from({ length: count }, (_, i) => ({ id: `big-${i}`, customer: ids[i % 2]!, type, properties: { n: i % 7, user: `u${i % 50}` } }));
    // The 900th sends the 10th again (a duplicate); the 1,990th reuses the 1,020th's id with another body.
    body[900] = { ...body[10]! };
    body[1990] = { ...body[1020]!, properties: { n: 99, user: 'other' } };
    // Four passes, each customer's totals, tiers, users seen and grants carried from one to the
    // next: the first held open through the 900th (the 10th's id again), the second from the 901st
    // through the 1,990th (the 1,020th's), then 500 and the last 9.
    expect(eventsPerPassMax).toBe(500);
    const passes = inPasses(body, eventsPerPassMax).map((p) => p.length);
    expect(passes).toEqual([901, 1090, 500, 9]);
    const results = await ingestEvents(ctx.engine, body);
    expect(results[900]).toEqual({ id: 'big-10', status: 'duplicate', credits: results[10]!.credits });
    expect(results[1990]).toMatchObject({ id: 'big-1020', status: 'rejected', error: { code: 'idempotency_conflict', field: 'id' } });
    expect(results.filter((r) => r.status === 'accepted')).toHaveLength(count - 2);

    // What the events cost, worked out here: every event of a customer in one period.
    for (const [k, id] of ids.entries()) {
      const own = body.filter((e, i) => e.customer === id && i !== 900 && i !== 1990);
      const tokens = own.reduce((sum, e) => sum + BigInt(e.properties.n), 0n);
      const calls = BigInt(own.length);
      const users = BigInt(new Set(own.map((e) => e.properties.user)).size);
      // In micro-credits: 0.5 per token, 1 for each of the first 3 calls and 0.25 after, 2 per user.
      const costMicro = tokens * 500_000n + 3n * 1_000_000n + (calls - 3n) * 250_000n + users * 2_000_000n;
      expect(await available(id), `customer ${k}`).toBe(formatCredits(100_004_000_000n - costMicro));
    }

    // Sent again as new events (the same passes), all four take both customers from memory: a later
    // pass of the transaction finds the hot state as the pass before left it.
    const before = hotStateCounts(ctx.engine.store.db);
    const again = await ingestEvents(ctx.engine, body.map((e) => ({ ...e, id: `again-${e.id}` })));
    expect(again.filter((r) => r.status === 'accepted')).toHaveLength(count - 2);
    expect(hotStateCounts(ctx.engine.store.db)).toEqual({ memory: before.memory + 2 * passes.length, database: before.database });
    expect(await checkLedger(ctx.engine)).toEqual({ unbalanced: [], discrepancies: [] });
    expect(must(await reconcile(ctx.engine)).discrepancies).toEqual([]);
  });
});
