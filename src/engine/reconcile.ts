import { invalid, ok, type Outcome } from '../core/errors.ts';
import {
  allowanceGrantProblems, balanceMismatch, clawBackProblems, overageLineProblems, overagePeriodProblem, purchaseGrantProblems,
  reconciliationResult, unbalancedTransaction, unlinkedStripeMoneyProblem, unpushedInvoiceProblem, usageChargeProblem, usageTransactionProblem,
  type Discrepancy, type Reconciliation,
} from '../core/reconciliation.ts';
import { creditNoteProblems, invoiceBalanceProblem } from '../core/balance-reconciliation.ts';
import { missingPromotionGrant, promotionGrantProblems } from '../core/promotion-reconciliation.ts';
import type { ReconcileWindow } from '../store/queries/reconciliation.ts';
import type { StoreTx } from '../store/store.ts';
import type { Engine } from './context.ts';
import { FieldCheck } from './input.ts';

export interface ReconcileInput {
  from?: string | undefined;
  to?: string | undefined;
}

/** The latest instant a JavaScript Date can hold: an open window's end. */
const endOfTimeMs = 8.64e15;

/**
 * Proves that credits and money agree (PRODUCT §10): runs every check and lists each discrepancy
 * with the ids involved. `from`/`to` limit each check to what happened in the window (transactions
 * and usage by effective time, grants and refunds by creation, periods by overlap); stored
 * balances are a projection of all entries, so they are always compared whole.
 */
export interface ReconcileOptions {
  /** Told as each check finishes: its name, how many are done, of how many, and how long it took. */
  onProgress?: (step: { check: string; done: number; total: number; ms: number }) => void;
}

/**
 * The checks run in order, each over its own read snapshot (`Store.snapshot`): on SQLite a worker
 * thread with its own connection, so the request thread never waits for them; on PostgreSQL a
 * REPEATABLE READ, READ ONLY transaction. Every query of one check sees one committed state; a
 * snapshot lasts one check, not the whole run, because on SQLite a reader holding a snapshot keeps
 * the WAL from being checkpointed back to its start: over 10 million entries with ingestion going
 * on, one snapshot for the whole run let the WAL grow by tens of gigabytes (docs/BENCHMARKS.md).
 * Entries and events are only aggregated in SQL, so the memory used grows with the discrepancies
 * (and the grants of the window), not with the ledger.
 */
export async function reconcile(engine: Engine, input: ReconcileInput = {}, options: ReconcileOptions = {}): Promise<Outcome<Reconciliation>> {
  const check = new FieldCheck();
  const from = check.timestamp('from', input.from);
  const to = check.timestamp('to', input.to);
  if (from !== null && to !== null && to <= from) check.add('to', 'window_empty', 'to must be later than from.');
  if (check.errors.length) return invalid(check.errors);
  const window: ReconcileWindow = { fromMs: from ?? 0, toMs: to ?? endOfTimeMs };
  const checks: [string, (tx: StoreTx) => Promise<Discrepancy[]>][] = [
    ['ledger balanced and balances match their entries', (tx) => ledgerProblems(tx, window)],
    ['usage charged exactly once', (tx) => usageProblems(tx, window)],
    ['grants linked to invoices and periods', (tx) => grantLinkProblems(tx, window)],
    ['overage invoiced', (tx) => overageProblems(tx, window)],
    ['refund and chargeback claw-backs', (tx) => clawBackProblemsIn(tx, window)],
    ['customer money balances', (tx) => customerBalanceProblems(tx)],
    ['Stripe invoices pushed and Stripe money linked', (tx) => stripeProblems(tx, window)],
    ['frozen and revoked credits unused', (tx) => frozenCreditProblems(tx)],
    ['promotion and referral grants linked', (tx) => promotionLinkProblems(tx, window)],
  ];
  const found: Discrepancy[] = [];
  for (const [index, [name, run]] of checks.entries()) {
    const startedMs = performance.now();
    found.push(...(await engine.store.snapshot(run)));
    options.onProgress?.({ check: name, done: index + 1, total: checks.length, ms: Math.round(performance.now() - startedMs) });
  }
  return ok(reconciliationResult(found));
}

/** The ledger check (`GET /v1/ledger/check`, `tally check-ledger`), over one read snapshot off the request thread. */
export async function checkLedger(engine: Engine) {
  return engine.store.snapshot(async (tx) => {
    const unbalanced = await tx.ledger.unbalancedTransactions();
    const discrepancies = await tx.ledger.balanceDiscrepancies();
    return { unbalanced, discrepancies };
  });
}

/** PRODUCT §11: every finalized invoice of a Stripe customer is in Stripe; all Stripe money links to an invoice. */
async function stripeProblems(tx: StoreTx, window: ReconcileWindow): Promise<Discrepancy[]> {
  const [unpushed, unlinked] = await Promise.all([
    tx.stripe.unpushedInvoices(window.fromMs, window.toMs),
    tx.stripe.unlinkedStripeMoney(window.fromMs, window.toMs),
  ]);
  return [...unpushed.map(unpushedInvoiceProblem), ...unlinked.map(unlinkedStripeMoneyProblem)];
}

async function ledgerProblems(tx: StoreTx, window: ReconcileWindow): Promise<Discrepancy[]> {
  const [unbalanced, balances] = await Promise.all([tx.reconciliation.unbalancedTransactions(window), tx.ledger.balanceDiscrepancies()]);
  return [...unbalanced.map(unbalancedTransaction), ...balances.map(balanceMismatch)];
}

async function usageProblems(tx: StoreTx, window: ReconcileWindow): Promise<Discrepancy[]> {
  const [events, txns] = await Promise.all([tx.reconciliation.usageChargeSuspects(window), tx.reconciliation.usageTransactionSuspects(window)]);
  return [...events.map(usageChargeProblem), ...txns.map(usageTransactionProblem)].filter((d): d is Discrepancy => d !== null);
}

async function grantLinkProblems(tx: StoreTx, window: ReconcileWindow): Promise<Discrepancy[]> {
  const [purchases, allowances] = await Promise.all([tx.reconciliation.purchaseGrants(window), tx.reconciliation.allowanceGrants(window)]);
  return [...purchases.flatMap(purchaseGrantProblems), ...allowances.flatMap(allowanceGrantProblems)];
}

async function overageProblems(tx: StoreTx, window: ReconcileWindow): Promise<Discrepancy[]> {
  const [periods, lines] = await Promise.all([tx.reconciliation.closedPeriods(window), tx.reconciliation.overageLines(window)]);
  // A line bills a window of one period (split where the plan changed), keyed by the window's start.
  const linesBySubscription = new Map<string, typeof lines>();
  for (const line of lines) linesBySubscription.set(line.subscriptionId, [...(linesBySubscription.get(line.subscriptionId) ?? []), line]);
  const out: Discrepancy[] = lines.flatMap(overageLineProblems);
  for (const p of periods) {
    const own = (linesBySubscription.get(p.subscriptionId) ?? []).filter((l) => l.periodStartMs >= p.periodStartMs && l.periodStartMs < p.periodEndMs);
    const problem = overagePeriodProblem(p, p.consumedMicro, own);
    if (problem) out.push(problem);
  }
  return out;
}

async function clawBackProblemsIn(tx: StoreTx, window: ReconcileWindow): Promise<Discrepancy[]> {
  const returns = await tx.reconciliation.returnsWithInvoiceTotals(window);
  if (returns.length === 0) return [];
  const txns = await tx.ledger.transactions(await tx.reconciliation.transactionIdsCausedBy(returns.map((r) => r.record.id)));
  const byCause = new Map<string, typeof txns>();
  for (const t of txns) byCause.set(t.causeId, [...(byCause.get(t.causeId) ?? []), t]);
  const grantIds = [...new Set(txns.flatMap((t) => t.entries.filter((e) => e.account.startsWith('grant:')).map((e) => e.account.slice('grant:'.length))))];
  const grantInvoices = new Map((await tx.grants.getMany(grantIds)).map((g) => [g.id, g.invoiceId]));
  return returns.flatMap(({ record, invoiceTotalMinor }) => clawBackProblems(record, invoiceTotalMinor, byCause.get(record.id) ?? [], grantInvoices));
}

/** The money balance is a projection of credit notes and their uses, so it is checked whole. */
async function customerBalanceProblems(tx: StoreTx): Promise<Discrepancy[]> {
  const [notes, invoices] = await Promise.all([tx.creditNotes.notesWithUseSums(), tx.creditNotes.invoicesWithBalance()]);
  return [
    ...notes.flatMap(({ note, appliedMinor, refundedMinor }) => creditNoteProblems({ ...note, usesAppliedMinor: appliedMinor, usesRefundedMinor: refundedMinor })),
    ...invoices.map(invoiceBalanceProblem).filter((d): d is Discrepancy => d !== null),
  ];
}

/** No usage was paid by a grant while it was frozen, nor after its invoice revoked it. */
async function frozenCreditProblems(tx: StoreTx): Promise<Discrepancy[]> {
  const [frozen, revoked] = await Promise.all([tx.grants.usedWhileFrozen(), tx.grants.usedAfterRevocation()]);
  return [
    ...frozen.map((u) => ({ check: 'frozen_credits_unused' as const, message: `Usage transaction ${u.txnId} took credits from grant ${u.grantId} while it was frozen.`, ids: [u.grantId, u.txnId, u.customerId] })),
    ...revoked.map((u) => ({ check: 'frozen_credits_unused' as const, message: `Usage transaction ${u.txnId} took credits from grant ${u.grantId} after its invoice revoked it.`, ids: [u.grantId, u.txnId, u.customerId] })),
  ];
}

async function promotionLinkProblems(tx: StoreTx, window: ReconcileWindow): Promise<Discrepancy[]> {
  const facts = await tx.promotions.linkFacts(window.fromMs, window.toMs);
  return [...facts.grants.flatMap(promotionGrantProblems), ...facts.missingGrants.map(missingPromotionGrant)];
}
