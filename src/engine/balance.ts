import { summarizeBalance, type Balance } from '../core/balance.ts';
import { accounts } from '../core/ledger.ts';
import { notFound, ok, type Outcome } from '../core/errors.ts';
import type { CustomerRecord } from '../store/records.ts';
import type { StoreTx } from '../store/store.ts';
import { customerNow, type Engine } from './context.ts';

/** The balance of one customer as of `nowMs`: O(active grants + accounts), never a scan of entries. */
export async function balanceOf(tx: StoreTx, customer: CustomerRecord, nowMs: number): Promise<Balance> {
  const [grants, balances] = await Promise.all([tx.grants.activeFor([customer.id]), tx.ledger.balances(customer.id)]);
  let heldMicro = 0n;
  for (const [code, amount] of balances) if (code.startsWith('hold:')) heldMicro += amount;
  return summarizeBalance(
    grants.map((g, i) => ({ ...g, creationSeq: i })),
    { overageMicro: -(balances.get(accounts.overage) ?? 0n), debtMicro: -(balances.get(accounts.debt) ?? 0n), heldMicro },
    nowMs,
  );
}

export interface CustomerBalance {
  customer: CustomerRecord;
  balance: Balance;
  nowMs: number;
}

/**
 * The balance of one customer now, its grants and accounts read in one snapshot: a hold committed
 * between two separate reads would show its credits both still on their grant and held, or on
 * neither.
 */
export async function getBalance(engine: Engine, ref: string): Promise<Outcome<CustomerBalance>> {
  return engine.store.readsInOneSnapshot((tx) => getBalanceIn(engine, tx, ref));
}

/** `getBalance` in the caller's snapshot, for a reply that reads more beside it. */
export async function getBalanceIn(engine: Engine, tx: StoreTx, ref: string): Promise<Outcome<CustomerBalance>> {
  const customer = await tx.customers.find(ref);
  if (!customer) return notFound('customer', ref);
  const nowMs = await customerNow(engine, tx, customer);
  return ok({ customer, balance: await balanceOf(tx, customer, nowMs), nowMs });
}
