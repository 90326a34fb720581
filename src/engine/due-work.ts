import type { Engine } from './context.ts';
import { Changes } from './context.ts';
import { checkDebt, closeGrant } from './grants.ts';
import { expireHold, heldOf, heldTotal, releaseHeld } from './holds.ts';
import { balanceOf } from './balance.ts';
import { refreshSignals } from './funding.ts';
import type { StoreTx } from '../store/store.ts';
import { DueBatch, type DueItem } from './due-batch.ts';

/**
 * Work that falls due with time: grant expiries and hold expiries (renewals join them with plans).
 * Each kind of work lists what is due on one clock up to a time, and runs one item in its own
 * store transaction. Running an item twice does nothing the second time.
 */
export type { DueItem };

export interface DueWorkKind {
  kind: string;
  /** Up to `limit` items due by `upToMs`, soonest first, found by index (never a scan per item). */
  due(tx: StoreTx, testClockId: string | null, upToMs: number, limit: number): Promise<DueItem[]>;
  /** `batch` holds what the items of its store transaction read in common (read once for all of them). */
  run(engine: Engine, tx: StoreTx, item: DueItem, batch: DueBatch): Promise<void>;
  /**
   * Its items fall due at the target time itself (a top-up checks the balance once everything
   * before it has run): listed only once every other kind has nothing left before the target.
   */
  atTarget?: boolean;
  /**
   * Of what ingestion keeps in memory (engine/hot-state.ts), its run writes only its item's
   * customer's: its grants and their balances, its row, its subscriptions and their phases (a
   * referral's reward or claw-back adds the referrer, `StoreTx.widenWriteScope`). A transaction
   * whose items are all of such kinds, on the real clock, is scoped to their customers
   * (`StoreTx.scopeWritesTo`), so ingestion reads only them again instead of everything. Every
   * kind of `allDueWork` is. A test clock's advance also moves its frozen time, and is not scoped.
   */
  customerScoped?: boolean;
  /**
   * Its run may settle an invoice of its customer (one it issues, paid from the customer's
   * balance), which rewards the customer's pending referral with a grant to the referrer: its run
   * locks its customer with `pendingReferrers`, and a transaction of several items takes those
   * referrers in the up-front lock of its customers (`StoreTx.lockCustomers`).
   */
  paysInvoices?: boolean;
}

export const grantExpiry: DueWorkKind = {
  kind: 'grant_expiry',
  customerScoped: true,
  async due(tx, clock, upTo, limit) {
    return (await tx.grants.dueExpiries(clock, upTo, limit)).map((d) => ({ ...d, kind: 'grant_expiry' }));
  },
  async run(_engine, tx, item, batch) {
    await tx.lockCustomers([item.customerId]);
    // The grant as read with the other expiries of the batch: what is left of it is current, as
    // only its own expiry moves it while the batch's expiries run.
    const grant = await batch.subject(item.id, async (ids) => new Map((await tx.grants.getMany(ids)).map((g) => [g.id, g])));
    if (!grant || grant.status !== 'active') return;
    // What holds reserve of it expires with it: taken back from them first (PRODUCT §4, §5: an
    // event stamped at or after its expiry never burns it, a hold's capture included).
    const holds = await batch.activeHolds(item.customerId);
    const held = holds.length === 0 ? [] : await heldOf(tx, item.customerId, new Set([grant.id]), holds);
    const back = held.length === 0 ? 0n : (await releaseHeld(tx, batch.changes, held, heldTotal(held), grant.id, item.dueAtMs)).get(grant.id) ?? 0n;
    await closeGrant(tx, batch.changes, grant, 'expired', item.dueAtMs, null, grant.remainingMicro + back);
    grant.status = 'expired';
    batch.grantClosed(grant.id);
    const customer = (await batch.customer(item.customerId))!;
    await refreshSignals(tx, batch.changes, customer, await batch.availableOf(customer.id, item.dueAtMs), item.dueAtMs);
  },
};

export const holdExpiry: DueWorkKind = {
  kind: 'hold_expiry',
  customerScoped: true,
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

/**
 * Debt is paid down as soon as the customer holds usable credits again: its checks, asked at each
 * moment credits may become usable to it (`checkDebt` in grants.ts), listed when due.
 */
export const debtSettlement: DueWorkKind = {
  kind: 'debt_settlement',
  customerScoped: true,
  async due(tx, clock, upTo, limit) {
    return (await tx.customers.dueDebtChecks(clock, upTo, limit)).map((d) => ({ kind: 'debt_settlement', id: d.id, customerId: d.id, dueAtMs: d.dueAtMs }));
  },
  async run(engine, tx, item) {
    await checkDebt(engine, tx, item.customerId, item.dueAtMs);
  },
};

export const dueWorkKinds: DueWorkKind[] = [holdExpiry, grantExpiry];

/** Items listed per kind per round, and items run per store transaction. */
export const dueListSize = 500;
export const dueItemsPerTransaction = 100;

/** Passes in a row an item may run at one instant before it counts as stuck (`runDue`). */
export const stuckPassesMax = 50;

/**
 * Items that failed on their own, held back from later passes for a while: the real-clock
 * scheduler's (`FailureBackoff` in src/scheduler/scheduler.ts), so that one item that cannot run
 * does not take a transaction's place in every pass, or stop the work behind it, while it is
 * retried. Without one (a test clock's advance) the first failure ends the run.
 */
export interface DueHold {
  /** Whether this item is held back now. */
  holds(item: DueItem): boolean;
  /** This item failed in a transaction of its own. */
  failed(item: DueItem, error: unknown): void;
  /** These items ran (their transaction committed). */
  ran(items: readonly DueItem[]): void;
}

/**
 * Runs everything due on one clock up to `upToMs`, in time order across kinds (ties: the order of
 * `kinds`). `beforeEach` lets a test clock move its frozen time to each item's instant first.
 *
 * Work runs in bulk: each round lists what is due by index in time order, and runs it in store
 * transactions of up to `perTransaction` items (many subjects, one COMMIT), each item still
 * claimed and re-checked on its own, so the cost per item does not grow with the population. The
 * customers of a transaction are locked up front in sorted order (as ingestion does), with the
 * referrers an item's payment may reward (`paysInvoices`), so concurrent writers cannot deadlock
 * with it. Should a transaction fail, its items run again one
 * per transaction, so one bad item cannot hold back the others; one that fails on its own is
 * held back by `hold` (the scheduler's), or else ends the run with its error; so does one that
 * stays due at its instant after `stuckPassesMax` passes have run it (it would be listed for ever). Between
 * transactions the event loop gets a turn, so a long run (a test clock over a large population,
 * the scheduler after a month boundary) never starves the server's requests, and `signal` can
 * end it there (a server stopping does not wait for a month boundary's work).
 */
export async function runDue(
  engine: Engine,
  testClockId: string | null,
  upToMs: number,
  options: {
    kinds?: DueWorkKind[]; beforeEach?: (tx: StoreTx, item: DueItem) => Promise<void>; batch?: number; perTransaction?: number; hold?: DueHold;
    /** Once aborted, the run ends before its next transaction (a server stopping), with what it ran. */
    signal?: AbortSignal;
  } = {},
): Promise<number> {
  const kinds = options.kinds ?? dueWorkKinds;
  const listSize = options.batch ?? dueListSize;
  const perTransaction = Math.max(1, options.perTransaction ?? dueItemsPerTransaction);
  let done = 0;
  // The items the previous pass ran, each with how many passes in a row it has run at its instant.
  let ranLast = new Map<string, number>();
  const stopped = (): boolean => options.signal?.aborted === true;
  for (;;) {
    if (stopped()) return done;
    const timed = kinds.map((k) => (k.atTarget ? null : k));
    const lists = await Promise.all(timed.map((k) => (k ? k.due(engine.store.read, testClockId, upToMs, listSize) : Promise.resolve([]))));
    const horizon = Math.min(...lists.filter((l) => l.length === listSize).map((l) => l[l.length - 1]!.dueAtMs), Infinity);
    if (horizon === Infinity) {
      // Everything else due up to the target is in hand: now the kinds due at the target itself.
      for (let i = 0; i < kinds.length; i++) {
        if (kinds[i]!.atTarget) lists[i] = await kinds[i]!.due(engine.store.read, testClockId, upToMs, listSize);
      }
    }
    const hold = options.hold;
    const listed = lists.flatMap((list, i) => list.map((item) => ({ item, order: i }))).filter(({ item }) => hold === undefined || !hold.holds(item));
    // An item that stays due after it ran would be listed again at every pass: a test clock's
    // advance would never end, and the scheduler would spin. Past `stuckPassesMax` passes in a row
    // at one instant it fails instead, as an item that throws. (An item may rightly run again at
    // its instant, a few times: a check asked anew by the work of that instant.)
    const items = listed.filter(({ item }) => {
      if ((ranLast.get(dueKey(item)) ?? 0) < stuckPassesMax) return true;
      const error = new Error(`Due work ${item.kind} ${item.id} is still due at ${new Date(item.dueAtMs).toISOString()} after it ran ${stuckPassesMax} times.`);
      if (hold === undefined) throw error;
      hold.failed(item, error);
      return false;
    });
    const ranNow = new Map<string, number>();
    const ran = (item: DueItem) => {
      const key = dueKey(item);
      ranNow.set(key, (ranLast.get(key) ?? 0) + 1);
    };
    // With a hold, a pass that finds nothing but items held back ends the run: they wait for a
    // later run, past their backoff.
    if (items.length === 0) return done;
    items.sort((a, b) => a.item.dueAtMs - b.item.dueAtMs || a.order - b.order);
    // An item may schedule more work later than itself but earlier than what is already listed (a
    // renewal's invoice falls past due, a dunning retry schedules the next). A test clock only
    // moves forward, so it runs one instant per pass (still in bulk) and lists again; the real
    // clock is past all of it already.
    const until = testClockId !== null ? Math.min(horizon, items[0]!.item.dueAtMs) : horizon;
    const runnable = items.filter(({ item }) => item.dueAtMs <= until);
    for (let start = 0; start < runnable.length; start += perTransaction) {
      if (stopped()) return done;
      const chunk = runnable.slice(start, start + perTransaction);
      // The first item's `beforeEach`, when it ran before the customers' locks (below).
      let ranBefore: DueItem | null = null;
      const runOne = async (tx: StoreTx, batch: DueBatch, { item, order }: (typeof chunk)[number]) => {
        if (options.beforeEach && item !== ranBefore) await options.beforeEach(tx, item);
        await batch.enter(item);
        await kinds[order]!.run(engine, tx, item, batch);
      };
      const runAll = async (tx: StoreTx, entries: typeof chunk) => {
        if (options.beforeEach === undefined && entries.every(({ order }) => kinds[order]!.customerScoped === true)) {
          tx.scopeWritesTo(entries.map(({ item }) => item.customerId));
        }
        // Nothing in due work reads domain events back: the transaction's are written at its end
        // with one multi-row INSERT rather than a few per item.
        tx.ledger.deferDomainEvents();
        const batch = new DueBatch(engine, tx, entries.map((c) => c.item));
        for (const entry of entries) await runOne(tx, batch, entry);
        await batch.finish();
        await tx.ledger.writeDeferredDomainEvents();
      };
      try {
        await engine.store.transaction(async (tx) => {
          // A test clock's row is locked before its customers' (docs/SCALING.md, the lock order), as
          // a transaction of one item does (`runOne`): the other order deadlocked with it when two
          // servers advanced one clock. A test clock's pass runs one instant, so the first item's
          // move of the clock is every item's.
          ranBefore = null;
          if (options.beforeEach && chunk.length > 1) {
            await options.beforeEach(tx, chunk[0]!.item);
            ranBefore = chunk[0]!.item;
          }
          if (chunk.length > 1) {
            const pendingReferrers = chunk.some(({ order }) => kinds[order]!.paysInvoices === true);
            await tx.lockCustomers(chunk.map((c) => c.item.customerId), { pendingReferrers });
          }
          await runAll(tx, chunk);
        });
        hold?.ran(chunk.map((c) => c.item));
        for (const c of chunk) ran(c.item);
        done += chunk.length;
      } catch (error) {
        // Each item on its own: the others are done. A failure is held back (with a hold), else
        // the first one is reported after.
        let failure: { error: unknown } | null = null;
        for (const entry of chunk) {
          try {
            // A chunk of one has run alone already.
            if (chunk.length === 1) throw error;
            await engine.store.transaction((tx) => runAll(tx, [entry]));
            hold?.ran([entry.item]);
            ran(entry.item);
            done += 1;
          } catch (own) {
            if (hold !== undefined) hold.failed(entry.item, own);
            else failure ??= { error: own };
          }
        }
        if (failure) throw failure.error;
      }
      await yieldToEventLoop();
    }
    ranLast = ranNow;
  }
}

function dueKey(item: DueItem): string {
  return `${item.kind} ${item.id} ${item.dueAtMs}`;
}

/** Lets timers and I/O (HTTP requests) run before the next transaction. */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
