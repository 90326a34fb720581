import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Engine } from '../../src/engine/context.ts';
import { createEngine } from '../../src/engine/create-engine.ts';
import { createGrant } from '../../src/engine/grants.ts';
import { dialects, freshDatabase, type FreshDatabase } from '../support/databases.ts';
import { must } from '../support/engine.ts';
import { financeCustomer } from '../support/finance.ts';
import { tallyInProcess, tallySpawned } from '../support/cli.ts';

/** `tally migrate` and `tally report …` (PRODUCT §12) against the configured database, as a user runs them. */

describe.each(dialects)('tally migrate and tally report on %s', (dialect) => {
  let database: FreshDatabase;
  let engine: Engine;

  beforeAll(async () => {
    database = await freshDatabase(dialect);
    engine = await createEngine(database.db);
  });
  afterAll(async () => {
    await database.drop();
  });

  // `migrate` as a user runs it, in a process of its own (`main` runs it itself); the reports
  // through the same `runCommand` in this process (test/support/cli.ts).
  const tally = (...args: string[]) => tallyInProcess(database.url, ...args);

  it('migrates an up-to-date database, and prints the deferred revenue of $100 of credits with 30 used: $30 recognized, $70 deferred', async () => {
    const migrated = await tallySpawned(database.url, 'migrate');
    expect([migrated.code, migrated.stdout.trim()]).toEqual([0, 'schema is up to date']);

    const buyer = await financeCustomer(engine, '2026-03-01T00:00:00Z');
    const grant = must(await createGrant(engine, {
      customer: buyer.customer.id, credits: '100', category: 'paid', source: 'purchase', cost_basis: { amount: 10_000, currency: 'USD' },
    }));
    await buyer.use(30);

    const json = await tally('report', 'deferred_revenue', '--customer', buyer.customer.id);
    expect(json.code, json.stderr).toBe(0);
    const report = JSON.parse(json.stdout);
    expect(report).toMatchObject({ object: 'report', report: 'deferred_revenue', customer: buyer.customer.id });
    expect(report.rows).toEqual([expect.objectContaining({
      grant: grant.id, credits: '100', cost: 10_000, credits_consumed: '30', credits_unspent: '70', purchased: 10_000, recognized: 3_000, closing_deferred: 7_000,
    })]);
    expect(report.totals).toEqual([{ currency: 'USD', opening_deferred: 0, purchased: 10_000, recognized: 3_000, breakage: 0, revoked: 0, closing_deferred: 7_000 }]);

    const csv = await tally('report', 'deferred_revenue', '--customer', buyer.customer.id, '--csv');
    expect(csv.code, csv.stderr).toBe(0);
    const [header, row, ...rest] = csv.stdout.split('\r\n');
    expect(header).toBe('grant,customer,invoice,currency,credits,cost,credits_consumed,credits_expired,credits_revoked,credits_unspent,opening_deferred,purchased,recognized,breakage,revoked,closing_deferred');
    expect([row, rest]).toEqual([`${grant.id},${buyer.customer.id},,USD,100,10000,30,0,0,70,0,10000,3000,0,0,7000`, ['']]);

    // Bad invocations exit 2 with the API's code, and print no report.
    for (const [args, message] of [
      [['report', 'nope'], 'usage: tally report'],
      [['report', 'revenue', '--from', 'yesterday'], 'validation_failed: from'],
      [['report', 'usage', '--customer', 'cus_nope'], 'customer_not_found'],
    ] as const) {
      const refused = await tally(...args);
      expect([refused.code, refused.stdout], args.join(' ')).toEqual([2, '']);
      expect(refused.stderr).toContain(message);
    }
  }, 180_000);
});
