import type { CustomerRange } from '../store/queries/customer-range.ts';
import type { StoreSnapshot, StoreTx } from '../store/store.ts';

/** What a slice reports when it ends: how far the walk has come, and how long the slice took. */
export interface SliceProgress {
  slice: number;
  customersDone: number;
  customersTotal: number;
  ms: number;
}

/** How the customers are cut into slices. */
export interface SliceSizing {
  /** A fixed number of customers per slice; when unset, each slice is sized to take about `sliceTargetMs`. */
  customersPerSlice?: number | undefined;
  /**
   * The first slice's size when slices are sized by time (default `customersPerSliceFirst`): a
   * check that reads a row or two per customer starts larger, so it needs fewer snapshots, each
   * followed by `snapshotGapMs` without one.
   */
  firstCustomers?: number | undefined;
}

/**
 * How long one slice's snapshot should last. On SQLite a reader's snapshot keeps the WAL from
 * being reset, so under ingestion the WAL grows by what is written while one slice reads, not
 * while the whole check does (docs/BENCHMARKS.md, "Reconciliation while ingesting").
 */
export const sliceTargetMs = 1_000;
/** The first slice's size when it is chosen by time; later slices follow the time the last one took. */
export const customersPerSliceFirst = 10;
/**
 * The first slice of a walk that reads a row or two per customer (grants, periods, notes, and
 * their flows): cheap per customer, so it starts at a thousand customers rather than ten.
 */
export const customersPerLightSliceFirst = 1000;
/** The most customers in one slice, however fast the slices go. */
export const customersPerSliceMax = 10_000;

/**
 * Walks every customer in id order, a range at a time, and runs `read` over each range in its own
 * snapshot, so no snapshot lasts longer than one slice. Each row belongs to exactly one range (see
 * `CustomerRange`), so the slices' results together are the whole store's, though each slice sees
 * the store as of its own moment. Unless fixed, a slice's size follows the time the one before
 * took: grown at most twofold, shrunk as far as needed, toward `sliceTargetMs`.
 */
export async function inCustomerSlices<T>(
  snapshot: StoreSnapshot,
  read: (tx: StoreTx, range: CustomerRange) => Promise<T[]>,
  sizing: SliceSizing = {},
  onSlice?: (progress: SliceProgress) => void,
): Promise<T[]> {
  const fixed = sizing.customersPerSlice;
  if (fixed !== undefined && (!Number.isInteger(fixed) || fixed < 1)) throw new Error('customersPerSlice must be a positive integer.');
  let size = fixed ?? sizing.firstCustomers ?? customersPerSliceFirst;
  let afterId: string | null = null;
  let customersDone = 0;
  let customersTotal = 0;
  const found: T[] = [];
  for (let slice = 1; ; slice++) {
    const startedMs = performance.now();
    const part = await snapshot(async (tx) => {
      if (slice === 1) customersTotal = await tx.customers.count();
      const next = await tx.customers.nextRange(afterId, size);
      return { ...next, rows: await read(tx, next.range) };
    });
    const ms = performance.now() - startedMs;
    found.push(...part.rows);
    customersDone += part.customers;
    customersTotal = Math.max(customersTotal, customersDone);
    onSlice?.({ slice, customersDone, customersTotal, ms: Math.round(ms) });
    if (part.last) return found;
    afterId = part.range.throughId;
    if (fixed === undefined) size = Math.max(1, Math.min(customersPerSliceMax, size * 2, Math.round((size * sliceTargetMs) / Math.max(ms, 1))));
  }
}
