import { clawBack, type CreditPolicy } from './claw-back.ts';
import { divRound, formatCredits, parseDecimal } from './decimal.ts';
import { overagePriceScale } from './plans.ts';
import { quantityMicro } from './reports.ts';

/**
 * The reconciliation rules (PRODUCT §10): each takes the stored facts of one thing (a
 * transaction, a grant, a period, a refund) and names every way they disagree, with the ids a
 * reader needs to find them. The engine gathers the facts; nothing here reads storage.
 */
export const reconciliationChecks = [
  'transactions_balance',
  'balances_match_entries',
  'usage_charged_once',
  'usage_events_indexed',
  'purchase_grants_linked',
  'allowance_grants_linked',
  'overage_invoiced',
  'claw_backs_applied',
  'customer_balance',
  'stripe_invoices_pushed',
  'stripe_money_linked',
  'frozen_credits_unused',
  'promotion_grants_linked',
  'invoice_amounts_match',
  'grants_match_ledger',
  'holds_match_ledger',
  'meter_totals_match_usage',
] as const;

export type CheckName = (typeof reconciliationChecks)[number];

export interface Discrepancy {
  check: CheckName;
  message: string;
  ids: string[];
}

export interface Reconciliation {
  ok: boolean;
  checks: { name: CheckName; ok: boolean }[];
  discrepancies: Discrepancy[];
}

export function reconciliationResult(discrepancies: readonly Discrepancy[]): Reconciliation {
  const failed = new Set(discrepancies.map((d) => d.check));
  return {
    ok: discrepancies.length === 0,
    checks: reconciliationChecks.map((name) => ({ name, ok: !failed.has(name) })),
    discrepancies: [...discrepancies],
  };
}

const credits = formatCredits;
const present = (ids: (string | null | undefined)[]): string[] => [...new Set(ids.filter((id): id is string => typeof id === 'string' && id !== ''))];

export function unbalancedTransaction(t: { txnId: string; customerId: string; sumMicro: bigint; entryCount: number }): Discrepancy {
  return {
    check: 'transactions_balance',
    message: `Transaction ${t.txnId} has ${t.entryCount} entries summing to ${credits(t.sumMicro)}; a transaction needs at least 2 entries summing to zero.`,
    ids: present([t.txnId, t.customerId]),
  };
}

export function balanceMismatch(d: { customerId: string; account: string; storedMicro: bigint; summedMicro: bigint }): Discrepancy {
  return {
    check: 'balances_match_entries',
    message: `Account ${d.account} of customer ${d.customerId} stores ${credits(d.storedMicro)} but its entries sum to ${credits(d.summedMicro)}.`,
    ids: [d.customerId, d.account],
  };
}

/** An accepted usage event with credits is charged by exactly one usage transaction (its txn_id); with none, by none. */
export function usageChargeProblem(e: { customerId: string; eventId: string; creditsMicro: bigint; txnId: string | null; charges: number; chargeIds: string[] }): Discrepancy | null {
  const ids = present([e.eventId, e.customerId, e.txnId, ...e.chargeIds]);
  if (e.creditsMicro === 0n) {
    if (e.charges === 0 && e.txnId === null) return null;
    return { check: 'usage_charged_once', message: `Usage event ${e.eventId} cost nothing but has ${e.charges} usage transactions.`, ids };
  }
  if (e.charges === 1 && e.txnId !== null && e.chargeIds[0] === e.txnId) return null;
  const what = e.charges === 1 ? `is charged by ${e.chargeIds[0]} but records ${e.txnId ?? 'no transaction'}` : `is charged ${e.charges} times`;
  return { check: 'usage_charged_once', message: `Usage event ${e.eventId} (${credits(e.creditsMicro)} credits) ${what}; it must be charged exactly once.`, ids };
}

/** A usage key or tail of SQLite's layout that does not find its customer's event (src/store/queries/customer-events.ts). */
export interface MisplacedUsageEvent {
  place: 'key' | 'tail' | 'count';
  customerId: string;
  position: string | null;
  seq: number;
  rowCustomerId: string | null;
  eventId: string | null;
  rowPosition: string | null;
  merged: number | null;
  counted: number | null;
  walked: number | null;
}

/** The usage events stored, keyed and in tails, and up to a few found by neither. */
export interface UsageEventCounts {
  events: number;
  keyed: number;
  tails: number;
  unfound: { eventId: string; customerId: string }[];
}

export function misplacedUsageEventProblem(m: MisplacedUsageEvent): Discrepancy {
  const ids = present([m.customerId, m.eventId, m.rowCustomerId]);
  const row = m.rowCustomerId === null ? `row ${m.seq}, which does not exist`
    : m.rowCustomerId !== m.customerId ? `event ${m.eventId ?? m.seq} of customer ${m.rowCustomerId}` : `event ${m.eventId ?? m.seq}`;
  let message: string;
  if (m.place === 'count') {
    message = `The usage tail of customer ${m.customerId} counts ${m.counted ?? 0} events but its chain holds ${m.walked ?? 0}.`;
  } else if (m.place === 'tail') {
    message = `The usage tail of customer ${m.customerId} reaches ${row}.`;
  } else {
    const why = m.rowCustomerId === null || m.rowCustomerId !== m.customerId ? ''
      : m.rowPosition !== m.position ? ` at position ${m.rowPosition ?? '?'}`
      : ' past the customer\'s merged keys';
    message = `The usage key of customer ${m.customerId} at position ${m.position ?? '?'} names ${row}${why}.`;
  }
  return { check: 'usage_events_indexed', message: `${message} Each usage event must be found by its customer exactly once.`, ids };
}

/** Every stored usage event is keyed or in its customer's tail: the count of each, and the events neither finds. */
export function unfoundUsageEventsProblem(c: UsageEventCounts): Discrepancy | null {
  if (c.events === c.keyed + c.tails) return null;
  return {
    check: 'usage_events_indexed',
    message: `${c.events} usage events are stored but ${c.keyed} are keyed and ${c.tails} are in their customers' tails; `
      + `each must be found by its customer exactly once${c.unfound.length > 0 ? ` (found by neither: ${c.unfound.map((u) => u.eventId).join(', ')})` : ''}.`,
    ids: present(c.unfound.flatMap((u) => [u.eventId, u.customerId])),
  };
}

/**
 * A usage transaction has an event, is the one charge that event records (another transaction
 * of the same event means the event is charged twice), and consumes exactly what the event was
 * rated at.
 */
export function usageTransactionProblem(t: {
  txnId: string; customerId: string; eventId: string; eventCreditsMicro: bigint | null; eventTxnId: string | null; consumedMicro: bigint;
}): Discrepancy | null {
  const ids = present([t.txnId, t.eventId, t.customerId, t.eventTxnId]);
  if (t.eventCreditsMicro === null) {
    return { check: 'usage_charged_once', message: `Usage transaction ${t.txnId} names event ${t.eventId}, which does not exist.`, ids };
  }
  const problems: string[] = [];
  if (t.eventTxnId !== t.txnId) {
    problems.push(`charges event ${t.eventId}, which records ${t.eventTxnId ?? 'no transaction'} as its charge; an event must be charged exactly once`);
  }
  if (t.eventCreditsMicro !== t.consumedMicro) {
    problems.push(`consumes ${credits(t.consumedMicro)} credits but event ${t.eventId} was rated at ${credits(t.eventCreditsMicro)}`);
  }
  if (problems.length === 0) return null;
  return { check: 'usage_charged_once', message: `Usage transaction ${t.txnId} ${problems.join(', and ')}.`, ids };
}

export interface PurchaseGrantFacts {
  id: string;
  customerId: string;
  status: string;
  invoiceId: string | null;
  invoiceLineId: string | null;
  creditsMicro: bigint;
  costMinor: bigint | null;
  invoiceStatus: string | null;
  line: { id: string; invoiceId: string; type: string; quantity: string; amountMinor: bigint } | null;
}

/** A paid grant from a purchase links to the `credit_purchase` line of its (paid) invoice, for the same credits and cost. */
export function purchaseGrantProblems(g: PurchaseGrantFacts): Discrepancy[] {
  const ids = present([g.id, g.customerId, g.invoiceId, g.invoiceLineId]);
  const problem = (message: string): Discrepancy => ({ check: 'purchase_grants_linked', message: `Paid grant ${g.id} from a purchase ${message}.`, ids });
  if (g.invoiceLineId === null || g.line === null) {
    return [problem(g.invoiceLineId === null ? 'has no invoice line' : `links to invoice line ${g.invoiceLineId}, which does not exist`)];
  }
  const out: Discrepancy[] = [];
  if (g.line.invoiceId !== g.invoiceId) out.push(problem(`links to line ${g.line.id} of invoice ${g.line.invoiceId}, not of its invoice ${g.invoiceId ?? '(none)'}`));
  if (g.line.type !== 'credit_purchase') out.push(problem(`links to a ${g.line.type} line, not a credit_purchase line`));
  if (quantityMicro(g.line.quantity) !== g.creditsMicro) out.push(problem(`grants ${credits(g.creditsMicro)} credits but its line sold ${g.line.quantity}`));
  if (g.costMinor !== null && g.costMinor !== g.line.amountMinor) out.push(problem(`has a cost basis of ${g.costMinor} but its line charged ${g.line.amountMinor}`));
  if ((g.status === 'active' || g.status === 'expired') && g.invoiceStatus !== 'paid') out.push(problem(`is ${g.status} but its invoice is ${g.invoiceStatus ?? 'missing'}`));
  return out;
}

export interface AllowanceGrantFacts {
  id: string;
  customerId: string;
  source: string;
  subscriptionId: string | null;
  periodStartMs: number | null;
  invoiceId: string | null;
  invoiceLineId: string | null;
  period: { index: number; invoiceId: string | null } | null;
  invoice: { id: string; subscriptionId: string | null } | null;
  line: { id: string; invoiceId: string } | null;
}

/** A plan allowance (or rollover) links to its subscription period, which has its invoice, and to a line of an invoice of that subscription. */
export function allowanceGrantProblems(g: AllowanceGrantFacts): Discrepancy[] {
  const ids = present([g.id, g.customerId, g.subscriptionId, g.invoiceId, g.invoiceLineId, g.period?.invoiceId]);
  const problem = (message: string): Discrepancy => ({ check: 'allowance_grants_linked', message: `Grant ${g.id} (${g.source}) ${message}.`, ids });
  const out: Discrepancy[] = [];
  if (g.subscriptionId === null || g.periodStartMs === null || g.period === null) out.push(problem('links to no subscription period'));
  else if (g.period.invoiceId === null) out.push(problem(`belongs to period ${g.period.index} of ${g.subscriptionId}, which has no invoice`));
  if (g.invoice === null) out.push(problem(g.invoiceId === null ? 'links to no invoice' : `links to invoice ${g.invoiceId}, which does not exist`));
  else if (g.invoice.subscriptionId !== g.subscriptionId) out.push(problem(`links to invoice ${g.invoice.id} of another subscription`));
  if (g.line === null) out.push(problem(g.invoiceLineId === null ? 'links to no invoice line' : `links to invoice line ${g.invoiceLineId}, which does not exist`));
  else if (g.line.invoiceId !== g.invoiceId) out.push(problem(`links to line ${g.line.id} of invoice ${g.line.invoiceId}, not of its invoice`));
  return out;
}

export interface OverageLineFacts {
  id: string;
  invoiceId: string;
  subscriptionId: string;
  periodStartMs: number;
  quantity: string;
  unitAmount: string;
  amountMinor: bigint;
  /** `overage_invoiced` transactions caused by the line, and what they moved to `invoiced:overage`. */
  postings: number;
  postedMicro: bigint;
}

/** An overage line charges its quantity at its unit price, rounded once, and moves that quantity out of `overage`. */
export function overageLineProblems(l: OverageLineFacts): Discrepancy[] {
  const out: Discrepancy[] = [];
  const ids = [l.id, l.invoiceId, l.subscriptionId];
  const q = quantityMicro(l.quantity);
  const unit = parseDecimal(l.unitAmount, overagePriceScale, { allowNegative: true });
  const expected = unit.ok ? divRound(q * unit.value, 10n ** 12n) : null;
  if (expected !== l.amountMinor) {
    out.push({ check: 'overage_invoiced', message: `Overage line ${l.id} charges ${l.amountMinor} for ${l.quantity} credits at ${l.unitAmount}; that is ${expected ?? 'not a price'}.`, ids });
  }
  if (l.postings !== 1 || -l.postedMicro !== q) {
    out.push({ check: 'overage_invoiced', message: `Overage line ${l.id} bills ${l.quantity} credits but its overage_invoiced transactions (${l.postings}) move ${credits(-l.postedMicro)}.`, ids });
  }
  return out;
}

/** A void invoice with overage lines: what the lines' postings and the void's together moved to `invoiced:overage`. */
export interface VoidOverageFacts {
  invoiceId: string;
  customerId: string;
  subscriptionId: string | null;
  movedMicro: bigint;
}

/**
 * A void invoice bills nothing: its void gave back every credit its overage lines moved out of
 * `overage`, so together they moved nothing (else the next invoice bills those credits again, or
 * they are lost).
 */
export function voidOverageProblem(v: VoidOverageFacts): Discrepancy | null {
  if (v.movedMicro === 0n) return null;
  return {
    check: 'overage_invoiced',
    message: `Void invoice ${v.invoiceId}'s overage lines and its void together move ${credits(-v.movedMicro)} credits out of overage; a void gives them all back.`,
    ids: present([v.invoiceId, v.customerId, v.subscriptionId]),
  };
}

/**
 * What a closed period's usage pushed into overage, told apart by when each charge was recorded
 * against the subscription's latest invoice that could bill the period (the invoice of the
 * renewal that began its current period; PRODUCT §5, §6).
 */
export interface ClosedPeriodOverage {
  subscriptionId: string;
  customerId: string;
  periodIndex: number;
  periodStartMs: number;
  /** Every charge effective in the period. */
  consumedMicro: bigint;
  /**
   * Of it, charges recorded after that invoice was made: late usage whose correction the next
   * renewal (or final) invoice bills, or for an ended subscription its closing correction. Zero
   * where no later invoice can come (the subscription ended and its closing correction ran, or is
   * overdue by `closingSlackMs`) or no late usage could have reached the period after that invoice.
   */
  pendingMicro: bigint;
  /** Of it, charges recorded in that invoice's own millisecond, which it may or may not have seen. */
  tiedMicro: bigint;
  /** That invoice, when the period can hold charges not yet due for billing. */
  latestInvoiceId: string | null;
}

/**
 * How long after its due time an ended subscription's closing correction is still awaited: the
 * scheduler runs due work every second, but a server may be down or behind for a while (a
 * deploy, a backlog after a month boundary). Past it, the late overage the correction should have
 * billed is a discrepancy, so a correction that never comes cannot stay hidden.
 */
export const closingSlackMs = 24 * 60 * 60 * 1000;

/**
 * In a closed period, the overage lines that reference it add up to the overage its usage
 * consumed, less the late usage recorded since the latest invoice that could bill it, which is
 * not due yet: a finalized invoice never changes, and the next one bills it on a line that
 * references the period (PRODUCT §6). A charge recorded in that invoice's own millisecond may be
 * billed or pending. Once the next invoice is made, everything recorded before it is due.
 */
export function overagePeriodProblem(p: ClosedPeriodOverage, lines: readonly { id: string; invoiceId: string; quantity: string }[]): Discrepancy | null {
  let billed = 0n;
  for (const l of lines) billed += quantityMicro(l.quantity);
  const dueMicro = p.consumedMicro - p.pendingMicro;
  if (billed <= dueMicro && billed >= dueMicro - p.tiedMicro) return null;
  const ids = present([p.subscriptionId, p.customerId, ...lines.flatMap((l) => [l.id, l.invoiceId])]);
  const period = `Period ${p.periodIndex} of subscription ${p.subscriptionId}`;
  if (p.pendingMicro === 0n && p.tiedMicro === 0n) {
    return { check: 'overage_invoiced', message: `${period} consumed ${credits(p.consumedMicro)} credits of overage but its overage lines bill ${credits(billed)}.`, ids };
  }
  const due = p.tiedMicro === 0n ? credits(dueMicro) : `${credits(dueMicro - p.tiedMicro)} to ${credits(dueMicro)}`;
  const pending = p.pendingMicro === 0n ? '' : ` (and ${credits(p.pendingMicro)} since, for the next invoice)`;
  return {
    check: 'overage_invoiced',
    message: `${period} consumed ${due} credits of overage by its latest invoice ${p.latestInvoiceId ?? '(none)'}${pending} but its overage lines bill ${credits(billed)}.`,
    ids: present([...ids, p.latestInvoiceId]),
  };
}

export interface ClawBackTxn {
  id: string;
  kind: string;
  refs: Record<string, string>;
  entries: { account: string; amountMicro: bigint }[];
}

export interface ReturnFactsForCheck {
  id: string;
  kind: 'refund' | 'chargeback';
  customerId: string;
  invoiceId: string;
  amountMinor: bigint;
  creditPolicy: CreditPolicy;
  creditsGrantedMicro: bigint;
  creditsTargetMicro: bigint;
  creditsRevokedMicro: bigint;
  creditsShortfallMicro: bigint;
  shortfallHandling: 'debt' | 'write_off';
  status: string;
  txnId: string | null;
  restoreTxnId: string | null;
}

/** What the claw-back rule reads of a grant a revoke or restore names. */
export interface ClawBackGrant {
  invoiceId: string | null;
  status: string;
}

const entryOn = (t: ClawBackTxn, account: string): bigint => t.entries.filter((e) => e.account === account).reduce((s, e) => s + e.amountMicro, 0n);

/**
 * A refund or chargeback has the claw-back its policy asks for: its stored figures agree with
 * src/core/claw-back.ts (recomputed from what was granted and what was revoked), and one revoke
 * transaction caused by it takes exactly the revoked credits from the invoice's grants (plus the
 * shortfall to `debt` when that is the handling). A won chargeback has its restore transaction.
 */
export function clawBackProblems(
  r: ReturnFactsForCheck, invoiceTotalMinor: bigint | null, caused: readonly ClawBackTxn[], grants: ReadonlyMap<string, ClawBackGrant>,
): Discrepancy[] {
  const out: Discrepancy[] = [];
  const problem = (message: string, extra: (string | null)[] = []): void => {
    out.push({ check: 'claw_backs_applied', message: `${r.kind === 'refund' ? 'Refund' : 'Chargeback'} ${r.id} (${r.creditPolicy}) ${message}.`, ids: present([r.id, r.invoiceId, r.customerId, r.txnId, ...extra]) });
  };
  if (invoiceTotalMinor === null) {
    problem('is on an invoice that does not exist');
    return out;
  }
  const expected = clawBack(r.creditPolicy, r.creditsGrantedMicro, r.creditsRevokedMicro, r.amountMinor, invoiceTotalMinor);
  if (expected.targetMicro !== r.creditsTargetMicro || expected.revokeMicro !== r.creditsRevokedMicro || expected.shortfallMicro !== r.creditsShortfallMicro) {
    problem(`records target ${credits(r.creditsTargetMicro)}, revoked ${credits(r.creditsRevokedMicro)}, shortfall ${credits(r.creditsShortfallMicro)}; `
      + `the policy gives target ${credits(expected.targetMicro)}, revoked ${credits(expected.revokeMicro)}, shortfall ${credits(expected.shortfallMicro)}`);
  }
  const toDebt = r.shortfallHandling === 'debt' ? r.creditsShortfallMicro : 0n;
  const moved = r.creditsRevokedMicro + toDebt;
  const revokes = caused.filter((t) => t.kind === 'revoke');
  if (moved === 0n) {
    if (revokes.length > 0 || r.txnId !== null) problem('revokes nothing but has a revoke transaction', revokes.map((t) => t.id));
  } else if (revokes.length !== 1 || revokes[0]!.id !== r.txnId) {
    problem(revokes.length === 0 ? `has no revoke transaction for its ${credits(moved)} credits` : `has ${revokes.length} revoke transactions`, revokes.map((t) => t.id));
  } else {
    const revoke = revokes[0]!;
    let fromGrants = 0n;
    for (const e of revoke.entries) {
      if (!e.account.startsWith('grant:')) continue;
      fromGrants -= e.amountMicro;
      const grantId = e.account.slice('grant:'.length);
      if (grants.get(grantId)?.invoiceId !== r.invoiceId) problem(`revokes from grant ${grantId}, which that invoice did not grant`, [grantId]);
    }
    if (fromGrants !== r.creditsRevokedMicro || -entryOn(revoke, 'debt') !== toDebt || entryOn(revoke, 'revoked') !== moved) {
      problem(`should revoke ${credits(r.creditsRevokedMicro)} from grants and put ${credits(toDebt)} in debt, but its transaction takes `
        + `${credits(fromGrants)} from grants and ${credits(-entryOn(revoke, 'debt'))} from debt`);
    }
  }
  const restores = caused.filter((t) => t.kind === 'restore');
  if (r.status === 'won' && r.txnId !== null) {
    const restore = restores.find((t) => t.id === r.restoreTxnId);
    // The restore undoes the whole revoke: debt still owed is cancelled, debt the customer has
    // meanwhile repaid comes back as credits, and credits go back to their grants (to `expired`
    // for a grant expired since), so what leaves `revoked` is everything that went in, but for
    // the credits of grants voided before the chargeback was won, which stay revoked: the restore
    // has no entry on such a grant. With nothing else to undo, there is no restore.
    let keptRevoked = 0n;
    const revoke = caused.find((t) => t.kind === 'revoke' && t.id === r.txnId);
    for (const e of revoke?.entries ?? []) {
      if (!e.account.startsWith('grant:') || grants.get(e.account.slice('grant:'.length))?.status !== 'voided') continue;
      if (!restore?.entries.some((x) => x.account === e.account)) keptRevoked -= e.amountMicro;
    }
    const givenBack = moved - keptRevoked;
    if (givenBack === 0n && restores.length === 0 && r.restoreTxnId === null) {
      // Every grant it took from was voided before the win, and no debt was left to cancel.
    } else if (restores.length !== 1 || !restore || restore.refs.restores !== r.txnId) problem('was won but its claw-back was not restored by one linked transaction', restores.map((t) => t.id));
    else if (-entryOn(restore, 'revoked') !== givenBack) problem(`was won but its restore gives back ${credits(-entryOn(restore, 'revoked'))}, not ${credits(givenBack)}`, [restore.id]);
  } else if (restores.length > 0 || (r.status !== 'won' && r.restoreTxnId !== null)) {
    problem(`is ${r.status} but has a restore transaction`, restores.map((t) => t.id));
  }
  return out;
}

/** A finalized invoice of a customer linked to Stripe that has no Stripe invoice (PRODUCT §11). */
export function unpushedInvoiceProblem(i: { invoiceId: string; customerId: string; pushStatus: string | null }): Discrepancy {
  const state = i.pushStatus === 'failed' ? 'its push failed after every retry' : i.pushStatus === null ? 'no push is queued' : 'its push is still pending';
  return { check: 'stripe_invoices_pushed', message: `Invoice ${i.invoiceId} of Stripe customer ${i.customerId} is not in Stripe: ${state}.`, ids: [i.invoiceId, i.customerId] };
}

/** Stripe money (a payment, refund, dispute, or a received money event) that links to no Stripe-pushed Tally invoice. */
export function unlinkedStripeMoneyProblem(m: { kind: string; id: string; invoiceId: string | null }): Discrepancy {
  const where = m.invoiceId ? `invoice ${m.invoiceId}, which Tally does not know as a Stripe invoice` : 'no Tally invoice';
  return { check: 'stripe_money_linked', message: `Stripe ${m.kind} ${m.id} links to ${where}.`, ids: present([m.id, m.invoiceId]) };
}

/** A referral claw-back (what a refund or chargeback took back of a referral's reward) with its revoke transaction. */
export interface ReferralClawBackFacts {
  id: string;
  referralId: string;
  returnId: string;
  customerId: string;
  grantId: string;
  creditsMicro: bigint;
  txnId: string | null;
  /** Transactions (other than usage) caused by the claw-back. */
  caused: number;
  /** The transaction `txnId` names, with what it takes from the claw-back's grant and puts in `revoked`. */
  txn: { kind: string; causeId: string; customerId: string; fromGrantMicro: bigint; toRevokedMicro: bigint } | null;
  /** The referral's reward grants. */
  referralGrantIds: string[];
}

/**
 * A referral claw-back takes its credits from one of its referral's reward grants by one revoke
 * transaction it causes, which `txn_id` names; one of nothing has no transaction.
 */
export function referralClawBackProblems(b: ReferralClawBackFacts): Discrepancy[] {
  const out: Discrepancy[] = [];
  const problem = (message: string): void => {
    out.push({ check: 'claw_backs_applied', message: `Referral claw-back ${b.id} of ${b.returnId} ${message}.`, ids: present([b.id, b.referralId, b.returnId, b.customerId, b.grantId, b.txnId]) });
  };
  if (!b.referralGrantIds.includes(b.grantId)) problem(`takes from grant ${b.grantId}, which is not a reward of referral ${b.referralId}`);
  if (b.creditsMicro === 0n) {
    if (b.txnId !== null || b.caused > 0) problem('takes nothing but has a revoke transaction');
    return out;
  }
  if (b.txnId === null || b.txn === null) {
    problem(b.txnId === null ? `has no revoke transaction for its ${credits(b.creditsMicro)} credits` : `names transaction ${b.txnId}, which does not exist`);
    return out;
  }
  if (b.txn.kind !== 'revoke' || b.txn.causeId !== b.id || b.txn.customerId !== b.customerId || b.caused !== 1) {
    problem(`names transaction ${b.txnId} (${b.txn.kind}, caused by ${b.txn.causeId}); it needs one revoke transaction of its own`);
  }
  if (b.txn.fromGrantMicro !== b.creditsMicro || b.txn.toRevokedMicro !== b.creditsMicro) {
    problem(`records ${credits(b.creditsMicro)} credits taken back, but its transaction takes ${credits(b.txn.fromGrantMicro)} from the grant and revokes ${credits(b.txn.toRevokedMicro)}`);
  }
  return out;
}

/** An invoice's stored money beside the rows it sums (only invoices that break a rule are read). */
export interface InvoiceAmountFacts {
  invoiceId: string;
  customerId: string;
  status: string;
  totalMinor: bigint;
  /** What its lines add up to. */
  linesMinor: bigint;
  amountPaidMinor: bigint;
  /** Its payments, in money and from the balance. */
  paymentsMinor: bigint;
  amountRefundedMinor: bigint;
  refundsMinor: bigint;
  amountChargedBackMinor: bigint;
  /** Its chargebacks not won. */
  chargebacksMinor: bigint;
}

/**
 * An invoice's money is the sum of its rows: its total is its lines', what it shows paid its
 * payments', refunded its refunds', charged back its chargebacks' that were not won. It is paid
 * when (and only when) it was paid in full (at once when it asks for nothing), never paid beyond
 * its total, and never gives back more than it was paid.
 */
export function invoiceAmountProblems(i: InvoiceAmountFacts): Discrepancy[] {
  const out: Discrepancy[] = [];
  const problem = (message: string): void => {
    out.push({ check: 'invoice_amounts_match', message: `Invoice ${i.invoiceId} (${i.status}) ${message}.`, ids: [i.invoiceId, i.customerId] });
  };
  const owed = i.totalMinor > 0n ? i.totalMinor : 0n;
  if (i.totalMinor !== i.linesMinor) problem(`has a total of ${i.totalMinor} but its lines add up to ${i.linesMinor}`);
  if (i.amountPaidMinor !== i.paymentsMinor) problem(`shows ${i.amountPaidMinor} paid but its payments add up to ${i.paymentsMinor}`);
  if (i.amountRefundedMinor !== i.refundsMinor) problem(`shows ${i.amountRefundedMinor} refunded but its refunds add up to ${i.refundsMinor}`);
  if (i.amountChargedBackMinor !== i.chargebacksMinor) problem(`shows ${i.amountChargedBackMinor} charged back but its chargebacks not won add up to ${i.chargebacksMinor}`);
  if (i.amountPaidMinor < 0n || i.amountPaidMinor > owed) problem(`shows ${i.amountPaidMinor} paid of ${owed} owed`);
  else if (i.status === 'paid' && i.amountPaidMinor !== owed) problem(`is paid but shows ${i.amountPaidMinor} paid of ${owed} owed`);
  else if ((i.status === 'open' || i.status === 'uncollectible') && i.amountPaidMinor >= i.totalMinor) problem(`shows ${i.amountPaidMinor} paid of ${i.totalMinor}, which is paid in full`);
  if (i.amountRefundedMinor + i.amountChargedBackMinor > i.amountPaidMinor) {
    problem(`gave back ${i.amountRefundedMinor} refunded and ${i.amountChargedBackMinor} charged back of ${i.amountPaidMinor} paid`);
  }
  return out;
}

/** A hold's stored figures beside its `hold:<id>` account (only holds that break a rule are read). */
export interface HoldFacts {
  holdId: string;
  customerId: string;
  status: string;
  creditsMicro: bigint;
  heldMicro: bigint;
  eventId: string | null;
  capturedMicro: bigint | null;
  /** The account's stored balance. */
  accountMicro: bigint;
  /** What its `hold` transaction put in the account, and what usage (its capture) took out. */
  putInMicro: bigint;
  usedMicro: bigint;
}

/**
 * A hold's credits are what its `hold` transaction moved into its account; while active it holds
 * what the account holds (`held`, less what claw-backs took back), once closed nothing; and what
 * it captured is what its capture's charge took from the account (nothing for a release or an
 * expiry), for the event it names.
 */
export function holdProblems(h: HoldFacts): Discrepancy[] {
  const out: Discrepancy[] = [];
  const problem = (message: string): void => {
    out.push({ check: 'holds_match_ledger', message: `Hold ${h.holdId} (${h.status}) ${message}.`, ids: present([h.holdId, h.customerId, `hold:${h.holdId}`, h.eventId]) });
  };
  if (h.putInMicro !== h.creditsMicro) problem(`was for ${credits(h.creditsMicro)} credits but its hold transaction put ${credits(h.putInMicro)} in its account`);
  if (h.status === 'active' && h.accountMicro !== h.heldMicro) problem(`holds ${credits(h.heldMicro)} credits but its account holds ${credits(h.accountMicro)}`);
  if (h.status !== 'active' && h.accountMicro !== 0n) problem(`is closed but its account still holds ${credits(h.accountMicro)} credits`);
  if (h.usedMicro !== (h.capturedMicro ?? 0n)) problem(`records ${credits(h.capturedMicro ?? 0n)} credits captured but usage took ${credits(h.usedMicro)} from it`);
  if (h.status === 'captured' && h.eventId === null) problem('is captured but names no event');
  return out;
}

/** A customer whose running meter totals hold other credits than its usage events were charged. */
export function meterTotalsProblem(t: { customerId: string; totalsMicro: bigint; chargedMicro: bigint }): Discrepancy {
  return {
    check: 'meter_totals_match_usage',
    message: `The meter totals of customer ${t.customerId} add up to ${credits(t.totalsMicro)} credits but its usage events were charged ${credits(t.chargedMicro)}.`,
    ids: [t.customerId],
  };
}

/** A grant's stored figures beside its `grant:<id>` account (only grants that break a rule, or restore another, are read). */
export interface GrantLedgerFacts {
  grantId: string;
  customerId: string;
  status: string;
  creditsMicro: bigint;
  invoiceId: string | null;
  /** The account's stored balance, and what the grant's issuing transaction put in it. */
  accountMicro: bigint;
  issuedMicro: bigint;
  /** The grant `metadata.restores` names (a grant voided while its invoice was uncollectible), and that grant. */
  restoresId: string | null;
  restored: { customerId: string; invoiceId: string | null; status: string; closeReason: string | null; creditsMicro: bigint } | null;
}

/**
 * A grant's credits are what its issuing transaction put in its account: all of them once it is
 * active (a pending grant has none yet; a grant voided while pending never had any), and its
 * account holds between none and all of them, none once it expired or was voided. A grant that
 * restores another (an uncollectible invoice paid after all) names a grant of the same customer
 * and invoice that being uncollectible voided, and restores no more than it had.
 */
export function grantLedgerProblems(g: GrantLedgerFacts): Discrepancy[] {
  const out: Discrepancy[] = [];
  const problem = (message: string): void => {
    out.push({ check: 'grants_match_ledger', message: `Grant ${g.grantId} (${g.status}) ${message}.`, ids: present([g.grantId, g.customerId, `grant:${g.grantId}`, g.invoiceId, g.restoresId]) });
  };
  const issued = g.status === 'pending' ? 0n : g.status === 'voided' && g.issuedMicro === 0n ? 0n : g.creditsMicro;
  if (g.issuedMicro !== issued) problem(`has ${credits(g.creditsMicro)} credits but its issuing transaction put ${credits(g.issuedMicro)} in its account`);
  if (g.accountMicro < 0n || g.accountMicro > issued) problem(`has ${credits(g.accountMicro)} credits left of the ${credits(issued)} issued`);
  else if ((g.status === 'expired' || g.status === 'voided') && g.accountMicro !== 0n) problem(`is closed but has ${credits(g.accountMicro)} credits left`);
  if (g.restoresId !== null) {
    const r = g.restored;
    if (r === null) problem(`restores grant ${g.restoresId}, which does not exist`);
    else if (r.customerId !== g.customerId || r.invoiceId !== g.invoiceId || r.status !== 'voided' || r.closeReason !== 'invoice uncollectible') {
      problem(`restores grant ${g.restoresId}, which is not a grant of its invoice voided while that was uncollectible`);
    } else if (g.creditsMicro > r.creditsMicro) problem(`restores ${credits(g.creditsMicro)} credits of grant ${g.restoresId}, which had ${credits(r.creditsMicro)}`);
  }
  return out;
}
