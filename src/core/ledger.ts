import { invariant } from './errors.ts';
import { formatCredits } from './decimal.ts';

/**
 * The ledger's vocabulary. Every change of credits is one `LedgerTransaction`: two or more
 * entries on named accounts that sum to zero, with the cause that produced it. Accounts belong to
 * one customer; the "system" accounts (`issued:<source>`, `consumed:<meter>`, `expired`,
 * `revoked`) are kept per customer too, so no row is shared between customers and every write
 * can be sharded by customer. Their global balance is the sum over customers.
 *
 * Sign convention: a customer-side account (a grant, a hold) holds a positive balance of credits
 * the customer has; `overage` and `debt` go negative as the customer consumes beyond its grants;
 * system accounts carry the opposite side.
 */
export const accounts = {
  grant: (grantId: string) => `grant:${grantId}`,
  hold: (holdId: string) => `hold:${holdId}`,
  issued: (source: string) => `issued:${source}`,
  consumed: (meterCode: string) => `consumed:${meterCode}`,
  overage: 'overage',
  debt: 'debt',
  expired: 'expired',
  revoked: 'revoked',
  invoicedOverage: 'invoiced:overage',
} as const;

export type TransactionKind =
  | 'grant'
  | 'usage'
  | 'void'
  | 'expiry'
  | 'hold'
  | 'hold_capture'
  | 'hold_release'
  | 'debt_paydown'
  | 'revoke'
  | 'restore'
  | 'rollover'
  | 'overage_invoiced'
  | 'overage_settlement'
  | 'writeoff';

export interface LedgerEntry {
  account: string;
  amountMicro: bigint;
}

export interface Cause {
  type: string;
  id: string;
}

export interface LedgerTransaction {
  id: string;
  customerId: string;
  kind: TransactionKind;
  cause: Cause;
  /** Further ids a reader may want to walk to (invoice, line, period…). */
  refs: Record<string, string>;
  effectiveAtMs: number;
  entries: LedgerEntry[];
  /**
   * A usage charge written as its event's row rather than into the ledger's tables
   * (src/store/queries/event-postings.ts): the store writes its balances and totals as for any
   * transaction, and its entries with the event.
   */
  onEventRow?: true;
}

export function sumEntries(entries: readonly LedgerEntry[]): bigint {
  let total = 0n;
  for (const entry of entries) total += entry.amountMicro;
  return total;
}

/** Drops zero entries and merges entries on the same account, keeping first-seen order. */
export function compactEntries(entries: readonly LedgerEntry[]): LedgerEntry[] {
  const byAccount = new Map<string, bigint>();
  for (const entry of entries) byAccount.set(entry.account, (byAccount.get(entry.account) ?? 0n) + entry.amountMicro);
  const out: LedgerEntry[] = [];
  for (const [account, amountMicro] of byAccount) if (amountMicro !== 0n) out.push({ account, amountMicro });
  return out;
}

/** Checked before every write: a transaction must balance and move something. */
export function assertBalanced(txn: LedgerTransaction): void {
  invariant(txn.entries.length >= 2, `transaction ${txn.id} has ${txn.entries.length} entries; at least 2 are needed`);
  invariant(sumEntries(txn.entries) === 0n, `transaction ${txn.id} does not sum to zero`);
}

export function isGrantAccount(account: string): boolean {
  return account.startsWith('grant:');
}

/**
 * The most any one ledger account may hold either side of zero, in micro-credits: 9 × 10^12
 * credits (`limits.accountBalanceMaxMicro` quotes it). Below 2^63 − 1 by 0.22 × 10^18, so a
 * balance, and every sum of one account's entries, fits a signed 64-bit column.
 */
export const accountBalanceMaxMicro = 9n * 10n ** 18n;

/** The name of the database's CHECK of that bound on `accounts.balance` (migration 69). */
export const accountBalanceBoundConstraint = 'accounts_balance_bound';

/**
 * The kind of an account, as a refusal names it: the part before its id (`grant`, `hold`,
 * `issued`, `consumed`), else its whole name (`overage`, `debt`, `expired`, `revoked`,
 * `invoiced:overage`).
 */
export function accountKind(account: string): string {
  if (account === accounts.invoicedOverage) return account;
  const colon = account.indexOf(':');
  return colon === -1 ? account : account.slice(0, colon);
}

/**
 * The customer's `issued:<source>` accounts together, as a refusal names them: the credits issued
 * to one customer, every source together, are bounded as one account is (`checkIssuedBound` in
 * src/engine/grants.ts).
 */
export const issuedAll = 'issued:*';

/** The account a refused posting would have taken out of range, as it stood before it. */
export interface AccountOutOfRange {
  customerId: string;
  account: string;
  balanceMicro: bigint;
  changeMicro: bigint;
}

/**
 * A posting would take a ledger account beyond the bound every balance keeps
 * (`limits.accountBalanceMaxMicro`, checked by the database: migration 69). The store refuses the
 * whole transaction, so nothing of it is kept; the server answers 422 `balance_out_of_range`
 * naming the account when it could tell which one.
 */
export class BalanceOutOfRange extends Error {
  override readonly name = 'BalanceOutOfRange';

  constructor(readonly boundMicro: bigint, readonly account: AccountOutOfRange | null) {
    super(account === null
      ? `This change would take a ledger account beyond ${formatCredits(boundMicro)} credits, the most an account holds; nothing was changed.`
      : account.account === issuedAll
        ? `This grant would take the credits issued to the customer, every source together (${JSON.stringify(issuedAll)}), from ${formatCredits(-account.balanceMicro)} `
          + `to ${formatCredits(-account.balanceMicro - account.changeMicro)}, beyond ${formatCredits(boundMicro)}, the most an account holds; nothing was changed.`
        : `This change would take the customer's ${accountKind(account.account)} account ${JSON.stringify(account.account)} from ${formatCredits(account.balanceMicro)} `
        + `to ${formatCredits(account.balanceMicro + account.changeMicro)} credits, beyond ${formatCredits(boundMicro)} either side of zero, the most an account holds; nothing was changed.`);
  }

  /** The reply's `details`: amounts as decimal credits. */
  get details(): Record<string, unknown> {
    const bound = formatCredits(this.boundMicro);
    if (this.account === null) return { bound };
    const a = this.account;
    return {
      customer: a.customerId, account: a.account, kind: accountKind(a.account), bound,
      balance: formatCredits(a.balanceMicro), change: formatCredits(a.changeMicro),
    };
  }
}

/**
 * A sum a read needs passes what a signed 64-bit integer holds (SQLite's `SUM` raises "integer
 * overflow" where PostgreSQL would widen to `numeric`). The server answers 422 `sum_out_of_range`;
 * the caller asks for less (a shorter window, one customer).
 */
export class SumOutOfRange extends Error {
  override readonly name = 'SumOutOfRange';

  constructor() {
    super('A sum this request needs passes 2^63 - 1, the largest integer the database adds; nothing was changed.');
  }
}

/**
 * Whether a database error is a balance refused by migration 69's CHECK (`balance`), or an
 * integer past 64 bits (`overflow`: PostgreSQL's SQLSTATE 22003 on a bigint, SQLite's "integer
 * overflow" from `SUM`); null for any other error. Read from
 * the message too: an error from SQLite's writer thread comes back as its message and code.
 */
export function outOfRange(error: unknown): 'balance' | 'overflow' | null {
  if (!(error instanceof Error)) return null;
  const e = error as Error & { code?: unknown; constraint?: unknown };
  if (e.constraint === accountBalanceBoundConstraint || e.message.includes(`CHECK constraint failed: ${accountBalanceBoundConstraint}`)) return 'balance';
  if (e.code === '22003' || e.message === 'integer overflow') return 'overflow';
  return null;
}
