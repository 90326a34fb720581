import type { SqlConnection, SqlDatabase, SqlValue, TransactionOptions } from './sql.ts';
import { CustomerQueries } from './queries/customers.ts';
import { GrantQueries } from './queries/grants.ts';
import { LedgerQueries } from './queries/ledger.ts';
import { UsageQueries } from './queries/usage.ts';
import { IngestReadQueries } from './queries/ingest-reads.ts';
import { AccessQueries } from './queries/access.ts';
import { BillingQueries } from './queries/billing.ts';
import { ReturnQueries } from './queries/returns.ts';
import { StripeQueries } from './queries/stripe.ts';
import { migrate } from './migrations.ts';
import { accountBalanceMaxMicro, BalanceOutOfRange, outOfRange, SumOutOfRange, type AccountOutOfRange } from '../core/ledger.ts';

export { totalKey, uniqueKey, type MeterTotal, type MeterTotalKey, type UniqueValueKey } from './queries/usage.ts';
import { ReportQueries } from './queries/reports.ts';
import { ReconciliationQueries } from './queries/reconciliation.ts';
import { CreditNoteQueries } from './queries/credit-notes.ts';
import { WebhookQueries } from './queries/webhooks.ts';
import { DunningQueries } from './queries/dunning.ts';
import { PromotionQueries } from './queries/promotions.ts';
import { ReferralQueries } from './queries/referrals.ts';

/**
 * Customers a transaction may lock only later, through a referral of the customers it names, taken
 * with them in the one sorted lock (`StoreTx.lockCustomers`). Read before the lock, so a referral
 * made in between is not among them: its reward then locks its referrer late, and the rare
 * deadlock that can make is retried (docs/ARCHITECTURE.md, PostgreSQL).
 */
export interface CustomerLockExtras {
  /**
   * The referrer of each customer's pending referral: a payment that settles an invoice of the
   * customer rewards it, with a grant to the referrer (`rewardReferral`).
   */
  pendingReferrers?: boolean;
  /**
   * The referrer of the referral this invoice rewarded: a refund or a lost chargeback on it claws
   * the reward back (`clawBackReferral`).
   */
  referrerRewardedBy?: string | null;
}

/**
 * The storage the engine needs, in domain terms. One implementation serves SQLite and PostgreSQL:
 * the adapters differ only in how they execute SQL (`SqlDatabase`) and in row locking, which is a
 * no-op on SQLite because its transactions are serialized.
 */
export class StoreTx {
  // Each group of queries is made on first use: a read that touches two of them (an
  // authorization, a balance) does not build all fifteen.
  private customersQueries?: CustomerQueries;
  private grantsQueries?: GrantQueries;
  private ledgerQueries?: LedgerQueries;
  private usageQueries?: UsageQueries;
  private accessQueries?: AccessQueries;
  private billingQueries?: BillingQueries;
  private returnsQueries?: ReturnQueries;
  private reportsQueries?: ReportQueries;
  private reconciliationQueries?: ReconciliationQueries;
  private creditNotesQueries?: CreditNoteQueries;
  private stripeQueries?: StripeQueries;
  private webhooksQueries?: WebhookQueries;
  private dunningQueries?: DunningQueries;
  private promotionsQueries?: PromotionQueries;
  private referralsQueries?: ReferralQueries;
  private ingestReadQueries?: IngestReadQueries;

  constructor(readonly c: SqlConnection) {}

  get customers(): CustomerQueries {
    return (this.customersQueries ??= new CustomerQueries(this.c));
  }

  get grants(): GrantQueries {
    return (this.grantsQueries ??= new GrantQueries(this.c));
  }

  get ledger(): LedgerQueries {
    return (this.ledgerQueries ??= new LedgerQueries(this.c));
  }

  /** See `LedgerQueries.accountOutOfRange`: null when this transaction posted nothing. */
  postedOutOfRange(reader: SqlConnection): Promise<AccountOutOfRange | null> {
    return this.ledgerQueries === undefined ? Promise.resolve(null) : this.ledgerQueries.accountOutOfRange(reader);
  }

  get usage(): UsageQueries {
    return (this.usageQueries ??= new UsageQueries(this.c));
  }

  get ingestReads(): IngestReadQueries {
    return (this.ingestReadQueries ??= new IngestReadQueries(this.c, this.usage, this.billing, this.ledger));
  }

  get access(): AccessQueries {
    return (this.accessQueries ??= new AccessQueries(this.c));
  }

  get billing(): BillingQueries {
    return (this.billingQueries ??= new BillingQueries(this.c));
  }

  get returns(): ReturnQueries {
    return (this.returnsQueries ??= new ReturnQueries(this.c));
  }

  get reports(): ReportQueries {
    return (this.reportsQueries ??= new ReportQueries(this.c));
  }

  get reconciliation(): ReconciliationQueries {
    return (this.reconciliationQueries ??= new ReconciliationQueries(this.c));
  }

  get creditNotes(): CreditNoteQueries {
    return (this.creditNotesQueries ??= new CreditNoteQueries(this.c));
  }

  get stripe(): StripeQueries {
    return (this.stripeQueries ??= new StripeQueries(this.c));
  }

  get webhooks(): WebhookQueries {
    return (this.webhooksQueries ??= new WebhookQueries(this.c));
  }

  get dunning(): DunningQueries {
    return (this.dunningQueries ??= new DunningQueries(this.c));
  }

  get promotions(): PromotionQueries {
    return (this.promotionsQueries ??= new PromotionQueries(this.c));
  }

  get referrals(): ReferralQueries {
    return (this.referralsQueries ??= new ReferralQueries(this.c));
  }

  /**
   * Declares, before the transaction's first write, that it changes what ingestion keeps in memory
   * only for these customers (`WriteOrder.scopeTo`): ingestion then forgets those customers alone
   * instead of everything it kept. Only for a transaction whose every write is to these customers'
   * rows (their grants and balances, their row, their running totals), never to meters or plans.
   * A no-op on PostgreSQL, which keeps nothing between transactions.
   */
  scopeWritesTo(customerIds: Iterable<string>): void {
    this.c.writeOrder?.scopeTo(customerIds);
  }

  /**
   * Adds customers to the scope the transaction declared (`scopeWritesTo`); nothing when it declared
   * none (`WriteOrder.widenScope`). For a step that may write another customer's rows inside a
   * scoped use case.
   */
  widenWriteScope(customerIds: Iterable<string>): void {
    this.c.writeOrder?.widenScope(customerIds);
  }

  /**
   * Serializes writers per customer on PostgreSQL. Ids are sorted so that two transactions always
   * lock in the same order and cannot deadlock each other. A transaction takes every customer it
   * may lock in one call: one locked later, after others, can sort before them, and two servers
   * then wait for each other (`also` names the customers a use case reaches only through a referral).
   */
  async lockCustomers(customerIds: Iterable<string>, also: CustomerLockExtras = {}): Promise<void> {
    if (this.c.dialect !== 'postgres') return;
    const wanted = new Set(customerIds);
    if (wanted.size === 0) return;
    if (also.pendingReferrers) for (const id of await this.referrals.pendingReferrersOf([...wanted])) wanted.add(id);
    if (also.referrerRewardedBy) {
      const rewarded = await this.referrals.forInvoice(also.referrerRewardedBy);
      if (rewarded) wanted.add(rewarded.referrerId);
    }
    const ids = [...wanted].sort();
    const params: SqlValue[] = ids;
    await this.c.query(`SELECT id FROM customers WHERE id IN (${ids.map(() => '?').join(',')}) ORDER BY id FOR UPDATE`, params);
  }
}

/** Reads one short snapshot of the store, ended before it returns (see `Store.snapshots`). */
export type StoreSnapshot = <T>(read: (tx: StoreTx) => Promise<T>) => Promise<T>;

export class Store {
  constructor(readonly db: SqlDatabase) {}

  get dialect(): SqlDatabase['dialect'] {
    return this.db.dialect;
  }

  /** See `SqlDatabase.pipelinesCommits`. */
  get pipelinesCommits(): boolean {
    return this.db.pipelinesCommits === true;
  }

  /** See `SqlDatabase.writesOffThread`. */
  get writesOffThread(): boolean {
    return this.db.writesOffThread === true;
  }

  /** See `SqlDatabase.parkWriter`. */
  async parkWriter(): Promise<void> {
    await this.db.parkWriter?.();
  }

  /**
   * One database transaction: everything `fn` writes commits together or not at all. A posting the
   * database refused for a balance beyond the bound (migration 69) or a 64-bit overflow fails as
   * `BalanceOutOfRange`, naming the account its postings would have taken out of range (read after
   * the rollback), or as `SumOutOfRange` when the overflow was a sum, not a balance.
   */
  async transaction<T>(fn: (tx: StoreTx) => Promise<T>, options?: TransactionOptions): Promise<T> {
    let last: StoreTx | null = null;
    try {
      return await this.db.transaction((c) => fn(last = new StoreTx(c)), options);
    } catch (error) {
      const kind = outOfRange(error);
      if (kind === null || error instanceof BalanceOutOfRange) throw error;
      const account = last === null ? null : await (last as StoreTx).postedOutOfRange(this.db);
      if (account !== null || kind === 'balance') throw new BalanceOutOfRange(accountBalanceMaxMicro, account);
      throw new SumOutOfRange();
    }
  }

  /**
   * Several short reads that belong together (an authorization): on SQLite one snapshot and one
   * read lock for all of them; on PostgreSQL single statements (see `SqlDatabase.reads`). Reads
   * whose answers must agree take `readsInOneSnapshot`. `fn` must only read.
   */
  reads<T>(fn: (tx: StoreTx) => Promise<T>): Promise<T> {
    return this.db.reads((c) => fn(new StoreTx(c)));
  }

  /**
   * A few short reads whose answers must agree (a list and the rows it embeds): one snapshot on
   * either database. On SQLite that is `reads` (one read transaction); on PostgreSQL, where
   * `reads` runs single statements, a REPEATABLE READ, READ ONLY transaction (`snapshot`), so a
   * commit between two of the reads cannot show half of itself. `fn` must only read.
   */
  readsInOneSnapshot<T>(fn: (tx: StoreTx) => Promise<T>): Promise<T> {
    return this.db.dialect === 'sqlite' ? this.reads(fn) : this.snapshot(fn);
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
  snapshots<T>(fn: (snapshot: StoreSnapshot) => Promise<T>): Promise<T> {
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
