import type { SqlConnection, SqlDatabase, SqlValue } from './sql.ts';
import { CustomerQueries } from './queries/customers.ts';
import { GrantQueries } from './queries/grants.ts';
import { LedgerQueries } from './queries/ledger.ts';
import { UsageQueries } from './queries/usage.ts';
import { AccessQueries } from './queries/access.ts';
import { BillingQueries } from './queries/billing.ts';
import { ReturnQueries } from './queries/returns.ts';
import { StripeQueries } from './queries/stripe.ts';
import { migrate } from './migrations.ts';

export { totalKey, uniqueKey, type MeterTotal, type MeterTotalKey, type UniqueValueKey } from './queries/usage.ts';
import { ReportQueries } from './queries/reports.ts';
import { ReconciliationQueries } from './queries/reconciliation.ts';
import { CreditNoteQueries } from './queries/credit-notes.ts';
import { WebhookQueries } from './queries/webhooks.ts';
import { DunningQueries } from './queries/dunning.ts';
import { PromotionQueries } from './queries/promotions.ts';
import { ReferralQueries } from './queries/referrals.ts';

/**
 * The storage the engine needs, in domain terms. One implementation serves SQLite and PostgreSQL:
 * the adapters differ only in how they execute SQL (`SqlDatabase`) and in row locking, which is a
 * no-op on SQLite because its transactions are serialized.
 */
export class StoreTx {
  readonly customers: CustomerQueries;
  readonly grants: GrantQueries;
  readonly ledger: LedgerQueries;
  readonly usage: UsageQueries;
  readonly access: AccessQueries;
  readonly billing: BillingQueries;
  readonly returns: ReturnQueries;
  readonly reports: ReportQueries;
  readonly reconciliation: ReconciliationQueries;
  readonly creditNotes: CreditNoteQueries;
  readonly stripe: StripeQueries;
  readonly webhooks: WebhookQueries;
  readonly dunning: DunningQueries;
  readonly promotions: PromotionQueries;
  readonly referrals: ReferralQueries;

  constructor(readonly c: SqlConnection) {
    this.customers = new CustomerQueries(c);
    this.grants = new GrantQueries(c);
    this.ledger = new LedgerQueries(c);
    this.usage = new UsageQueries(c);
    this.access = new AccessQueries(c);
    this.billing = new BillingQueries(c);
    this.returns = new ReturnQueries(c);
    this.reports = new ReportQueries(c);
    this.reconciliation = new ReconciliationQueries(c);
    this.creditNotes = new CreditNoteQueries(c);
    this.stripe = new StripeQueries(c);
    this.webhooks = new WebhookQueries(c);
    this.dunning = new DunningQueries(c);
    this.promotions = new PromotionQueries(c);
    this.referrals = new ReferralQueries(c);
  }

  /**
   * Serializes writers per customer on PostgreSQL. Ids are sorted so that two transactions always
   * lock in the same order and cannot deadlock each other.
   */
  async lockCustomers(customerIds: Iterable<string>): Promise<void> {
    if (this.c.dialect !== 'postgres') return;
    const ids = [...new Set(customerIds)].sort();
    if (ids.length === 0) return;
    const params: SqlValue[] = ids;
    await this.c.query(`SELECT id FROM customers WHERE id IN (${ids.map(() => '?').join(',')}) ORDER BY id FOR UPDATE`, params);
  }
}

export class Store {
  constructor(readonly db: SqlDatabase) {}

  get dialect(): SqlDatabase['dialect'] {
    return this.db.dialect;
  }

  /** One database transaction: everything `fn` writes commits together or not at all. */
  transaction<T>(fn: (tx: StoreTx) => Promise<T>): Promise<T> {
    return this.db.transaction((c) => fn(new StoreTx(c)));
  }

  /**
   * Long read-only checks (reconciliation, the ledger check): one consistent snapshot, read off
   * the request thread (see `SqlDatabase.snapshot`).
   */
  snapshot<T>(fn: (tx: StoreTx) => Promise<T>): Promise<T> {
    return this.db.snapshot((c) => fn(new StoreTx(c)));
  }

  /**
   * Many short snapshots one after another (see `SqlDatabase.snapshots`): a check split into
   * slices reads each slice through `snapshot`, so no single snapshot lasts the whole check.
   */
  snapshots<T>(fn: (snapshot: <U>(read: (tx: StoreTx) => Promise<U>) => Promise<U>) => Promise<T>): Promise<T> {
    return this.db.snapshots((snapshot) => fn((read) => snapshot((c) => read(new StoreTx(c)))));
  }

  /** Reads outside a transaction (each statement sees committed data). */
  get read(): StoreTx {
    return new StoreTx(this.db);
  }

  close(): Promise<void> {
    return this.db.close();
  }
}

/** The store over an open database, with its schema brought up to date. */
export async function openStore(db: SqlDatabase, nowMs: number): Promise<Store> {
  await migrate(db, nowMs);
  return new Store(db);
}
