/**
 * What the scripts that write an upgrade test's fixture share: the release's own sources, loaded
 * from TALLY_RELEASE_SRC (default: this checkout's src), a SQLite database opened by that
 * release's engine in a temporary directory, checked to end at the release's last migration, and
 * the finished file reconciled by the release itself (clean, or with what a fixture of a release's
 * flaw expects of it), compacted and copied to the fixture's path.
 */
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const src = resolve(process.env.TALLY_RELEASE_SRC ?? 'src');

/** A module of the release's sources, by its path under src/. */
export const load = async <T>(path: string): Promise<T> => (await import(join(src, path))) as T;

type Outcome<T> = { ok: true; value: T } | { ok: false; error: { code: string; message: string } };
export function must<T>(o: Outcome<T>): T {
  if (!o.ok) throw new Error(`${o.error.code}: ${o.error.message}`);
  return o.value;
}

/** The release's engine on a new database; throws unless its schema ends at `lastVersion`. */
export async function openRelease(lastVersion: number): Promise<{ db: any; engine: any; finish(fixture: string): Promise<void> }> {
  const { openSqliteDatabase } = await load<any>('store/sqlite/sqlite-database.ts');
  const { createEngine } = await load<any>('engine/create-engine.ts');
  const { reconcile } = await load<any>('engine/reconcile.ts');
  const dir = mkdtempSync(join(tmpdir(), 'tally-release-fixture-'));
  const db = openSqliteDatabase(join(dir, 'tally.db'));
  const engine = await createEngine(db);
  const versions = (await db.query('SELECT version FROM schema_migrations ORDER BY version')).map((r: any) => Number(r.version));
  if (versions[versions.length - 1] !== lastVersion) throw new Error(`expected the release's schema ending at ${lastVersion}, found ${versions.join(',')}`);
  return {
    db,
    engine,
    async finish(fixture: string, expected: (discrepancies: any[]) => boolean = (d) => d.length === 0) {
      const report = must<any>(await reconcile(engine));
      if (!expected(report.discrepancies)) throw new Error(`the release's own reconciliation: ${JSON.stringify(report.discrepancies)}`);
      await db.query('PRAGMA wal_checkpoint(TRUNCATE)');
      await db.run('VACUUM');
      await db.close();
      const out = resolve(fixture);
      copyFileSync(join(dir, 'tally.db'), out);
      rmSync(dir, { recursive: true, force: true });
      console.log(`wrote ${out}`);
    },
  };
}
