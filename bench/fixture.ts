import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createEngine } from '../src/engine/create-engine.ts';
import type { Engine } from '../src/engine/context.ts';
import { createCustomer } from '../src/engine/customers.ts';
import { createGrant } from '../src/engine/grants.ts';
import { createMeter } from '../src/engine/meters.ts';
import { openSqliteDatabase, type SqliteOptions } from '../src/store/sqlite/sqlite-database.ts';
import type { SqlDatabase } from '../src/store/sql.ts';

/**
 * A benchmark database: a SQLite file in a fresh temp directory, opened through the production
 * adapter (WAL, durable commits: see src/store/sqlite/wal-sync.ts), migrated, with customers, grants and meters made through the
 * engine's own use cases so that every row is what production would hold.
 */
export interface Fixture {
  dir: string;
  path: string;
  db: SqlDatabase;
  engine: Engine;
  customerIds: string[];
  close(): Promise<void>;
}

/** The event type both benchmark meters read, and the meters' codes. */
export const eventType = 'llm';
export const meterCodes = { tokens: 'llm_tokens', requests: 'llm_requests' } as const;

/** A temp directory with a SQLite database file opened the way production opens it. */
export function openTempDatabase(label: string, options: SqliteOptions = {}): { dir: string; path: string; db: SqlDatabase; remove(): Promise<void> } {
  const dir = mkdtempSync(join(tmpdir(), `tally-bench-${label}-`));
  const path = join(dir, 'tally.db');
  const db = openSqliteDatabase(path, options);
  return {
    dir,
    path,
    db,
    async remove() {
      await db.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * The benchmark grants' window: effective from a day before the fixture is made, expiring (the
 * promotional one) 30 days after. A grant pays only for usage at or after its effective time, and
 * the benchmark's events trail the wall clock by up to a minute (`events.ts`), so grants made
 * effective "now" would leave every event of the first minute after the fixture to overage or
 * debt instead of the grants, which is neither what real traffic meets nor what the floor writes.
 */
export function grantWindow(nowMs: number): { effectiveAt: string; expiresAt: string } {
  return { effectiveAt: new Date(nowMs - 86_400_000).toISOString(), expiresAt: new Date(nowMs + 30 * 86_400_000).toISOString() };
}

/**
 * Creates `customerCount` customers, each with three grants that the benchmark burns through in
 * order (a small promotional one, a small paid one, then a large paid one, so that events cross
 * grant boundaries), and two meters on one event type: tokens at a per-unit rate and requests at
 * a graduated rate. The paid grants are made by hand (`adjustment`): a `purchase` grant is linked
 * to the invoice that sold it, which reconciliation checks, and the fixture sells nothing, so a
 * benchmark database reconciles clean.
 */
export async function openFixture(label: string, customerCount: number, options: SqliteOptions = {}): Promise<Fixture> {
  const temp = openTempDatabase(label, options);
  const engine = await createEngine(temp.db);
  must(await createMeter(engine, {
    code: meterCodes.tokens, event_type: eventType, aggregation: 'sum', value_property: 'tokens',
    rate: { model: 'per_unit', credits_per_unit: '0.00002' },
  }));
  must(await createMeter(engine, {
    code: meterCodes.requests, event_type: eventType, aggregation: 'count',
    rate: { model: 'graduated', tiers: [{ up_to: 100, credits_per_unit: '0.01' }, { up_to: 1000, credits_per_unit: '0.005' }, { up_to: null, credits_per_unit: '0.002' }] },
  }));
  const customerIds: string[] = [];
  const { effectiveAt, expiresAt } = grantWindow(engine.clock.now());
  for (let i = 0; i < customerCount; i++) {
    const customer = must(await createCustomer(engine, { currency: 'USD', external_id: `bench-${i}`, overage: i % 2 === 0 }));
    customerIds.push(customer.id);
    must(await createGrant(engine, { customer: customer.id, credits: '2', category: 'promotional', source: 'promotion', priority: 10, effective_at: effectiveAt, expires_at: expiresAt }));
    must(await createGrant(engine, { customer: customer.id, credits: '5', category: 'paid', source: 'adjustment', priority: 20, effective_at: effectiveAt }));
    must(await createGrant(engine, { customer: customer.id, credits: '100000', category: 'paid', source: 'adjustment', priority: 50, effective_at: effectiveAt }));
  }
  return { dir: temp.dir, path: temp.path, db: temp.db, engine, customerIds, close: temp.remove };
}

const checkpointAttemptsMax = 100;

/**
 * The fixture's database file as it is now (schema, customers, grants, meters, accounts, and
 * whatever the benchmark has written), checkpointed into the main file and copied into its own
 * temp directory, not opened: for another process, or to open with other options.
 */
export async function copyDatabaseFile(fixture: Fixture, label: string): Promise<{ path: string; remove(): void }> {
  // A checkpoint in progress on the adapter's own thread makes this one report busy; until one
  // completes, the main file alone may not hold every commit, so it is retried, bounded.
  for (let attempt = 0; ; attempt++) {
    const [result] = await fixture.db.query('PRAGMA wal_checkpoint(TRUNCATE)');
    if (Number(result?.busy) === 0 && Number(result?.log) === 0) break;
    if (attempt === checkpointAttemptsMax) throw new Error(`the WAL of ${fixture.path} could not be checkpointed: busy ${result?.busy}, log ${result?.log}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const dir = mkdtempSync(join(tmpdir(), `tally-bench-${label}-`));
  const path = join(dir, 'tally.db');
  copyFileSync(fixture.path, path);
  return { path, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * A copy of the fixture's database as it is now, opened through the production adapter: the raw
 * baseline starts from the same state the engine starts from.
 */
export async function cloneDatabase(fixture: Fixture, label: string, options: SqliteOptions = {}): Promise<{ db: SqlDatabase; remove(): Promise<void> }> {
  const copy = await copyDatabaseFile(fixture, label);
  const db = openSqliteDatabase(copy.path, options);
  return {
    db,
    async remove() {
      await db.close();
      copy.remove();
    },
  };
}

/** A use case's value, or the benchmark stops with its error: a set-up that fails measures nothing. */
export function must<T>(outcome: { ok: true; value: T } | { ok: false; error: { code: string; message: string } }): T {
  if (!outcome.ok) throw new Error(`benchmark setup failed: ${outcome.error.code}: ${outcome.error.message}`);
  return outcome.value;
}
