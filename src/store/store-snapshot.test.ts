import { describe, expect, it } from 'vitest';
import { dialects, freshDatabase } from '../../test/support/databases.ts';
import { openDatabase } from './open-database.ts';
import { Store } from './store.ts';

/** Reads that must agree (a list and the rows it embeds) see one snapshot on either database. */
describe.each(dialects)('Store.readsInOneSnapshot on %s', (dialect) => {
  it('does not see a commit another connection makes between its reads', async () => {
    const fresh = await freshDatabase(dialect);
    try {
      await fresh.db.run('CREATE TABLE items (id TEXT PRIMARY KEY)');
      await fresh.db.run("INSERT INTO items (id) VALUES ('a')");
      const other = await openDatabase(fresh.url);
      try {
        const ids = await new Store(fresh.db).readsInOneSnapshot(async (tx) => {
          const before = (await tx.c.query('SELECT id FROM items ORDER BY id')).map((r) => r.id);
          await other.run("INSERT INTO items (id) VALUES ('b')");
          const after = (await tx.c.query('SELECT id FROM items ORDER BY id')).map((r) => r.id);
          return { before, after };
        });
        expect(ids).toEqual({ before: ['a'], after: ['a'] });
        // Committed all the same: the next read sees it.
        expect((await fresh.db.query('SELECT id FROM items ORDER BY id')).map((r) => r.id)).toEqual(['a', 'b']);
      } finally {
        await other.close();
      }
    } finally {
      await fresh.drop();
    }
  });
});
