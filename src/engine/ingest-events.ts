import { formatCredits, formatDecimal } from '../core/decimal.ts';
import { costOfQuantity, type Rate } from '../core/rating.ts';
import { meterMatches, nextQuantity, readEvent, type Reading } from '../core/metering.ts';
import { accountKind, accounts, BalanceOutOfRange, type LedgerEntry, type LedgerTransaction } from '../core/ledger.ts';
import { fitsIdTime } from '../core/id-time.ts';
import type { CustomerRecord, MeterRecord, PhaseRecord, RatingLine, SubscriptionRecord, UsageEventRecord } from '../store/records.ts';
import type { StoreTx } from '../store/store.ts';
import type { IngestReadRequest, IngestReads } from '../store/queries/ingest-reads.ts';
import type { SpendableGrant } from '../store/queries/ledger.ts';
import { calendarMonthAt } from '../core/periods.ts';
import { totalKey, uniqueKey, type MeterTotal, type MeterTotalKey, type UniqueValueKey } from '../store/store.ts';
import { Changes, customerNows, type Engine } from './context.ts';
import { usageContextFrom } from './usage-context.ts';
import { limits } from './limits.ts';
import { HotState } from './hot-state.ts';
import { availableOf, fundingFrom, pay, reclaimTxn, refreshSignals, unpaidOf, type CustomerFunding } from './funding.ts';
import { isRejection, outsideWindow, validateUsageEvent, type Rejection, type UsageCandidate } from './usage-validation.ts';

export interface IngestResult {
  id: string;
  status: 'accepted' | 'duplicate' | 'rejected';
  credits?: string;
  paid_by?: { grant: string; credits: string }[];
  overage?: string;
  debt?: string;
  error?: { code: string; message: string; field?: string };
}

export interface IngestOptions {
  /** Pay from this hold first (hold capture). */
  hold?: { id: string; remainingMicro: bigint };
  /** Called once the batch's transaction has committed, before the commit is known durable (see `Store.pipelinesCommits`). */
  onCommit?: () => void;
  /**
   * Have the writer thread apply the batch's writes, where the store has one
   * (`TransactionOptions.deferWrites`, store/sqlite/writer-thread.ts). The ingest batcher asks for
   * it: its next group is rated while this one is written. A lone call has nothing to do meanwhile,
   * and the handoff, with the worker's sync inside its COMMIT, would only add to its time.
   */
  deferWrites?: boolean;
  /**
   * How many events one pass takes where a batch is ingested in passes (`eventsPerPassMax` unless
   * set): a test compares passes of a few events with one pass of all.
   */
  eventsPerPass?: number;
  /**
   * Read the balances the events move (`consumed:<meter>`, `overage`, `debt`) and refuse each
   * event that would take one beyond `limits.accountBalanceMaxMicro`. Set by `ingestFlat` on its
   * second try of a batch the database refused for such a balance (migration 69): an ordinary
   * batch reads nothing for it.
   */
  checkBalances?: boolean;
}

/**
 * Events whose customer another transaction holds locked are not waited for (PostgreSQL; SQLite
 * has one writer and never locks): the requests with such an event are left out of the
 * transaction whole, their request indices (`requestOf[event index]`) added to `deferred`.
 */
interface Deferral {
  requestOf: readonly number[];
  deferred: Set<number>;
}

const rejected = (id: string, r: Rejection): IngestResult => ({
  id,
  status: 'rejected',
  error: r.field ? { code: r.code, message: r.message, field: r.field } : { code: r.code, message: r.message },
});

/**
 * Validates a batch event by event and rates and charges every acceptable event in ONE store
 * transaction: when this returns `accepted`, the balance already reflects the event. A rejected
 * event leaves nothing behind; the others are unaffected by it.
 */
export async function ingestEvents(engine: Engine, rawEvents: readonly unknown[], options: IngestOptions = {}): Promise<IngestResult[]> {
  return ingestFlat(engine, rawEvents, options, null);
}

/**
 * The requests of a group commit (`IngestBatcher`), ingested together as `ingestEvents` ingests
 * one batch. With `skipLocked`, a request with an event for a customer another transaction holds
 * locked (another server's group, on PostgreSQL) is not waited for: it is left out of this
 * transaction whole, and its entry is null, for the caller to send again. The others go on, where
 * waiting would have held every request of the group until that other transaction committed.
 */
export async function ingestRequests(
  engine: Engine, requests: readonly (readonly unknown[])[], options: IngestOptions & { skipLocked: boolean },
): Promise<(IngestResult[] | null)[]> {
  const all: unknown[] = [];
  const requestOf: number[] = [];
  requests.forEach((events, r) => {
    for (const event of events) {
      all.push(event);
      requestOf.push(r);
    }
  });
  const deferral: Deferral | null = options.skipLocked ? { requestOf, deferred: new Set() } : null;
  const results = await ingestFlat(engine, all, options, deferral);
  let offset = 0;
  return requests.map((events, r) => {
    const own = deferral?.deferred.has(r) ? null : results.slice(offset, offset + events.length);
    offset += events.length;
    return own;
  });
}

/**
 * `ingestOnce`, and when the database refused a balance beyond the bound (the batch rolled back
 * whole), once more reading the balances its events move: the events that would take one beyond
 * the bound are refused (`balance_out_of_range`), each alone, and the others are taken. The bound
 * costs an ordinary batch nothing but the database's CHECK on the balances it writes anyway.
 */
async function ingestFlat(engine: Engine, rawEvents: readonly unknown[], options: IngestOptions, deferral: Deferral | null): Promise<IngestResult[]> {
  try {
    return await ingestOnce(engine, rawEvents, options, deferral);
  } catch (error) {
    if (!(error instanceof BalanceOutOfRange) || options.checkBalances === true) throw error;
    return ingestOnce(engine, rawEvents, { ...options, checkBalances: true, deferWrites: false }, deferral);
  }
}

async function ingestOnce(engine: Engine, rawEvents: readonly unknown[], options: IngestOptions, deferral: Deferral | null): Promise<IngestResult[]> {
  const results: IngestResult[] = new Array(rawEvents.length);
  // Each event is validated as its pass is taken, so that what validation makes (the candidate,
  // its properties' canonical text and body hash) dies with its pass instead of living through
  // every pass of a group commit (docs/benchmark-rounds.md, "Round 30"). The first acceptable event is
  // found before the transaction: a batch with none opens no transaction.
  const ids = rawEvents.map(rawIdOf);
  let from = 0;
  let firstCandidate: UsageCandidate | null = null;
  for (; from < rawEvents.length; from++) {
    const checked = validateUsageEvent(rawEvents[from], from);
    if (!isRejection(checked)) {
      firstCandidate = checked;
      break;
    }
    results[from] = rejected(ids[from]!, checked);
  }
  if (firstCandidate === null) return results;
  await engine.store.transaction(async (tx) => {
    // A transaction retried starts over: what it left out is decided again.
    deferral?.deferred.clear();
    const changes = new Changes(engine);
    for (const [start, end] of passBounds(ids, from, passSize(tx, options))) {
      const pass: UsageCandidate[] = [];
      for (let i = start; i < end; i++) {
        const checked = i === from ? firstCandidate : validateUsageEvent(rawEvents[i], i);
        if (isRejection(checked)) results[i] = rejected(ids[i]!, checked);
        else pass.push(checked);
      }
      if (pass.length === 0) continue;
      const outcome = await ingestWithin(engine, tx, changes, pass, options, deferral);
      // Its postings and balances written before the next pass reads them.
      await changes.flush(tx);
      for (const [index, result] of outcome) results[index] = result;
    }
  }, { onCommit: options.onCommit, deferWrites: options.deferWrites === true });
  return results;
}

/** A raw event's id as its result names it: empty unless it is a string. */
function rawIdOf(raw: unknown): string {
  const id = (raw as { id?: unknown } | null)?.id;
  return typeof id === 'string' ? id : '';
}

/**
 * The most events one pass of `ingestWithin` takes on SQLite (`inPasses` may take more to keep an
 * id's events together). A group commit holds every request that arrived since the last one
 * (2,000–3,000 events on average under load from 8 clients). Taken in one pass, everything the
 * group reads and makes (its customers, grants and totals, its events' rows, entries and results)
 * is alive at once through several of V8's young collections, which move it to the old generation
 * to die there. Taken in passes within its one transaction (one commit and one sync, the same
 * answers and charges), a server ingesting for 100,000 customers peaked 15–31 MiB lower at no
 * more CPU per event (docs/benchmark-rounds.md, "Round 28"). Passes of 500 rather than 1,000 leave less
 * alive at each young collection: about a sixth less server CPU per event in figure 2's batches
 * of 500 from 4 clients, within the noise in batches of 1000 from 8, the same in figure 1's
 * batches of 1000 (now two passes) and the same memory with 100,000 customers; passes of 250
 * read as 500 ("Round 29"). Each pass reads what the passes before it wrote.
 */
export const eventsPerPassMax = 500;

/**
 * How many events one pass takes in this transaction. In one pass where a pass could not read what
 * the one before it wrote (writes deferred to the writer thread), on PostgreSQL (where a request
 * another server holds a customer of is left out whole, which a later pass could not do once an
 * earlier one had charged part of it) and for a hold's capture (one event).
 */
function passSize(tx: StoreTx, options: IngestOptions): number {
  const passes = tx.c.writeOrder !== undefined && !tx.c.writeOrder.deferred && options.hold === undefined;
  return passes ? Math.max(1, options.eventsPerPass ?? eventsPerPassMax) : Infinity;
}

/**
 * A batch cut into passes of `size` events, in order, except that every event of one id is in
 * the pass of its first: an id sent again in the same batch is answered by the rules within a
 * batch (an event refused for its properties claims nothing), which an earlier pass's stored event
 * would not give. A pass runs on to the last event of any id it holds.
 */
export function inPasses<T extends { id: string }>(events: readonly T[], size: number): (readonly T[])[] {
  if (events.length <= size) return [events];
  return passBounds(events.map((e) => e.id), 0, size).map(([start, end]) => events.slice(start, end));
}

/**
 * `inPasses` as the bounds of each pass, over the events' ids from `from` on. An empty id (an
 * event without a string id, which validation refuses) ties no events together.
 */
export function passBounds(ids: readonly string[], from: number, size: number): [number, number][] {
  if (ids.length - from <= size) return [[from, ids.length]];
  const last = new Map<string, number>();
  for (let i = from; i < ids.length; i++) if (ids[i] !== '') last.set(ids[i]!, i);
  const passes: [number, number][] = [];
  for (let start = from; start < ids.length;) {
    let end = Math.min(start + size, ids.length);
    for (let i = start; i < end; i++) if (ids[i] !== '') end = Math.max(end, last.get(ids[i]!)! + 1);
    passes.push([start, end]);
    start = end;
  }
  return passes;
}

/** The transactional part, reused by hold capture. Returns results by request index. */
export async function ingestWithin(
  engine: Engine,
  tx: StoreTx,
  changes: Changes,
  candidates: readonly UsageCandidate[],
  options: IngestOptions,
  deferral: Deferral | null = null,
): Promise<Map<number, IngestResult>> {
  const out = new Map<number, IngestResult>();
  // On PostgreSQL this read also locks the customers (in id order), one round trip for both.
  const refs = [...new Set(candidates.map((c) => c.customerRef))];
  // A hold's capture changes what it pays from before it gets here: it reads everything afresh.
  const hot = options.hold === undefined ? await HotState.begin(tx, engine.settings.hotCustomers) : null;
  let customers: Map<string, CustomerRecord>;
  if (hot !== null) customers = await hotCustomers(hot, tx, refs);
  else if (deferral === null) customers = await tx.customers.findManyLocked(refs);
  else {
    const read = await tx.customers.findManyLockedSkipping(refs);
    customers = read.found;
    if (read.locked.size > 0) {
      const { requestOf, deferred } = deferral;
      for (const c of candidates) if (read.locked.has(c.customerRef)) deferred.add(requestOf[c.index]!);
      candidates = candidates.filter((c) => !deferred.has(requestOf[c.index]!));
      if (candidates.length === 0) return out;
    }
  }
  const live = candidates.filter((c) => {
    if (customers.has(c.customerRef)) return true;
    out.set(c.index, rejected(c.id, { code: 'customer_not_found', message: `No customer ${JSON.stringify(c.customerRef)}.`, field: 'customer' }));
    return false;
  });
  const involved = [...new Map([...customers.values()].map((c) => [c.id, c])).values()];
  const nows = await customerNows(engine, tx, involved);
  const request = readRequest(involved, live, customers, nows, (c, e) => tx.ingestReads.readsInOne(c, e));
  const reads = hot === null ? await tx.ingestReads.read(request) : await hotReads(hot, tx, request);
  const stored = new Map(reads.events.map((e) => [e.id, e]));
  if (hot !== null && hot.hasPending) {
    // Events stored by an ingestion whose writes are still on their way to the database.
    for (const id of request.eventIds) {
      if (stored.has(id)) continue;
      const pending = hot.pendingEvent(id);
      if (pending !== undefined) stored.set(id, pending);
    }
  }

  // Decide each event's fate before touching any state: duplicates, conflicts, time window.
  const fresh: (UsageCandidate & { customer: CustomerRecord; atMs: number })[] = [];
  for (const c of live) {
    const customer = customers.get(c.customerRef)!;
    const previous = stored.get(c.id);
    if (previous) {
      if (previous.bodyHash === c.bodyHash && previous.customerId === customer.id) {
        out.set(c.index, { id: c.id, status: 'duplicate', credits: formatCredits(previous.creditsMicro) });
      } else {
        out.set(c.index, rejected(c.id, { code: 'idempotency_conflict', message: 'This event id was already used with a different body.', field: 'id' }));
      }
      continue;
    }
    const nowMs = nows.get(customer.id)!;
    const atMs = c.timestampMs ?? nowMs;
    const outside = outsideWindow(engine.settings, atMs, nowMs);
    if (outside !== null) {
      out.set(c.index, rejected(c.id, { ...outside, field: 'timestamp' }));
      continue;
    }
    // A literal of fixed shape: spreading the candidate cost more than the rest of this loop.
    fresh.push({
      index: c.index, id: c.id, customerRef: c.customerRef, type: c.type, timestampMs: c.timestampMs,
      properties: c.properties, propertiesJson: c.propertiesJson, bodyHash: c.bodyHash, customer, atMs,
    });
  }
  if (fresh.length === 0) return fillDuplicates(out, candidates);

  // Running totals are kept per billing period (or calendar month) and rates follow the plan in
  // effect at the event's time, both read from the subscription timeline.
  const usage = usageContextFrom(reads.subscriptions, reads.phases, reads.plans);
  const periodStarts = fresh.map((e) => usage.periodStart(e.customer.id, e.atMs));
  const metersByType = groupByType(reads.meters);
  const matched = fresh.map((e) => metersFor(metersByType, e.type, e.properties));

  // Read every meter first: an event with an unreadable property is rejected whole.
  const readings: (Reading[] | null)[] = fresh.map((e, i) => {
    const list: Reading[] = [];
    for (const meter of matched[i]!) {
      const reading = readEvent(meter, e.properties);
      if (!reading.ok) {
        out.set(e.index, rejected(e.id, { code: reading.problem.code, message: reading.problem.message, field: `properties.${meter.valueProperty ?? ''}` }));
        return null;
      }
      list.push(reading.value);
    }
    return list;
  });

  // Within the batch, the first event of an id that will be charged claims it; a rejected event
  // claims nothing, so the result never depends on how events were split into batches.
  const firstInBatch = new Map<string, UsageCandidate>();
  fresh.forEach((e, i) => {
    if (!readings[i]) return;
    const earlier = firstInBatch.get(e.id);
    if (!earlier) {
      firstInBatch.set(e.id, e);
      return;
    }
    readings[i] = null;
    out.set(e.index, earlier.bodyHash === e.bodyHash
      ? { id: e.id, status: 'duplicate' }
      : rejected(e.id, { code: 'idempotency_conflict', message: 'This event id was already used with a different body.', field: 'id' }));
  });

  // One slot per (event, meter) in reading order, holding the number of its running total; each
  // distinct total is asked for once, and looked up by its key once. A customer's totals in the
  // batch are a few (its meters, in one period or two): found by a scan of its own, where a key
  // text per event and meter would be made and hashed for each lookup.
  const slots: number[] = [];
  // By customer id: two references to one customer may have been read as two objects.
  const totalsByCustomer = new Map<string, number[]>();
  const totalKeys: MeterTotalKey[] = [];
  const uniqueKeys: UniqueValueKey[] = [];
  for (let i = 0; i < fresh.length; i++) {
    const list = readings[i];
    if (!list) continue;
    const e = fresh[i]!;
    const eventMeters = matched[i]!;
    let own = totalsByCustomer.get(e.customer.id);
    if (own === undefined) {
      own = [];
      totalsByCustomer.set(e.customer.id, own);
    }
    for (let j = 0; j < eventMeters.length; j++) {
      const customerId = e.customer.id;
      const meterId = eventMeters[j]!.id;
      const periodStartMs = periodStarts[i]!;
      let n = -1;
      for (let k = 0; k < own.length; k++) {
        const key = totalKeys[own[k]!]!;
        if (key.meterId === meterId && key.periodStartMs === periodStartMs) {
          n = own[k]!;
          break;
        }
      }
      if (n === -1) {
        n = totalKeys.length;
        own.push(n);
        totalKeys.push({ customerId, meterId, periodStartMs });
      }
      slots.push(n);
      const reading = list[j]!;
      if (reading.kind === 'unique') uniqueKeys.push({ customerId, meterId, periodStartMs, value: reading.value });
    }
  }
  // Every total a slot names, read or new at zero, in the order first named (which is the order
  // they are saved in: every one of them is counted into below).
  const totals = hot === null ? totalsFrom(totalKeys, await totalsOf(tx, totalKeys, request.totalsIn, reads.totals)) : await hotTotals(hot, tx, totalKeys);
  if (hot !== null && hot.hasPending && hot.anyPending(uniqueKeys.map((k) => k.customerId))) await hot.settle();
  const seen = await tx.usage.seenValues(uniqueKeys);
  // Late events are paid by the grants live at their time (PRODUCT §5), expired ones included.
  const lateSince = new Map<string, number>();
  for (const e of fresh) {
    if (e.atMs >= nows.get(e.customer.id)!) continue;
    const earliest = lateSince.get(e.customer.id);
    if (earliest === undefined || e.atMs < earliest) lateSince.set(e.customer.id, e.atMs);
  }
  const funding = fundingFrom(involved, nows, reads.grants, reads.expiredGrants, lateSince);
  if (options.hold && involved[0]) funding.get(involved[0].id)!.hold = options.hold;
  const bounds = options.checkBalances === true ? await BalanceBounds.read(tx, involved, matched) : null;

  const costs = new RunningCosts();
  const newValues: UniqueValueKey[] = [];
  const records: UsageEventRecord[] = [];
  const recordedAtMs = engine.clock.now();
  // A charge is written as its event's row (event-postings.ts) unless it captures a hold (the
  // hold traces find captures by the hold's account, in the ledger's tables).
  const onEventRow = options.hold === undefined;
  // What an event's totals held before it, to undo them if it is refused (rare): reused arrays.
  const beforeTotals: MeterTotal[] = [];
  const beforeQuantities: bigint[] = [];
  const beforeCredits: bigint[] = [];
  let slot = 0;
  for (let i = 0; i < fresh.length; i++) {
    const list = readings[i];
    if (!list) continue;
    const e = fresh[i]!;
    const f = funding.get(e.customer.id)!;
    const rating: RatingLine[] = [];
    const consumed: LedgerEntry[] = [];
    let chargeMicro = 0n;
    const periodStartMs = periodStarts[i]!;
    const eventMeters = matched[i]!;
    beforeTotals.length = 0;
    beforeQuantities.length = 0;
    beforeCredits.length = 0;
    const newValuesBefore = newValues.length;
    for (let j = 0; j < eventMeters.length; j++) {
      const meter = eventMeters[j]!;
      const total = totals[slots[slot++]!]!;
      const reading = list[j]!;
      let wasSeen = false;
      if (reading.kind === 'unique') {
        const uk = uniqueKey({ customerId: e.customer.id, meterId: meter.id, periodStartMs, value: reading.value });
        wasSeen = seen.has(uk);
        if (!wasSeen) {
          seen.add(uk);
          newValues.push({ customerId: e.customer.id, meterId: meter.id, periodStartMs, value: reading.value });
        }
      }
      beforeTotals.push(total);
      beforeQuantities.push(total.quantityMicro);
      beforeCredits.push(total.creditsMicro);
      const after = nextQuantity(meter.aggregation, total.quantityMicro, reading, wasSeen);
      const cost = costs.marginal(total, usage.rate(e.customer.id, meter, e.atMs), after);
      const quantity = after - total.quantityMicro;
      total.quantityMicro = after;
      total.creditsMicro += cost;
      chargeMicro += cost;
      rating.push({ meter: meter.code, quantity: formatDecimal(quantity, 6), credits: formatCredits(cost) });
      if (cost !== 0n) consumed.push({ account: costs.account(meter.code), amountMicro: cost });
    }
    const beyond = chargeMicro > limits.creditsMaxMicro || totalsBeyond(beforeTotals);
    const outOfRange = !beyond && bounds !== null && !bounds.take(e.customer.id, consumed, unpaidOf(f, chargeMicro, e.atMs), f.customer.overageEnabled);
    if (beyond || outOfRange) {
      // Beyond what a 64-bit amount can carry, or beyond what an account may hold: refuse this
      // event alone and undo what it counted.
      for (let k = 0; k < beforeTotals.length; k++) {
        beforeTotals[k]!.quantityMicro = beforeQuantities[k]!;
        beforeTotals[k]!.creditsMicro = beforeCredits[k]!;
      }
      for (const v of newValues.splice(newValuesBefore)) seen.delete(uniqueKey(v));
      out.set(e.index, rejected(e.id, beyond
        ? { code: 'amount_out_of_range', message: 'This event would charge or count more than the largest amount Tally stores.', field: 'properties' }
        : { code: 'balance_out_of_range', message: bounds!.refusal, field: 'properties' }));
      continue;
    }
    const result = charge(e, f, chargeMicro, consumed, changes, onEventRow);
    records.push({
      customerId: e.customer.id, id: e.id, type: e.type, timestampMs: e.atMs, properties: e.propertiesJson, bodyHash: e.bodyHash,
      creditsMicro: chargeMicro, txnId: result.txn?.id ?? null, rating, recordedAtMs,
      position: result.txn?.id ?? changes.usageTxnId(e.atMs), entries: result.txn?.onEventRow === true ? result.txn.entries : null,
    });
    out.set(e.index, result.result);
  }

  await tx.usage.insertEvents(records);
  await tx.usage.saveTotals(totals);
  await tx.usage.insertValues(newValues);
  for (const f of funding.values()) {
    const availableMicro = availableOf(f);
    await refreshSignals(tx, changes, f.customer, availableMicro, f.nowMs);
    // Debt beside credits usable now (a late event's, paid at its time by the grants live then):
    // due work pays it from them (`checkDebt` in grants.ts).
    if (f.postedDebt && availableMicro > 0n) await tx.customers.checkDebtAt(f.customer.id, f.nowMs);
  }
  if (hot !== null) {
    // Writes that go to the writer thread are on their way after this: the next batch must know.
    if (tx.c.writeOrder?.deferred === true) {
      const reclaimedFor = new Set<string>();
      for (const t of changes.txns) if (t.kind === 'expiry') reclaimedFor.add(t.customerId);
      hot.addPending(new Set(involved.map((c) => c.id)), reclaimedFor, records);
    }
    // What this batch leaves, for the next: totals as saved, grants as paid from.
    for (let n = 0; n < totals.length; n++) hot.rememberTotal(totals[n]!);
    for (const f of funding.values()) {
      const own = hot.state.get(f.customer.id);
      if (own === undefined) continue;
      // A customer's grants are few: each kept one is found among the batch's by a scan.
      for (const g of own.grants) {
        for (const paid of f.grants) {
          if (paid.id === g.id) {
            g.remainingMicro = paid.remainingMicro;
            break;
          }
        }
      }
    }
  }
  return fillDuplicates(out, candidates);
}

/** The customers of these references: those the hot state holds, the others read and kept. */
async function hotCustomers(hot: HotState, tx: StoreTx, refs: readonly string[]): Promise<Map<string, CustomerRecord>> {
  const out = new Map<string, CustomerRecord>();
  const missing: string[] = [];
  for (const ref of refs) {
    const known = hot.customers.get(ref);
    if (known === undefined) missing.push(ref);
    else out.set(ref, known);
  }
  // Checked mode: `HotState.begin` waited for every group on its way, and none can start meanwhile.
  if (hot.checked) hot.check('customers', out, await tx.customers.findManyLocked([...out.keys()]));
  if (missing.length === 0) return out;
  let found = await tx.customers.findManyLocked(missing);
  // A customer not kept whose row an ingestion still on its way changes (its balance signals).
  if (hot.hasPending && hot.anyPending([...found.values()].map((c) => c.id))) {
    await hot.settle();
    found = await tx.customers.findManyLocked(missing);
  }
  for (const [ref, read] of found) {
    // One object per customer, whichever reference named it: a batch changes it in place.
    const customer = hot.customers.get(read.id) ?? read;
    out.set(ref, customer);
    if (hot.hasRoom) {
      hot.customers.set(ref, customer);
      hot.customers.set(customer.id, customer);
    }
  }
  return out;
}

/**
 * `IngestReadQueries.read` with the customers and meters the hot state holds left out of the
 * read and filled in from it; what was read is kept. Stored events and expired grants are not
 * kept: they are read, expired grants only when one expired after the step's earliest late event.
 */
async function hotReads(hot: HotState, tx: StoreTx, request: IngestReadRequest): Promise<IngestReads> {
  const cold = request.customerIds.filter((id) => !hot.state.has(id));
  hot.countBatch(request.customerIds.length, cold.length);
  const coldTypes = request.eventTypes.filter((type) => !hot.meters.has(type));
  // Late events read expired grants only when one expired after the earliest of them.
  const expiredSince = request.expiredSince !== null && await hot.expiredAfter(tx, request.expiredSince.sinceMs) ? request.expiredSince : null;
  if (hot.anyPending(cold) || (expiredSince !== null && hot.anyPendingReclaim(expiredSince.customerIds))) await hot.settle();
  const read = await tx.ingestReads.read({ ...request, customerIds: cold, eventTypes: coldTypes, expiredSince });
  const grants: SpendableGrant[] = [];
  const subscriptions: SubscriptionRecord[] = [];
  const phases: PhaseRecord[] = [];
  const plans = new Map(read.plans);
  for (const id of request.customerIds) {
    const own = hot.state.get(id);
    if (own === undefined) continue;
    grants.push(...own.grants);
    subscriptions.push(...own.subscriptions);
    phases.push(...own.phases);
    for (const plan of own.plans) plans.set(plan.id, plan);
  }
  grants.push(...read.grants);
  subscriptions.push(...read.subscriptions);
  phases.push(...read.phases);
  hot.remember(cold, read);
  const meters: MeterRecord[] = [...read.meters];
  for (const type of request.eventTypes) {
    const kept = hot.meters.get(type);
    if (kept !== undefined) meters.push(...kept);
  }
  for (const type of coldTypes) hot.rememberMeters(type, read.meters.filter((m) => m.eventType === type));
  const merged: IngestReads = { ...read, grants, subscriptions, phases, plans, meters };
  if (hot.checked) hot.checkReads(merged, await tx.ingestReads.read(request));
  return merged;
}

/**
 * The running totals of these keys, in their order: those the hot state holds, the others read,
 * or new at zero. Found by the customer's id, whose string each batch meets again, and a scan of
 * that customer's few totals: no key text is made or hashed for each ("Round 34").
 */
async function hotTotals(hot: HotState, tx: StoreTx, keys: readonly MeterTotalKey[]): Promise<MeterTotal[]> {
  const out: (MeterTotal | undefined)[] = new Array<MeterTotal | undefined>(keys.length);
  const rest: MeterTotalKey[] = [];
  for (let n = 0; n < keys.length; n++) {
    const known = hot.total(keys[n]!);
    if (known === undefined) rest.push(keys[n]!);
    else out[n] = known;
  }
  if (hot.checked) {
    const kept = new Map<string, MeterTotal>();
    for (let n = 0; n < keys.length; n++) if (out[n] !== undefined) kept.set(totalKey(keys[n]!), out[n]!);
    hot.check('running totals', kept, await tx.usage.totals(keys.filter((_, n) => out[n] !== undefined)));
  }
  if (rest.length === 0) return out as MeterTotal[];
  if (hot.hasPending && hot.anyPending(rest.map((k) => k.customerId))) await hot.settle();
  const read = await tx.usage.totals(rest);
  for (let n = 0; n < keys.length; n++) {
    if (out[n] !== undefined) continue;
    out[n] = totalFrom(keys[n]!, read.get(totalKey(keys[n]!)));
  }
  return out as MeterTotal[];
}

/** The totals of these keys from what was read by key text, in their order. */
function totalsFrom(keys: readonly MeterTotalKey[], read: ReadonlyMap<string, MeterTotal>): MeterTotal[] {
  return keys.map((k) => totalFrom(k, read.get(totalKey(k))));
}

/**
 * A key's total as read, or new at zero. A total read takes its key's ids, the customer's and
 * meter's own strings, so that the hot state keeps no copy of them ("Round 34").
 */
function totalFrom(k: MeterTotalKey, read: MeterTotal | undefined): MeterTotal {
  if (read === undefined) return { customerId: k.customerId, meterId: k.meterId, periodStartMs: k.periodStartMs, quantityMicro: 0n, creditsMicro: 0n };
  read.customerId = k.customerId;
  read.meterId = k.meterId;
  return read;
}

/** Whether a running total now holds more than a 64-bit amount may. */
function totalsBeyond(totals: readonly MeterTotal[]): boolean {
  for (const t of totals) if (t.creditsMicro > limits.creditsMaxMicro || t.quantityMicro > limits.creditsMaxMicro) return true;
  return false;
}

/**
 * What the step reads in one go once its customers are locked, asked for before the events are
 * sorted out, so it may ask for more than they turn out to need: the meters of every type and the
 * expired grants of every customer with an event before its clock (duplicates included), and the
 * running totals of the calendar months the events fall in (when the store reads them in one
 * statement), which are the periods of customers without a subscription. `totalsOf` reads any
 * other total by key.
 */
function readRequest(
  involved: readonly CustomerRecord[], live: readonly UsageCandidate[], customers: ReadonlyMap<string, CustomerRecord>, nows: ReadonlyMap<string, number>,
  readsInOne: (customerCount: number, eventCount: number) => boolean,
): IngestReadRequest {
  const eventIds = [...new Set(live.map((c) => c.id))];
  // Totals come with the one statement only; otherwise their periods need not be worked out.
  const withTotals = readsInOne(involved.length, eventIds.length);
  const lateCustomers = new Set<string>();
  let lateSinceMs = Infinity;
  const periods = new Set<number>();
  for (const c of live) {
    const customerId = customers.get(c.customerRef)!.id;
    const nowMs = nows.get(customerId)!;
    const atMs = c.timestampMs ?? nowMs;
    if (atMs < nowMs) {
      lateCustomers.add(customerId);
      if (atMs < lateSinceMs) lateSinceMs = atMs;
    }
    if (withTotals) periods.add(calendarMonthAt(atMs).startMs);
  }
  const customerIds = involved.map((c) => c.id);
  return {
    customerIds,
    eventIds,
    eventTypes: [...new Set(live.map((c) => c.type))],
    expiredSince: lateCustomers.size > 0 ? { customerIds: [...lateCustomers], sinceMs: lateSinceMs } : null,
    totalsIn: withTotals ? { customerIds, periodStartsMs: [...periods] } : null,
  };
}

/** The running totals of these keys: those the step's one read covered from it, the others by key. */
async function totalsOf(
  tx: StoreTx, keys: readonly MeterTotalKey[], covered: IngestReadRequest['totalsIn'], read: readonly MeterTotal[] | null,
): Promise<Map<string, MeterTotal>> {
  if (covered === null || read === null) return tx.usage.totals(keys);
  const customers = new Set(covered.customerIds);
  const periods = new Set(covered.periodStartsMs);
  const rest = keys.filter((k) => !customers.has(k.customerId) || !periods.has(k.periodStartMs));
  const out = await tx.usage.totals(rest);
  const wanted = new Set(keys.map(totalKey));
  for (const t of read) {
    const key = totalKey(t);
    if (wanted.has(key)) out.set(key, t);
  }
  return out;
}

function charge(
  e: UsageCandidate & { customer: CustomerRecord; atMs: number },
  f: CustomerFunding,
  chargeMicro: bigint,
  consumed: LedgerEntry[],
  changes: Changes,
  onEventRow: boolean,
): { txn: LedgerTransaction | null; result: IngestResult } {
  if (chargeMicro === 0n) return { txn: null, result: { id: e.id, status: 'accepted', credits: '0', paid_by: [] } };
  const payment = pay(f, chargeMicro, e.atMs);
  const credits = formatCredits(chargeMicro);
  for (const reclaim of payment.reclaims) {
    const taken = changes.txn(reclaimTxn(e.customer.id, reclaim, e.id));
    changes.event('grant.expiry_reclaimed', e.customer.id, {
      grant: reclaim.grantId, customer: e.customer.id, credits: formatCredits(reclaim.amountMicro), usage_event: e.id, transaction: taken.id,
    }, f.nowMs);
  }
  const txn: LedgerTransaction = {
    customerId: e.customer.id,
    kind: 'usage',
    cause: { type: 'usage_event', id: e.id },
    refs: {},
    effectiveAtMs: e.atMs,
    entries: concatEntries(payment.entries, consumed),
    id: changes.usageTxnId(e.atMs),
  };
  // Its id carries its event's minute (`usageTxnId`) unless the timestamp cannot be an id's time:
  // only then is it found by time window among the event rows. (Set after, not spread in: a
  // spread of a conditional literal cost half of this function.)
  if (onEventRow && fitsIdTime(e.atMs)) txn.onEventRow = true;
  changes.add(txn);
  const result: IngestResult = { id: e.id, status: 'accepted', credits, paid_by: payment.paidBy };
  if (payment.overageMicro > 0n) result.overage = formatCredits(payment.overageMicro);
  if (payment.debtMicro > 0n) result.debt = formatCredits(payment.debtMicro);
  return { txn, result };
}

/** `[...paid, ...consumed]`, appending to `paid` (made by `pay` for this event alone). */
function concatEntries(paid: LedgerEntry[], consumed: readonly LedgerEntry[]): LedgerEntry[] {
  for (let i = 0; i < consumed.length; i++) paid.push(consumed[i]!);
  return paid;
}

/**
 * The balances a batch's events move, read for `IngestOptions.checkBalances`: each customer's
 * `consumed:<meter>` accounts of the meters its events feed, `overage` and `debt`, kept current as
 * events are taken. An event is taken only if none of them passes the bound.
 */
class BalanceBounds {
  /** Why the last refused event was refused. */
  refusal = '';

  private constructor(private readonly balances: Map<string, bigint>) {}

  static async read(tx: StoreTx, customers: readonly CustomerRecord[], meters: readonly (readonly MeterRecord[])[]): Promise<BalanceBounds> {
    const codes = new Set<string>([accounts.overage, accounts.debt]);
    for (const list of meters) for (const m of list) codes.add(accounts.consumed(m.code));
    return new BalanceBounds(await tx.ledger.balancesOf(customers.map((c) => c.id), codes));
  }

  /**
   * Whether an event's charge keeps every balance it moves within the bound: its consumption
   * (`consumed`, positive) and what its grants leave unpaid (`unpaidMicro`, to `overage` with
   * overage on, else to `debt`). Taken (the balances moved) if so.
   */
  take(customerId: string, consumed: readonly LedgerEntry[], unpaidMicro: bigint, overageEnabled: boolean): boolean {
    const moves: [string, bigint][] = consumed.map((c) => [c.account, c.amountMicro]);
    if (unpaidMicro > 0n) moves.push([overageEnabled ? accounts.overage : accounts.debt, -unpaidMicro]);
    for (const [account, amountMicro] of moves) {
      const balance = this.balances.get(`${customerId} ${account}`) ?? 0n;
      const after = balance + amountMicro;
      if (after > limits.accountBalanceMaxMicro || after < -limits.accountBalanceMaxMicro) {
        this.refusal = `This event would take the customer's ${accountKind(account)} account ${JSON.stringify(account)} from ${formatCredits(balance)} to `
          + `${formatCredits(after)} credits, beyond ${formatCredits(limits.accountBalanceMaxMicro)} either side of zero, the most an account holds.`;
        return false;
      }
    }
    for (const [account, amountMicro] of moves) {
      const key = `${customerId} ${account}`;
      this.balances.set(key, (this.balances.get(key) ?? 0n) + amountMicro);
    }
    return true;
  }
}

/**
 * Marginal costs along a batch. `marginalCost(rate, before, after)` is cost(after) − cost(before),
 * and the previous event on the same running total already computed cost(before) as its own
 * cost(after): it is kept and reused while the rate stays the same, so each event prices its
 * total once instead of twice. The result is exactly `marginalCost`'s.
 */
class RunningCosts {
  private readonly last = new Map<MeterTotal, { rate: Rate; quantityMicro: bigint; costMicro: bigint }>();
  private readonly accounts = new Map<string, string>();

  marginal(total: MeterTotal, rate: Rate, afterMicro: bigint): bigint {
    const last = this.last.get(total);
    const beforeMicro = total.quantityMicro;
    const costBefore = last !== undefined && last.rate === rate && last.quantityMicro === beforeMicro
      ? last.costMicro
      : costOfQuantity(rate, beforeMicro);
    const costAfter = costOfQuantity(rate, afterMicro);
    if (last === undefined) this.last.set(total, { rate, quantityMicro: afterMicro, costMicro: costAfter });
    else {
      last.rate = rate;
      last.quantityMicro = afterMicro;
      last.costMicro = costAfter;
    }
    return costAfter - costBefore;
  }

  /** The `consumed:<meter>` account name, made once per meter. */
  account(meterCode: string): string {
    let name = this.accounts.get(meterCode);
    if (name === undefined) {
      name = accounts.consumed(meterCode);
      this.accounts.set(meterCode, name);
    }
    return name;
  }
}

interface MetersOfType {
  meters: MeterRecord[];
  /** No meter of the type has a filter: every event of the type feeds all of them. */
  unfiltered: boolean;
}

function groupByType(meters: readonly MeterRecord[]): Map<string, MetersOfType> {
  const byType = new Map<string, MetersOfType>();
  for (const meter of meters) {
    const group = byType.get(meter.eventType) ?? { meters: [], unfiltered: true };
    group.meters.push(meter);
    group.unfiltered &&= isEmpty(meter.filter);
    byType.set(meter.eventType, group);
  }
  return byType;
}

/**
 * The meters an event feeds, in the order they were read. When none of its type has a filter the
 * type's list is shared by every event rather than filtered again for each.
 */
function metersFor(byType: Map<string, MetersOfType>, type: string, properties: Record<string, unknown>): readonly MeterRecord[] {
  const group = byType.get(type);
  if (!group) return [];
  return group.unfiltered ? group.meters : group.meters.filter((m) => meterMatches(m, type, properties));
}

function isEmpty(filter: Record<string, unknown>): boolean {
  for (const _ in filter) return false;
  return true;
}

/** An in-batch repeat of an event accepted earlier in the same batch reports that event's charge. */
function fillDuplicates(out: Map<number, IngestResult>, candidates: readonly UsageCandidate[]): Map<number, IngestResult> {
  const accepted = new Map<string, IngestResult>();
  for (const c of candidates) {
    const r = out.get(c.index);
    if (r?.status === 'accepted' && !accepted.has(c.id)) accepted.set(c.id, r);
  }
  for (const c of candidates) {
    const r = out.get(c.index);
    if (r?.status === 'duplicate' && r.credits === undefined) r.credits = accepted.get(c.id)?.credits;
  }
  return out;
}

export type { MeterRecord };
