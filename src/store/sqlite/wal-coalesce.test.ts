import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openSqliteDatabase } from './sqlite-database.ts';
import { coalesceWalWrites, loadWalCoalescing, walWriteCounts, type WalWriteCounts } from './wal-coalesce.ts';

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
const libraryPath = join(repoRoot, 'build', 'wal-coalesce.so');

/** The counts added since `before` (the counts are the process's; nothing else writes while a test runs). */
function countsSince(before: WalWriteCounts): WalWriteCounts {
  const after = walWriteCounts()!;
  return {
    writesAsked: after.writesAsked - before.writesAsked,
    writesMade: after.writesMade - before.writesMade,
    flushes: after.flushes - before.flushes,
    barriers: after.barriers - before.barriers,
    barrierFlushes: after.barrierFlushes - before.barrierFlushes,
  };
}

/** The counts `work` added. */
function countsOf(work: () => void): WalWriteCounts {
  const before = walWriteCounts()!;
  work();
  return countsSince(before);
}

function openWriter(path: string, coalesce: boolean): Database.Database {
  const db = new Database(path);
  if (coalesce) expect(coalesceWalWrites(db)).toBe(true);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.exec('CREATE TABLE IF NOT EXISTS rows (id INTEGER PRIMARY KEY, payload BLOB NOT NULL, version INTEGER NOT NULL)');
  return db;
}

/** Rows of 300 bytes of pseudo-random payload, so pages do not compress into few. */
function payload(seed: number, size = 300): Buffer {
  const bytes = Buffer.alloc(size);
  let x = seed * 2654435761 + 1;
  for (let i = 0; i < size; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    bytes[i] = x >>> 24;
  }
  return bytes;
}

describe('WAL writes gathered (native/wal-coalesce.c)', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'tally-wal-coalesce-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('is built by npm install and loads', () => {
    expect(loadWalCoalescing()).toBe(true);
    expect(walWriteCounts()).not.toBeNull();
  });

  it("writes a commit's frames in a few calls, and another connection reads each commit as soon as it returns", () => {
    expect(loadWalCoalescing()).toBe(true);
    const path = join(dir, 'coalesced.db');
    const writer = openWriter(path, true);
    const reader = new Database(path, { readonly: true });
    const insert = writer.prepare('INSERT INTO rows (payload, version) VALUES (?, ?)');
    const touch = writer.prepare('UPDATE rows SET version = version + 1 WHERE id % 7 = ?');
    const read = reader.prepare('SELECT COUNT(*) AS n, COALESCE(SUM(version), 0) AS versions, COALESCE(SUM(LENGTH(payload)), 0) AS bytes FROM rows');
    let rows = 0;
    let versions = 0;
    const counts = countsOf(() => {
      for (let commit = 0; commit < 40; commit++) {
        writer.transaction(() => {
          for (let i = 0; i < 150; i++) insert.run(payload(commit * 1000 + i), 1);
          const touched = writer.prepare('SELECT COUNT(*) FROM rows WHERE id % 7 = ?').pluck().get(commit % 7) as number;
          touch.run(commit % 7);
          versions += touched;
        })();
        rows += 150;
        versions += 150;
        // The commit has returned: every one of its frames must be in the file for this reader.
        expect(read.get()).toEqual({ n: rows, versions, bytes: rows * 300 });
      }
    });
    expect(reader.pragma('quick_check', { simple: true })).toBe('ok');
    // Two writes per frame asked for; a tenth of them or fewer made.
    expect(counts.writesAsked).toBeGreaterThan(1000);
    expect(counts.writesMade * 10).toBeLessThan(counts.writesAsked);
    // Each commit published its frames behind a barrier the safety net saw, and found nothing left
    // in the buffer to write.
    expect(counts.barriers).toBeGreaterThanOrEqual(40);
    expect(counts.barrierFlushes).toBe(0);
    reader.close();
    writer.close();
  });

  it('writes the WAL of a database that did not ask for it as SQLite does, one call per write', () => {
    expect(loadWalCoalescing()).toBe(true);
    const writer = openWriter(join(dir, 'plain.db'), false);
    const insert = writer.prepare('INSERT INTO rows (payload, version) VALUES (?, ?)');
    const counts = countsOf(() => {
      for (let commit = 0; commit < 5; commit++) writer.transaction(() => {
        for (let i = 0; i < 150; i++) insert.run(payload(i), 1);
      })();
    });
    expect(counts.writesAsked).toBeGreaterThan(50);
    expect(counts.writesMade).toBe(counts.writesAsked);
    expect(counts.flushes).toBe(0);
    writer.close();
  });

  it('gathers the adapter’s writes unless it is told not to (TALLY_SQLITE_WAL_COALESCE=off)', async () => {
    expect(loadWalCoalescing()).toBe(true);
    const write = async (name: string, walCoalescing: boolean | undefined): Promise<WalWriteCounts> => {
      const db = openSqliteDatabase(join(dir, name), walCoalescing === undefined ? {} : { walCoalescing });
      try {
        await db.run('CREATE TABLE rows (id INTEGER PRIMARY KEY, payload TEXT NOT NULL)');
        const before = walWriteCounts()!;
        for (let commit = 0; commit < 5; commit++) {
          await db.transaction(async (c) => {
            for (let i = 0; i < 100; i++) await c.run('INSERT INTO rows (payload) VALUES (?)', [payload(commit * 100 + i).toString('base64')]);
          });
        }
        const counts = countsSince(before);
        expect(await db.query('SELECT COUNT(*) AS n FROM rows')).toEqual([{ n: 500n }]);
        return counts;
      } finally {
        await db.close();
      }
    };
    const coalesced = await write('default.db', undefined);
    expect(coalesced.writesMade * 5).toBeLessThan(coalesced.writesAsked);
    const plain = await write('off.db', false);
    expect(plain.writesMade).toBe(plain.writesAsked);
  });

  it('reads back frames it spilled and has not yet written, inside the transaction that spilled them', () => {
    expect(loadWalCoalescing()).toBe(true);
    const writer = openWriter(join(dir, 'spilled.db'), true);
    writer.pragma('cache_size = 16');
    const insert = writer.prepare('INSERT INTO rows (payload, version) VALUES (?, ?)');
    const scan = writer.prepare('SELECT COUNT(*) AS n, SUM(version) AS versions, SUM(LENGTH(payload)) AS bytes FROM rows');
    writer.transaction(() => {
      // Each round spills the pages it filled (far more than 16) and then reads every page again.
      for (let round = 1; round <= 6; round++) {
        for (let i = 0; i < 400; i++) insert.run(payload(round * 1000 + i), round);
        expect(scan.get()).toEqual({ n: round * 400, versions: 400 * (round * (round + 1)) / 2, bytes: round * 400 * 300 });
        expect(writer.pragma('quick_check', { simple: true })).toBe('ok');
      }
    })();
    writer.close();
  });

  it('keeps every commit of a process killed right after it, spilled and rewritten frames included', async () => {
    // A child process commits, the last transaction larger than its page cache so that SQLite
    // spills frames into the WAL, writes some again in place, and rewrites their checksums at
    // commit (wal.c, walRewriteChecksums). It reports each commit and is killed without closing;
    // the next connection recovers the WAL from the file alone (headers and checksums).
    const path = join(dir, 'killed.db');
    const child = spawn(process.execPath, ['-e', childScript, path, libraryPath], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'inherit'] });
    const reported: { rows: number; versions: number }[] = [];
    for await (const line of createInterface({ input: child.stdout! })) {
      if (line === 'done') break;
      reported.push(JSON.parse(line) as { rows: number; versions: number });
    }
    const exited = new Promise((resolve) => child.on('exit', resolve));
    child.kill('SIGKILL');
    await exited;
    expect(reported).toHaveLength(6);
    const db = new Database(path);
    try {
      expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
      expect(db.prepare('SELECT COUNT(*) AS rows, SUM(version) AS versions FROM rows').get()).toEqual(reported.at(-1));
    } finally {
      db.close();
    }
  });
});

/** The child of the last test: argv[1] the database, argv[2] the library. */
const childScript = `
const Database = require('better-sqlite3');
const [path, library] = process.argv.slice(1);
const boot = new Database(':memory:');
boot.loadExtension(library);
boot.close();
const db = new Database(path);
if (db.prepare('SELECT tally_wal_coalesce_enable()').pluck().get() !== 1) throw new Error('not enabled');
db.pragma('journal_mode = WAL');
db.pragma('synchronous = NORMAL');
db.pragma('wal_autocheckpoint = 0');
db.exec('CREATE TABLE rows (id INTEGER PRIMARY KEY, payload BLOB NOT NULL, version INTEGER NOT NULL)');
const insert = db.prepare('INSERT INTO rows (payload, version) VALUES (randomblob(300), 1)');
// What each transaction leaves, read inside it, printed once its commit has returned: after the
// commit the process does nothing more with the database (no read that could flush a buffer).
const state = db.prepare('SELECT COUNT(*) AS rows, SUM(version) AS versions FROM rows');
for (let commit = 0; commit < 5; commit++) {
  const seen = db.transaction(() => { for (let i = 0; i < 200; i++) insert.run(); return state.get(); })();
  console.log(JSON.stringify(seen));
}
db.pragma('cache_size = 20');
const seen = db.transaction(() => {
  for (let i = 0; i < 4000; i++) insert.run();
  db.prepare('UPDATE rows SET version = version + 1').run();
  db.prepare('UPDATE rows SET version = version + 1 WHERE id % 3 = 0').run();
  return state.get();
})();
console.log(JSON.stringify(seen));
console.log('done');
setInterval(() => {}, 1000);
`;
