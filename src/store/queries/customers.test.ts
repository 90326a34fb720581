import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { dialects } from '../../../test/support/databases.ts';
import { must, useEngine } from '../../../test/support/engine.ts';
import { createCustomer } from '../../engine/customers.ts';
import { createIdGenerator } from '../../engine/ids.ts';
import { mayBeCustomerId } from './customers.ts';
import type { SqlRow, SqlValue } from '../sql.ts';

/** The customer read a write step starts with, on every adapter; on PostgreSQL it also locks. */
describe.each(dialects)('customers.findManyLocked on %s', (dialect) => {
  const ctx = useEngine(dialect);

  it('resolves ids and external ids exactly as findMany does', async () => {
    const a = must(await createCustomer(ctx.engine, { currency: 'USD', external_id: `ext-a-${dialect}` }));
    const b = must(await createCustomer(ctx.engine, { currency: 'USD' }));
    const refs = [a.id, `ext-a-${dialect}`, b.id, 'cus_missing'];
    const [locked, plain] = await ctx.engine.store.transaction(async (tx) =>
      [await tx.customers.findManyLocked(refs), await tx.customers.findMany(refs)] as const);
    expect([...locked.keys()].sort()).toEqual([a.id, `ext-a-${dialect}`, b.id].sort());
    expect(locked).toEqual(plain);
    expect(locked.get(`ext-a-${dialect}`)?.id).toBe(a.id);
    expect(await ctx.engine.store.transaction((tx) => tx.customers.findManyLocked([]))).toEqual(new Map());
  });

  it.runIf(dialect === 'postgres')('holds the row lock of every customer it returns until the transaction ends, and no other', async () => {
    const held = must(await createCustomer(ctx.engine, { currency: 'USD', external_id: `ext-held-${dialect}` }));
    const byId = must(await createCustomer(ctx.engine, { currency: 'USD' }));
    const free = must(await createCustomer(ctx.engine, { currency: 'USD' }));
    const other = new pg.Client({ connectionString: ctx.database.url });
    await other.connect();
    // NOWAIT fails at once (lock_not_available) on a row another transaction holds: no waiting on time.
    const tryLock = async (id: string): Promise<string> => {
      await other.query('BEGIN');
      try {
        await other.query('SELECT id FROM customers WHERE id = $1 FOR UPDATE NOWAIT', [id]);
        return 'free';
      } catch (error) {
        return (error as { code?: string }).code ?? 'error';
      } finally {
        await other.query('ROLLBACK');
      }
    };
    try {
      const during = await ctx.engine.store.transaction(async (tx) => {
        await tx.customers.findManyLocked([`ext-held-${dialect}`, byId.id]);
        return { held: await tryLock(held.id), byId: await tryLock(byId.id), free: await tryLock(free.id) };
      });
      expect(during).toEqual({ held: '55P03', byId: '55P03', free: 'free' });
      expect(await tryLock(held.id)).toBe('free');
    } finally {
      await other.end();
    }
  });
});

describe('customer references', () => {
  it('take every customer id the engine makes for a possible id, and no shorter or other reference', () => {
    const ids = createIdGenerator(() => Date.now());
    for (let i = 0; i < 1000; i++) expect(mayBeCustomerId(ids.next('cus'))).toBe(true);
    for (const ref of ['user-42', 'cus_', 'cus_01JD', `sub_${'0'.repeat(26)}`, ids.next('cus').slice(1)]) expect(mayBeCustomerId(ref)).toBe(false);
  });
});

describe.each(dialects)('customers found by reference on %s', (dialect) => {
  const ctx = useEngine(dialect);

  it('finds an external id by its own lookup alone, and one shaped like a customer id after the id lookup', async () => {
    const plain = must(await createCustomer(ctx.engine, { currency: 'USD', external_id: `user-${dialect}` }));
    const lookalike = `cus_${dialect === 'sqlite' ? 'S' : 'P'}${'1'.repeat(25)}`;
    const shaped = must(await createCustomer(ctx.engine, { currency: 'USD', external_id: lookalike }));
    const statements: string[] = [];
    // Reads outside a transaction run on the database itself, which every query group shares.
    const { c: connection, customers } = ctx.engine.store.read;
    const original = connection.query;
    connection.query = <R extends SqlRow = SqlRow>(sql: string, params?: readonly SqlValue[]) => {
      statements.push(sql.includes('external_id') ? 'external' : 'id');
      return original.call<typeof connection, [string, readonly SqlValue[] | undefined], Promise<R[]>>(connection, sql, params);
    };
    try {
      expect((await customers.find(`user-${dialect}`))?.id).toBe(plain.id);
      expect(statements).toEqual(['external']);
      statements.length = 0;
      expect((await customers.find(lookalike))?.id).toBe(shaped.id);
      expect(statements).toEqual(['id', 'external']);
      statements.length = 0;
      expect((await customers.find(plain.id))?.id).toBe(plain.id);
      expect(statements).toEqual(['id']);
      const many = await customers.findMany([`user-${dialect}`, lookalike, shaped.id]);
      expect(new Map([...many].map(([ref, c]) => [ref, c.id]))).toEqual(new Map([[shaped.id, shaped.id], [lookalike, shaped.id], [`user-${dialect}`, plain.id]]));
    } finally {
      connection.query = original;
    }
  });
});
