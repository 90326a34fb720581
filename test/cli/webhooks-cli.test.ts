import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Engine } from '../../src/engine/context.ts';
import { createEngine } from '../../src/engine/create-engine.ts';
import { createCustomer } from '../../src/engine/customers.ts';
import { createGrant } from '../../src/engine/grants.ts';
import { SecretBox } from '../../src/engine/secret-box.ts';
import { createWebhookEndpoint } from '../../src/engine/webhook-endpoints.ts';
import { fanOutAll } from '../../src/integrations/webhooks/fan-out.ts';
import { webhookUrlCheck } from '../../src/integrations/webhooks/url-safety.ts';
import { dialects, freshDatabase, type FreshDatabase } from '../support/databases.ts';
import { must } from '../support/engine.ts';
import { tallyInProcess, tallySpawned } from '../support/cli.ts';

/** `tally webhooks deliveries | retry | replay` against the configured database, as a user runs it. */

describe.each(dialects)('tally webhooks on %s', (dialect) => {
  let database: FreshDatabase;
  let engine: Engine;

  beforeAll(async () => {
    database = await freshDatabase(dialect);
    engine = await createEngine(database.db);
  });
  afterAll(async () => {
    await database.drop();
  });

  // The first command as a user runs it, in a process of its own; the rest through the same
  // `runCommand` in this process (test/support/cli.ts).
  const tally = (...args: string[]) => tallyInProcess(database.url, ...args);

  it('lists deliveries with their attempts, makes one due now, and replays since a time', async () => {
    const deps = { box: new SecretBox('cli-test'), checkUrl: webhookUrlCheck({ allowPrivate: true }) };
    const { endpoint } = must(await createWebhookEndpoint(engine, deps, { url: 'http://127.0.0.1:1/unused', event_types: ['grant.created'] }));
    const customer = must(await createCustomer(engine, { currency: 'USD' }));
    must(await createGrant(engine, { customer: customer.id, credits: '3', category: 'paid', source: 'purchase' }));
    await fanOutAll(engine);

    const listed = await tallySpawned(database.url, 'webhooks', 'deliveries', endpoint.id);
    expect(listed.code, listed.stderr).toBe(0);
    const deliveries = JSON.parse(listed.stdout) as { id: string; event_type: string; status: string; attempts: unknown[] }[];
    expect(deliveries).toMatchObject([{ event_type: 'grant.created', status: 'pending', attempts: [] }]);

    const retried = await tally('webhooks', 'retry', deliveries[0]!.id);
    expect(retried.code, retried.stderr).toBe(0);
    expect(retried.stdout).toContain('is due now');

    const replayed = await tally('webhooks', 'replay', endpoint.id, '--since', '2000-01-01T00:00:00Z');
    expect(replayed.code, replayed.stderr).toBe(0);
    expect(replayed.stdout).toContain('1 deliveries created');
    expect((await engine.store.read.webhooks.listDeliveries(endpoint.id, { limit: 10 })).data).toHaveLength(2);

    const missing = await tally('webhooks', 'retry', 'dlv_missing');
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('webhook_delivery_not_found');
    expect((await tally('webhooks', 'replay', endpoint.id)).code).toBe(1);
    // A cursor that is no delivery of the endpoint was read as a position: an empty list, exit 0.
    const afterLast = await tally('webhooks', 'deliveries', endpoint.id, '--starting-after', deliveries[0]!.id);
    expect([afterLast.code, JSON.parse(afterLast.stdout).length]).toEqual([0, 1]);
    const unknown = await tally('webhooks', 'deliveries', endpoint.id, '--starting-after', 'dlv_missing');
    expect([unknown.code, unknown.stdout]).toEqual([1, '']);
    expect(unknown.stderr).toContain('cursor_not_found');
    // Bad options are refused as the other commands refuse theirs: a limit that is no number
    // reached the database (SQLite: "datatype mismatch"), an unknown option was ignored.
    for (const [args, message] of [
      [['webhooks', 'deliveries', endpoint.id, '--limit', 'ten'], '--limit takes a page size'],
      [['webhooks', 'deliveries', endpoint.id, '--limit', '0'], '--limit takes a page size'],
      [['webhooks', 'deliveries', endpoint.id, '--limit', '500'], '--limit takes a page size'],
      [['webhooks', 'deliveries', endpoint.id, '--bogus'], 'unknown option --bogus'],
      [['webhooks', 'deliveries', endpoint.id, '--since', '2000-01-01T00:00:00Z'], 'unknown option --since'],
      [['webhooks', 'replay', endpoint.id, '--since', '2000-01-01T00:00:00Z', '--limit', '5'], 'unknown option --limit'],
      [['webhooks', 'deliveries', endpoint.id, '--limit'], '--limit needs a value'],
    ] as const) {
      const refused = await tally(...args);
      expect([refused.code, refused.stdout], args.join(' ')).toEqual([2, '']);
      expect(refused.stderr, args.join(' ')).toContain(message);
    }
    expect((await engine.store.read.webhooks.listDeliveries(endpoint.id, { limit: 10 })).data).toHaveLength(2);
  }, 120_000);
});
