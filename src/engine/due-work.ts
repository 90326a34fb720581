import type { Engine } from './context.ts';
import { Changes } from './context.ts';
import { closeGrant, settleDebt } from './grants.ts';
import { expireHold } from './holds.ts';
import { balanceOf } from './balance.ts';
import { refreshSignals } from './funding.ts';
import type { StoreTx } from '../store/store.ts';

/**
 * Work that falls due with time: grant expiries and hold expiries (renewals join them with plans).
 * Each kind of work lists what is due on one clock up to a time, and runs one item in its own
 * store transaction. Running an item twice does nothing the second time.
 */
export interface DueItem {
  kind: string;
  id: string;
  customerId: string;
  dueAtMs: number;
}

export interface DueWorkKind {
  kind: string;
  due(tx: StoreTx, testClockId: string | null, upToMs: number, limit: number): Promise<DueItem[]>;
  run(engine: Engine, tx: StoreTx, item: DueItem): Promise<void>;
}

export const grantExpiry: DueWorkKind = {
  kind: 'grant_expiry',
  async due(tx, clock, upTo, limit) {
    return (await tx.grants.dueExpiries(clock, upTo, limit)).map((d) => ({ ...d, kind: 'grant_expiry' }));
  },
  async run(engine, tx, item) {
    await tx.lockCustomers([item.customerId]);
    const grant = await tx.grants.get(item.id);
    if (!grant || grant.status !== 'active') return;
    const changes = new Changes(engine);
    await closeGrant(tx, changes, grant, 'expired', item.dueAtMs, null);
    await changes.flush(tx);
    const customer = (await tx.customers.find(item.customerId))!;
    await refreshSignals(tx, changes, customer, (await balanceOf(tx, customer, item.dueAtMs)).availableMicro, item.dueAtMs);
    await changes.flush(tx);
  },
};

export const holdExpiry: DueWorkKind = {
  kind: 'hold_expiry',
  async due(tx, clock, upTo, limit) {
    return (await tx.grants.dueHolds(clock, upTo, limit)).map((d) => ({ ...d, kind: 'hold_expiry' }));
  },
  async run(engine, tx, item) {
    // Lock before expireHold reads the hold: a hold read first could be expired meanwhile by
    // another server's scheduler, and would then be closed and announced a second time.
    await tx.lockCustomers([item.customerId]);
    await expireHold(engine, tx, item.id, item.dueAtMs);
  },
};

/** Debt is paid down as soon as the customer holds usable credits again. */
export const debtSettlement: DueWorkKind = {
  kind: 'debt_settlement',
  async due(tx, clock, upTo, limit) {
    return (await tx.grants.dueDebtSettlements(clock, upTo, limit)).map((d) => ({ ...d, kind: 'debt_settlement' }));
  },
  async run(engine, tx, item) {
    await settleDebt(engine, tx, item.customerId, item.dueAtMs);
  },
};

export const dueWorkKinds: DueWorkKind[] = [holdExpiry, grantExpiry];

/**
 * Runs everything due on one clock up to `upToMs`, in time order across kinds (ties: the order of
 * `kinds`). `beforeEach` lets a test clock move its frozen time to each item's instant first.
 */
export async function runDue(
  engine: Engine,
  testClockId: string | null,
  upToMs: number,
  options: { kinds?: DueWorkKind[]; beforeEach?: (tx: StoreTx, item: DueItem) => Promise<void>; batch?: number } = {},
): Promise<number> {
  const kinds = options.kinds ?? dueWorkKinds;
  const batch = options.batch ?? 200;
  let done = 0;
  for (;;) {
    const lists = await Promise.all(kinds.map((k) => k.due(engine.store.read, testClockId, upToMs, batch)));
    const items = lists.flatMap((list, i) => list.map((item) => ({ item, order: i })));
    if (items.length === 0) return done;
    items.sort((a, b) => a.item.dueAtMs - b.item.dueAtMs || a.order - b.order);
    let horizon = Math.min(...lists.filter((l) => l.length === batch).map((l) => l[l.length - 1]!.dueAtMs), Infinity);
    // An item may schedule more work later than itself but earlier than what is already listed (a
    // renewal's invoice falls past due, a dunning retry schedules the next). A test clock only
    // moves forward, so it runs one instant per pass and lists again; the real clock is past all
    // of it already.
    if (testClockId !== null) horizon = Math.min(horizon, items[0]!.item.dueAtMs);
    for (const { item, order } of items) {
      if (item.dueAtMs > horizon) break;
      await engine.store.transaction(async (tx) => {
        if (options.beforeEach) await options.beforeEach(tx, item);
        await kinds[order]!.run(engine, tx, item);
      });
      done++;
    }
  }
}
