import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dialects, freshDatabase, type FreshDatabase } from '../support/databases.ts';
import { Api } from '../support/server.ts';
import { freePort, ServerProcess } from '../support/server-processes.ts';
import { eventually } from '../support/webhook-receiver.ts';

/**
 * A test clock advance is a job (PRODUCT §9) that outlives the server running it: real `tally
 * serve` processes, one stopped (SIGTERM: it stops the advance between two transactions and exits
 * cleanly) or killed (SIGKILL: its transaction in progress is rolled back) while it advances a
 * clock over two years of monthly renewals, then another started on the same database, which
 * takes the advance up and runs it on to its target: every renewal once, the books clean.
 */
const adminKey = 'test-clock-resume-admin-key';

describe.each(dialects)('a test clock advance across a server stop, on %s', (dialect) => {
  // Enough work that the advance is still running when the server is stopped, whatever the
  // machine's load (it takes seconds; the stop follows its first month within milliseconds).
  const { customers, months } = dialect === 'sqlite' ? { customers: 100, months: 24 } : { customers: 20, months: 12 };
  let database: FreshDatabase;
  const servers: ServerProcess[] = [];

  beforeAll(async () => {
    database = await freshDatabase(dialect);
  });

  afterAll(async () => {
    await Promise.all(servers.map((s) => s.kill()));
    await database.drop();
  });

  async function start(): Promise<{ server: ServerProcess; api: Api }> {
    const server = await ServerProcess.start({ port: await freePort(), databaseUrl: database.url, adminKey });
    servers.push(server);
    return { server, api: new Api(server.baseUrl, adminKey) };
  }

  for (const signal of ['SIGTERM', 'SIGKILL'] as const) {
    it(`${signal}: the clock stays advancing, and the next server runs the advance to its end`, { timeout: 180_000 }, async () => {
      const first = await start();
      const clock = (await first.api.post('/v1/test_clocks', { frozen_time: '2026-01-01T00:00:00Z' })).body.id as string;
      const plan = await first.api.post('/v1/plans', { code: `resume-${signal}`, name: 'Resume', currency: 'USD', interval: 'month', amount: 1500, included_credits: '100' });
      expect(plan.status).toBe(201);
      const ids: string[] = [];
      for (let i = 0; i < customers; i++) {
        // Terms of 45 days keep dunning out of each month: renewals and expiries fall due.
        const customer = await first.api.post('/v1/customers', { currency: 'USD', test_clock: clock, net_days: 45 });
        ids.push(customer.body.id);
        expect((await first.api.post('/v1/subscriptions', { customer: customer.body.id, plan: plan.body.code })).status).toBe(201);
      }
      const target = new Date(Date.UTC(2026, months, 1)).toISOString().replace('.000Z', 'Z');
      // The request waits for the job up to the server's bound (10 s), on a kept-alive connection.
      const advance = fetch(`${first.server.baseUrl}/v1/test_clocks/${clock}/advance`, {
        method: 'POST', headers: { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' },
        body: JSON.stringify({ frozen_time: target }),
      }).then(async (r) => ({ status: r.status, body: await r.json() as { status: string } }), () => null);
      // Under way: past its first month, not at its end.
      const underWay = await eventually(async () => {
        const read = (await first.api.get(`/v1/test_clocks/${clock}`)).body;
        return read.status === 'advancing' && read.frozen_time !== '2026-01-01T00:00:00Z' ? read : undefined;
      }, 60_000, 'the advance under way');
      expect(underWay.advancing_to).toBe(target);

      const stopping = Date.now();
      await first.server.kill(signal);
      if (signal === 'SIGTERM') {
        // The waiting request is answered at once, `advancing`, and its kept-alive connection
        // closed: the server exits cleanly, well inside its 10 s grace.
        expect(await advance).toMatchObject({ status: 200, body: { status: 'advancing' } });
        expect(first.server.exitCode, first.server.recentOutput).toBe(0);
        console.log(`${dialect}: stopped mid-advance in ${Date.now() - stopping} ms`);
      } else {
        // Cut off with its server (or, on a very slow machine, answered `advancing` first).
        const answer = await advance;
        if (answer !== null) expect(answer).toMatchObject({ status: 200, body: { status: 'advancing' } });
      }

      const next = await start();
      const ready = await eventually(async () => {
        const read = (await next.api.get(`/v1/test_clocks/${clock}`)).body;
        return read.status === 'ready' ? read : undefined;
      }, 150_000, 'the resumed advance to end');
      expect(ready).toMatchObject({ frozen_time: target, advancing_to: null });
      // The new server took it up as it started: the first one had left it `advancing`.
      expect(next.server.recentOutput).toContain(`test clock ${clock}: resuming its advance`);

      for (const customer of [ids[0]!, ids[customers - 1]!]) {
        const invoices = (await next.api.get(`/v1/invoices?customer=${customer}&limit=100`)).body.data as { total: number }[];
        expect(invoices.map((i) => i.total)).toEqual(Array.from({ length: months + 1 }, () => 1500));
      }
      const reconciliation = (await next.api.get('/v1/reconciliation')).body;
      expect(reconciliation.discrepancies).toEqual([]);
      expect(reconciliation.ok).toBe(true);
      await next.server.kill('SIGTERM');
    });
  }
});
