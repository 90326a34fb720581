import { migrate } from '../store/migrations.ts';
import { Store } from '../store/store.ts';
import type { SqlDatabase } from '../store/sql.ts';
import { openSqliteDatabase } from '../store/sqlite/sqlite-database.ts';
import { openPostgresDatabase } from '../store/postgres/postgres-database.ts';
import { systemClock, type Clock } from './clock.ts';
import { defaultSettings, type Engine, type EngineSettings } from './context.ts';
import { createIdGenerator } from './ids.ts';

/** Opens the database named by a `sqlite:<path>` or `postgres://…` URL. */
export async function openDatabase(url: string): Promise<SqlDatabase> {
  if (url.startsWith('postgres://') || url.startsWith('postgresql://')) return openPostgresDatabase(url, { max: 20 });
  if (url.startsWith('sqlite:')) return openSqliteDatabase(url.slice('sqlite:'.length));
  throw new Error(`TALLY_DATABASE_URL must start with sqlite: or postgres:// (got ${JSON.stringify(url)})`);
}

export async function createEngine(db: SqlDatabase, options: { clock?: Clock; settings?: Partial<EngineSettings> } = {}): Promise<Engine> {
  const clock = options.clock ?? systemClock;
  await migrate(db, clock.now());
  return {
    store: new Store(db),
    clock,
    ids: createIdGenerator(() => clock.now()),
    settings: { ...defaultSettings, ...options.settings },
  };
}
