import { summarizeBalance } from '../core/balance.ts';
import type { CustomerRecord, GrantRecord, HoldRecord } from '../store/records.ts';
import type { StoreTx } from '../store/store.ts';
import { Changes, type Engine } from './context.ts';

/** One item of due work: what falls due, for which customer, when. */
export interface DueItem {
  kind: string;
  id: string;
  customerId: string;
  dueAtMs: number;
}

/**
 * The items of due work one store transaction runs, and what they share, so that a transaction of
 * a hundred renewals costs a few statements per table rather than a few per renewal:
 *
 * - Reads in common, made once when the first item asks: the records of every item of the same
 *   kind (its subscriptions, its grants), every item's customer, the active grants of their
 *   customers. Each kind's items touch only their own subject, and change the customers and
 *   grants they read through these very records, so these stay current while items of one kind
 *   run.
 * - Writes in common: items that opt in record their ledger transactions and domain events in
 *   `changes`, written with one multi-row INSERT per table when the kind of work changes and at
 *   the end (an item of another kind may read what they change, so it reads them written).
 *
 * When the kind changes, what was read is dropped and read again when asked. An item reads the
 * ledger only for its own customer, whose pending changes are in `changes` (code that reads a
 * balance with changes pending writes them first: `Changes.flush`).
 */
export class DueBatch {
  /** Ledger transactions and domain events of the items run since the kind last changed. */
  readonly changes: Changes;
  private readonly read = new Map<string, Map<string, unknown>>();
  private readonly closedGrants = new Set<string>();
  private kind: string | null = null;

  constructor(engine: Engine, private readonly tx: StoreTx, private readonly items: readonly DueItem[]) {
    this.changes = new Changes(engine);
  }

  /** Called before each item runs. */
  async enter(item: DueItem): Promise<void> {
    if (item.kind === this.kind) return;
    await this.changes.flush(this.tx);
    this.kind = item.kind;
    this.read.clear();
    this.closedGrants.clear();
  }

  /** Called once the last item ran, before the transaction commits. */
  async finish(): Promise<void> {
    await this.changes.flush(this.tx);
  }

  customer(id: string): Promise<CustomerRecord | null> {
    return this.one('customer', id, () => this.items.map((i) => i.customerId), (ids) => this.tx.customers.findMany(ids));
  }

  /** The record `id` of an item of the current kind, read with those of its kind's other items by `load`. */
  subject<T>(id: string, load: (ids: string[]) => Promise<Map<string, T>>): Promise<T | null> {
    return this.one(`subject:${this.kind}`, id, () => this.ofKind().map((i) => i.id), load);
  }

  /** What a grant expiry leaves: the grant no longer counts in its customer's balance. */
  grantClosed(grantId: string): void {
    this.closedGrants.add(grantId);
  }

  /**
   * The credits available to a customer of this kind's items at `nowMs`, from its active grants
   * read once for all of them (less those closed since), as `balanceOf` computes it.
   */
  async availableOf(customerId: string, nowMs: number): Promise<bigint> {
    const key = 'active grants';
    let byCustomer = this.read.get(key) as Map<string, GrantRecord[]> | undefined;
    if (byCustomer === undefined || !byCustomer.has(customerId)) {
      const ids = [...new Set([...this.ofKind().map((i) => i.customerId), customerId])];
      byCustomer = new Map(ids.map((id) => [id, [] as GrantRecord[]]));
      for (const grant of await this.tx.grants.activeFor(ids)) byCustomer.get(grant.customerId)!.push(grant);
      this.read.set(key, byCustomer);
    }
    const grants = byCustomer.get(customerId)!.filter((g) => !this.closedGrants.has(g.id));
    const none = { overageMicro: 0n, debtMicro: 0n, heldMicro: 0n };
    return summarizeBalance(grants.map((g, i) => ({ ...g, creationSeq: i })), none, nowMs).availableMicro;
  }

  /**
   * The active holds of a customer of this kind's items, read once for all of them. Only the
   * item whose customer it is changes them (a grant expiry reduces them, `releaseHeld`), through
   * these very records.
   */
  async activeHolds(customerId: string): Promise<HoldRecord[]> {
    const key = 'active holds';
    let byCustomer = this.read.get(key) as Map<string, HoldRecord[]> | undefined;
    if (byCustomer === undefined || !byCustomer.has(customerId)) {
      const ids = [...new Set([...this.ofKind().map((i) => i.customerId), customerId])];
      byCustomer = new Map(ids.map((id) => [id, [] as HoldRecord[]]));
      for (const hold of await this.tx.grants.activeHoldsFor(ids)) byCustomer.get(hold.customerId)!.push(hold);
      this.read.set(key, byCustomer);
    }
    return byCustomer.get(customerId)!;
  }

  private ofKind(): DueItem[] {
    return this.items.filter((i) => i.kind === this.kind);
  }

  private async one<T>(key: string, id: string, ids: () => string[], load: (ids: string[]) => Promise<Map<string, T>>): Promise<T | null> {
    let known = this.read.get(key) as Map<string, T | null> | undefined;
    if (known === undefined || !known.has(id)) {
      const wanted = [...new Set([...ids(), id])];
      const loaded = await load(wanted);
      known = new Map(wanted.map((w) => [w, loaded.get(w) ?? null]));
      this.read.set(key, known);
    }
    return known.get(id) ?? null;
  }
}
