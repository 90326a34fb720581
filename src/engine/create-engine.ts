import { openStore } from '../store/store.ts';
import type { SqlDatabase } from '../store/sql.ts';
import { systemClock, type Clock } from './clock.ts';
import { defaultSettings, type Engine, type EngineSettings } from './context.ts';
import { createIdGenerator } from './ids.ts';

/** Builds the engine over an open database, applying any pending migrations first. */
export async function createEngine(db: SqlDatabase, options: { clock?: Clock; settings?: Partial<EngineSettings> } = {}): Promise<Engine> {
  const clock = options.clock ?? systemClock;
  return {
    store: await openStore(db, clock.now()),
    clock,
    ids: createIdGenerator(() => clock.now()),
    settings: { ...defaultSettings, ...options.settings },
  };
}
