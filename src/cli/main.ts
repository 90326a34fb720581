import { mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { dirname } from 'node:path';
import { createEngine } from '../engine/create-engine.ts';
import { openDatabase } from '../store/open-database.ts';
import { migrate } from '../store/migrations.ts';
import { systemClock } from '../engine/clock.ts';
import { startServer } from './serve.ts';
import { portFromEnv } from './settings.ts';

/**
 * `tally <command>`: serve (the HTTP server and the scheduler), migrate, and the commands added
 * with later features. Configuration comes from the environment (see README).
 */
const defaultDatabaseUrl = 'sqlite:./data/tally.db';

export function databaseUrl(): string {
  return process.env.TALLY_DATABASE_URL ?? defaultDatabaseUrl;
}

/**
 * The admin key: `TALLY_ADMIN_KEY`, or for local use a key generated once and kept in
 * ./data/admin-key so the quick start works without configuration.
 */
export function adminKey(): string {
  if (process.env.TALLY_ADMIN_KEY) return process.env.TALLY_ADMIN_KEY;
  const path = './data/admin-key';
  if (existsSync(path)) return readFileSync(path, 'utf8').trim();
  mkdirSync(dirname(path), { recursive: true });
  const key = `tly_admin_${randomBytes(18).toString('base64url')}`;
  writeFileSync(path, `${key}\n`, { mode: 0o600 });
  return key;
}

async function main(argv: string[]): Promise<number> {
  const [command = 'help', ...rest] = argv;
  switch (command) {
    case 'serve':
      await startServer({ databaseUrl: databaseUrl(), port: portFromEnv(process.env), host: process.env.HOST ?? '0.0.0.0', adminKey: adminKey() });
      return -1;
    case 'migrate': {
      const db = await openDatabase(databaseUrl());
      const applied = await migrate(db, systemClock.now());
      console.log(applied.length ? `applied migrations ${applied.join(', ')}` : 'schema is up to date');
      await db.close();
      return 0;
    }
    default: {
      const { runCommand } = await import('./commands.ts');
      return runCommand(command, rest, { databaseUrl: databaseUrl(), createEngine, openDatabase });
    }
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exit(code);
  },
  (error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  },
);
