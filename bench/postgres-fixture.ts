import pg from 'pg';
import { createEngine } from '../src/engine/create-engine.ts';
import { createCustomer } from '../src/engine/customers.ts';
import { createGrant } from '../src/engine/grants.ts';
import { createMeter } from '../src/engine/meters.ts';
import { openPostgresDatabase } from '../src/store/postgres/postgres-database.ts';
import { eventType, grantWindow, meterCodes, must } from './fixture.ts';

/**
 * PostgreSQL databases for bench/postgres.ts. One template database is seeded once through the
 * engine's own use cases (the same meters, customers and grants as the SQLite fixture), and every
 * measurement gets a fresh copy of it (`CREATE DATABASE … TEMPLATE`), so all of them start from the
 * same state and none sees another's rows.
 */

/** The event type both benchmark meters read, and the meters' codes: the SQLite fixture's. */
export { eventType, meterCodes };

export class PgCluster {
  constructor(readonly adminUrl: string) {}

  /** The URL of database `name` on this server. */
  urlFor(name: string): string {
    const url = new URL(this.adminUrl);
    url.pathname = `/${name}`;
    return url.toString();
  }

  /** One statement on the maintenance database (CREATE/DROP DATABASE cannot run in a transaction). */
  async admin<R extends pg.QueryResultRow = pg.QueryResultRow>(sql: string, params?: unknown[]): Promise<R[]> {
    const client = new pg.Client({ connectionString: this.adminUrl });
    client.on('error', () => {});
    await client.connect();
    try {
      return (await client.query<R>(sql, params)).rows;
    } finally {
      await client.end().catch(() => {});
    }
  }
}

export interface BenchDatabase {
  name: string;
  url: string;
  drop(): Promise<void>;
}

let copies = 0;

/** A fresh database copied from the template; `drop` removes it (closing any leftover sessions). */
export async function databaseFromTemplate(cluster: PgCluster, template: string, label: string): Promise<BenchDatabase> {
  const name = `bench_${label.replace(/[^a-z0-9_]/gi, '_').toLowerCase()}_${process.pid}_${++copies}`;
  await cluster.admin(`CREATE DATABASE ${name} TEMPLATE ${template}`);
  return {
    name,
    url: cluster.urlFor(name),
    drop: async () => {
      await cluster.admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    },
  };
}

/**
 * Creates and seeds the template: two meters on one event type (tokens at a per-unit rate,
 * requests at a graduated rate) and `customerCount` customers with three grants each (a small
 * promotional one, a small paid one, a large paid one), every row made by the engine's use cases.
 * Seeding runs with synchronous_commit off, set on the template database only: that setting
 * belongs to the database and is not copied by CREATE DATABASE, so the measured copies run with
 * the server default (on, fsync on: durable acks).
 */
export async function buildTemplate(cluster: PgCluster, name: string, customerCount: number, concurrency: number): Promise<string[]> {
  await cluster.admin(`CREATE DATABASE ${name}`);
  await cluster.admin(`ALTER DATABASE ${name} SET synchronous_commit = off`);
  const db = await openPostgresDatabase(cluster.urlFor(name), { max: concurrency });
  try {
    const engine = await createEngine(db);
    must(await createMeter(engine, {
      code: meterCodes.tokens, event_type: eventType, aggregation: 'sum', value_property: 'tokens',
      rate: { model: 'per_unit', credits_per_unit: '0.00002' },
    }));
    must(await createMeter(engine, {
      code: meterCodes.requests, event_type: eventType, aggregation: 'count',
      rate: { model: 'graduated', tiers: [{ up_to: 100, credits_per_unit: '0.01' }, { up_to: 1000, credits_per_unit: '0.005' }, { up_to: null, credits_per_unit: '0.002' }] },
    }));
    const customerIds: string[] = new Array(customerCount);
    const { effectiveAt, expiresAt } = grantWindow(engine.clock.now());
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < customerCount) {
        const i = next++;
        const customer = must(await createCustomer(engine, { currency: 'USD', external_id: `bench-${i}`, overage: i % 2 === 0 }));
        customerIds[i] = customer.id;
        must(await createGrant(engine, { customer: customer.id, credits: '2', category: 'promotional', source: 'promotion', priority: 10, effective_at: effectiveAt, expires_at: expiresAt }));
        must(await createGrant(engine, { customer: customer.id, credits: '5', category: 'paid', source: 'adjustment', priority: 20, effective_at: effectiveAt }));
        must(await createGrant(engine, { customer: customer.id, credits: '100000', category: 'paid', source: 'adjustment', priority: 50, effective_at: effectiveAt }));
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
    return customerIds;
  } finally {
    await db.close();
  }
}

export interface LedgerCheck {
  usageEvents: number;
  entriesSum: bigint;
  /** Usage events with more than one usage transaction. */
  chargedTwice: number;
  /** Charged usage events whose transaction is missing. */
  unposted: number;
  /** Accounts whose materialized balance (zero without a row) differs from the sum of their entries. */
  balanceMismatches: number;
  /** Grant accounts below zero (a grant can never be overspent). */
  overspentGrants: number;
}

/** The ledger invariants, checked in the database after a measurement. */
export async function checkLedger(url: string): Promise<LedgerCheck> {
  const client = new pg.Client({ connectionString: url });
  client.on('error', () => {});
  await client.connect();
  try {
    // Every entry, in the ledger's tables and on the event rows that are their own posting (migration 58).
    const entries = `(SELECT customer_id, account, amount FROM ledger_entries
        UNION ALL SELECT u.customer_id, x.value->>0, (x.value->>1)::bigint FROM usage_events u CROSS JOIN LATERAL jsonb_array_elements(u.entries::jsonb) x
          WHERE u.entries IS NOT NULL)`;
    const row = (await client.query(`SELECT
      (SELECT count(*) FROM usage_events) AS usage_events,
      (SELECT COALESCE(SUM(amount), 0) FROM ${entries} e)::text AS entries_sum,
      (SELECT count(*) FROM (SELECT customer_id, cause_id FROM (SELECT customer_id, cause_id FROM ledger_transactions WHERE kind = 'usage'
         UNION ALL SELECT customer_id, id FROM usage_events WHERE entries IS NOT NULL) c GROUP BY 1, 2 HAVING count(*) > 1) d) AS charged_twice,
      (SELECT count(*) FROM usage_events e WHERE e.txn_id IS NOT NULL AND e.entries IS NULL
         AND NOT EXISTS (SELECT 1 FROM ledger_transactions t WHERE t.id = e.txn_id)) AS unposted,
      (SELECT count(*) FROM accounts a FULL JOIN (SELECT customer_id, account, SUM(amount) AS total FROM ${entries} e GROUP BY 1, 2) s
         ON s.customer_id = a.customer_id AND s.account = a.code WHERE COALESCE(a.balance, 0) <> COALESCE(s.total, 0)) AS balance_mismatches,
      (SELECT count(*) FROM accounts WHERE code LIKE 'grant:%' AND balance < 0) AS overspent_grants`)).rows[0] as Record<string, string>;
    return {
      usageEvents: Number(row.usage_events),
      entriesSum: BigInt(row.entries_sum ?? '0'),
      chargedTwice: Number(row.charged_twice),
      unposted: Number(row.unposted),
      balanceMismatches: Number(row.balance_mismatches),
      overspentGrants: Number(row.overspent_grants),
    };
  } finally {
    await client.end().catch(() => {});
  }
}

/** One line: the invariants, and the stored events against the number acknowledged. */
export function describeCheck(check: LedgerCheck, acknowledged: number): string {
  const problems: string[] = [];
  if (check.entriesSum !== 0n) problems.push(`entries sum to ${check.entriesSum}`);
  if (check.chargedTwice) problems.push(`${check.chargedTwice} events charged twice`);
  if (check.unposted) problems.push(`${check.unposted} events without their transaction`);
  if (check.balanceMismatches) problems.push(`${check.balanceMismatches} balances ≠ entries`);
  if (check.overspentGrants) problems.push(`${check.overspentGrants} grants below zero`);
  if (check.usageEvents < acknowledged) problems.push(`${acknowledged - check.usageEvents} acknowledged events missing`);
  const stored = `${check.usageEvents.toLocaleString('en-US')} events stored for ${acknowledged.toLocaleString('en-US')} acknowledged`;
  return problems.length === 0 ? `ledger check OK (${stored}; entries sum to 0, each event charged once, balances = entries, no grant below 0)` : `LEDGER CHECK FAILED: ${problems.join('; ')} (${stored})`;
}
