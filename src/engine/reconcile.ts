import { invalid, ok, type Outcome } from '../core/errors.ts';
import {
  allowanceGrantProblems, balanceMismatch, clawBackProblems, grantLedgerProblems, holdProblems, invoiceAmountProblems, meterTotalsProblem, referralClawBackProblems, closingSlackMs, overageLineProblems, overagePeriodProblem, voidOverageProblem, purchaseGrantProblems,
  reconciliationResult, unbalancedTransaction, unlinkedStripeMoneyProblem, unpushedInvoiceProblem, usageChargeProblem, usageTransactionProblem, misplacedUsageEventProblem, unfoundUsageEventsProblem,
  type Discrepancy, type Reconciliation,
} from '../core/reconciliation.ts';
import { chargebackNotesProblem, creditNoteProblems, invoiceBalanceProblem } from '../core/balance-reconciliation.ts';
import { missingPromotionGrant, promotionGrantProblems } from '../core/promotion-reconciliation.ts';
import { endOfTimeMs } from '../core/time.ts';
import type { CustomerRange } from '../store/queries/customer-range.ts';
import type { ReconcileWindow } from '../store/queries/reconciliation.ts';
import type { StoreTx } from '../store/store.ts';
import type { Engine } from './context.ts';
import { customersPerLightSliceFirst, inCustomerSlices, type SliceProgress, type SliceSizing } from './customer-slices.ts';
import { FieldCheck } from './input.ts';

export interface ReconcileInput {
  from?: string | undefined;
  to?: string | undefined;
}

/** One report of a run's progress: as a check finishes, and as each slice of a sliced check does. */
export interface ReconcileProgress {
  check: string;
  /** Checks finished, this one included once it has; of `total`. */
  done: number;
  total: number;
  /** Time spent on this check so far. */
  ms: number;
  /** On the report of a slice only: how far the walk over the customers has come. */
  slice?: SliceProgress;
}

export interface ReconcileOptions {
  /** Told as each slice of a sliced check and as each check finishes. */
  onProgress?: (step: ReconcileProgress) => void;
  /** A fixed number of customers per slice of the sliced checks (by default each slice is sized by time, customer-slices.ts). */
  customersPerSlice?: number;
}

/** A check read in one snapshot, or a range of customers at a time, each range in its own. */
type Check =
  | { name: string; whole: (tx: StoreTx) => Promise<Discrepancy[]> }
  | { name: string; perCustomers: (tx: StoreTx, customers: CustomerRange) => Promise<Discrepancy[]>; firstCustomers?: number };

/**
 * Proves that credits and money agree (PRODUCT §10): runs every check and lists each discrepancy
 * with the ids involved. `from`/`to` limit each check to what happened in the window (transactions
 * and usage by effective time, grants and refunds by creation, periods by overlap); stored
 * balances are a projection of all entries, so they are always compared whole.
 *
 * The checks run in order on short read snapshots (`Store.snapshots`): on SQLite a worker thread
 * with its own connection, so the request thread never waits for them; on PostgreSQL REPEATABLE
 * READ, READ ONLY transactions. Every check whose rows grow with the customers walks them in
 * slices (customer-slices.ts), each slice one snapshot that sees its customers' rows in one
 * committed state: the three that read every entry and every usage event (the third sums the
 * events against the running meter totals), and those that read every grant, closed period, credit
 * note, promotional grant, invoice or hold of the window (these start at a thousand customers a
 * slice). The others (refunds and referral claw-backs, Stripe links, frozen credits) read only
 * rows that are rare or already discrepancies, in one snapshot each. A snapshot's queries run one
 * after another: on PostgreSQL it is one connection, which runs one query at a time. No snapshot lasts long because on SQLite a
 * reader holding one keeps the WAL from being reset: over 10 million entries with ingestion going
 * on, a snapshot per check let the WAL grow by tens of gigabytes (docs/BENCHMARKS.md). Entries and
 * events are only aggregated in SQL, and the rest is read a slice at a time, so the memory used
 * grows with the discrepancies, not with the ledger or the customers.
 */
export async function reconcile(engine: Engine, input: ReconcileInput = {}, options: ReconcileOptions = {}): Promise<Outcome<Reconciliation>> {
  const check = new FieldCheck();
  const from = check.timestamp('from', input.from);
  const to = check.timestamp('to', input.to);
  if (from !== null && to !== null && to <= from) check.add('to', 'window_empty', 'to must be later than from.');
  if (check.errors.length) return invalid(check.errors);
  const window: ReconcileWindow = { fromMs: from ?? 0, toMs: to ?? endOfTimeMs };
  const checks: Check[] = [
    { name: 'ledger balanced and balances match their entries', perCustomers: (tx, customers) => ledgerProblems(tx, window, customers) },
    { name: 'usage charged exactly once', perCustomers: (tx, customers) => usageProblems(tx, window, customers) },
    { name: 'usage events found by their customer', whole: (tx) => usageIndexProblems(tx) },
    { name: 'grants linked to invoices and periods', perCustomers: (tx, customers) => grantLinkProblems(tx, window, customers), firstCustomers: customersPerLightSliceFirst },
    {
      name: 'overage invoiced', firstCustomers: customersPerLightSliceFirst,
      perCustomers: (tx, customers) => overageProblems(tx, window, engine.settings.pastToleranceMs, engine.clock.now(), customers, engine.settings.futureToleranceMs),
    },
    { name: 'refund and chargeback claw-backs', whole: (tx) => clawBackProblemsIn(tx, window) },
    { name: 'customer money balances', perCustomers: (tx, customers) => customerBalanceProblems(tx, customers), firstCustomers: customersPerLightSliceFirst },
    { name: 'Stripe invoices pushed and Stripe money linked', whole: (tx) => stripeProblems(tx, window) },
    { name: 'frozen and revoked credits unused', whole: (tx) => frozenCreditProblems(tx) },
    { name: 'promotion and referral grants linked', perCustomers: (tx, customers) => promotionLinkProblems(tx, window, customers), firstCustomers: customersPerLightSliceFirst },
    { name: 'invoice amounts match their lines, payments and returns', perCustomers: (tx, customers) => invoiceAmountProblemsIn(tx, window, customers), firstCustomers: customersPerLightSliceFirst },
    { name: 'grants match their accounts', perCustomers: (tx, customers) => grantLedgerProblemsIn(tx, window, customers), firstCustomers: customersPerLightSliceFirst },
    { name: 'holds match their accounts', perCustomers: (tx, customers) => holdProblemsIn(tx, window, customers), firstCustomers: customersPerLightSliceFirst },
    { name: 'meter totals match usage', perCustomers: (tx, customers) => meterTotalProblemsIn(tx, customers) },
  ];
  const found = await engine.store.snapshots(async (snapshot) => {
    const out: Discrepancy[] = [];
    for (const [index, step] of checks.entries()) {
      const startedMs = performance.now();
      const elapsedMs = () => Math.round(performance.now() - startedMs);
      if ('whole' in step) out.push(...(await snapshot(step.whole)));
      else {
        const sizing = { customersPerSlice: options.customersPerSlice, firstCustomers: step.firstCustomers };
        out.push(...(await inCustomerSlices(snapshot, step.perCustomers, sizing,
          (slice) => options.onProgress?.({ check: step.name, done: index, total: checks.length, ms: elapsedMs(), slice }))));
      }
      options.onProgress?.({ check: step.name, done: index + 1, total: checks.length, ms: elapsedMs() });
    }
    return out;
  });
  return ok(reconciliationResult(found));
}

/**
 * The ledger check (`GET /v1/ledger/check`, `tally check-ledger`): every transaction balances and
 * every stored balance equals its entries, read off the request thread a slice of customers at a
 * time, as `reconcile` reads its ledger check.
 */
export async function checkLedger(engine: Engine, sizing: SliceSizing = {}) {
  const everything: ReconcileWindow = { fromMs: 0, toMs: endOfTimeMs };
  const parts = await engine.store.snapshots((snapshot) => inCustomerSlices(snapshot, async (tx, customers) => {
    const unbalanced = await tx.reconciliation.unbalancedTransactions(everything, customers);
    const discrepancies = await tx.ledger.balanceDiscrepanciesIn(customers);
    return [{ unbalanced, discrepancies }];
  }, sizing));
  return {
    unbalanced: parts.flatMap((p) => p.unbalanced.map(({ txnId, sumMicro, entryCount }) => ({ txnId, sumMicro, entryCount }))),
    discrepancies: parts.flatMap((p) => p.discrepancies),
  };
}

/** PRODUCT §11: every finalized invoice of a Stripe customer is in Stripe; all Stripe money links to an invoice. */
async function stripeProblems(tx: StoreTx, window: ReconcileWindow): Promise<Discrepancy[]> {
  // One after another: on PostgreSQL a snapshot is one connection, which runs one query at a time.
  const unpushed = await tx.stripe.unpushedInvoices(window.fromMs, window.toMs);
  const unlinked = await tx.stripe.unlinkedStripeMoney(window.fromMs, window.toMs);
  return [...unpushed.map(unpushedInvoiceProblem), ...unlinked.map(unlinkedStripeMoneyProblem)];
}

/** The window's transactions of these customers balance, and their stored balances (all of them, whatever the window) equal their entries. */
async function ledgerProblems(tx: StoreTx, window: ReconcileWindow, customers: CustomerRange): Promise<Discrepancy[]> {
  const unbalanced = await tx.reconciliation.unbalancedTransactions(window, customers);
  const balances = await tx.ledger.balanceDiscrepanciesIn(customers);
  return [...unbalanced.map(unbalancedTransaction), ...balances.map(balanceMismatch)];
}

async function usageProblems(tx: StoreTx, window: ReconcileWindow, customers: CustomerRange): Promise<Discrepancy[]> {
  const events = await tx.reconciliation.usageChargeSuspects(window, customers);
  const txns = await tx.reconciliation.usageTransactionSuspects(window, customers);
  const misplaced = await tx.reconciliation.misplacedUsageEvents(customers);
  return [...events.map(usageChargeProblem), ...txns.map(usageTransactionProblem), ...misplaced.map(misplacedUsageEventProblem)]
    .filter((d): d is Discrepancy => d !== null);
}

/** Every usage event is found by its customer: on SQLite, the events stored against those keyed and in tails, in one snapshot. */
async function usageIndexProblems(tx: StoreTx): Promise<Discrepancy[]> {
  const counts = await tx.reconciliation.usageEventCounts();
  const problem = counts === null ? null : unfoundUsageEventsProblem(counts);
  return problem === null ? [] : [problem];
}

async function grantLinkProblems(tx: StoreTx, window: ReconcileWindow, customers: CustomerRange): Promise<Discrepancy[]> {
  const purchases = await tx.reconciliation.purchaseGrants(window, customers);
  const allowances = await tx.reconciliation.allowanceGrants(window, customers);
  return [...purchases.flatMap(purchaseGrantProblems), ...allowances.flatMap(allowanceGrantProblems)];
}

/**
 * Each overage line is priced and posted once, and each closed period's lines bill its overage,
 * less late usage the next invoice bills (`overagePeriodProblem`). `lateWindowMs` is how old an
 * event may be when it arrives (PRODUCT §5): how long after it closed a period can receive usage.
 * An ended subscription's next invoice is its closing correction, awaited until `nowMs` (the
 * clock of customers on no test clock) passes its due time by `closingSlackMs`.
 */
async function overageProblems(tx: StoreTx, window: ReconcileWindow, lateWindowMs: number, nowMs: number, customers: CustomerRange, aheadMs: number): Promise<Discrepancy[]> {
  // One after another: on PostgreSQL a snapshot is one connection, which runs one query at a time.
  const periods = await tx.reconciliation.closedPeriods(window, lateWindowMs, { nowMs, slackMs: closingSlackMs }, customers, aheadMs);
  const lines = await tx.reconciliation.overageLines(window, customers);
  const voided = await tx.reconciliation.voidOverage(window, customers);
  const awaited = await tx.reconciliation.overageAwaitingRebill(customers);
  // A line bills a window of one period (split where the plan changed), keyed by the window's start.
  const linesBySubscription = new Map<string, typeof lines>();
  for (const line of lines) linesBySubscription.set(line.subscriptionId, [...(linesBySubscription.get(line.subscriptionId) ?? []), line]);
  const out: Discrepancy[] = lines.flatMap(overageLineProblems);
  for (const v of voided) {
    const problem = voidOverageProblem(v);
    if (problem) out.push(problem);
  }
  for (const p of periods) {
    // Overage a void gave back since the subscription's current period began: its next invoice bills it.
    if (awaited.some((a) => a.subscriptionId === p.subscriptionId && a.periodStartMs >= p.periodStartMs && a.periodStartMs < p.periodEndMs)) continue;
    const own = (linesBySubscription.get(p.subscriptionId) ?? []).filter((l) => l.periodStartMs >= p.periodStartMs && l.periodStartMs < p.periodEndMs);
    const problem = overagePeriodProblem(p, own);
    if (problem) out.push(problem);
  }
  return out;
}

async function clawBackProblemsIn(tx: StoreTx, window: ReconcileWindow): Promise<Discrepancy[]> {
  const referrals = (await tx.reconciliation.referralClawBacks(window)).flatMap(referralClawBackProblems);
  const returns = await tx.reconciliation.returnsWithInvoiceTotals(window);
  if (returns.length === 0) return referrals;
  const txns = await tx.ledger.transactions(await tx.reconciliation.transactionIdsCausedBy(returns.map((r) => r.record.id)));
  const byCause = new Map<string, typeof txns>();
  for (const t of txns) byCause.set(t.causeId, [...(byCause.get(t.causeId) ?? []), t]);
  const grantIds = [...new Set(txns.flatMap((t) => t.entries.filter((e) => e.account.startsWith('grant:')).map((e) => e.account.slice('grant:'.length))))];
  const grants = new Map((await tx.grants.getMany(grantIds)).map((g) => [g.id, { invoiceId: g.invoiceId, status: g.status }]));
  return [...returns.flatMap(({ record, invoiceTotalMinor }) => clawBackProblems(record, invoiceTotalMinor, byCause.get(record.id) ?? [], grants)), ...referrals];
}

/** Each invoice's total, paid, refunded and charged-back amounts are the sums of its lines, payments and returns, and its status agrees. */
async function invoiceAmountProblemsIn(tx: StoreTx, window: ReconcileWindow, customers: CustomerRange): Promise<Discrepancy[]> {
  return (await tx.reconciliation.invoiceAmountSuspects(window, customers)).flatMap(invoiceAmountProblems);
}

/** Each grant was issued its credits by its issuing transaction and its account holds no more (none once closed); a restoring grant names what it restores. */
async function grantLedgerProblemsIn(tx: StoreTx, window: ReconcileWindow, customers: CustomerRange): Promise<Discrepancy[]> {
  return (await tx.reconciliation.grantLedgerSuspects(window, customers)).flatMap(grantLedgerProblems);
}

/** Each hold holds what its account holds, was funded by its hold transaction and captured what its capture charged. */
async function holdProblemsIn(tx: StoreTx, window: ReconcileWindow, customers: CustomerRange): Promise<Discrepancy[]> {
  return (await tx.reconciliation.holdSuspects(window, customers)).flatMap(holdProblems);
}

/** Each customer's running meter totals hold the credits its usage events were charged (over every period: stored state, compared whole). */
async function meterTotalProblemsIn(tx: StoreTx, customers: CustomerRange): Promise<Discrepancy[]> {
  return (await tx.reconciliation.meterTotalSuspects(customers)).map(meterTotalsProblem);
}

/** The money balance is a projection of credit notes and their uses: each note and each invoice with balance against its uses. */
async function customerBalanceProblems(tx: StoreTx, customers: CustomerRange): Promise<Discrepancy[]> {
  // One after another: a transaction is one connection, which runs one query at a time.
  const notes = await tx.creditNotes.notesWithUseSums(customers);
  const invoices = await tx.creditNotes.invoicesWithBalance(customers);
  const chargebacks = await tx.creditNotes.chargebacksWithNoteUses(customers);
  return [
    ...notes.flatMap(({ note, appliedMinor, refundedMinor, reversedMinor, shareCount, sharesMinor }) => creditNoteProblems({
      ...note, usesAppliedMinor: appliedMinor, usesRefundedMinor: refundedMinor, usesReversedMinor: reversedMinor, shareCount, sharesMinor,
    })),
    ...invoices.map(invoiceBalanceProblem).filter((d): d is Discrepancy => d !== null),
    ...chargebacks.map(chargebackNotesProblem).filter((d): d is Discrepancy => d !== null),
  ];
}

/** No usage was paid by a grant while it was frozen, nor after its invoice revoked it. */
async function frozenCreditProblems(tx: StoreTx): Promise<Discrepancy[]> {
  const frozen = await tx.grants.usedWhileFrozen();
  const revoked = await tx.grants.usedAfterRevocation();
  return [
    ...frozen.map((u) => ({ check: 'frozen_credits_unused' as const, message: `Usage transaction ${u.txnId} took credits from grant ${u.grantId} while it was frozen.`, ids: [u.grantId, u.txnId, u.customerId] })),
    ...revoked.map((u) => ({ check: 'frozen_credits_unused' as const, message: `Usage transaction ${u.txnId} took credits from grant ${u.grantId} after its invoice revoked it.`, ids: [u.grantId, u.txnId, u.customerId] })),
  ];
}

async function promotionLinkProblems(tx: StoreTx, window: ReconcileWindow, customers: CustomerRange): Promise<Discrepancy[]> {
  const facts = await tx.promotions.linkFacts(window.fromMs, window.toMs, customers);
  return [...facts.grants.flatMap(promotionGrantProblems), ...facts.missingGrants.map(missingPromotionGrant)];
}
