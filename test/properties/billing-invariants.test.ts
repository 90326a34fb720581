import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { dialects } from '../support/databases.ts';
import { unique, useServer, type Api, type ApiResponse } from '../support/server.ts';
import { advance, listAll, newClock } from '../http/fixtures.ts';

/**
 * Property test of the money side (PRODUCT §6, §7, §8, §10, §14), over HTTP against the real
 * server: random sequences of subscriptions, usage past the allowance, immediate and scheduled
 * plan changes, cancellations, test clock advances across renewals and dunning, payments, payment
 * attempts (uncollectible invoices paid late included), voids, refunds (to cash and to balance),
 * chargebacks, goodwill credit notes, pay-outs, credit purchases and referrals, for a few
 * customers on one test clock. After each sequence every amount must add up to the cent: each
 * invoice against its lines, its payments, its returns and the plan prices it was made from; each
 * credit note against its uses and its cause; the money balance against the notes; credits
 * restored to a paid uncollectible invoice against what its void took; each referral against its
 * referred customer's first paid invoice; the reports against the invoices; and the
 * reconciliation clean.
 * What the test sent (payments, refunds, notes, changes) is kept in a small model, so amounts are
 * compared with what was asked for, not with what the server answered elsewhere.
 * `TALLY_PROPERTY_RUNS` and `TALLY_PROPERTY_SEED` run a longer or another campaign.
 */

const numRuns = Number(process.env.TALLY_PROPERTY_RUNS ?? 15);
const seed = Number(process.env.TALLY_PROPERTY_SEED ?? 20260601);
const hourMs = 3_600_000;
const dayMs = 24 * hourMs;
const start = Date.parse('2026-03-01T00:00:00Z');

// ---------------------------------------------------------------------------------------------
// Exact arithmetic of the checks, on bigints, written here rather than taken from src/core.

/** A non-negative or negative decimal string as an integer and its scale. */
function decimal(text: string): { units: bigint; scale: number } {
  const negative = text.startsWith('-');
  const [whole, fraction = ''] = (negative ? text.slice(1) : text).split('.');
  const units = BigInt(`${whole}${fraction}`);
  return { units: negative ? -units : units, scale: fraction.length };
}

/** `numerator / denominator` rounded half away from zero to an integer (PRODUCT §1's named mode). */
function roundHalfAway(numerator: bigint, denominator: bigint): bigint {
  const negative = (numerator < 0n) !== (denominator < 0n);
  const n = numerator < 0n ? -numerator : numerator;
  const d = denominator < 0n ? -denominator : denominator;
  const q = (2n * n + d) / (2n * d);
  return negative ? -q : q;
}

/** `quantity × unit`, both decimal strings, rounded once to minor units. */
function lineAmount(quantity: string, unit: string): bigint {
  const q = decimal(quantity);
  const u = decimal(unit);
  return roundHalfAway(q.units * u.units, 10n ** BigInt(q.scale + u.scale));
}

/** Two decimal strings name the same number. */
function sameDecimal(a: string, b: string): boolean {
  const x = decimal(a);
  const y = decimal(b);
  const scale = Math.max(x.scale, y.scale);
  return x.units * 10n ** BigInt(scale - x.scale) === y.units * 10n ** BigInt(scale - y.scale);
}

/** Credits as micro-credits. */
const micro = (text: string): bigint => {
  const d = decimal(text);
  return d.units * 10n ** BigInt(6 - d.scale);
};

const seconds = (iso: string): bigint => BigInt(Math.floor(Date.parse(iso) / 1000));

/**
 * PRODUCT §7: the unused share of the period at the change, in whole seconds, of the `kept` share
 * of the fee (what its invoice kept after refunds and chargebacks; whole by default).
 */
function prorated(amount: number, periodStart: string, periodEnd: string, at: string, kept: [bigint, bigint] = [1n, 1n]): bigint {
  const denominator = seconds(periodEnd) - seconds(periodStart);
  let numerator = seconds(periodEnd) - seconds(at);
  if (numerator < 0n) numerator = 0n;
  if (numerator > denominator) numerator = denominator;
  return roundHalfAway(BigInt(amount) * numerator * kept[0], denominator * kept[1]);
}

const sum = (values: Iterable<number>): number => {
  let total = 0;
  for (const v of values) total += v;
  return total;
};

// ---------------------------------------------------------------------------------------------
// Arbitraries.

interface PlanSpec {
  interval: 'month' | 'year';
  amount: number;
  included: string;
  overagePrice: string;
}

const planSpec: fc.Arbitrary<PlanSpec> = fc.record({
  interval: fc.constantFrom<'month' | 'year'>('month', 'month', 'month', 'year'),
  amount: fc.oneof(fc.constantFrom(0, 1, 999, 1000, 2999, 3000), fc.integer({ min: 0, max: 100_000 })),
  included: fc.oneof(fc.constantFrom('0', '100', '1000'), fc.integer({ min: 0, max: 5000 }).map(String)),
  // Every plan prices overage (a zero price too): a customer whose overage a plan turned on keeps
  // it, and overage under a plan that prices none is left unbilled and named by reconciliation
  // (README, "Limits"), which is not what this test is about.
  overagePrice: fc.constantFrom('0', '0.1', '0.5', '1', '2', '0.333', '1.25', '0.000001', '7'),
});

const customerIndex = fc.integer({ min: 0, max: 2 });
const pick = fc.nat();

type Command =
  | { kind: 'subscribe'; c: number; plan: number }
  | { kind: 'use'; c: number; units: string; backHours: number }
  | { kind: 'change'; c: number; plan: number; timing: 'immediate' | 'period_end' }
  | { kind: 'cancel'; c: number; timing: 'immediate' | 'period_end' }
  | { kind: 'advance'; hours: number }
  | { kind: 'pay'; c: number; pick: number; part: number | null; any: boolean }
  | { kind: 'attempt'; c: number; pick: number; outcome: 'succeeded' | 'failed' }
  | { kind: 'void'; c: number; pick: number; any: boolean }
  | { kind: 'refund'; c: number; pick: number; percent: number; policy: string; to: 'cash' | 'balance'; any: boolean }
  | { kind: 'chargeback'; c: number; pick: number; percent: number; policy: string }
  | { kind: 'close'; c: number; pick: number; outcome: 'won' | 'lost' }
  | { kind: 'goodwill'; c: number; amount: number; refundable: boolean; invoice: number | null }
  | { kind: 'payout'; c: number; pick: number; amount: number | null }
  | { kind: 'apply'; c: number; pick: number }
  | { kind: 'purchase'; c: number; credits: string; amount: number }
  | { kind: 'refer'; c: number; other: number; reward: string; referredCredits: string | null }
  /** Immediate plan changes a few days apart, each invoice paid or not, then an immediate cancellation or not: a chain of changes. */
  | { kind: 'chain'; c: number; plans: number[]; hours: number; pay: boolean; cancel: boolean };

const policy = fc.constantFrom('proportional', 'full', 'unused_only', 'none');
const percent = fc.oneof(fc.constant(100), fc.integer({ min: 1, max: 120 }));

const command: fc.Arbitrary<Command> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('subscribe' as const), c: customerIndex, plan: pick }) },
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('use' as const), c: customerIndex, units: fc.oneof(fc.integer({ min: 1, max: 3000 }).map(String), fc.constantFrom('0.5', '12.345678', '333.3')),
    // Late usage, up to the 35 days an event may be old (PRODUCT §5), lands in periods already invoiced.
    backHours: fc.oneof({ weight: 3, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: 1, max: 34 * 24 }) }) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('change' as const), c: customerIndex, plan: pick, timing: fc.constantFrom<'immediate' | 'period_end'>('immediate', 'immediate', 'period_end') }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('cancel' as const), c: customerIndex, timing: fc.constantFrom<'immediate' | 'period_end'>('immediate', 'period_end') }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('advance' as const), hours: fc.oneof(fc.integer({ min: 1, max: 72 }), fc.integer({ min: 1, max: 40 * 24 })) }) },
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('pay' as const), c: customerIndex, pick, part: fc.option(fc.integer({ min: 1, max: 99 }), { nil: null }), any: fc.boolean() }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('attempt' as const), c: customerIndex, pick, outcome: fc.constantFrom<'succeeded' | 'failed'>('succeeded', 'failed') }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('void' as const), c: customerIndex, pick, any: fc.boolean() }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('refund' as const), c: customerIndex, pick, percent, policy, to: fc.constantFrom<'cash' | 'balance'>('cash', 'balance'), any: fc.boolean() }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('chargeback' as const), c: customerIndex, pick, percent, policy }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('close' as const), c: customerIndex, pick, outcome: fc.constantFrom<'won' | 'lost'>('won', 'lost') }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('goodwill' as const), c: customerIndex, amount: fc.integer({ min: 1, max: 5000 }), refundable: fc.boolean(), invoice: fc.option(pick, { nil: null }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('payout' as const), c: customerIndex, pick, amount: fc.option(fc.integer({ min: 1, max: 3000 }), { nil: null }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('apply' as const), c: customerIndex, pick }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('purchase' as const), c: customerIndex, credits: fc.constantFrom('1', '100', '250.5', '1000'), amount: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 20_000 })) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('chain' as const), c: customerIndex, plans: fc.array(pick, { minLength: 1, maxLength: 3 }),
    hours: fc.integer({ min: 1, max: 12 * 24 }), pay: fc.boolean(), cancel: fc.boolean() }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('refer' as const), c: customerIndex, other: fc.integer({ min: 0, max: 1 }), reward: fc.constantFrom('10', '25.5'), referredCredits: fc.option(fc.constantFrom('5', '7.25'), { nil: null }) }) },
);

interface Scenario {
  plans: PlanSpec[];
  netDays: number[];
  /** The plan each customer subscribes to before the commands, if any. */
  initialPlans: Array<number | null>;
  commands: Command[];
  /** Hours to advance after the commands, so renewals and dunning run over what was left. */
  tailHours: number;
  /** Days after March 1 the clock starts, so periods begin on other days of other months. */
  startDays: number;
}

const scenario: fc.Arbitrary<Scenario> = fc.record({
  plans: fc.array(planSpec, { minLength: 2, maxLength: 4 }),
  netDays: fc.array(fc.constantFrom(0, 0, 3, 30), { minLength: 3, maxLength: 3 }),
  initialPlans: fc.array(fc.option(pick, { nil: null, freq: 5 }), { minLength: 3, maxLength: 3 }),
  commands: fc.array(command, { minLength: 10, maxLength: 36 }),
  tailHours: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 60 * 24 })),
  startDays: fc.integer({ min: 0, max: 400 }),
});

// ---------------------------------------------------------------------------------------------
// The model: what the test asked for, to compare the server's amounts with.

interface Proration {
  subscription: string;
  at: string;
  periodStart: string;
  periodEnd: string;
  oldPlan: string;
  oldAmount: number;
  newPlan: string | null;
  newAmount: number | null;
  /** The unused time of the old fee is credited only when that fee was charged and not given up on. */
  credited: boolean;
  /** The share of that fee its invoice kept after refunds and chargebacks, as numerator and denominator. */
  kept: [bigint, bigint];
}

interface Model {
  now: number;
  customers: string[];
  plans: Array<{ code: string; id: string; spec: PlanSpec }>;
  planById: Map<string, { code: string; spec: PlanSpec }>;
  subscriptions: string[][];
  /** Money paid on each invoice through payments and succeeded attempts (not balance). */
  moneyPaid: Map<string, number>;
  refunds: Map<string, { cash: number; balance: number }>;
  /** `notes`: what the chargeback took back of the notes that credited its invoice's fee (reversed and shortfall). */
  chargebacks: Map<string, Array<{ id: string; amount: number; won: boolean; closed: boolean; notes: number }>>;
  /** Refund id → its amount (a note of source `refund` must carry it). */
  refundToBalance: Map<string, { amount: number; customer: string }>;
  goodwill: Map<string, { amount: number; refundable: boolean; invoice: string | null }>;
  paidOut: Map<string, number>;
  purchases: Map<string, { credits: string; amount: number }>;
  prorations: Proration[];
  /** Invoices voided by the test, with the balance applied to each when it was voided. */
  voided: Map<string, number>;
  /** Referrals made, by id. */
  referrals: string[];
}

/** The request's answer is a success or a refusal in the API's error shape, never a 5xx. */
function expectAnswer(response: ApiResponse, what: string): void {
  const shown = `${what} → ${response.status} ${JSON.stringify(response.body)?.slice(0, 400)}`;
  expect(response.status, shown).toBeLessThan(500);
  if (response.status >= 400) {
    expect(response.body?.error, shown).toMatchObject({ code: expect.stringMatching(/^[a-z0-9_]+$/), message: expect.any(String) });
  }
}

async function send(api: Api, method: 'GET' | 'POST', path: string, body?: unknown): Promise<ApiResponse> {
  const response = method === 'GET' ? await api.get(path) : await api.post(path, body);
  expectAnswer(response, `${method} ${path} ${JSON.stringify(body) ?? ''}`);
  return response;
}

const choose = <T>(items: readonly T[], index: number): T | undefined => (items.length === 0 ? undefined : items[index % items.length]);

async function invoicesOf(api: Api, customer: string): Promise<any[]> {
  return listAll(api, `/v1/invoices?customer=${customer}`);
}

/**
 * What a change or cancellation now credits of the unused time of the fee (PRODUCT §7, §8, §14):
 * the latest fee or proration charge covering now, on an invoice of the current period, must be
 * neither void (nothing was charged) nor uncollectible (written off); then the share of it its
 * invoice kept, what was refunded or charged back coming off the invoice's other charges first.
 */
async function feeCharged(api: Api, customer: string, subscription: string, periodStart: string, nowMs: number): Promise<{ credited: boolean; kept: [bigint, bigint] }> {
  let latest: { start: number; invoice: any; charge: number } | null = null;
  for (const listed of await invoicesOf(api, customer)) {
    if (listed.subscription !== subscription || Date.parse(listed.period_start) < Date.parse(periodStart)) continue;
    for (const l of listed.lines) {
      if (l.type !== 'subscription_fee' && l.type !== 'proration_charge') continue;
      const start = Date.parse(l.period_start);
      // Listed oldest first: a later invoice's line at the same instant replaces an earlier one's.
      if (start <= nowMs && Date.parse(l.period_end) > nowMs && (latest === null || start >= latest.start)) latest = { start, invoice: listed, charge: l.amount };
    }
  }
  if (latest === null) return { credited: true, kept: [1n, 1n] };
  const { invoice, charge } = latest;
  if (invoice.status === 'void' || invoice.status === 'uncollectible') return { credited: false, kept: [1n, 1n] };
  const charges = (i: any): number => sum(i.lines.filter((l: any) => l.amount > 0).map((l: any) => l.amount));
  const others = charges(invoice) - charge;
  const all = await invoicesOf(api, customer);
  // The credit of the fee before a change paid part of its charge: what that fee's refunds reach
  // of it, beyond the fee's other charges and used time, counts as returned of the charge, and so
  // on back through the period's changes.
  const returnedOf = (i: any): number => {
    let returned = i.amount_refunded + i.amount_charged_back;
    const credit = i.lines.find((l: any) => l.type === 'proration_credit' && l.amount < 0 && l.refs.fee_invoice);
    const credited = credit ? all.find((j) => j.id === credit.refs.fee_invoice) : undefined;
    if (credit && credited) {
      const used = -credit.amount - Math.max(0, -i.total);
      const reach = returnedOf(credited) - (charges(credited) + credit.amount);
      if (used > 0 && reach > 0) returned += Math.min(used, reach);
    }
    return returned;
  };
  const fromCharge = returnedOf(invoice) - others;
  if (charge <= 0 || fromCharge <= 0) return { credited: true, kept: [1n, 1n] };
  return { credited: true, kept: [BigInt(Math.max(0, charge - fromCharge)), BigInt(charge)] };
}

/**
 * What a refund may not give back of an invoice because a later change or cancellation credited
 * the unused time of a fee it paid as a credit note: the parts of the notes that name it
 * (`gives_back`: its own fee's, and a later fee's whose charge its fee's credit paid in part).
 * Checked against the chain of changes in `checkCustomer`.
 */
function creditedAsBalance(shares: Map<string, number>, invoice: any): number {
  return shares.get(invoice.id) ?? 0;
}

/** The customer's notes for unused time, fetched alone (with `gives_back`), and their parts by invoice. */
async function noteSharesOf(api: Api, customer: string): Promise<Map<string, number>> {
  const shares = new Map<string, number>();
  for (const listed of await listAll(api, `/v1/customers/${customer}/credit_notes`)) {
    if (listed.source !== 'proration') continue;
    for (const part of (await send(api, 'GET', `/v1/credit_notes/${listed.id}`)).body.gives_back) shares.set(part.invoice, (shares.get(part.invoice) ?? 0) + part.amount);
  }
  return shares;
}

/**
 * The chains of plan changes among a customer's invoices: an invoice with a credit line is in the
 * chain of the fee invoice the line names (`refs.fee_invoice`), and so on back. Each invoice's
 * chain is named by its first invoice.
 */
function chainsOf(invoices: any[]): Map<string, string> {
  const parent = new Map<string, string>();
  const root = (id: string): string => {
    let r = id;
    while (parent.has(r) && parent.get(r) !== r) r = parent.get(r)!;
    return r;
  };
  for (const i of invoices) parent.set(i.id, i.id);
  for (const i of invoices) {
    for (const l of i.lines) {
      const fee = l.type === 'proration_credit' ? l.refs.fee_invoice : undefined;
      if (fee === undefined || !parent.has(fee)) continue;
      const [a, b] = [root(i.id), root(fee)];
      if (a !== b) parent.set(a, b);
    }
  }
  return new Map(invoices.map((i) => [i.id, root(i.id)]));
}

/**
 * Sends one request aimed at an invoice; when it is refused, the invoice must be as it was
 * (PRODUCT §16: nothing of a refused request is stored).
 */
async function onInvoice(api: Api, invoice: any, path: string, body?: unknown): Promise<ApiResponse> {
  const before = (await send(api, 'GET', `/v1/invoices/${invoice.id}`)).body;
  const response = await send(api, 'POST', path, body);
  if (response.status >= 400) expect((await send(api, 'GET', `/v1/invoices/${invoice.id}`)).body, `${path} refused`).toEqual(before);
  return response;
}

async function runCommand(api: Api, clock: string, model: Model, cmd: Command): Promise<void> {
  if (cmd.kind === 'advance') {
    model.now += cmd.hours * hourMs;
    await advance(api, clock, new Date(model.now).toISOString());
    return;
  }
  if (cmd.kind === 'chain') {
    // Each change's charge paid in part by the credit of the fee before it: notes for unused time
    // then give back the money of several invoices (`gives_back`).
    for (const [i, plan] of cmd.plans.entries()) {
      if (i > 0) await runCommand(api, clock, model, { kind: 'advance', hours: cmd.hours });
      await runCommand(api, clock, model, { kind: 'change', c: cmd.c, plan, timing: 'immediate' });
      if (cmd.pay) for (let n = 0; n < 3; n += 1) await runCommand(api, clock, model, { kind: 'pay', c: cmd.c, pick: 0, part: null, any: false });
    }
    if (!cmd.cancel) return;
    await runCommand(api, clock, model, { kind: 'advance', hours: cmd.hours });
    await runCommand(api, clock, model, { kind: 'cancel', c: cmd.c, timing: 'immediate' });
    return;
  }
  const customer = model.customers[cmd.c]!;
  const latestSub = (): string | undefined => model.subscriptions[cmd.c]!.at(-1);
  switch (cmd.kind) {
    case 'subscribe': {
      const plan = choose(model.plans, cmd.plan)!;
      const created = await send(api, 'POST', '/v1/subscriptions', { customer, plan: plan.code });
      if (created.status === 201) model.subscriptions[cmd.c]!.push(created.body.id);
      return;
    }
    case 'use': {
      const timestamp = cmd.backHours === 0 ? {} : { timestamp: new Date(model.now - cmd.backHours * hourMs).toISOString() };
      const response = await send(api, 'POST', '/v1/events', { events: [{ id: unique('ev'), customer, type: meterType, properties: { n: cmd.units }, ...timestamp }] });
      expect(response.body.results[0].status, JSON.stringify(response.body)).toBe('accepted');
      return;
    }
    case 'change':
    case 'cancel': {
      const sub = latestSub();
      if (!sub) return;
      const before = (await send(api, 'GET', `/v1/subscriptions/${sub}`)).body;
      const fee = before.current_period ? await feeCharged(api, customer, sub, before.current_period.start, model.now) : { credited: true, kept: [1n, 1n] as [bigint, bigint] };
      const plan = cmd.kind === 'change' ? choose(model.plans, cmd.plan)! : null;
      const response = await send(api, 'POST', `/v1/subscriptions/${sub}/${cmd.kind}`, cmd.kind === 'change' ? { plan: plan!.code, timing: cmd.timing } : { timing: cmd.timing });
      if (response.status === 200 && cmd.timing === 'immediate' && before.current_period && before.status !== 'canceled') {
        model.prorations.push({
          subscription: sub, at: new Date(model.now).toISOString(), periodStart: before.current_period.start, periodEnd: before.current_period.end,
          oldPlan: before.plan, oldAmount: model.planById.get(before.plan)!.spec.amount, newPlan: plan ? plan.id : null, newAmount: plan ? plan.spec.amount : null,
          credited: fee.credited, kept: fee.kept,
        });
      }
      return;
    }
    case 'purchase': {
      const response = await send(api, 'POST', `/v1/customers/${customer}/purchases`, { credits: cmd.credits, amount: cmd.amount });
      if (response.status === 201) model.purchases.set(response.body.invoice.id, { credits: cmd.credits, amount: cmd.amount });
      return;
    }
    case 'refer': {
      const referred = model.customers[(cmd.c + 1 + cmd.other) % model.customers.length]!;
      const body = { referrer: customer, referred, reward_credits: cmd.reward, ...(cmd.referredCredits ? { referred_credits: cmd.referredCredits } : {}) };
      const response = await send(api, 'POST', '/v1/referrals', body);
      if (response.status === 201) model.referrals.push(response.body.id);
      else {
        // PRODUCT §15: a customer is referred once, and only before its first payment in money.
        const payments = (await invoicesOf(api, referred)).reduce((n, i) => n + (i.amount_paid > i.balance_applied ? 1 : 0), 0);
        expect([response.status, response.body.error.code], JSON.stringify(response.body)).toEqual([409, payments > 0 ? expect.stringMatching(/^(referral_not_eligible|customer_already_referred)$/) : 'customer_already_referred']);
      }
      return;
    }
    case 'goodwill': {
      const invoice = cmd.invoice === null ? undefined : choose(await invoicesOf(api, customer), cmd.invoice);
      const body = { customer, amount: cmd.amount, reason: 'goodwill', refundable: cmd.refundable, ...(invoice ? { invoice: invoice.id } : {}) };
      const response = await send(api, 'POST', '/v1/credit_notes', body);
      if (response.status === 201) model.goodwill.set(response.body.id, { amount: cmd.amount, refundable: cmd.refundable, invoice: invoice?.id ?? null });
      return;
    }
    case 'payout': {
      const notes = (await listAll(api, `/v1/customers/${customer}/credit_notes`)).filter((n) => n.remaining > 0);
      const note = choose(notes, cmd.pick);
      if (!note) return;
      const amount = cmd.amount === null ? note.remaining : cmd.amount;
      const response = await send(api, 'POST', `/v1/credit_notes/${note.id}/refund`, cmd.amount === null ? {} : { amount });
      if (response.status === 200) model.paidOut.set(note.id, (model.paidOut.get(note.id) ?? 0) + amount);
      else {
        // Not paid out while the customer owes money in its currency: the balance pays that first.
        const owing = (await invoicesOf(api, customer)).some((i) => i.currency === note.currency && (i.status === 'open' || i.status === 'uncollectible') && i.amount_remaining > 0);
        expect(!note.refundable || amount > note.remaining || (owing && response.body.error.code === 'customer_has_unpaid_invoices'), JSON.stringify(response.body)).toBe(true);
      }
      return;
    }
    case 'close': {
      const open = [...model.chargebacks.values()].flat().filter((c) => !c.closed);
      const chargeback = choose(open, cmd.pick);
      if (!chargeback) return;
      const response = await send(api, 'POST', `/v1/chargebacks/${chargeback.id}/close`, { outcome: cmd.outcome });
      expect(response.status, JSON.stringify(response.body)).toBe(200);
      chargeback.closed = true;
      chargeback.won = cmd.outcome === 'won';
      return;
    }
    default:
      return runInvoiceCommand(api, model, customer, cmd);
  }
}

async function runInvoiceCommand(api: Api, model: Model, customer: string, cmd: Command): Promise<void> {
  const all = await invoicesOf(api, customer);
  const open = all.filter((i) => i.status === 'open');
  // Money may still pay an uncollectible invoice (given up on, not forgiven).
  const payable = all.filter((i) => i.status === 'open' || i.status === 'uncollectible');
  const returnable = (i: any): number => i.amount_paid - i.amount_refunded - i.amount_charged_back;
  const shares = cmd.kind === 'refund' || cmd.kind === 'chargeback' ? await noteSharesOf(api, customer) : new Map<string, number>();
  switch (cmd.kind) {
    case 'pay': {
      const invoice = choose(cmd.any ? all : payable, cmd.pick);
      if (!invoice) return;
      const amount = payable.includes(invoice)
        ? (cmd.part === null ? invoice.amount_remaining : Math.max(1, Math.floor((invoice.amount_remaining * cmd.part) / 100)))
        : 100;
      const response = await onInvoice(api, invoice, `/v1/invoices/${invoice.id}/payments`, { amount });
      if (response.status === 201) model.moneyPaid.set(invoice.id, (model.moneyPaid.get(invoice.id) ?? 0) + amount);
      else expect(!payable.includes(invoice) || amount > invoice.amount_remaining, JSON.stringify(response.body)).toBe(true);
      return;
    }
    case 'attempt': {
      const invoice = choose(cmd.outcome === 'succeeded' ? payable : open, cmd.pick);
      if (!invoice) return;
      const response = await onInvoice(api, invoice, `/v1/invoices/${invoice.id}/payment_attempts`, { outcome: cmd.outcome });
      if (response.status < 300 && cmd.outcome === 'succeeded') model.moneyPaid.set(invoice.id, (model.moneyPaid.get(invoice.id) ?? 0) + invoice.amount_remaining);
      return;
    }
    case 'void': {
      const invoice = choose(cmd.any ? all : open, cmd.pick);
      if (!invoice) return;
      const response = await onInvoice(api, invoice, `/v1/invoices/${invoice.id}/void`);
      if (response.status === 200) model.voided.set(invoice.id, invoice.balance_applied);
      return;
    }
    case 'apply': {
      const invoice = choose(payable, cmd.pick);
      if (!invoice) return;
      await onInvoice(api, invoice, `/v1/invoices/${invoice.id}/apply_balance`);
      return;
    }
    case 'refund':
    case 'chargeback': {
      // PRODUCT §8: never more than was paid less earlier returns; and as money (cash, a
      // chargeback) never more than came in as money less earlier money returns, since what the
      // balance paid goes back only to the balance (README, "Money owed back").
      const asMoney = cmd.kind === 'chargeback' || cmd.to === 'cash';
      const limit = (i: any): number => {
        // A void invoice's balance went back as a note when it was voided: nothing is left to return.
        if (i.status === 'void') return 0;
        // A refund never gives back what a change or cancellation credited of the fee as balance.
        const left = returnable(i) - (cmd.kind === 'refund' ? creditedAsBalance(shares, i) : 0);
        if (!asMoney) return left;
        const returnedAsMoney = (model.refunds.get(i.id)?.cash ?? 0) + sum((model.chargebacks.get(i.id) ?? []).filter((c) => !c.won).map((c) => c.amount));
        return Math.min(left, i.amount_paid - i.balance_applied - returnedAsMoney);
      };
      const candidates = cmd.kind === 'refund' && cmd.any ? all : all.filter((i) => limit(i) > 0);
      const invoice = choose(candidates, cmd.pick);
      if (!invoice) return;
      const amount = Math.max(1, Math.floor((limit(invoice) * cmd.percent) / 100));
      // A chargeback cannot be refused for a fee credited back already: what it returns beyond
      // what the invoice kept (paid less returns less the notes' credit still standing) is taken
      // back of those notes, never more than that credit.
      const earlier = (model.chargebacks.get(invoice.id) ?? []).filter((c) => !c.won);
      const standing = creditedAsBalance(shares, invoice) - sum(earlier.map((c) => c.notes));
      const kept = Math.min(
        invoice.amount_paid - invoice.balance_applied - (model.refunds.get(invoice.id)?.cash ?? 0) - sum(earlier.map((c) => c.amount)),
        returnable(invoice) - standing,
      );
      const notesTaken = standing <= 0 ? 0 : Math.min(standing, Math.max(0, amount - Math.max(0, kept)));
      const body = { invoice: invoice.id, amount, reason: 'test', credit_policy: cmd.policy, ...(cmd.kind === 'refund' ? { to: cmd.to } : {}) };
      const response = await onInvoice(api, invoice, `/v1/${cmd.kind === 'refund' ? 'refunds' : 'chargebacks'}`, body);
      if (response.status !== 201) {
        // PRODUCT §8: never more than was paid less earlier refunds; anything within it is taken.
        expect(amount > limit(invoice), JSON.stringify(response.body)).toBe(true);
        expect(response.body.error.code).toBe(invoice.status === 'void' ? 'invoice_void' : 'amount_exceeds_paid');
        return;
      }
      if (cmd.kind === 'refund') {
        expect(amount, `${JSON.stringify(response.body)} beyond ${limit(invoice)}`).toBeLessThanOrEqual(limit(invoice));
        const sums = model.refunds.get(invoice.id) ?? { cash: 0, balance: 0 };
        sums[cmd.to] += amount;
        model.refunds.set(invoice.id, sums);
        if (cmd.to === 'balance') model.refundToBalance.set(response.body.id, { amount, customer });
      } else {
        const list = model.chargebacks.get(invoice.id) ?? [];
        const shown = JSON.stringify(response.body);
        expect(response.body.credit_notes_reversed + response.body.credit_notes_shortfall, shown).toBe(notesTaken);
        expect(response.body.credit_notes_reversed, shown).toBeGreaterThanOrEqual(0);
        expect(response.body.credit_notes_shortfall, shown).toBeGreaterThanOrEqual(0);
        list.push({ id: response.body.id, amount, won: false, closed: false, notes: notesTaken });
        model.chargebacks.set(invoice.id, list);
      }
      return;
    }
    default:
      throw new Error(`unknown command ${JSON.stringify(cmd)}`);
  }
}

let meterType = '';
/** Reconciliation discrepancies already reported by an earlier run of the campaign. */
const reported = new Set<string>();

// ---------------------------------------------------------------------------------------------
// The invariants.

async function checkInvoices(api: Api, model: Model, customer: string, notes: any[]): Promise<any[]> {
  const invoices: any[] = [];
  for (const listed of await invoicesOf(api, customer)) invoices.push((await send(api, 'GET', `/v1/invoices/${listed.id}`)).body);
  const appliedUses = new Map<string, number>();
  for (const note of notes) for (const use of note.uses) if (use.kind === 'applied') appliedUses.set(use.invoice, (appliedUses.get(use.invoice) ?? 0) + use.amount);

  for (const inv of invoices) {
    const shown = JSON.stringify(inv);
    for (const field of ['subtotal', 'total', 'balance_applied', 'amount_due', 'amount_remaining', 'amount_paid', 'amount_refunded', 'amount_charged_back']) {
      expect(Number.isSafeInteger(inv[field]), `${field} of ${shown}`).toBe(true);
    }
    // The total is the sum of the lines, each an integer of minor units.
    for (const line of inv.lines) expect(Number.isSafeInteger(line.amount), shown).toBe(true);
    expect(inv.subtotal, shown).toBe(sum(inv.lines.map((l: any) => l.amount)));
    expect(inv.total, shown).toBe(inv.subtotal);
    checkLines(model, inv);

    // Payments: the recorded ones add up to what is paid; balance ones to the balance applied,
    // and to the credit note uses naming the invoice; money ones to what the test paid.
    const payments: any[] = inv.payments;
    expect(inv.amount_paid, shown).toBe(sum(payments.map((p) => p.amount)));
    expect(inv.balance_applied, shown).toBe(sum(payments.filter((p) => p.method === 'balance').map((p) => p.amount)));
    expect(inv.balance_applied, shown).toBe(appliedUses.get(inv.id) ?? 0);
    expect(sum(payments.filter((p) => p.method !== 'balance').map((p) => p.amount)), shown).toBe(model.moneyPaid.get(inv.id) ?? 0);
    expect(inv.amount_due, shown).toBe(Math.max(0, inv.total - inv.balance_applied));
    // Never more paid than the total, nor more returned than paid (PRODUCT §8).
    expect(inv.amount_paid, shown).toBeLessThanOrEqual(Math.max(0, inv.total));
    expect(inv.amount_refunded + inv.amount_charged_back, shown).toBeLessThanOrEqual(inv.amount_paid);
    const refunds = model.refunds.get(inv.id) ?? { cash: 0, balance: 0 };
    // Money goes back as money only as far as it came in as money: what the balance paid can go
    // back to the balance, but a note that is not refundable never becomes cash (PRODUCT §14).
    const moneyIn = inv.amount_paid - inv.balance_applied;
    expect(refunds.cash + inv.amount_charged_back, shown).toBeLessThanOrEqual(moneyIn);
    expect(inv.amount_refunded, shown).toBe(refunds.cash + refunds.balance);
    expect(inv.amount_charged_back, shown).toBe(sum((model.chargebacks.get(inv.id) ?? []).filter((c) => !c.won).map((c) => c.amount)));

    switch (inv.status) {
      case 'paid':
        // A paid invoice owes nothing: paid in full, or nothing to collect.
        expect(inv.amount_remaining, shown).toBe(0);
        expect(inv.amount_paid, shown).toBe(Math.max(0, inv.total));
        break;
      case 'open':
        expect(inv.total, shown).toBeGreaterThan(0);
        expect(inv.amount_remaining, shown).toBe(inv.total - inv.amount_paid);
        expect(inv.amount_remaining, shown).toBeGreaterThan(0);
        break;
      case 'void':
        // A void invoice collected no money: only balance, which went back as a note.
        expect(model.voided.has(inv.id), shown).toBe(true);
        expect(inv.amount_remaining, shown).toBe(0);
        expect(inv.amount_paid, shown).toBe(inv.balance_applied);
        expect(inv.amount_refunded + inv.amount_charged_back, shown).toBe(0);
        break;
      case 'uncollectible':
        expect(inv.amount_remaining, shown).toBe(inv.total - inv.amount_paid);
        expect(inv.amount_remaining, shown).toBeGreaterThan(0);
        break;
      default:
        throw new Error(`unexpected status ${inv.status}`);
    }
    // Money owed back beyond the charges is a credit note of exactly the excess (PRODUCT §14).
    if (inv.total < 0) {
      const note = notes.find((n) => n.id === inv.credit_note);
      expect(note, shown).toMatchObject({ amount: -inv.total, source: 'proration', invoice: inv.id });
    } else {
      expect(inv.credit_note, shown).toBeNull();
    }
  }
  return invoices;
}

/** Each line priced from the plan, the purchase or the change it came from, to the cent. */
function checkLines(model: Model, inv: any): void {
  const shown = JSON.stringify(inv);
  for (const line of inv.lines) {
    expect(lineAmount(line.quantity, line.unit_amount), `line ${JSON.stringify(line)}`).toBe(BigInt(line.amount));
    const plan = line.refs.plan ? model.planById.get(line.refs.plan) : undefined;
    switch (line.type) {
      case 'subscription_fee':
        expect(line.quantity).toBe('1');
        expect(line.amount, shown).toBe(plan!.spec.amount);
        break;
      case 'overage':
        // Overage in arrears: quantity credits × the plan's price, rounded once (PRODUCT §6).
        expect(sameDecimal(line.unit_amount, plan!.spec.overagePrice), shown).toBe(true);
        expect(micro(line.quantity) > 0n, shown).toBe(true);
        break;
      case 'credit_purchase': {
        const bought = model.purchases.get(inv.id);
        expect(bought, shown).toBeDefined();
        expect(line.amount, shown).toBe(bought!.amount);
        break;
      }
      case 'proration_credit':
      case 'proration_charge':
        break;
      default:
        throw new Error(`unexpected line type ${line.type} in ${shown}`);
    }
  }
  if (inv.kind === 'purchase') expect(inv.lines.map((l: any) => l.type), shown).toEqual(['credit_purchase']);
  const prorationLines = inv.lines.filter((l: any) => l.type.startsWith('proration_'));
  if (inv.kind === 'proration' || prorationLines.length > 0) {
    // PRODUCT §7: the unused time of the old fee credited and the new fee's charged, by one fraction
    // of whole seconds, each rounded once.
    const at = prorationLines[0].period_start;
    // Two changes may share an instant; the plans on the lines tell them apart.
    const planOf = (type: string): string | null => prorationLines.find((l: any) => l.type === type)?.refs.plan ?? null;
    const [from, to] = [planOf('proration_credit'), planOf('proration_charge')];
    const change = model.prorations.find((p) => p.subscription === inv.subscription && Date.parse(p.at) === Date.parse(at) && (p.credited ? p.oldPlan === from : from === null) && p.newPlan === to);
    expect(change, `no change at ${at} for ${shown}`).toBeDefined();
    const expected: Array<[string, number]> = [];
    if (change!.credited) expected.push(['proration_credit', Number(-prorated(change!.oldAmount, change!.periodStart, change!.periodEnd, change!.at, change!.kept))]);
    if (change!.newAmount !== null) expected.push(['proration_charge', Number(prorated(change!.newAmount, change!.periodStart, change!.periodEnd, change!.at))]);
    expect(prorationLines.map((l: any) => [l.type, l.amount]), shown).toEqual(expected);
    for (const line of prorationLines) expect(Date.parse(line.period_end), shown).toBe(Date.parse(change!.periodEnd));
  }
}

/**
 * Whether a note that is not refundable paid part of an invoice, or of the fee whose credit paid
 * its charges (back through the period's plan changes).
 */
function paidByGoodwill(invoices: any[], notes: any[], id: string): boolean {
  const byId = new Map(invoices.map((i) => [i.id, i]));
  const refundableUses = new Map<string, number>();
  for (const note of notes) if (note.refundable) for (const use of note.uses) if (use.kind === 'applied') refundableUses.set(use.invoice, (refundableUses.get(use.invoice) ?? 0) + use.amount);
  for (let i = byId.get(id); i; ) {
    if (i.balance_applied > (refundableUses.get(i.id) ?? 0)) return true;
    const credited = i.lines.find((l: any) => l.type === 'proration_credit' && l.amount < 0)?.refs.fee_invoice;
    i = credited ? byId.get(credited) : undefined;
  }
  return false;
}

async function checkCustomer(api: Api, model: Model, customer: string): Promise<void> {
  const notes: any[] = [];
  for (const listed of await listAll(api, `/v1/customers/${customer}/credit_notes`)) notes.push((await send(api, 'GET', `/v1/credit_notes/${listed.id}`)).body);
  const invoices = await checkInvoices(api, model, customer, notes);
  const byId = new Map(invoices.map((i) => [i.id, i]));

  // Each note: remaining = amount − applied − paid out, from its uses; closed when nothing is left;
  // its amount is what caused it (PRODUCT §14).
  for (const note of notes) {
    const shown = JSON.stringify(note);
    expect(note.amount, shown).toBeGreaterThan(0);
    expect(note.amount_applied, shown).toBe(sum(note.uses.filter((u: any) => u.kind === 'applied').map((u: any) => u.amount)));
    expect(note.amount_refunded, shown).toBe(sum(note.uses.filter((u: any) => u.kind === 'refunded').map((u: any) => u.amount)));
    // A chargeback of the invoice whose fee the note credited reverses what is left of it; won, it restores that.
    const reversed = sum(note.uses.filter((u: any) => u.kind === 'reversed').map((u: any) => u.amount));
    const restored = sum(note.uses.filter((u: any) => u.kind === 'restored').map((u: any) => u.amount));
    expect(note.amount_reversed, shown).toBe(reversed - restored);
    if (reversed > 0) expect(note.source, shown).toBe('proration');
    expect(note.remaining, shown).toBe(note.amount - note.amount_applied - note.amount_refunded - note.amount_reversed);
    expect(note.remaining, shown).toBeGreaterThanOrEqual(0);
    expect(note.status, shown).toBe(note.remaining === 0 ? 'closed' : 'open');
    expect(note.amount_refunded, shown).toBe(model.paidOut.get(note.id) ?? 0);
    if (note.amount_refunded > 0) expect(note.refundable, shown).toBe(true);
    switch (note.source) {
      case 'goodwill':
        expect(model.goodwill.get(note.id), shown).toEqual({ amount: note.amount, refundable: note.refundable, invoice: note.invoice });
        break;
      case 'refund':
        expect(model.refundToBalance.get(note.refund), shown).toEqual({ amount: note.amount, customer });
        // Balance comes back not refundable only when a note that was not refundable paid for it.
        if (!note.refundable) expect(paidByGoodwill(invoices, notes, note.invoice), shown).toBe(true);
        break;
      case 'proration': {
        expect(byId.get(note.invoice)?.total, shown).toBe(-note.amount);
        const fee = byId.get(note.invoice)!.lines.find((l: any) => l.type === 'proration_credit')?.refs.fee_invoice;
        if (!note.refundable) expect(fee !== undefined && paidByGoodwill(invoices, notes, fee), shown).toBe(true);
        // Whose money it gives back: to the cent, the invoices of its own chain of changes only.
        if (fee !== undefined) {
          expect(sum(note.gives_back.map((g: any) => g.amount)), shown).toBe(note.amount);
          const chains = chainsOf(invoices);
          for (const g of note.gives_back) expect(chains.get(g.invoice), shown).toBe(chains.get(note.invoice));
        }
        // Goodwill that paid an invoice it gives back makes it balance only, whichever came first.
        const goodwillPaid = (id: string) => notes.some((n) => n.source === 'goodwill' && !n.refundable && n.uses.some((u: any) => u.kind === 'applied' && u.invoice === id));
        if (note.gives_back.some((g: any) => goodwillPaid(g.invoice))) expect(note.refundable, shown).toBe(false);
        break;
      }
      case 'invoice_void':
        // Checked per invoice below: the notes of a void give back its balance applied, refundable as far as it was.
        expect(model.voided.has(note.invoice), shown).toBe(true);
        break;
      default:
        throw new Error(`unexpected note source in ${shown}`);
    }
  }
  // Every refund to balance made its note, and every void with balance applied gave it back.
  const noteRefunds = new Set(notes.filter((n) => n.source === 'refund').map((n) => n.refund));
  for (const [refund, made] of model.refundToBalance) if (made.customer === customer) expect(noteRefunds.has(refund), refund).toBe(true);
  for (const [invoice, applied] of model.voided) {
    if (!byId.has(invoice)) continue;
    const back = notes.filter((n) => n.source === 'invoice_void' && n.invoice === invoice);
    expect(sum(back.map((n) => n.amount)), invoice).toBe(applied);
    // Refundable notes that paid it come back refundable (a note's uses name the invoice they paid).
    const refundableApplied = sum(notes.filter((n) => n.refundable).flatMap((n) => n.uses).filter((u: any) => u.kind === 'applied' && u.invoice === invoice).map((u: any) => u.amount));
    expect(sum(back.filter((n) => n.refundable).map((n) => n.amount)), invoice).toBe(refundableApplied);
  }

  // The money balance is the notes' remainder (PRODUCT §14).
  const remaining = sum(notes.map((n) => n.remaining));
  const balance = (await send(api, 'GET', `/v1/customers/${customer}/money_balance`)).body.balances;
  expect(sum(balance.map((b: any) => b.amount))).toBe(remaining);

  // Overage billed is overage moved out of the customer's `overage` account, to the micro-credit.
  const ledger = await listAll(api, `/v1/ledger/transactions?customer=${customer}`);
  let invoicedOverage = 0n;
  for (const txn of ledger) for (const e of txn.entries) if (e.account === 'invoiced:overage') invoicedOverage -= micro(e.amount);
  let billedOverage = 0n;
  for (const inv of invoices) if (inv.status !== 'void') for (const l of inv.lines) if (l.type === 'overage') billedOverage += micro(l.quantity);
  expect(billedOverage).toBe(invoicedOverage);

  // Credits follow the money back (PRODUCT §14): a grant restoring one that an uncollectible
  // invoice voided belongs to that invoice, now paid; each voided grant is restored once, for what
  // the void took from it (a purchase, never issued while unpaid, whole).
  const grants = await listAll(api, `/v1/grants?customer=${customer}`);
  const grantById = new Map(grants.map((g) => [g.id, g]));
  const restorations = grants.filter((g) => g.metadata.restores !== undefined);
  expect(new Set(restorations.map((g) => g.metadata.restores)).size).toBe(restorations.length);
  for (const g of restorations) {
    const shown = JSON.stringify(g);
    const original = grantById.get(g.metadata.restores);
    expect(original, shown).toMatchObject({ status: 'voided', close_reason: 'invoice uncollectible', invoice: g.invoice, source: g.source, expires_at: g.expires_at });
    expect(invoices.find((i) => i.id === g.invoice), shown).toMatchObject({ status: 'paid', uncollectible_at: expect.any(String) });
    let takenMicro = 0n;
    for (const txn of ledger) {
      if (txn.kind !== 'revoke' || txn.cause.id !== g.invoice) continue;
      for (const e of txn.entries) if (e.account === `grant:${original.id}`) takenMicro -= micro(e.amount);
    }
    expect(micro(g.credits), shown).toBe(g.source === 'purchase' ? micro(original.credits) : takenMicro);
  }

  // Reports agree with the invoices and notes listed (PRODUCT §10, §14).
  const live = invoices.filter((i) => i.status !== 'void');
  const revenue = (await send(api, 'GET', `/v1/reports/revenue?customer=${customer}`)).body.totals;
  const paid = sum(invoices.map((i) => i.amount_paid));
  const refunded = sum(invoices.map((i) => i.amount_refunded));
  const chargedBack = sum(invoices.map((i) => i.amount_charged_back));
  // What chargebacks not won took back of notes is not owed back any more.
  const notesOtherThanRefunds = sum(notes.filter((n) => n.source !== 'refund').map((n) => n.amount - n.amount_reversed));
  // A customer with nothing to report has no row: its totals are then all zero.
  const zeros = { currency: 'USD', invoices: 0, invoiced: 0, paid: 0, refunded: 0, charged_back: 0, credit_notes: 0, net: 0 };
  expect(revenue.length).toBeLessThanOrEqual(1);
  expect(revenue[0] ?? zeros).toEqual({
    currency: 'USD', invoices: live.length, invoiced: sum(live.map((i) => i.total)), paid, refunded, charged_back: chargedBack,
    credit_notes: notesOtherThanRefunds, net: paid - refunded - chargedBack - notesOtherThanRefunds,
  });
  const noteReport = (await send(api, 'GET', `/v1/reports/credit_notes?customer=${customer}`)).body.totals;
  expect(noteReport.length).toBeLessThanOrEqual(1);
  expect(noteReport[0] ?? { currency: 'USD', opening_balance: 0, issued: 0, applied: 0, paid_out: 0, reversed: 0, closing_balance: 0 }).toEqual({
    currency: 'USD', opening_balance: 0, issued: sum(notes.map((n) => n.amount)), applied: sum(notes.map((n) => n.amount_applied)),
    paid_out: sum(notes.map((n) => n.amount_refunded)), reversed: sum(notes.map((n) => n.amount_reversed)), closing_balance: remaining,
  });

  // What a customer gets back of a paid invoice never exceeds what it paid (PRODUCT §8, §14): its
  // refunds and chargebacks not won, and the notes that credited its fee's unused time, less what
  // those chargebacks took back of the notes (what was left of them, and what was already spent
  // of them, the chargeback's shortfall). Each chargeback's reversal is its notes' uses.
  const chargebacks = await listAll(api, `/v1/chargebacks?customer=${customer}`);
  for (const cb of chargebacks) {
    const shown = JSON.stringify(cb);
    const uses = notes.flatMap((n) => n.uses).filter((u: any) => u.chargeback === cb.id);
    expect(sum(uses.filter((u: any) => u.kind === 'reversed').map((u: any) => u.amount)), shown).toBe(cb.credit_notes_reversed);
    expect(sum(uses.filter((u: any) => u.kind === 'restored').map((u: any) => u.amount)), shown).toBe(cb.status === 'won' ? cb.credit_notes_reversed : 0);
    expect(cb.credit_notes_reversed + cb.credit_notes_shortfall, shown).toBe(model.chargebacks.get(cb.invoice)?.find((c) => c.id === cb.id)?.notes);
  }
  const shares = new Map<string, number>();
  for (const note of notes) for (const part of note.gives_back) shares.set(part.invoice, (shares.get(part.invoice) ?? 0) + part.amount);
  const takenBackOf = (inv: any): number => sum(chargebacks.filter((c) => c.invoice === inv.id && c.status !== 'won').map((c) => c.credit_notes_reversed + c.credit_notes_shortfall));
  for (const inv of invoices) {
    // An invoice still unpaid holds its credit's note (no pay-out while it is unpaid; the note pays it).
    if (inv.status !== 'paid') continue;
    // Its refunds and chargebacks, and the parts of notes that give back its money (its own fee's
    // unused time, and a later fee's that its fee's credit paid in part), less what chargebacks took back.
    const back = inv.amount_refunded + inv.amount_charged_back + creditedAsBalance(shares, inv) - takenBackOf(inv);
    expect(back, `${JSON.stringify(inv)} gets back ${back}`).toBeLessThanOrEqual(inv.amount_paid);
  }
  // The same over each chain of plan changes, without the notes' parts: every invoice the chain's
  // credits link, every note its credits made, against everything it was paid. Before the notes
  // named their parts, an upgrade half paid by the old fee's credit and then canceled let the old
  // fee be refunded in full beside its share of the cancellation's note.
  const chains = chainsOf(invoices);
  const byChain = new Map<string, { paid: number; back: number; settled: boolean; ids: string[] }>();
  for (const inv of invoices) {
    const chain = byChain.get(chains.get(inv.id)!) ?? { paid: 0, back: 0, settled: true, ids: [] };
    chain.ids.push(inv.id);
    if (inv.status === 'open' || inv.status === 'uncollectible') chain.settled = false;
    if (inv.status !== 'void') {
      chain.paid += inv.amount_paid;
      chain.back += inv.amount_refunded + inv.amount_charged_back - takenBackOf(inv) + Math.max(0, -inv.total);
    }
    byChain.set(chains.get(inv.id)!, chain);
  }
  for (const chain of byChain.values()) {
    if (chain.settled) expect(chain.back, `chain ${chain.ids.join(', ')} gets back ${chain.back} for ${chain.paid} paid`).toBeLessThanOrEqual(chain.paid);
  }
  const overageReport = (await send(api, 'GET', `/v1/reports/overage?customer=${customer}`)).body.totals;
  const overageLines = live.flatMap((i) => i.lines.filter((l: any) => l.type === 'overage'));
  if (overageLines.length === 0) expect(overageReport).toEqual([]);
  else {
    expect(overageReport).toHaveLength(1);
    expect(overageReport[0].amount).toBe(sum(overageLines.map((l: any) => l.amount)));
    expect(micro(overageReport[0].credits)).toBe(overageLines.reduce((t: bigint, l: any) => t + micro(l.quantity), 0n));
  }
  const aging = (await send(api, 'GET', `/v1/reports/aging?customer=${customer}`)).body.totals;
  const pastDue = invoices.filter((i) => i.status === 'open' && i.past_due);
  expect(sum(aging.map((t: any) => t.total))).toBe(sum(pastDue.map((i) => i.amount_remaining)));
}

/**
 * A referral rewards the referred customer's first paid invoice, once (PRODUCT §15): rewarded
 * exactly when an invoice of it with something to pay is paid, with money and not only from the
 * balance (a referral is made only before any payment), by the earliest such invoice, with grants
 * of the terms' credits; claw-backs name returns on that invoice and take no more than each reward.
 */
async function checkReferral(api: Api, id: string): Promise<void> {
  const referral = (await send(api, 'GET', `/v1/referrals/${id}`)).body;
  const shown = JSON.stringify(referral);
  const paid = (await invoicesOf(api, referral.referred)).filter((i) => i.status === 'paid' && i.total > 0 && i.amount_paid > i.balance_applied);
  if (paid.length === 0) {
    expect(referral, shown).toMatchObject({ status: 'pending', invoice: null, referrer_grant: null, referred_grant: null, claw_backs: [] });
    return;
  }
  expect(referral.status, shown).toBe('rewarded');
  const invoice = paid.find((i) => i.id === referral.invoice);
  expect(invoice, shown).toBeDefined();
  for (const other of paid) expect(Date.parse(other.paid_at), `${other.id} paid before ${shown}`).toBeGreaterThanOrEqual(Date.parse(invoice.paid_at));
  const rewards: Array<[string, string, string | null]> = [[referral.referrer_grant, referral.referrer, referral.reward_credits], [referral.referred_grant, referral.referred, referral.referred_credits]];
  for (const [grantId, owner, credits] of rewards) {
    if (credits === null) {
      expect(grantId, shown).toBeNull();
      continue;
    }
    const grant = (await send(api, 'GET', `/v1/grants/${grantId}`)).body;
    expect(grant, shown).toMatchObject({ customer: owner, source: 'referral', category: 'promotional', credits, metadata: { referral: id, invoice: invoice.id } });
    const taken = referral.claw_backs.filter((c: any) => c.grant === grantId).reduce((t: bigint, c: any) => t + micro(c.credits), 0n);
    expect(taken <= micro(credits), shown).toBe(true);
  }
  const returns = [...(await listAll(api, `/v1/refunds?customer=${referral.referred}`)), ...(await listAll(api, `/v1/chargebacks?customer=${referral.referred}`))]
    .filter((r) => r.invoice === invoice.id).map((r) => r.id);
  for (const c of referral.claw_backs) expect(returns, shown).toContain(c.return);
}

async function runScenario(api: Api, s: Scenario): Promise<void> {
  const startAt = start + s.startDays * dayMs;
  const clock = await newClock(api, new Date(startAt).toISOString());
  const model: Model = {
    now: startAt, customers: [], plans: [], planById: new Map(), subscriptions: [], moneyPaid: new Map(), refunds: new Map(),
    chargebacks: new Map(), refundToBalance: new Map(), goodwill: new Map(), paidOut: new Map(), purchases: new Map(), prorations: [], voided: new Map(), referrals: [],
  };
  for (const netDays of s.netDays) {
    const created = await send(api, 'POST', '/v1/customers', { currency: 'USD', test_clock: clock, net_days: netDays });
    expect(created.status).toBe(201);
    model.customers.push(created.body.id);
    model.subscriptions.push([]);
  }
  for (const spec of s.plans) {
    const code = unique('plan');
    const created = await send(api, 'POST', '/v1/plans', {
      code, name: code, currency: 'USD', interval: spec.interval, amount: spec.amount, included_credits: spec.included,
      overage: { unit_amount_per_credit: spec.overagePrice },
    });
    expect(created.status).toBe(201);
    model.plans.push({ code, id: created.body.id, spec });
    model.planById.set(created.body.id, { code, spec });
  }
  for (const [c, plan] of s.initialPlans.entries()) if (plan !== null) await runCommand(api, clock, model, { kind: 'subscribe', c, plan });
  for (const cmd of s.commands) await runCommand(api, clock, model, cmd);
  if (s.tailHours > 0) await runCommand(api, clock, model, { kind: 'advance', hours: s.tailHours });
  for (const customer of model.customers) await checkCustomer(api, model, customer);
  for (const id of model.referrals) await checkReferral(api, id);
  // The runs share one database: a discrepancy is this run's when no run reported it before, so a
  // failing run's shrunk cases are judged by what they add.
  const reconciliation = (await send(api, 'GET', '/v1/reconciliation')).body;
  const fresh = reconciliation.discrepancies.filter((d: unknown) => !reported.has(JSON.stringify(d)));
  for (const d of fresh) reported.add(JSON.stringify(d));
  expect(fresh).toEqual([]);
  expect(reconciliation.ok || reported.size > 0).toBe(true);
  expect((await send(api, 'GET', '/v1/ledger/check')).body).toMatchObject({ ok: true, unbalanced_transactions: [], balance_discrepancies: [] });
}

describe.each(dialects)('billing invariants over HTTP on %s', (dialect) => {
  const ctx = useServer(dialect);

  it('keeps every invoice, payment, return, credit note, balance and report exact over random money sequences', async () => {
    const { api } = ctx;
    meterType = unique('tokens');
    const meter = await api.post('/v1/meters', { code: meterType, event_type: meterType, aggregation: 'sum', value_property: 'n', rate: { model: 'per_unit', credits_per_unit: '1' } });
    expect(meter.status).toBe(201);
    await fc.assert(fc.asyncProperty(scenario, (s) => runScenario(api, s)), { numRuns, seed });
  }, 30_000 + numRuns * 15_000);
});
