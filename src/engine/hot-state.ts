import type { MeterRecord, PhaseRecord, SubscriptionRecord, CustomerRecord, UsageEventRecord } from '../store/records.ts';
import type { PlanRecord } from '../store/queries/billing.ts';
import type { IngestReads } from '../store/queries/ingest-reads.ts';
import type { SpendableGrant } from '../store/queries/ledger.ts';
import type { MeterTotal, MeterTotalKey } from '../store/queries/usage.ts';
import type { WriteOrder } from '../store/sql.ts';
import type { StoreTx } from '../store/store.ts';

/**
 * What ingestion reads of a customer at every batch, kept in memory from one ingestion transaction
 * to the next on SQLite (one writer: this process): the customer, its active grants with what
 * remains of each, its subscription timeline, its running meter totals, and the meters of each
 * event type. A batch then reads from the database only the customers it has not met since the
 * last write of anything else.
 *
 * Trusted only while nothing else wrote: the state is what the last ingestion transaction left,
 * and a later ingestion uses it only if the last write was that transaction's and it committed,
 * or that transaction committed without writing (every event a duplicate) after the write it
 * found (`WriteOrder.follows`: no other transaction wrote, no statement wrote outside one, no other
 * process committed since; transactions that only read may come in between, and so may writes to
 * tables no kept state reads, such as an `Idempotency-Key`'s: `tablesOutsideWriteOrder` in
 * store/sqlite/sqlite-database.ts). A write path that declares the customers it changes
 * (`StoreTx.scopeWritesTo`: a grant, a hold, a payment…) has only those forgotten (`forget`); any
 * other write empties it whole, so a write path that declares nothing need not know of it. An
 * ingestion that fails leaves its transaction uncommitted, which empties it too: the objects it
 * changed in memory are never used again. PostgreSQL, where several servers write, has no write
 * order and no hot state.
 *
 * With a writer thread (store/sqlite/writer-thread.ts) an ingestion's writes are committed after
 * the next ingestion has begun: the hot state already holds what they leave, but the database
 * does not yet. The hot state then also keeps, per ingestion whose writes are still on their way
 * (`pending`), the customers it wrote for and the events it stored. The next ingestion finds a
 * repeated event id there as it would in the database, and before it reads from the database
 * anything of a customer still pending (a customer not kept, expired grants for a late event,
 * a running total not kept, unique values), it waits for those writes (`settle`).
 *
 * `TALLY_CHECK_HOT_STATE=1` (the test suite sets it) reads everything again from the database at
 * every batch that uses the hot state, once the writes before it are committed, and throws where
 * the two differ.
 */
export interface HotCustomer {
  /** Active grants in creation order, as `LedgerQueries.spendableGrants` reads them. */
  grants: SpendableGrant[];
  /**
   * Subscriptions by id, their phases by start, as `IngestReadQueries.read` reads them. A customer
   * without any shares one empty list (`none`), replaced by its own at the first one kept.
   */
  subscriptions: readonly SubscriptionRecord[];
  phases: readonly PhaseRecord[];
  plans: readonly PlanRecord[];
}

/** The empty list every kept customer without subscriptions shares: frozen, never pushed to. */
const none: readonly never[] = Object.freeze([]);

/**
 * The most customers kept unless the engine's settings say otherwise (`hotCustomers`,
 * TALLY_HOT_CUSTOMERS); past it, customers not yet kept are read from the database each batch. A
 * kept customer with three grants and two running totals takes about 1.7 KB of heap, 2.3 KB before
 * its grants and totals shared their ids (`bench/hot-state-memory.ts`), so 12,000 take less than
 * 10,000 took before. 25,000 (at 2–3 KB each) took the server past PRODUCT §13's 300 MB while ingesting
 * for 100,000 customers (docs/benchmark-rounds.md, "Round 16", "Round 34").
 */
export const hotCustomersDefault = 12_000;
/** The most event types whose meters are kept (a type without meters is kept too, as an empty list). */
const hotEventTypesMax = 1000;

/** An ingestion whose writes wait for the writer thread: whom it wrote for, and the events it stored. */
interface PendingWrites {
  number: number;
  customers: ReadonlySet<string>;
  /** The customers of whose expired grants it took credits back for a late event (`grant.expiry_reclaimed`). */
  reclaimedFor: ReadonlySet<string>;
  events: ReadonlyMap<string, UsageEventRecord>;
}

export class HotState {
  /** The number of the transaction whose committed state this holds; -1 for none. */
  private validAfter = -1;
  /** The write order of the transaction that entered last. */
  private order: WriteOrder | null = null;
  /**
   * Ingestions whose writes were sent to the writer thread and are not known to be committed, oldest
   * first. Kept when the rest is emptied: what is on its way to the database stays true of it
   * (a group that fails takes every later one with it, and is then no longer pending).
   */
  private pending: PendingWrites[] = [];
  /** Customers by every reference a batch used (id or external id). */
  readonly customers = new Map<string, CustomerRecord>();
  /** By customer id. */
  readonly state = new Map<string, HotCustomer>();
  /**
   * Running totals by customer id, a customer's few (its meters, in this period and the ones
   * before) in a list that a lookup scans.
   */
  readonly totals = new Map<string, MeterTotal[]>();
  /** How many running totals `totals` holds. */
  private totalsCount = 0;
  /** Meters by event type, by code. */
  readonly meters = new Map<string, MeterRecord[]>();
  /** Customers of batches found here, and read from the database, since the process started. */
  readonly counts = { memory: 0, database: 0 };
  /** The last batch's customers, and how many of them were read from the database (`mostlyKept`). */
  private readonly lastBatch = { customers: 0, database: 0 };
  /**
   * The latest expiry of any expired grant, as last read (null: none has expired; undefined: not
   * read since the state was last emptied). Ingestion never expires a grant: whatever does is
   * another write, which empties the state.
   */
  private latestExpiry: number | null | undefined = undefined;
  /** Whether every use is checked against the database (`TALLY_CHECK_HOT_STATE=1`). */
  readonly checked = process.env.TALLY_CHECK_HOT_STATE === '1';
  /** The most running totals kept: two meters a customer for every customer kept, for two periods. */
  private readonly totalsMax: number;

  /** `customersMax`: the most customers kept (0: none, every batch reads its customers). */
  constructor(private readonly customersMax: number) {
    this.totalsMax = 4 * customersMax;
  }

  /**
   * The hot state for an ingestion transaction: emptied unless the last write was the transaction
   * that left it, and from now on left by this one (if it commits). Null on a connection without a
   * write order (PostgreSQL, a read-only snapshot). `customersMax` is read when the state is made,
   * at a database's first ingestion (`EngineSettings.hotCustomers`).
   */
  static async begin(tx: StoreTx, customersMax: number): Promise<HotState | null> {
    const order = tx.c.writeOrder;
    if (order === undefined) return null;
    let hot = states.get(order.database);
    if (hot === undefined) {
      hot = new HotState(customersMax);
      states.set(order.database, hot);
    }
    // A later pass of the same transaction (`ingestFlat` takes a large group in passes): the state
    // is what the pass before left, uncommitted like the database's rows it reads beside it.
    if (hot.validAfter === order.number) return hot;
    // Checked against the database below, so first the database must hold every group on its way,
    // and another process's commit must be known of now, not only when the writer thread sends this
    // transaction's writes back as stale. Waited for before the hot state is entered: a group that
    // fails meanwhile leaves its changes in memory, which entering then empties.
    const changed = hot.checked ? await order.verify() : false;
    hot.enter(order);
    if (changed) hot.clear();
    return hot;
  }

  private enter(order: WriteOrder): void {
    // Customers whose rows a write scoped to them changed since (a grant made, a hold taken): only
    // they are read again. Any other write empties everything.
    const scoped = order.takeScopedChanges();
    if (!order.follows(this.validAfter)) this.clear();
    else if (scoped.size > 0) this.forget(scoped);
    this.validAfter = order.number;
    this.order = order;
    this.prune();
  }

  private prune(): void {
    if (this.pending.length === 0) return;
    const order = this.order!;
    this.pending = this.pending.filter((p) => !order.settled(p.number));
  }

  /** Records what this ingestion wrote, for the ingestions that begin before it is committed. */
  addPending(customers: ReadonlySet<string>, reclaimedFor: ReadonlySet<string>, records: readonly UsageEventRecord[]): void {
    if (this.order === null || records.length === 0 && customers.size === 0) return;
    const events = new Map<string, UsageEventRecord>();
    for (const r of records) events.set(r.id, r);
    this.pending.push({ number: this.order.number, customers, reclaimedFor, events });
  }

  /**
   * Whether an ingestion on its way took credits back from an expired grant of any of these
   * customers: the one thing ingestion changes of what a late event reads of expired grants.
   */
  anyPendingReclaim(customerIds: Iterable<string>): boolean {
    if (this.pending.length === 0) return false;
    for (const id of customerIds) for (const p of this.pending) if (p.reclaimedFor.has(id)) return true;
    return false;
  }

  /** Whether any ingestion's writes are on their way to the database (with no writer thread, never). */
  get hasPending(): boolean {
    return this.pending.length > 0;
  }

  /** Whether writes for this customer are on their way to the database. */
  private isPending(customerId: string): boolean {
    for (const p of this.pending) if (p.customers.has(customerId)) return true;
    return false;
  }

  /** Whether writes for any of these customers are on their way to the database. */
  anyPending(customerIds: Iterable<string>): boolean {
    if (this.pending.length === 0) return false;
    for (const id of customerIds) if (this.isPending(id)) return true;
    return false;
  }

  /** An event stored by an ingestion whose writes are on their way to the database. */
  pendingEvent(id: string): UsageEventRecord | undefined {
    for (const p of this.pending) {
      const found = p.events.get(id);
      if (found !== undefined) return found;
    }
    return undefined;
  }

  /** Waits until the writes on their way to the database are committed (or failed). */
  async settle(): Promise<void> {
    if (this.pending.length === 0 || this.order === null) return;
    await this.order.drain();
    this.prune();
  }

  clear(): void {
    this.validAfter = -1;
    this.latestExpiry = undefined;
    this.lastBatch.customers = 0;
    this.customers.clear();
    this.state.clear();
    this.totals.clear();
    this.totalsCount = 0;
    this.meters.clear();
  }

  /**
   * Lets go of what is kept of these customers: their records under every reference, their grants
   * and timelines, their running totals; and reads the latest expiry again. The next batch that
   * meets them reads them from the database and keeps them again.
   */
  forget(customerIds: ReadonlySet<string>): void {
    for (const id of customerIds) {
      this.state.delete(id);
      const totals = this.totals.get(id);
      if (totals !== undefined) {
        this.totalsCount -= totals.length;
        this.totals.delete(id);
      }
      const record = this.customers.get(id);
      if (record === undefined) continue;
      this.customers.delete(id);
      // Kept under its external id too when a batch named it so (`hotCustomers`).
      if (record.externalId !== null && this.customers.get(record.externalId) === record) this.customers.delete(record.externalId);
    }
    this.latestExpiry = undefined;
  }

  /**
   * Whether any grant expired after `sinceMs`: a step whose earliest late event is at or after the
   * latest expiry has no expired grant to read (`LedgerQueries.expiredGrantsSince`), and reads
   * none. The latest expiry is read once after the state is emptied.
   */
  async expiredAfter(tx: StoreTx, sinceMs: number): Promise<boolean> {
    if (this.latestExpiry === undefined) this.latestExpiry = await tx.ledger.latestExpiryMs();
    return this.latestExpiry !== null && this.latestExpiry > sinceMs;
  }

  get hasRoom(): boolean {
    return this.state.size < this.customersMax;
  }

  /** Whether the last batch found at least nine in ten of its customers here. */
  get mostlyKept(): boolean {
    return this.lastBatch.customers > 0 && this.lastBatch.database * 10 <= this.lastBatch.customers;
  }

  /** Counts a batch's customers by where they came from. */
  countBatch(customers: number, fromDatabase: number): void {
    this.counts.memory += customers - fromDatabase;
    this.counts.database += fromDatabase;
    this.lastBatch.customers = customers;
    this.lastBatch.database = fromDatabase;
  }

  /** Keeps what a batch read of these customers (those it had not kept), while there is room. */
  remember(customerIds: readonly string[], read: Pick<IngestReads, 'grants' | 'subscriptions' | 'phases' | 'plans'>): void {
    if (customerIds.length === 0) return;
    const own = new Map<string, HotCustomer>();
    // Each kept customer's id as the batch's customer record holds it, by the same text.
    const idOf = new Map<string, string>();
    for (const id of customerIds) {
      if (!this.hasRoom) break;
      const entry: HotCustomer = { grants: [], subscriptions: none, phases: none, plans: none };
      own.set(id, entry);
      idOf.set(id, id);
      this.state.set(id, entry);
    }
    // What a kept grant repeats of every other is shared, not held once a grant: its customer's
    // id (the key it is kept by) and its category (one of two constants). With the running
    // totals' ids and the shared empty timeline, a quarter of a kept customer's heap ("Round 34").
    for (const g of read.grants) {
      const entry = own.get(g.customerId);
      if (entry === undefined) continue;
      g.category = g.category === 'paid' ? 'paid' : 'promotional';
      g.customerId = idOf.get(g.customerId)!;
      entry.grants.push(g);
    }
    const ownerOf = new Map<string, HotCustomer>();
    for (const s of read.subscriptions) {
      const entry = own.get(s.customerId);
      if (entry === undefined) continue;
      entry.subscriptions = [...entry.subscriptions, s];
      ownerOf.set(s.id, entry);
    }
    for (const p of read.phases) {
      const entry = ownerOf.get(p.subscriptionId);
      if (entry === undefined) continue;
      entry.phases = [...entry.phases, p];
      const plan = read.plans.get(p.planId);
      if (plan !== undefined && !entry.plans.includes(plan)) entry.plans = [...entry.plans, plan];
    }
  }

  /** `TALLY_CHECK_HOT_STATE=1`: what was kept against what the database holds, by key. */
  check<T>(what: string, kept: ReadonlyMap<string, T>, stored: ReadonlyMap<string, T>): void {
    for (const [key, value] of kept) {
      if (text(value) !== text(stored.get(key))) differs(what, key, value, stored.get(key));
    }
  }

  /** The same for a batch's reads: grants (expired ones included), subscription timelines and meters. */
  checkReads(merged: IngestReads, stored: IngestReads): void {
    const byId = <T extends { id: string }>(list: readonly T[]) => new Map(list.map((x) => [x.id, x]));
    const same = <T extends { id: string }>(what: string, kept: readonly T[], read: readonly T[]) => {
      if (kept.length !== read.length) differs(what, 'count', kept.length, read.length);
      this.check(what, byId(kept), byId(read));
    };
    same('grants', merged.grants, stored.grants);
    same('expired grants', merged.expiredGrants, stored.expiredGrants);
    same('subscriptions', merged.subscriptions, stored.subscriptions);
    same('subscription phases', merged.phases, stored.phases);
    same('meters', merged.meters, stored.meters);
    this.check('plans', new Map([...stored.plans.keys()].map((id) => [id, merged.plans.get(id)])), stored.plans);
  }

  /** Keeps the meters of an event type; when full, the types start again. */
  rememberMeters(type: string, meters: MeterRecord[]): void {
    if (this.meters.size >= hotEventTypesMax) this.meters.clear();
    this.meters.set(type, meters);
  }

  /** The running total of this key kept here, if any. */
  total(key: MeterTotalKey): MeterTotal | undefined {
    const own = this.totals.get(key.customerId);
    if (own === undefined) return undefined;
    for (const total of own) if (total.meterId === key.meterId && total.periodStartMs === key.periodStartMs) return total;
    return undefined;
  }

  /** How many running totals are kept. */
  get totalsKept(): number {
    return this.totalsCount;
  }

  /** Keeps a running total as a batch saved it; when full, the totals start again (earlier periods' are never read). */
  rememberTotal(total: MeterTotal): void {
    let own = this.totals.get(total.customerId);
    if (own !== undefined) {
      for (let i = 0; i < own.length; i++) {
        const kept = own[i]!;
        if (kept.meterId === total.meterId && kept.periodStartMs === total.periodStartMs) {
          own[i] = total;
          return;
        }
      }
    }
    if (this.totalsCount >= this.totalsMax) {
      this.totals.clear();
      this.totalsCount = 0;
      if (this.totalsMax === 0) return;
      own = undefined;
    }
    if (own === undefined) {
      own = [];
      this.totals.set(total.customerId, own);
    }
    own.push(total);
    this.totalsCount++;
  }
}

const states = new WeakMap<object, HotState>();

/**
 * How many times a batch's customer came from the hot state of this database (`Store.db`), and
 * how many times from the database: a server's metric (`tally_ingest_customer_reads_total`).
 */
export function hotStateCounts(database: object): { memory: number; database: number } {
  const counts = hotStateOf(database)?.counts;
  return counts === undefined ? { memory: 0, database: 0 } : { ...counts };
}

/** The hot state kept beside this database, if a batch made one. */
export function hotStateOf(database: object): HotState | undefined {
  return states.get(database);
}

/** A record as text, for comparing: both sides come from the same row mapping, so their keys are in one order. */
function text(value: unknown): string | undefined {
  return JSON.stringify(value, (_, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v instanceof Map ? [...v] : v));
}

function differs(what: string, key: string, kept: unknown, stored: unknown): never {
  throw new Error(`Ingestion's hot state differs from the database in ${what} (${key}): kept ${text(kept)}, stored ${text(stored)}.`);
}
