import { invariant } from './errors.ts';

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
