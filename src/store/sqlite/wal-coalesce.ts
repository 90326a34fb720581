import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';

/**
 * WAL writes gathered into large ones (native/wal-coalesce.c, built by `npm install` into
 * build/). SQLite writes each WAL frame with two system calls; the library's VFS sits over
 * SQLite's own and writes a commit's frames in a few calls of up to 124 KiB, with the same
 * guarantees: every frame of a commit is handed to the kernel before the commit returns, and
 * every sync flushes first. docs/ARCHITECTURE.md ("Storage") says why it is safe and what it
 * saves. Without a C compiler at install the library is missing and SQLite writes as it always
 * does; nothing else changes.
 */
const libraryPath = fileURLToPath(new URL('../../../build/wal-coalesce.so', import.meta.url));

let loaded: boolean | null = null;

/**
 * Loads the library into this process once (it registers its VFS as SQLite's default, which
 * passes every file through unchanged until a database asks for coalescing). False when it was
 * not built or cannot be loaded here.
 */
export function loadWalCoalescing(): boolean {
  if (loaded !== null) return loaded;
  loaded = false;
  if (!existsSync(libraryPath)) return loaded;
  const boot = new Database(':memory:');
  try {
    boot.loadExtension(libraryPath);
    loaded = true;
  } catch {
    // Built for another SQLite or platform: SQLite writes as usual.
  } finally {
    boot.close();
  }
  return loaded;
}

/**
 * Asks for the WAL writes of `db`'s database file to be gathered, by every connection of this
 * process (opened after `loadWalCoalescing`). False when the library is not loaded.
 */
export function coalesceWalWrites(db: Database.Database): boolean {
  if (!loaded) return false;
  return Number(db.prepare('SELECT tally_wal_coalesce_enable()').pluck().get()) === 1;
}

/** The process's counts since the library was loaded (`walWriteCounts`, null when it is not). */
export interface WalWriteCounts {
  /** Writes SQLite asked the VFS for, on every file. */
  writesAsked: number;
  /** Writes made to the operating system. */
  writesMade: number;
  /** Gathered runs written. */
  flushes: number;
  /** Memory barriers SQLite raised on a database whose connection has its WAL open (publishing frames). */
  barriers: number;
  /** Of those, the ones that found WAL writes still buffered and wrote them: zero unless a rule of the VFS broke. */
  barrierFlushes: number;
}

export function walWriteCounts(): WalWriteCounts | null {
  if (!loaded) return null;
  const db = new Database(':memory:');
  try {
    return JSON.parse(String(db.prepare('SELECT tally_wal_coalesce()').pluck().get())) as WalWriteCounts;
  } finally {
    db.close();
  }
}
