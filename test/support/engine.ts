import { afterAll, beforeAll } from 'vitest';
import type { Dialect } from '../../src/store/sql.ts';
import { createEngine } from '../../src/engine/create-engine.ts';
import type { Engine } from '../../src/engine/context.ts';
import { freshDatabase, type FreshDatabase, type FreshDatabaseOptions } from './databases.ts';

/** Gives a describe block a fresh migrated engine on the dialect, dropped afterwards. */
export function useEngine(dialect: Dialect, options: FreshDatabaseOptions = {}): { readonly engine: Engine; readonly database: FreshDatabase } {
  const holder: { engine?: Engine; database?: FreshDatabase } = {};
  beforeAll(async () => {
    holder.database = await freshDatabase(dialect, options);
    holder.engine = await createEngine(holder.database.db);
  });
  afterAll(async () => {
    await holder.database?.drop();
  });
  return {
    get engine() {
      return holder.engine!;
    },
    get database() {
      return holder.database!;
    },
  };
}

/** Unwraps an Outcome in a test, failing loudly with the error code. */
export function must<T>(outcome: { ok: true; value: T } | { ok: false; error: { code: string; message: string } }): T {
  if (!outcome.ok) throw new Error(`${outcome.error.code}: ${outcome.error.message}`);
  return outcome.value;
}
