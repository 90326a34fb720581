/**
 * A kept database's reconciliation and ledger check, each check timed, by the checkout given (its
 * own engine, which first migrates the database: the open is timed too):
 *
 *   npx tsx bench/reconcile-time.ts <checkout> <database file>
 *
 * For the same rows read by two releases: keep a load check's database (`BENCH_KEEP_DATABASE`),
 * time it with the release that wrote it, then a copy of it with a later checkout, which migrates
 * the copy as it opens it. Prints the open, each check of `reconcile` as it ends, the whole
 * reconciliation with its count of discrepancies, and the ledger check.
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const [checkout, file] = process.argv.slice(2);
if (!checkout || !file) throw new Error('usage: npx tsx bench/reconcile-time.ts <checkout> <database file>');
const from = (path: string): string => pathToFileURL(`${resolve(checkout)}/${path}`).href;
const { openSqliteDatabase } = await import(from('src/store/sqlite/sqlite-database.ts'));
const { createEngine } = await import(from('src/engine/create-engine.ts'));
const { reconcile, checkLedger } = await import(from('src/engine/reconcile.ts'));
const seconds = (sinceMs: number): string => ((performance.now() - sinceMs) / 1000).toFixed(1);

const db = openSqliteDatabase(resolve(file));
let started = performance.now();
const engine = await createEngine(db);
console.log(`open (with its migrations): ${seconds(started)} s`);
started = performance.now();
const result = await reconcile(engine, {}, {
  onProgress: (p: { check: string; ms: number; slice?: unknown }) => {
    if (!p.slice) console.log(`  ${p.check}: ${(p.ms / 1000).toFixed(2)} s`);
  },
});
console.log(`reconciliation: ${result.ok ? `${result.value.discrepancies.length} discrepancies` : 'refused'} in ${seconds(started)} s`);
started = performance.now();
const ledger = await checkLedger(engine);
console.log(`ledger check: ${ledger.unbalanced.length + ledger.discrepancies.length} problems in ${seconds(started)} s`);
await db.close();
