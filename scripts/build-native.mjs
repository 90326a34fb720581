/**
 * Builds native/wal-coalesce.c into build/wal-coalesce.so with the system's C compiler (`CC`,
 * else `cc`), against the SQLite headers better-sqlite3 builds its SQLite from. Run by `npm
 * install` (`prepare`) and `npm test`. Without a compiler it says so and exits cleanly: Tally
 * then runs with SQLite's own WAL writes (src/store/sqlite/wal-coalesce.ts).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const sqliteHeaders = join(dirname(createRequire(import.meta.url).resolve('better-sqlite3/package.json')), 'deps', 'sqlite3');
const output = join(root, 'build', 'wal-coalesce.so');

if (process.platform === 'win32') {
  console.log('build-native: not built on Windows; SQLite writes its WAL as usual.');
  process.exit(0);
}
mkdirSync(dirname(output), { recursive: true });
const compiler = process.env.CC || 'cc';
const args = ['-O2', '-Wall', '-Wextra', '-fPIC', '-shared', '-I', sqliteHeaders, '-o', output, join(root, 'native', 'wal-coalesce.c'), '-lpthread'];
if (process.platform === 'darwin') args.splice(args.indexOf('-shared'), 1, '-dynamiclib', '-undefined', 'dynamic_lookup');
const built = spawnSync(compiler, args, { stdio: 'inherit' });
if (built.error || built.status !== 0) {
  console.log(`build-native: ${compiler} could not build native/wal-coalesce.c (${built.error?.message ?? `exit ${built.status}`}); SQLite writes its WAL as usual.`);
}
