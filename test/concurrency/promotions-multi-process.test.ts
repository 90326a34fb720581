import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dialects, freshDatabase, type FreshDatabase } from '../support/databases.ts';
import { Api } from '../support/server.ts';
import { freePort, ServerProcess } from '../support/server-processes.ts';

/**
 * Redemptions racing across two `tally serve` processes on one PostgreSQL database (PRODUCT §15):
 * 20 customers redeem a code with max_redemptions 5 at once, half through each server. The
 * campaign row's lock must hold across processes: exactly 5 grants, checked in the database.
 */
const skipReason = dialects.includes('postgres') ? '' : 'skipped: no PostgreSQL test server (TALLY_TEST_SKIP_POSTGRES=1)';
if (skipReason) console.warn(`promotions-multi-process.test.ts ${skipReason}`);

const adminKey = 'promotions-multi-process-key';

describe.skipIf(skipReason !== '')('promotion redemptions across two server processes on PostgreSQL', () => {
  let database: FreshDatabase;
  let servers: ServerProcess[] = [];
  let apis: Api[] = [];

  beforeAll(async () => {
    database = await freshDatabase('postgres');
    const ports = new Set<number>();
    while (ports.size < 2) ports.add(await freePort());
    servers = await Promise.all([...ports].map((port) => ServerProcess.start({ port, databaseUrl: database.url, adminKey })));
    apis = servers.map((s) => new Api(s.baseUrl, adminKey));
  }, 60_000);

  afterAll(async () => {
    await Promise.all(servers.map((s) => s.kill()));
    await database?.drop();
  });

  it('20 concurrent redemptions of a code with max_redemptions 5, split over two servers, make exactly 5 grants', async () => {
    const created = await apis[0]!.post('/v1/promotions', { code: 'RACE5', credits: '7', max_redemptions: 5 });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const customers: string[] = [];
    for (let i = 0; i < 20; i++) {
      const c = await apis[i % 2]!.post('/v1/customers', { currency: 'USD', external_id: `racer_${i}` });
      expect(c.status).toBe(201);
      customers.push(c.body.id);
    }
    const results = await Promise.all(customers.map((customer, i) => apis[i % 2]!.post('/v1/promotions/redeem', { code: 'RACE5', customer })));
    const codes = results.map((r) => (r.status === 201 ? 'ok' : (r.body?.error?.code ?? `status ${r.status}`)));
    expect(codes.filter((c) => c === 'ok'), codes.join(',')).toHaveLength(5);
    expect(codes.filter((c) => c === 'promotion_exhausted')).toHaveLength(15);

    const db = database.db;
    const [grants] = await db.query(`SELECT COUNT(*) AS n, SUM(credits) AS credits FROM grants WHERE source = 'promotion'`);
    expect([Number(grants!.n), Number(grants!.credits)]).toEqual([5, 35_000_000]);
    const [counter] = await db.query(`SELECT redemptions FROM promotions WHERE code = 'RACE5'`);
    expect(Number(counter!.redemptions)).toBe(5);
    const [events] = await db.query(`SELECT COUNT(*) AS n FROM domain_events WHERE type = 'promotion.redeemed'`);
    expect(Number(events!.n)).toBe(5);
  }, 60_000);
});
