import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { BenchEvent } from './events.ts';

/**
 * The floor of PRODUCT §13: the minimal credits ledger, written with better-sqlite3 directly. Per
 * event: one event row keyed by the event's id, one debit and one credit entry, and the paying
 * grant's balance updated; batches of 1000 in one transaction; WAL with `synchronous=FULL`.
 *
 * It is deliberately not a copy of Tally's own rows (a heavier layout must not lower the bar it
 * is judged by): no rating tables, no per-event ledger transaction, no domain events, no
 * secondary indexes, and no reads beyond the UPDATE of one grant. Each event is charged a price
 * computed from its tokens, paid by the customer's one grant.
 */
export class Floor {
  readonly dir: string;
  private readonly db: Database.Database;
  private readonly insertEvent: Database.Statement;
  private readonly insertEntry: Database.Statement;
  private readonly updateGrant: Database.Statement;
  private readonly writeBatch: (events: readonly BenchEvent[]) => void;
  private nextEntry = 1;

  constructor(customerIds: readonly string[]) {
    this.dir = mkdtempSync(join(tmpdir(), 'tally-bench-floor-'));
    this.db = new Database(join(this.dir, 'floor.db'));
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = FULL');
    this.db.exec(`
      CREATE TABLE events (id TEXT PRIMARY KEY, customer_id TEXT NOT NULL, grant_id TEXT NOT NULL, timestamp TEXT NOT NULL, credits INTEGER NOT NULL);
      CREATE TABLE entries (id INTEGER PRIMARY KEY, event_id TEXT NOT NULL, account TEXT NOT NULL, amount INTEGER NOT NULL);
      CREATE TABLE grants (id TEXT PRIMARY KEY, customer_id TEXT NOT NULL, balance INTEGER NOT NULL);
    `);
    const seed = this.db.prepare('INSERT INTO grants (id, customer_id, balance) VALUES (?, ?, ?)');
    this.db.transaction(() => {
      for (const id of customerIds) seed.run(`grant:${id}`, id, 100_000_000_000);
    })();
    this.insertEvent = this.db.prepare('INSERT INTO events (id, customer_id, grant_id, timestamp, credits) VALUES (?, ?, ?, ?, ?)');
    this.insertEntry = this.db.prepare('INSERT INTO entries (id, event_id, account, amount) VALUES (?, ?, ?, ?)');
    this.updateGrant = this.db.prepare('UPDATE grants SET balance = balance - ? WHERE id = ?');
    this.writeBatch = this.db.transaction((events: readonly BenchEvent[]) => {
      for (const e of events) {
        const credits = e.properties.tokens * 20;
        const grant = `grant:${e.customer}`;
        this.insertEvent.run(e.id, e.customer, grant, e.timestamp, credits);
        this.insertEntry.run(this.nextEntry++, e.id, grant, -credits);
        this.insertEntry.run(this.nextEntry++, e.id, 'consumed', credits);
        this.updateGrant.run(credits, grant);
      }
    });
  }

  /** Writes one batch in one transaction (one COMMIT, one fsync); returns the milliseconds it took. */
  write(events: readonly BenchEvent[]): number {
    const started = performance.now();
    this.writeBatch(events);
    return performance.now() - started;
  }

  close(): void {
    this.db.close();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
