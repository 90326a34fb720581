import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { dialects } from '../support/databases.ts';
import { must, useEngine } from '../support/engine.ts';
import type { Engine } from '../../src/engine/context.ts';
import { advanceTestClock, createTestClock } from '../../src/engine/test-clocks.ts';
import { createCustomer } from '../../src/engine/customers.ts';
import { createGrant, voidGrant } from '../../src/engine/grants.ts';
import { createMeter } from '../../src/engine/meters.ts';
import { ingestEvents, type IngestResult } from '../../src/engine/ingest-events.ts';
import { captureHold, createHold, releaseHold } from '../../src/engine/holds.ts';
import { getBalance } from '../../src/engine/balance.ts';
import { purchaseCredits } from '../../src/engine/purchases.ts';
import { recordPayment } from '../../src/engine/invoices.ts';
import { createReturn } from '../../src/engine/refunds.ts';
import { reconcile } from '../../src/engine/reconcile.ts';
import { costOfQuantity, parseRate, type Rate } from '../../src/core/rating.ts';
import { parseCredits } from '../../src/core/decimal.ts';
import type { Page, PageRequest } from '../../src/store/records.ts';

/**
 * Property tests for the ledger (PRODUCT §2, §4, §5): random command sequences for one customer
 * on a test clock, then the invariants that must hold whatever the sequence was. Expected
 * quantities, statuses and grant/hold lifecycles come from a small model kept here, written
 * without the engine's code; amounts are compared with the ledger recomputed from its entries.
 */

const minuteMs = 60_000;
const hourMs = 3_600_000;
const dayMs = 86_400_000;
const oneUnitMicro = 1_000_000n;
const futureToleranceMs = 5 * minuteMs;
const pastToleranceMs = 35 * dayMs;
/** Raise with TALLY_PROPERTY_RUNS for a longer hunt; the default keeps the file quick. */
const numRuns = Number(process.env.TALLY_PROPERTY_RUNS ?? 25);

// ---------------------------------------------------------------------------------------------
// Arbitraries: the wire forms the engine receives.

/** A non-negative decimal string with up to `maxDigits` fraction digits, trailing zeros kept. */
const decimalText = (maxWhole: number, maxDigits: number): fc.Arbitrary<string> =>
  fc
    .tuple(fc.integer({ min: 0, max: maxWhole }), fc.integer({ min: 0, max: maxDigits }), fc.nat())
    .map(([whole, digits, fraction]) => (digits === 0 ? `${whole}` : `${whole}.${String(fraction % 10 ** digits).padStart(digits, '0')}`));

const positiveCredits = (maxWhole: number): fc.Arbitrary<string> => decimalText(maxWhole, 6).filter((text) => /[1-9]/.test(text));

const unitPrice = fc.oneof(decimalText(3, 12), fc.constantFrom('0.0000003', '0.0000005', '0.000001', '0.002', '1', '0'));

/** Tier bounds in tenths of a unit, so tiers also break inside a unit. */
const tierBoundTenths = fc.integer({ min: 1, max: 400 });

const rateWire: fc.Arbitrary<unknown> = fc.oneof(
  unitPrice.map((price) => ({ model: 'per_unit', credits_per_unit: price })),
  fc.tuple(fc.uniqueArray(tierBoundTenths, { maxLength: 3 }), fc.array(unitPrice, { minLength: 4, maxLength: 4 })).map(([bounds, prices]) => {
    const sorted = [...bounds].sort((a, b) => a - b);
    const upTo = (tenths: number): number | string => (tenths % 10 === 0 ? tenths / 10 : `${Math.floor(tenths / 10)}.${tenths % 10}`);
    return {
      model: 'graduated',
      tiers: [...sorted.map((b, i) => ({ up_to: upTo(b), credits_per_unit: prices[i]! })), { up_to: null, credits_per_unit: prices[sorted.length]! }],
    };
  }),
  fc.tuple(fc.oneof(fc.integer({ min: 1, max: 50 }), fc.constantFrom('0.5', '2.25', '0.000001')), decimalText(20, 6)).map(([size, price]) => ({
    model: 'package',
    package_size: size,
    credits_per_package: price,
  })),
);

type Aggregation = 'count' | 'sum' | 'max' | 'unique_count';

interface MeterSpec {
  aggregation: Aggregation;
  typeIndex: number;
  filterModel: 'a' | 'b' | null;
  rate: unknown;
}

const meterSpec: fc.Arbitrary<MeterSpec> = fc.record({
  aggregation: fc.constantFrom<Aggregation>('count', 'sum', 'max', 'unique_count'),
  typeIndex: fc.integer({ min: 0, max: 1 }),
  filterModel: fc.constantFrom<'a' | 'b' | null>(null, null, 'a', 'b'),
  rate: rateWire,
});

interface EventSpec {
  typeIndex: number;
  value: string;
  asNumber: boolean;
  user: string;
  model: 'a' | 'b';
  /** Offset of an explicit timestamp from the customer's clock; null sends no timestamp. */
  timestampOffsetMs: number | null;
  /** Re-send an event sent before (same id): as it was, or with another body. */
  reuse: { pick: number; changeBody: boolean } | null;
}

const eventValue = fc.oneof(
  { weight: 12, arbitrary: decimalText(1000, 6) },
  { weight: 1, arbitrary: decimalText(50, 6).filter((text) => /[1-9]/.test(text)).map((text) => `-${text}`) },
);

const timestampOffset = fc.oneof(
  { weight: 6, arbitrary: fc.constant(null) },
  { weight: 3, arbitrary: fc.integer({ min: -40 * 24, max: 0 }).map((hours) => hours * hourMs) },
  { weight: 1, arbitrary: fc.constantFrom(-pastToleranceMs, -pastToleranceMs - 1, futureToleranceMs, futureToleranceMs + 1, minuteMs) },
);

const eventSpec: fc.Arbitrary<EventSpec> = fc.record({
  typeIndex: fc.integer({ min: 0, max: 1 }),
  value: eventValue,
  asNumber: fc.boolean(),
  user: fc.constantFrom('u1', 'u2', 'u3', 'u4', 'u5'),
  model: fc.constantFrom<'a' | 'b'>('a', 'b'),
  timestampOffsetMs: timestampOffset,
  reuse: fc.oneof({ weight: 4, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: fc.record({ pick: fc.nat(), changeBody: fc.boolean() }) }),
});

type Command =
  | { kind: 'grant'; credits: string; category: 'paid' | 'promotional'; priority: number | undefined; expiresInMs: number | null }
  | { kind: 'ingest'; events: EventSpec[]; resend: number }
  | { kind: 'hold'; credits: string; expiresInSeconds: number }
  | { kind: 'capture'; pick: number; event: EventSpec; backdateMs: number | null }
  | { kind: 'release'; pick: number }
  | { kind: 'void'; pick: number }
  | { kind: 'buy'; credits: string }
  | { kind: 'refund'; pick: number; policy: 'proportional' | 'full' | 'unused_only'; shortfall: 'debt' | 'write_off' }
  | { kind: 'advance'; ms: number };

const command: fc.Arbitrary<Command> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('grant' as const),
      credits: positiveCredits(300),
      category: fc.constantFrom<'paid' | 'promotional'>('paid', 'promotional'),
      priority: fc.option(fc.integer({ min: 0, max: 100 }), { nil: undefined }),
      expiresInMs: fc.oneof(
        fc.constant(null),
        fc.integer({ min: 1, max: 72 }).map((hours) => hours * hourMs),
        fc.integer({ min: 1, max: 60 * 24 }).map((hours) => hours * hourMs),
        fc.integer({ min: 1, max: 60 * 24 * 3600 }).map((seconds) => seconds * 1000),
      ),
    }),
  },
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant('ingest' as const),
      events: fc.array(eventSpec, { minLength: 1, maxLength: 8 }),
      resend: fc.oneof({ weight: 2, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: 1, max: 3 }) }),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('hold' as const),
      credits: positiveCredits(60),
      expiresInSeconds: fc.oneof(fc.integer({ min: 1, max: 7 * 24 }).map((hours) => hours * 3600), fc.integer({ min: 1, max: 7 * 24 * 3600 })),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('capture' as const), pick: fc.nat(), event: eventSpec,
      // Back-dated by hours, often to before the grants its hold holds started (or after one expired).
      backdateMs: fc.oneof({ weight: 1, arbitrary: fc.constant(null) }, { weight: 2, arbitrary: fc.integer({ min: 1, max: 72 }).map((hours) => hours * hourMs) }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('release' as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('void' as const), pick: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('buy' as const), credits: positiveCredits(200) }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('refund' as const), pick: fc.nat(),
      policy: fc.constantFrom<'proportional' | 'full' | 'unused_only'>('proportional', 'full', 'unused_only'),
      shortfall: fc.constantFrom<'debt' | 'write_off'>('debt', 'write_off'),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('advance' as const),
      ms: fc.oneof(fc.integer({ min: 1, max: 180 }).map((m) => m * minuteMs), fc.integer({ min: 1, max: 24 * 15 }).map((h) => h * hourMs)),
    }),
  },
);

const scenario = fc.record({
  /** Hours after 2026-01-29T00:00Z, so runs cross a calendar month (the usage period) early. */
  startHours: fc.integer({ min: 0, max: 96 }),
  overage: fc.boolean(),
  lowBalanceThreshold: fc.option(positiveCredits(100), { nil: undefined }),
  meters: fc.array(meterSpec, { minLength: 1, maxLength: 3 }),
  commands: fc.array(command, { minLength: 1, maxLength: 25 }),
});

type Scenario = typeof scenario extends fc.Arbitrary<infer S> ? S : never;

// ---------------------------------------------------------------------------------------------
// The model.

interface RawEvent {
  id: string;
  customer?: string;
  type: string;
  timestamp?: string;
  properties: { value: string | number; user: string; model: string; note?: string };
}

interface ModelMeter {
  id: string;
  code: string;
  type: string;
  filterModel: 'a' | 'b' | null;
  aggregation: Aggregation;
  rate: Rate;
}

interface Model {
  customerId: string;
  nowMs: number;
  meters: ModelMeter[];
  /** Accepted usage events by id, with the body they were accepted with. */
  accepted: Map<string, { body: string; credits: string | undefined }>;
  sent: RawEvent[];
  /** Period quantities by `meterCode|periodStartMs`. */
  quantities: Map<string, { quantityMicro: bigint; uniques: Set<string> }>;
  grants: Map<string, { status: 'active' | 'voided' | 'expired'; expiresAtMs: number | null }>;
  grantIds: string[];
  holds: Map<string, { status: 'active' | 'captured' | 'released' | 'expired'; expiresAtMs: number }>;
  holdIds: string[];
  /** Credits bought and paid: the invoice, its grant, and whether it was refunded in full. */
  purchases: { invoiceId: string; grantId: string; refunded: boolean }[];
  grantedMicro: bigint;
  eventSeq: number;
  prefix: string;
}

type Expected = { status: 'accepted' } | { status: 'duplicate' } | { status: 'rejected'; code: string };

/** Micro-units of a decimal text, parsed here rather than by the engine's parser. */
function micro(text: string): bigint {
  const match = /^(-?)(\d+)(?:\.(\d+))?$/.exec(text);
  if (!match) throw new Error(`not a decimal: ${text}`);
  const fraction = (match[3] ?? '').padEnd(6, '0');
  if (fraction.length > 6) throw new Error(`more than 6 fraction digits: ${text}`);
  const magnitude = BigInt(match[2]!) * oneUnitMicro + BigInt(fraction);
  return match[1] === '-' ? -magnitude : magnitude;
}

function monthStartMs(atMs: number): number {
  const date = new Date(atMs);
  return Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), 1);
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

function bodyOf(customerId: string, raw: RawEvent): string {
  return JSON.stringify([customerId, raw.type, raw.timestamp ?? '', raw.properties]);
}

function buildEvent(model: Model, spec: EventSpec, forCapture: boolean, backdateMs: number | null = null): RawEvent {
  if (spec.reuse !== null && model.sent.length > 0) {
    // Capture events name no customer (the hold does); the same body sent to ingest names it.
    const previous: RawEvent = { ...model.sent[spec.reuse.pick % model.sent.length]!, customer: model.customerId };
    if (forCapture) delete previous.customer;
    if (!spec.reuse.changeBody) return previous;
    return { ...previous, properties: { ...previous.properties, note: `changed-${model.eventSeq++}` } };
  }
  const value = spec.asNumber && !spec.value.startsWith('-') ? Number(spec.value) : spec.value;
  const raw: RawEvent = {
    id: `${model.prefix}-e${model.eventSeq++}`,
    type: `${model.prefix}-t${spec.typeIndex}`,
    properties: { value: typeof value === 'number' && /e/i.test(String(value)) ? spec.value : value, user: spec.user, model: spec.model },
  };
  if (!forCapture) raw.customer = model.customerId;
  if (spec.timestampOffsetMs !== null) raw.timestamp = iso(model.nowMs + spec.timestampOffsetMs);
  if (backdateMs !== null) raw.timestamp = iso(model.nowMs - backdateMs);
  return raw;
}

/**
 * What the engine must answer for one event, given everything before it; applies an accepted
 * event's quantities. Events are judged one at a time in request order, as PRODUCT §5 reads.
 */
function judge(model: Model, raw: RawEvent): Expected {
  const body = bodyOf(model.customerId, raw);
  const previous = model.accepted.get(raw.id);
  if (previous) return previous.body === body ? { status: 'duplicate' } : { status: 'rejected', code: 'idempotency_conflict' };
  const atMs = raw.timestamp === undefined ? model.nowMs : Date.parse(raw.timestamp);
  if (atMs > model.nowMs + futureToleranceMs) return { status: 'rejected', code: 'timestamp_in_future' };
  if (atMs < model.nowMs - pastToleranceMs) return { status: 'rejected', code: 'timestamp_too_old' };
  const matched = model.meters.filter((m) => m.type === raw.type && (m.filterModel === null || m.filterModel === raw.properties.model));
  const valueMicro = micro(String(raw.properties.value));
  if (valueMicro < 0n && matched.some((m) => m.aggregation === 'sum' || m.aggregation === 'max')) {
    return { status: 'rejected', code: 'negative_quantity' };
  }
  const period = monthStartMs(atMs);
  for (const meter of matched) {
    const key = `${meter.code}|${period}`;
    const total = model.quantities.get(key) ?? { quantityMicro: 0n, uniques: new Set<string>() };
    if (meter.aggregation === 'count') total.quantityMicro += oneUnitMicro;
    else if (meter.aggregation === 'sum') total.quantityMicro += valueMicro;
    else if (meter.aggregation === 'max') total.quantityMicro = valueMicro > total.quantityMicro ? valueMicro : total.quantityMicro;
    else if (!total.uniques.has(raw.properties.user)) {
      total.uniques.add(raw.properties.user);
      total.quantityMicro += oneUnitMicro;
    }
    model.quantities.set(key, total);
  }
  model.accepted.set(raw.id, { body, credits: undefined });
  return { status: 'accepted' };
}

function advanceModel(model: Model, toMs: number): void {
  model.nowMs = toMs;
  for (const hold of model.holds.values()) if (hold.status === 'active' && hold.expiresAtMs <= toMs) hold.status = 'expired';
  for (const grant of model.grants.values()) {
    if (grant.status === 'active' && grant.expiresAtMs !== null && grant.expiresAtMs <= toMs) grant.status = 'expired';
  }
}

function describeResult(r: IngestResult): Expected {
  return r.status === 'rejected' ? { status: 'rejected', code: r.error?.code ?? '?' } : { status: r.status };
}

// ---------------------------------------------------------------------------------------------
// Reading everything back.

async function everything<T extends { id: string }>(list: (page: PageRequest) => Promise<Page<T>>): Promise<T[]> {
  const out: T[] = [];
  let startingAfter: string | undefined;
  for (;;) {
    const page = await list({ limit: 100, startingAfter });
    out.push(...page.data);
    if (!page.hasMore || page.data.length === 0) return out;
    startingAfter = page.data[page.data.length - 1]!.id;
  }
}

async function transactionsOf(engine: Engine, customerId: string) {
  return everything((page) => engine.store.read.ledger.listTransactions(customerId, page));
}

async function ledgerSums(engine: Engine, customerId: string): Promise<Map<string, bigint>> {
  const sums = new Map<string, bigint>();
  for (const txn of await transactionsOf(engine, customerId)) {
    for (const e of txn.entries) sums.set(e.account, (sums.get(e.account) ?? 0n) + e.amountMicro);
  }
  return sums;
}

const sumWhere = (sums: Map<string, bigint>, test: (account: string) => boolean): bigint =>
  [...sums].reduce((total, [account, amount]) => (test(account) ? total + amount : total), 0n);

/** Every invariant the brief names, checked after a whole sequence. */
async function checkInvariants(engine: Engine, model: Model): Promise<void> {
  const read = engine.store.read;
  const customerId = model.customerId;

  // Every transaction balances and has at least two entries; stored balances are the entries' sums.
  expect(await read.ledger.unbalancedTransactions()).toEqual([]);
  expect(await read.ledger.balanceDiscrepancies(customerId)).toEqual([]);
  const txns = await transactionsOf(engine, customerId);
  for (const txn of txns) {
    expect(txn.entries.length, `entries of ${txn.id}`).toBeGreaterThanOrEqual(2);
    expect(txn.entries.reduce((t, e) => t + e.amountMicro, 0n), `sum of ${txn.id}`).toBe(0n);
  }
  const sums = await ledgerSums(engine, customerId);
  const stored = await read.ledger.balances(customerId);
  for (const [account, amount] of sums) expect(stored.get(account) ?? 0n, `stored balance of ${account}`).toBe(amount);

  // The balance read equals a recomputation from the ledger and the grants' lifecycle.
  const grants = await everything((page) => read.grants.list(customerId, page));
  const { balance, nowMs } = must(await getBalance(engine, customerId));
  expect(nowMs).toBe(model.nowMs);
  const live = grants.filter((g) => g.status === 'active' && g.effectiveAtMs <= nowMs && (g.expiresAtMs === null || nowMs < g.expiresAtMs));
  const remaining = (id: string): bigint => sums.get(`grant:${id}`) ?? 0n;
  const liveOf = (category: string): bigint => live.filter((g) => g.category === category).reduce((t, g) => t + remaining(g.id), 0n);
  expect(balance.availableMicro).toBe(liveOf('paid') + liveOf('promotional'));
  expect(balance.paidMicro).toBe(liveOf('paid'));
  expect(balance.promotionalMicro).toBe(liveOf('promotional'));
  expect(balance.overageMicro).toBe(-(sums.get('overage') ?? 0n));
  expect(balance.debtMicro).toBe(-(sums.get('debt') ?? 0n));
  expect(balance.heldMicro).toBe(sumWhere(sums, (a) => a.startsWith('hold:')));
  expect(new Map(balance.grants.map((g) => [g.id, g.remainingMicro]))).toEqual(
    new Map(live.filter((g) => remaining(g.id) > 0n).map((g) => [g.id, remaining(g.id)])),
  );
  if (!(await read.customers.find(customerId))!.overageEnabled) expect(sums.get('overage') ?? 0n).toBe(0n);

  // Event time rules (PRODUCT §5): usage is paid only by grants live at the event's timestamp
  // (an expired one through a take-back from `expired`, linked to its expiry), and `expired` never
  // gives back more than it received.
  const grantById = new Map(grants.map((g) => [g.id, g]));
  for (const txn of txns) {
    if (txn.causeType === 'usage_event') {
      for (const e of txn.entries) {
        if (!e.account.startsWith('grant:')) continue;
        const g = grantById.get(e.account.slice('grant:'.length))!;
        expect(g.effectiveAtMs <= txn.effectiveAtMs && (g.expiresAtMs === null || txn.effectiveAtMs < g.expiresAtMs), `grant ${g.id} live when ${txn.id} happened`).toBe(true);
      }
    }
    if (txn.causeType === 'grant_expiry') expect(txn.effectiveAtMs, `expiry of ${txn.causeId} at its expires_at`).toBe(grantById.get(txn.causeId)!.expiresAtMs);
  }
  // A capture (back-dated or stamped ahead included) pays from its hold only what the hold held
  // of grants live at its event's time: the rest went back to them first (a `hold_release` whose
  // `reduced_by` names the event, as a claw-back's names it), and those grants pay nothing of it.
  for (const txn of txns) {
    if (txn.causeType !== 'usage_event') continue;
    for (const e of txn.entries) {
      if (!e.account.startsWith('hold:')) continue;
      const holdId = e.account.slice('hold:'.length);
      const held = new Map<string, bigint>();
      for (const t of txns) {
        if (t.causeId !== holdId || !(t.kind === 'hold' || (t.kind === 'hold_release' && t.refs.reduced_by !== undefined))) continue;
        for (const f of t.entries) {
          if (!f.account.startsWith('grant:')) continue;
          const grantId = f.account.slice('grant:'.length);
          held.set(grantId, (held.get(grantId) ?? 0n) - f.amountMicro);
        }
      }
      let usableMicro = 0n;
      for (const [grantId, amountMicro] of held) {
        const g = grantById.get(grantId)!;
        if (g.effectiveAtMs <= txn.effectiveAtMs && (g.expiresAtMs === null || txn.effectiveAtMs < g.expiresAtMs)) usableMicro += amountMicro;
      }
      console.log('CAPTURECHECK', -e.amountMicro, usableMicro, [...held].map(([g, a]) => [g, a, grantById.get(g)!.effectiveAtMs - txn.effectiveAtMs]));
      expect(-e.amountMicro, `hold ${holdId} paid ${txn.id} only from grants live at its time`).toBeLessThanOrEqual(usableMicro);
    }
  }
  expect(sums.get('expired') ?? 0n).toBeGreaterThanOrEqual(0n);

  // Grant and hold lifecycles follow the model; nothing is overdrawn or left in a closed account.
  for (const g of grants) {
    expect(g.status, `status of ${g.id}`).toBe(model.grants.get(g.id)?.status);
    expect(g.remainingMicro).toBe(remaining(g.id));
    expect(remaining(g.id), `remaining of ${g.id}`).toBeGreaterThanOrEqual(0n);
    if (g.status !== 'active') expect(remaining(g.id), `remaining of closed ${g.id}`).toBe(0n);
  }
  expect(grants.length).toBe(model.grants.size);
  const holds = await everything((page) => read.grants.listHolds(customerId, page));
  expect(holds.length).toBe(model.holds.size);
  for (const h of holds) {
    expect(h.status, `status of ${h.id}`).toBe(model.holds.get(h.id)?.status);
    const held = sums.get(`hold:${h.id}`) ?? 0n;
    expect(held, `hold account of ${h.id}`).toBeGreaterThanOrEqual(0n);
    if (h.status !== 'active') expect(held, `hold account of closed ${h.id}`).toBe(0n);
  }
  expect(-sumWhere(sums, (a) => a.startsWith('issued:'))).toBe(model.grantedMicro);
  // A refund in full takes every credit of its purchase that is not spent, held ones included
  // (PRODUCT §8): none is left on the grant, and no hold's release or capture brings one back.
  for (const p of model.purchases) if (p.refunded) expect(remaining(p.grantId), `credits of ${p.grantId} after its refund`).toBe(0n);

  // No usage event is charged twice, and each charge is the event's rating.
  const events = await everything((page) => read.usage.listEvents(customerId, page));
  expect(new Set(events.map((e) => e.id))).toEqual(new Set(model.accepted.keys()));
  const usageTxns = new Map<string, typeof txns>();
  for (const txn of txns) {
    if (txn.causeType !== 'usage_event') continue;
    usageTxns.set(txn.causeId, [...(usageTxns.get(txn.causeId) ?? []), txn]);
  }
  for (const causeId of usageTxns.keys()) expect(model.accepted.has(causeId), `usage transaction for unknown event ${causeId}`).toBe(true);
  const charged = new Map<string, { creditsMicro: bigint; quantityMicro: bigint }>();
  for (const event of events) {
    const list = usageTxns.get(event.id) ?? [];
    expect(list.length, `transactions for event ${event.id}`).toBe(event.creditsMicro === 0n ? 0 : 1);
    let ratedMicro = 0n;
    for (const line of event.rating) {
      const credits = parseCredits(line.credits, { allowNegative: true });
      if (!credits.ok) throw new Error(`bad rating credits ${line.credits}`);
      ratedMicro += credits.value;
      const key = `${line.meter}|${monthStartMs(event.timestampMs)}`;
      const total = charged.get(key) ?? { creditsMicro: 0n, quantityMicro: 0n };
      total.creditsMicro += credits.value;
      total.quantityMicro += micro(line.quantity);
      charged.set(key, total);
    }
    expect(ratedMicro, `rating of ${event.id}`).toBe(event.creditsMicro);
    const [txn] = list;
    if (txn) {
      expect(event.txnId).toBe(txn.id);
      expect(txn.entries.filter((e) => e.account.startsWith('consumed:')).reduce((t, e) => t + e.amountMicro, 0n)).toBe(event.creditsMicro);
    }
  }

  // Per meter and period: charged credits = the rate applied to the period's total quantity.
  const storedTotals = await read.usage.totalsForCustomer(customerId);
  for (const [key, total] of model.quantities) {
    const [code, period] = key.split('|') as [string, string];
    const meter = model.meters.find((m) => m.code === code)!;
    const expectedMicro = costOfQuantity(meter.rate, total.quantityMicro);
    const got = charged.get(key) ?? { creditsMicro: 0n, quantityMicro: 0n };
    expect(got.quantityMicro, `quantity of ${key}`).toBe(total.quantityMicro);
    expect(got.creditsMicro, `credits of ${key}`).toBe(expectedMicro);
    const storedTotal = storedTotals.find((t) => t.meterId === meter.id && t.periodStartMs === Number(period));
    expect(storedTotal?.quantityMicro ?? 0n, `stored quantity of ${key}`).toBe(total.quantityMicro);
    expect(storedTotal?.creditsMicro ?? 0n, `stored credits of ${key}`).toBe(expectedMicro);
  }
  for (const key of charged.keys()) expect(model.quantities.has(key), `charges for unexpected ${key}`).toBe(true);
  for (const meter of model.meters) {
    let expectedMicro = 0n;
    for (const [key, total] of model.quantities) if (key.startsWith(`${meter.code}|`)) expectedMicro += costOfQuantity(meter.rate, total.quantityMicro);
    expect(sums.get(`consumed:${meter.code}`) ?? 0n, `consumed:${meter.code}`).toBe(expectedMicro);
  }
}

// ---------------------------------------------------------------------------------------------
// Running a scenario.

let runSeq = 0;

/**
 * Sends one batch and compares every status with the model. A rejected event claims nothing, so
 * a later event of the same id in the same batch is judged exactly as if it came alone.
 */
async function ingestAndCheck(engine: Engine, model: Model, batch: RawEvent[]): Promise<IngestResult[]> {
  const results = await ingestEvents(engine, batch);
  const expected = batch.map((raw): Expected => judge(model, raw));
  expect(results.map(describeResult), `statuses of ${JSON.stringify(batch)}`).toEqual(expected);
  results.forEach((r, i) => {
    const entry = model.accepted.get(batch[i]!.id);
    if (r.status === 'accepted' && entry) entry.credits = r.credits;
    if (r.status === 'duplicate' && entry) expect(r.credits, `credits reported for duplicate ${r.id}`).toBe(entry.credits);
  });
  return results;
}

async function runCommand(engine: Engine, model: Model, clockId: string, cmd: Command): Promise<void> {
  const customer = model.customerId;
  switch (cmd.kind) {
    case 'grant': {
      const expiresAtMs = cmd.expiresInMs === null ? null : model.nowMs + cmd.expiresInMs;
      const debtBefore = must(await getBalance(engine, customer)).balance.debtMicro;
      const grant = must(await createGrant(engine, {
        customer, credits: cmd.credits, category: cmd.category, source: cmd.category === 'paid' ? 'purchase' : 'promotion',
        priority: cmd.priority, expires_at: expiresAtMs === null ? undefined : iso(expiresAtMs),
      }));
      model.grants.set(grant.id, { status: 'active', expiresAtMs });
      model.grantIds.push(grant.id);
      model.grantedMicro += micro(cmd.credits);
      // A grant effective now pays down debt first (PRODUCT §2), as far as it reaches.
      const creditsMicro = micro(cmd.credits);
      const paidDown = debtBefore < creditsMicro ? debtBefore : creditsMicro;
      expect(must(await getBalance(engine, customer)).balance.debtMicro).toBe(debtBefore - paidDown);
      expect(await engine.store.read.ledger.balance(customer, `grant:${grant.id}`)).toBe(creditsMicro - paidDown);
      return;
    }
    case 'ingest': {
      const batch = cmd.events.map((spec) => buildEvent(model, spec, false));
      await ingestAndCheck(engine, model, batch);
      model.sent.push(...batch);
      if (cmd.resend === 0) return;
      // Re-sending the whole batch, any number of times, changes no balance and writes nothing.
      const before = await engine.store.read.ledger.balances(customer);
      const txnCount = (await transactionsOf(engine, customer)).length;
      for (let i = 0; i < cmd.resend; i++) {
        const again = await ingestAndCheck(engine, model, batch);
        expect(again.filter((r) => r.status === 'accepted')).toEqual([]);
      }
      expect(await engine.store.read.ledger.balances(customer)).toEqual(before);
      expect((await transactionsOf(engine, customer)).length).toBe(txnCount);
      return;
    }
    case 'hold': {
      const { balance } = must(await getBalance(engine, customer));
      const outcome = await createHold(engine, { customer, credits: cmd.credits, expires_in: cmd.expiresInSeconds });
      const enough = balance.availableMicro >= micro(cmd.credits);
      expect(outcome.ok ? 'ok' : outcome.error.code).toBe(enough ? 'ok' : 'insufficient_credits');
      if (outcome.ok) {
        model.holds.set(outcome.value.id, { status: 'active', expiresAtMs: model.nowMs + cmd.expiresInSeconds * 1000 });
        model.holdIds.push(outcome.value.id);
      }
      return;
    }
    case 'capture': {
      if (model.holdIds.length === 0) return;
      const holdId = model.holdIds[cmd.pick % model.holdIds.length]!;
      const hold = model.holds.get(holdId)!;
      const raw = buildEvent(model, cmd.event, true, cmd.backdateMs);
      const expected: Expected | 'hold_not_active' = hold.status === 'active' ? judge(model, raw) : 'hold_not_active';
      const outcome = await captureHold(engine, holdId, raw);
      model.sent.push(raw);
      if (expected === 'hold_not_active') {
        expect(outcome.ok ? 'ok' : outcome.error.code).toBe('hold_not_active');
      } else if (expected.status === 'accepted') {
        const captured = must(outcome);
        hold.status = 'captured';
        model.accepted.get(raw.id)!.credits = captured.event.credits;
      } else {
        expect(outcome.ok ? 'ok' : outcome.error.code).toBe(expected.status === 'duplicate' ? 'event_already_recorded' : expected.code);
      }
      return;
    }
    case 'release': {
      if (model.holdIds.length === 0) return;
      const holdId = model.holdIds[cmd.pick % model.holdIds.length]!;
      const hold = model.holds.get(holdId)!;
      const outcome = await releaseHold(engine, holdId);
      expect(outcome.ok ? 'ok' : outcome.error.code).toBe(hold.status === 'active' ? 'ok' : 'hold_not_active');
      if (outcome.ok) hold.status = 'released';
      return;
    }
    case 'void': {
      if (model.grantIds.length === 0) return;
      const grantId = model.grantIds[cmd.pick % model.grantIds.length]!;
      const grant = model.grants.get(grantId)!;
      const outcome = await voidGrant(engine, grantId, 'property test');
      expect(outcome.ok ? 'ok' : outcome.error.code).toBe(grant.status === 'active' ? 'ok' : 'grant_not_active');
      if (outcome.ok) grant.status = 'voided';
      return;
    }
    case 'buy': {
      const bought = must(await purchaseCredits(engine, customer, { credits: cmd.credits, amount: 100 }));
      must(await recordPayment(engine, bought.invoice.id, { amount: 100 }));
      model.grants.set(bought.grant.id, { status: 'active', expiresAtMs: null });
      model.grantIds.push(bought.grant.id);
      model.purchases.push({ invoiceId: bought.invoice.id, grantId: bought.grant.id, refunded: false });
      model.grantedMicro += micro(cmd.credits);
      return;
    }
    case 'refund': {
      const open = model.purchases.filter((p) => !p.refunded);
      if (open.length === 0) return;
      const purchase = open[cmd.pick % open.length]!;
      must(await createReturn(engine, 'refund', { invoice: purchase.invoiceId, amount: 100, reason: 'property test', credit_policy: cmd.policy, shortfall: cmd.shortfall }));
      purchase.refunded = true;
      return;
    }
    case 'advance': {
      must(await advanceTestClock(engine, clockId, { frozen_time: iso(model.nowMs + cmd.ms) }));
      advanceModel(model, model.nowMs + cmd.ms);
      return;
    }
  }
}

async function runScenario(engine: Engine, dialect: string, s: Scenario): Promise<void> {
  runSeq += 1;
  const prefix = `p${process.pid}-${dialect}-${runSeq}`;
  const startMs = Date.UTC(2026, 0, 29) + s.startHours * hourMs;
  const clock = must(await createTestClock(engine, { frozen_time: iso(startMs) }));
  const customer = must(await createCustomer(engine, {
    currency: 'USD', test_clock: clock.id, overage: s.overage, low_balance_threshold: s.lowBalanceThreshold,
  }));
  const model: Model = {
    customerId: customer.id, nowMs: startMs, meters: [], accepted: new Map(), sent: [], quantities: new Map(),
    grants: new Map(), grantIds: [], holds: new Map(), holdIds: [], purchases: [], grantedMicro: 0n, eventSeq: 0, prefix,
  };
  for (const [i, spec] of s.meters.entries()) {
    const code = `${prefix}-m${i}`;
    const meter = must(await createMeter(engine, {
      code,
      event_type: `${prefix}-t${spec.typeIndex}`,
      aggregation: spec.aggregation,
      value_property: spec.aggregation === 'count' ? undefined : spec.aggregation === 'unique_count' ? 'user' : 'value',
      filter: spec.filterModel === null ? undefined : { model: spec.filterModel },
      rate: spec.rate,
    }));
    const parsed = parseRate(spec.rate);
    if (!parsed.ok) throw new Error(`the generator made a bad rate: ${JSON.stringify(parsed.problems)}`);
    model.meters.push({ id: meter.id, code, type: meter.eventType, filterModel: spec.filterModel, aggregation: spec.aggregation, rate: parsed.rate });
  }
  // Checked after every command, not only at the end: a balance wrong for a moment is wrong.
  for (const cmd of s.commands) {
    await runCommand(engine, model, clock.id, cmd);
    await checkInvariants(engine, model);
  }
  // And the customer's history reconciles (PRODUCT §10): its invoices, holds, meter totals, claw-backs.
  const reconciliation = must(await reconcile(engine));
  expect(reconciliation.discrepancies.filter((d) => d.ids.includes(customer.id))).toEqual([]);
}

describe.each(dialects)('ledger invariants on %s', (dialect) => {
  const ctx = useEngine(dialect);

  it('hold for random sequences of grants, purchases, refunds, usage, holds, voids and clock advances', async () => {
    await fc.assert(
      fc.asyncProperty(scenario, async (s) => {
        await runScenario(ctx.engine, dialect, s);
      }),
      { numRuns },
    );
    // The whole database, not just the last customer.
    expect(await ctx.engine.store.read.ledger.unbalancedTransactions()).toEqual([]);
    expect(await ctx.engine.store.read.ledger.balanceDiscrepancies()).toEqual([]);
  }, Math.max(120_000, numRuns * 300));
});
