import type { CustomerLockExtras, Store, StoreTx } from '../store/store.ts';
import type { CustomerRecord, DomainEventRecord } from '../store/records.ts';
import type { LedgerTransaction } from '../core/ledger.ts';
import type { Clock } from './clock.ts';
import type { IdGenerator } from './ids.ts';
import { fitsIdTime, usageIdTime } from '../core/id-time.ts';
import { hotCustomersDefault } from './hot-state.ts';

export interface EngineSettings {
  /** Usage timestamps further ahead of the customer's clock are refused. */
  futureToleranceMs: number;
  /** Usage timestamps older than this are refused. */
  pastToleranceMs: number;
  /**
   * Credits bought by an invoice still unpaid this long after its due date are frozen until it is
   * paid (PRODUCT §14). null: never frozen.
   */
  unpaidGraceMs: number | null;
  /** Dunning: the waits before each retry of a past-due invoice, in days, each after the previous. */
  dunningRetryDays: number[];
  /** After the last retry failed: mark the invoice uncollectible, or also cancel its subscription. */
  dunningFinalAction: 'mark_uncollectible' | 'cancel_subscription';
  /**
   * Who makes a dunning retry: `none` (nothing can be charged, so a retry fails at once) or
   * `provider` (a payment provider is asked through the `invoice.payment_retry` event, and its
   * outcome comes back through recordPaymentAttempt).
   */
  collection: 'none' | 'provider';
  /**
   * SQLite: the most customers whose grants and subscription timeline ingestion keeps in memory
   * between batches (engine/hot-state.ts); a batch reads the others from the database. 0 keeps none.
   */
  hotCustomers: number;
}

const dayMs = 24 * 60 * 60 * 1000;

export const defaultSettings: EngineSettings = {
  futureToleranceMs: 5 * 60 * 1000,
  pastToleranceMs: 35 * dayMs,
  unpaidGraceMs: 7 * dayMs,
  dunningRetryDays: [1, 3, 5, 7],
  dunningFinalAction: 'mark_uncollectible',
  collection: 'none',
  hotCustomers: hotCustomersDefault,
};

/** What every use case receives: storage, the clock and the id source. No globals. */
export interface Engine {
  store: Store;
  clock: Clock;
  ids: IdGenerator;
  settings: EngineSettings;
}

/** The customer's "now": its test clock's frozen time, or the real clock. */
export async function customerNow(engine: Engine, tx: StoreTx, customer: CustomerRecord): Promise<number> {
  if (customer.testClockId === null) return engine.clock.now();
  const clock = await tx.customers.getClock(customer.testClockId);
  return clock ? clock.frozenTimeMs : engine.clock.now();
}

/** The same, for many customers with one query. */
export async function customerNows(engine: Engine, tx: StoreTx, customers: Iterable<CustomerRecord>): Promise<Map<string, number>> {
  const list = [...customers];
  const clockIds = [...new Set(list.map((c) => c.testClockId).filter((id): id is string => id !== null))];
  const clocks = clockIds.length ? await tx.customers.getClocks(clockIds) : new Map();
  const now = engine.clock.now();
  return new Map(list.map((c) => [c.id, c.testClockId ? (clocks.get(c.testClockId)?.frozenTimeMs ?? now) : now]));
}

/**
 * The ledger transactions and domain events one use case produces, written together at the end
 * of its store transaction.
 */
export class Changes {
  readonly txns: LedgerTransaction[] = [];
  readonly events: DomainEventRecord[] = [];

  constructor(private readonly engine: Engine) {}

  txn(t: Omit<LedgerTransaction, 'id'> & { id?: string }): LedgerTransaction {
    return this.add({ ...t, id: t.id ?? this.txnId() });
  }

  /**
   * `txn` for a transaction its caller builds whole, with `id` last as `txn` puts it (from
   * `txnId`): one object per transaction instead of two, for ingestion's one per event.
   */
  add(full: LedgerTransaction): LedgerTransaction {
    this.txns.push(full);
    return full;
  }

  txnId(): string {
    return this.engine.ids.next('txn');
  }

  /**
   * A usage charge's transaction id: its time part is the minute of the event's timestamp
   * (`atMs`, `usageIdTime`) where that fits an id, the clock's otherwise. The store then finds the
   * charges of a time window through the customer's id index instead of indexing them by time as
   * well (migration 56).
   */
  usageTxnId(atMs: number): string {
    return fitsIdTime(atMs) ? this.engine.ids.at('txn', usageIdTime(atMs)) : this.engine.ids.next('txn');
  }

  event(type: string, customerId: string | null, payload: Record<string, unknown>, atMs: number): DomainEventRecord {
    const record: DomainEventRecord = { id: this.engine.ids.next('evt'), customerId, type, payload, createdAtMs: atMs };
    this.events.push(record);
    return record;
  }

  async flush(tx: StoreTx): Promise<void> {
    await tx.ledger.post(this.txns, this.engine.clock.now());
    await tx.ledger.insertDomainEvents(this.events);
    this.txns.length = 0;
    this.events.length = 0;
  }
}

/**
 * Reads a record, locks its customer (with the customers `also` names, in one sorted lock), and
 * reads it again under the lock, so what the use case decides on cannot change before it commits
 * (PostgreSQL; SQLite transactions are serial anyway).
 */
export async function readLocked<T extends { customerId: string }>(tx: StoreTx, read: () => Promise<T | null>, also?: CustomerLockExtras): Promise<T | null> {
  const found = await read();
  if (!found) return null;
  await tx.lockCustomers([found.customerId], also);
  return tx.c.dialect === 'postgres' ? read() : found;
}

/**
 * Finds a customer by id or external id, locks it (with the customers `also` names, in one sorted
 * lock), and on PostgreSQL reads it again under the lock: another server may have changed the row
 * (its balance signals, auto top-up armed or not, overage) while this transaction waited, and a
 * use case that decides on the customer or writes its row back must see that change, not undo it
 * (a top-up disarmed by a purchase armed again buys a second pack for one crossing).
 */
export async function findCustomerLocked(tx: StoreTx, ref: string, also?: CustomerLockExtras): Promise<CustomerRecord | null> {
  const found = await tx.customers.find(ref);
  if (!found) return null;
  await tx.lockCustomers([found.id], also);
  return tx.c.dialect === 'postgres' ? tx.customers.find(found.id) : found;
}
