import { fail, invalid, notFound, ok, type Outcome } from '../core/errors.ts';
import { burnDown, isGrantFrozen, isGrantLiveAt } from '../core/burn-down.ts';
import { formatCredits } from '../core/decimal.ts';
import { accounts, type LedgerEntry } from '../core/ledger.ts';
import type { HoldRecord, Metadata } from '../store/records.ts';
import type { StoreTx } from '../store/store.ts';
import { Changes, customerNow, findCustomerLocked, customerNows, type Engine } from './context.ts';
import { FieldCheck } from './input.ts';
import { limits } from './limits.ts';
import { availableOf, loadFunding, refreshSignals, refreshSignalsNow } from './funding.ts';
import { ingestWithin, type IngestResult } from './ingest-events.ts';
import { isRejection, validateUsageEvent } from './usage-validation.ts';

/**
 * Holds reserve credits for long jobs. Creating one moves credits from the customer's grants (in
 * burn-down order) into a `hold:<id>` account, so nothing else can spend them; capturing charges
 * the real usage from the hold first (what it holds of the grants that can pay the event at its
 * time) and returns the rest to the grants it came from; release and expiry return everything.
 */
export interface CreateHoldInput {
  customer: string;
  credits: string;
  expires_in: number;
  metadata?: Metadata | undefined;
}

export async function createHold(engine: Engine, input: CreateHoldInput): Promise<Outcome<HoldRecord>> {
  const check = new FieldCheck();
  const creditsMicro = check.credits('credits', input.credits, { positive: true });
  if (!Number.isInteger(input.expires_in) || input.expires_in < 1 || input.expires_in > limits.holdSecondsMax) {
    check.add('expires_in', 'out_of_range', `expires_in must be a whole number of seconds from 1 to ${limits.holdSecondsMax}.`);
  }
  const metadata = check.metadata('metadata', input.metadata);
  if (check.errors.length) return invalid(check.errors);
  return engine.store.transaction(async (tx) => {
    const customer = await findCustomerLocked(tx, input.customer);
    if (!customer) return notFound('customer', input.customer);
    tx.scopeWritesTo([customer.id]);
    const nows = await customerNows(engine, tx, [customer]);
    const nowMs = nows.get(customer.id)!;
    const funding = (await loadFunding(tx, [customer], nows)).get(customer.id)!;
    const available = availableOf(funding);
    if (available < creditsMicro) {
      return fail('insufficient_credits', 'The customer does not have enough available credits for this hold.', {
        details: { available: formatCredits(available), requested: formatCredits(creditsMicro) },
      });
    }
    const hold: HoldRecord = {
      id: engine.ids.next('hld'),
      customerId: customer.id,
      creditsMicro,
      heldMicro: creditsMicro,
      status: 'active',
      expiresAtMs: nowMs + input.expires_in * 1000,
      eventId: null,
      capturedCreditsMicro: null,
      metadata,
      createdAtMs: nowMs,
      closedAtMs: null,
    };
    const burn = burnDown(funding.grants, creditsMicro, nowMs);
    const entries: LedgerEntry[] = burn.allocations.map((a) => ({ account: accounts.grant(a.grantId), amountMicro: -a.amountMicro }));
    entries.push({ account: accounts.hold(hold.id), amountMicro: creditsMicro });
    await tx.grants.insertHold(hold);
    const changes = new Changes(engine);
    changes.txn({ customerId: customer.id, kind: 'hold', cause: { type: 'hold', id: hold.id }, refs: {}, effectiveAtMs: nowMs, entries });
    changes.event('hold.created', customer.id, { hold: hold.id, credits: formatCredits(creditsMicro) }, nowMs);
    await changes.flush(tx);
    for (const a of burn.allocations) funding.grants.find((g) => g.id === a.grantId)!.remainingMicro -= a.amountMicro;
    await refreshSignals(tx, changes, customer, availableOf(funding), nowMs);
    await changes.flush(tx);
    return ok(hold);
  });
}

export interface CaptureResult {
  hold: HoldRecord;
  event: IngestResult;
}

/** A refused capture, thrown out of its transaction so that nothing it wrote before is kept. */
class RefusedCapture {
  constructor(readonly outcome: Outcome<never>) {}
}

/**
 * Charges the real usage (a usage event) and returns the rest. The event is paid as ingestion
 * pays it at its timestamp (PRODUCT §5), the hold's credits released first: what the hold holds
 * of grants that cannot pay the event at its time (not started, expired or frozen then) goes back
 * to them first and is not used, what it holds of the others pays first, and the grants live at
 * the event's time (or overage, or debt) pay the rest. A refused capture writes nothing.
 */
export async function captureHold(engine: Engine, holdId: string, rawEvent: unknown): Promise<Outcome<CaptureResult>> {
  try {
    return await engine.store.transaction(async (tx) => {
      const outcome = await captureWithin(engine, tx, holdId, rawEvent);
      if (!outcome.ok) throw new RefusedCapture(outcome);
      return outcome;
    });
  } catch (error) {
    if (error instanceof RefusedCapture) return error.outcome;
    throw error;
  }
}

async function captureWithin(engine: Engine, tx: StoreTx, holdId: string, rawEvent: unknown): Promise<Outcome<CaptureResult>> {
  const found = await tx.grants.getHold(holdId);
  if (!found) return notFound('hold', holdId);
  const checked = validateUsageEvent(rawEvent, 0, found.customerId);
  if (isRejection(checked)) return invalid([{ field: `event.${checked.field ?? ''}`.replace(/\.$/, ''), code: checked.code, message: checked.message }]);
  await tx.lockCustomers([found.customerId]);
  tx.scopeWritesTo([found.customerId]);
  const hold = (await tx.grants.getHold(holdId))!;
  if (hold.status !== 'active') return fail('hold_not_active', `The hold is ${hold.status}.`, { details: { status: hold.status } });
  const customer = (await tx.customers.find(hold.customerId))!;
  // The hold names the customer; an event may name it too (by id or external_id), never another.
  const named = (rawEvent as { customer?: unknown }).customer;
  if (named !== undefined && named !== customer.id && (customer.externalId === null || named !== customer.externalId)) {
    return invalid([{ field: 'event.customer', code: 'customer_mismatch', message: `The hold is customer ${customer.id}'s; the event names another.` }]);
  }
  const nowMs = await customerNow(engine, tx, customer);
  if (hold.expiresAtMs <= nowMs) return fail('hold_expired', 'The hold has expired.');
  const atMs = checked.timestampMs ?? nowMs;
  const changes = new Changes(engine);
  const shares = await sharesAt(tx, hold, atMs);
  const usable = shares.filter((s) => s.use === 'usable');
  const unusable = shares.filter((s) => s.use === 'unusable');
  // Back to their grants first, in the same unit of work as the charge (a `hold_release` naming
  // the event in `reduced_by`): the shares of grants that cannot pay the event at its time.
  const releasedMicro = heldTotal(unusable);
  if (releasedMicro > 0n) {
    await releaseHeld(tx, changes, unusable, releasedMicro, checked.id, nowMs, false);
    await changes.flush(tx);
  }
  const usableMicro = heldTotal(usable);
  const funding = { id: hold.id, remainingMicro: usableMicro };
  const results = await ingestWithin(engine, tx, changes, [checked], { hold: funding });
  const event = results.get(0)!;
  if (event.status === 'rejected') {
    return fail(event.error!.code, event.error!.message, { fields: [{ field: `event.${event.error!.field ?? ''}`, code: event.error!.code, message: event.error!.message }] });
  }
  if (event.status === 'duplicate') return fail('event_already_recorded', 'This usage event was recorded already; a hold captures a new event.');
  await changes.flush(tx);
  hold.status = 'captured';
  hold.eventId = checked.id;
  hold.capturedCreditsMicro = usableMicro - funding.remainingMicro;
  const left = leftAfterCapture(shares, hold.capturedCreditsMicro);
  await returnHeld(engine, tx, changes, hold, heldTotal(left), nowMs, 'captured', { sources: left, releasedBeforeMicro: releasedMicro });
  return ok({ hold, event });
}

/** A share of a hold as a capture at some time sees it (`sharesAt`). */
interface CaptureShare extends HeldShare {
  /** `usable`: its grant can pay the event; `unusable`: it cannot (it gets its share back first); `closed`: see `sharesAt`. */
  use: 'usable' | 'unusable' | 'closed';
}

/**
 * What the hold holds of each grant, in funding order, with whether that grant can pay usage
 * stamped `atMs` as ingestion pays it (PRODUCT §5): active, live then (`effective_at` ≤ t <
 * `expires_at`) and not frozen then. A grant closed while the hold kept a share of it (a hold
 * from before expiries and voids took those back) pays nothing and gets nothing back: its share
 * goes where the hold's close sends it (`expired` or `revoked`).
 */
async function sharesAt(tx: StoreTx, hold: HoldRecord, atMs: number): Promise<CaptureShare[]> {
  const sources = (await heldSources(tx, hold.id)).filter((s) => s.amountMicro > 0n);
  const grants = new Map((await tx.grants.getMany(sources.map((s) => s.grantId))).map((g) => [g.id, g]));
  return sources.map((source) => {
    const grant = grants.get(source.grantId);
    const use = !grant || grant.status !== 'active' ? 'closed' : isGrantLiveAt(grant, atMs) && !isGrantFrozen(grant, atMs) ? 'usable' : 'unusable';
    return { hold, grantId: source.grantId, amountMicro: source.amountMicro, use };
  });
}

/**
 * What a captured hold still holds of each grant, in funding order: the usable shares less what
 * the capture took of them, first-funded first (the order the reports trace captures in), and the
 * closed shares whole.
 */
function leftAfterCapture(shares: readonly CaptureShare[], capturedMicro: bigint): { grantId: string; amountMicro: bigint }[] {
  let taken = capturedMicro;
  const left: { grantId: string; amountMicro: bigint }[] = [];
  for (const share of shares) {
    if (share.use === 'unusable') continue;
    let amountMicro = share.amountMicro;
    if (share.use === 'usable') {
      const take = taken < amountMicro ? taken : amountMicro;
      taken -= take;
      amountMicro -= take;
    }
    if (amountMicro > 0n) left.push({ grantId: share.grantId, amountMicro });
  }
  return left;
}

export async function releaseHold(engine: Engine, holdId: string): Promise<Outcome<HoldRecord>> {
  return engine.store.transaction(async (tx) => {
    const found = await tx.grants.getHold(holdId);
    if (!found) return notFound('hold', holdId);
    await tx.lockCustomers([found.customerId]);
    tx.scopeWritesTo([found.customerId]);
    const hold = (await tx.grants.getHold(holdId))!;
    if (hold.status !== 'active') return fail('hold_not_active', `The hold is ${hold.status}.`, { details: { status: hold.status } });
    const customer = (await tx.customers.find(hold.customerId))!;
    const nowMs = await customerNow(engine, tx, customer);
    hold.status = 'released';
    hold.capturedCreditsMicro = 0n;
    await returnHeld(engine, tx, new Changes(engine), hold, await tx.ledger.balance(hold.customerId, accounts.hold(hold.id)), nowMs, 'released');
    return ok(hold);
  });
}

/** Expires a due hold (scheduler). Idempotent: a hold no longer active is left alone. */
export async function expireHold(engine: Engine, tx: StoreTx, holdId: string, atMs: number): Promise<void> {
  const hold = await tx.grants.getHold(holdId);
  if (!hold || hold.status !== 'active') return;
  await tx.lockCustomers([hold.customerId]);
  hold.status = 'expired';
  hold.capturedCreditsMicro = 0n;
  await returnHeld(engine, tx, new Changes(engine), hold, await tx.ledger.balance(hold.customerId, accounts.hold(hold.id)), atMs, 'expired');
}

/** What a capture leaves of its hold (`leftAfterCapture`), and what it gave back before its charge. */
interface CapturedReturn {
  sources: readonly { grantId: string; amountMicro: bigint }[];
  releasedBeforeMicro: bigint;
}

/**
 * Returns what is left of a hold to the grants that funded it, last-funded first (so the grants
 * that would burn first are the ones considered spent). A share whose grant's expiry or void has
 * run meanwhile goes to `expired` or `revoked` instead, so no credits come back to life; a grant
 * past its `expires_at` whose expiry has not run yet gets its share back (no balance counts it
 * after that instant; a late event stamped before it may spend it, as ingestion pays such an
 * event from the grant's remainder) and its expiry takes it to `expired` with the rest. Each
 * grant gets back at most what the hold still holds of it (`heldSources`): a claw-back may have
 * taken some of it back already. A capture names what it leaves of each grant (`captured`), and
 * `hold.captured` counts what it gave back before its charge as released too.
 */
async function returnHeld(
  engine: Engine, tx: StoreTx, changes: Changes, hold: HoldRecord, amountMicro: bigint, nowMs: number, how: string, captured?: CapturedReturn,
): Promise<void> {
  hold.closedAtMs = nowMs;
  await tx.grants.closeHold(hold);
  if (amountMicro > 0n) {
    const sources = [...(captured?.sources ?? await heldSources(tx, hold.id))].reverse();
    const grants = new Map((await tx.grants.getMany(sources.map((s) => s.grantId))).map((g) => [g.id, g]));
    const entries: LedgerEntry[] = [{ account: accounts.hold(hold.id), amountMicro: -amountMicro }];
    let left = amountMicro;
    for (const source of sources) {
      if (left === 0n) break;
      if (source.amountMicro <= 0n) continue;
      const give = source.amountMicro < left ? source.amountMicro : left;
      const grant = grants.get(source.grantId);
      // A grant past its `expires_at` whose expiry has not run yet gets its share back too: a
      // late event stamped before that instant may still spend it there, and the expiry then
      // moves what is left of it to `expired`, as it would have had it run while the hold was open.
      const target = grant?.status === 'active' ? accounts.grant(source.grantId) : grant?.status === 'voided' ? accounts.revoked : accounts.expired;
      entries.push({ account: target, amountMicro: give });
      left -= give;
    }
    changes.txn({ customerId: hold.customerId, kind: 'hold_release', cause: { type: 'hold', id: hold.id }, refs: {}, effectiveAtMs: nowMs, entries });
  }
  changes.event(`hold.${how}`, hold.customerId, {
    hold: hold.id,
    released: formatCredits(amountMicro + (captured?.releasedBeforeMicro ?? 0n)),
    captured: hold.capturedCreditsMicro === null ? null : formatCredits(hold.capturedCreditsMicro),
  }, nowMs);
  // Credits back to their grants may pay a debt owed meanwhile.
  await refreshSignalsNow(tx, changes, (await tx.customers.find(hold.customerId))!, nowMs);
  await changes.flush(tx);
}

/**
 * What a hold still holds of each grant that funded it, in funding order: what each gave when the
 * hold was taken, less what the hold gave back to it while still active (`releaseHeld`).
 */
async function heldSources(tx: StoreTx, holdId: string): Promise<{ grantId: string; amountMicro: bigint }[]> {
  return (await heldSourcesOf(tx, [holdId])).get(holdId)!;
}

/** `heldSources` of many holds, read together (one statement for up to 500 holds). */
async function heldSourcesOf(tx: StoreTx, holdIds: readonly string[]): Promise<Map<string, { grantId: string; amountMicro: bigint }[]>> {
  const entries = await tx.ledger.holdGrantEntries(holdIds);
  const held = new Map(holdIds.map((id) => [id, new Map<string, bigint>()]));
  for (const e of entries) if (e.kind === 'hold') held.get(e.holdId)!.set(e.grantId, -e.amountMicro);
  for (const e of entries) {
    const ofHold = held.get(e.holdId)!;
    if (e.kind === 'hold_release' && ofHold.has(e.grantId)) ofHold.set(e.grantId, ofHold.get(e.grantId)! - e.amountMicro);
  }
  return new Map([...held].map(([id, ofHold]) => [id, [...ofHold].map(([grantId, amountMicro]) => ({ grantId, amountMicro }))]));
}

/** Credits an active hold holds of one grant. */
export interface HeldShare {
  hold: HoldRecord;
  grantId: string;
  amountMicro: bigint;
}

/**
 * What the customer's active holds hold of these grants, newest hold first and, within a hold,
 * last-funded grant first (the order a release gives credits back in). Held credits are not spent
 * yet: a claw-back counts them as what is left of their grants (PRODUCT §8) and takes back what
 * it needs of them with `releaseHeld`, so a later release cannot bring revoked credits back.
 */
export async function heldOf(tx: StoreTx, customerId: string, grantIds: ReadonlySet<string>, activeHolds?: readonly HoldRecord[]): Promise<HeldShare[]> {
  const shares: HeldShare[] = [];
  if (grantIds.size === 0) return shares;
  const holds = activeHolds ?? await tx.grants.activeHolds(customerId);
  if (holds.length === 0) return shares;
  // One read for all of them, where each hold's transactions were read on their own.
  const sources = await heldSourcesOf(tx, holds.map((h) => h.id));
  for (const hold of [...holds].reverse()) {
    for (const source of [...sources.get(hold.id)!].reverse()) {
      if (source.amountMicro > 0n && grantIds.has(source.grantId)) shares.push({ hold, grantId: source.grantId, amountMicro: source.amountMicro });
    }
  }
  return shares;
}

export function heldTotal(shares: readonly { amountMicro: bigint }[]): bigint {
  let total = 0n;
  for (const s of shares) total += s.amountMicro;
  return total;
}

/**
 * Gives `amountMicro` of the held credits `shares` lists back to their grants, in its order, so
 * that the claw-back `reducedBy` names can revoke them from there in the same unit of work: one
 * `hold_release` transaction per hold (refs `reduced_by`), which stays active and holds that much
 * less (`hold.reduced`, unless `announce` is false); a capture then charges beyond it from the
 * grants as any usage. A capture gives back this way, naming its event, what the hold holds of
 * grants that cannot pay that event at its time, and closes the hold in the same unit of work
 * (`hold.captured` says what it released). Returns what each grant got back.
 */
export async function releaseHeld(
  tx: StoreTx, changes: Changes, shares: readonly HeldShare[], amountMicro: bigint, reducedBy: string, nowMs: number, announce = true,
): Promise<Map<string, bigint>> {
  const back = new Map<string, bigint>();
  const byHold = new Map<string, { hold: HoldRecord; entries: LedgerEntry[]; totalMicro: bigint }>();
  let left = amountMicro;
  for (const share of shares) {
    if (left <= 0n) break;
    const give = share.amountMicro < left ? share.amountMicro : left;
    left -= give;
    back.set(share.grantId, (back.get(share.grantId) ?? 0n) + give);
    let reduced = byHold.get(share.hold.id);
    if (reduced === undefined) byHold.set(share.hold.id, (reduced = { hold: share.hold, entries: [], totalMicro: 0n }));
    reduced.entries.push({ account: accounts.grant(share.grantId), amountMicro: give });
    reduced.totalMicro += give;
  }
  for (const { hold, entries, totalMicro } of byHold.values()) {
    hold.heldMicro -= totalMicro;
    await tx.grants.reduceHold(hold.id, hold.heldMicro);
    changes.txn({
      customerId: hold.customerId, kind: 'hold_release', cause: { type: 'hold', id: hold.id }, refs: { reduced_by: reducedBy }, effectiveAtMs: nowMs,
      entries: [{ account: accounts.hold(hold.id), amountMicro: -totalMicro }, ...entries],
    });
    if (announce) changes.event('hold.reduced', hold.customerId, { hold: hold.id, released: formatCredits(totalMicro), held: formatCredits(hold.heldMicro), reduced_by: reducedBy }, nowMs);
  }
  return back;
}
