import { fail, invalid, notFound, ok, type Outcome } from '../core/errors.ts';
import { formatCredits } from '../core/decimal.ts';
import { accounts, BalanceOutOfRange, issuedAll, type LedgerEntry } from '../core/ledger.ts';
import { limits } from './limits.ts';
import { isCurrency } from '../core/money.ts';
import type { CustomerRecord, GrantCategory, GrantRecord, Metadata } from '../store/records.ts';
import type { StoreTx } from '../store/store.ts';
import { Changes, customerNow, findCustomerLocked, type Engine } from './context.ts';
import { FieldCheck } from './input.ts';
import { balanceOf } from './balance.ts';
import { availableOf, loadFunding, refreshSignals } from './funding.ts';
import { burnDown, isGrantFrozen, isGrantLiveAt, type BurnableGrant } from '../core/burn-down.ts';
import { grantWindowErrors } from '../core/grant-window.ts';
import { heldOf, heldTotal, releaseHeld } from './holds.ts';

export const publicGrantSources = ['purchase', 'promotion', 'referral', 'adjustment'] as const;

export interface CreateGrantInput {
  customer: string;
  credits: string;
  category: GrantCategory;
  source: (typeof publicGrantSources)[number];
  priority?: number | undefined;
  effective_at?: string | undefined;
  expires_at?: string | undefined;
  invoice?: string | undefined;
  cost_basis?: { amount: number; currency: string } | undefined;
  metadata?: Metadata | undefined;
}

export interface IssueGrant {
  creditsMicro: bigint;
  category: GrantCategory;
  source: string;
  priority: number;
  effectiveAtMs: number;
  expiresAtMs: number | null;
  invoiceId?: string | null;
  invoiceLineId?: string | null;
  subscriptionId?: string | null;
  periodStartMs?: number | null;
  costAmountMinor?: bigint | null;
  costCurrency?: string | null;
  metadata?: Metadata;
  refs?: Record<string, string>;
  /** Credits bought on an unpaid invoice stop paying from here until it is paid (PRODUCT §14). */
  frozenFromMs?: number | null;
}

export async function createGrant(engine: Engine, input: CreateGrantInput): Promise<Outcome<GrantRecord>> {
  const check = new FieldCheck();
  const creditsMicro = check.credits('credits', input.credits, { positive: true });
  const effectiveAtMs = check.keptTime('effective_at', input.effective_at);
  const expiresAtMs = check.keptTime('expires_at', input.expires_at);
  const metadata = check.metadata('metadata', input.metadata);
  if (input.cost_basis && !isCurrency(input.cost_basis.currency)) check.add('cost_basis.currency', 'invalid_currency', 'cost_basis.currency must be an ISO 4217 code.');
  if (check.errors.length) return invalid(check.errors);
  return engine.store.transaction(async (tx) => {
    const customer = await findCustomerLocked(tx, input.customer);
    if (!customer) return notFound('customer', input.customer);
    tx.scopeWritesTo([customer.id]);
    // A customer's money is in its one currency, as the deferred revenue report counts its grants.
    if (input.cost_basis && input.cost_basis.currency !== customer.currency) {
      return invalid([{ field: 'cost_basis.currency', code: 'currency_mismatch', message: `cost_basis must be in ${customer.currency}, the customer's currency.` }]);
    }
    // The invoice a grant names is one of its customer's (a link to nothing would be kept as is).
    if (input.invoice !== undefined && input.invoice !== null) {
      const invoice = await tx.billing.invoice(input.invoice);
      if (!invoice || invoice.customerId !== customer.id) return notFound('invoice', input.invoice);
    }
    const nowMs = await customerNow(engine, tx, customer);
    const effective = effectiveAtMs ?? nowMs;
    const windowErrors = grantWindowErrors(effective, expiresAtMs);
    if (windowErrors.length) return invalid(windowErrors);
    const changes = new Changes(engine);
    const grant = await issueGrant(engine, tx, changes, customer, nowMs, {
      creditsMicro,
      category: input.category,
      source: input.source,
      priority: input.priority ?? 50,
      effectiveAtMs: effective,
      expiresAtMs,
      invoiceId: input.invoice ?? null,
      costAmountMinor: input.cost_basis ? BigInt(input.cost_basis.amount) : null,
      costCurrency: input.cost_basis?.currency ?? null,
      metadata,
    });
    await changes.flush(tx);
    return ok(grant);
  });
}

/**
 * Creates a grant as a ledger transaction (`issued:<source>` → the grant's account, or from the
 * accounts in `fundedBy` for a rollover). A `pending` grant (credits bought on an open invoice)
 * is stored without a transaction and becomes active when its invoice is paid.
 */
export async function issueGrant(
  engine: Engine,
  tx: StoreTx,
  changes: Changes,
  customer: CustomerRecord,
  nowMs: number,
  g: IssueGrant & { pending?: boolean; fundedBy?: LedgerEntry[]; flushLater?: boolean },
): Promise<GrantRecord> {
  const grant = newGrantRecord(engine, customer, nowMs, g);
  await tx.grants.insert(grant);
  if (g.pending) {
    changes.event('grant.pending', customer.id, { grant: grant.id, customer: customer.id, credits: formatCredits(grant.creditsMicro), invoice: grant.invoiceId }, nowMs);
    return grant;
  }
  await postIssue(engine, tx, changes, customer, grant, nowMs, g.refs ?? {}, g.fundedBy, g.flushLater ?? false);
  return grant;
}

/** A grant's record before it is stored; its credits arrive through a ledger transaction. */
export function newGrantRecord(engine: Engine, customer: CustomerRecord, nowMs: number, g: IssueGrant & { pending?: boolean }): GrantRecord {
  return {
    id: engine.ids.next('grt'),
    customerId: customer.id,
    creditsMicro: g.creditsMicro,
    category: g.category,
    source: g.source,
    priority: g.priority,
    effectiveAtMs: g.effectiveAtMs,
    expiresAtMs: g.expiresAtMs,
    status: g.pending ? 'pending' : 'active',
    invoiceId: g.invoiceId ?? null,
    invoiceLineId: g.invoiceLineId ?? null,
    subscriptionId: g.subscriptionId ?? null,
    periodStartMs: g.periodStartMs ?? null,
    costAmountMinor: g.costAmountMinor ?? null,
    costCurrency: g.costCurrency ?? null,
    closedAtMs: null,
    closeReason: null,
    metadata: g.metadata ?? {},
    createdAtMs: nowMs,
    remainingMicro: g.pending ? 0n : g.creditsMicro,
    frozenFromMs: g.frozenFromMs ?? null,
    unfrozenAtMs: null,
  };
}

/** Activates a pending grant (its invoice was paid): the credits are issued now. */
export async function activateGrant(engine: Engine, tx: StoreTx, changes: Changes, customer: CustomerRecord, grant: GrantRecord, nowMs: number): Promise<void> {
  await tx.grants.activate(grant.id, nowMs);
  grant.status = 'active';
  grant.effectiveAtMs = nowMs;
  grant.remainingMicro = grant.creditsMicro;
  await postIssue(engine, tx, changes, customer, grant, nowMs, {}, undefined, false);
}

async function postIssue(
  engine: Engine,
  tx: StoreTx,
  changes: Changes,
  customer: CustomerRecord,
  grant: GrantRecord,
  nowMs: number,
  extraRefs: Record<string, string>,
  fundedBy: LedgerEntry[] | undefined,
  flushLater: boolean,
): Promise<void> {
  if (fundedBy === undefined) await checkIssuedBound(tx, changes, customer.id, grant);
  const refs: Record<string, string> = { ...extraRefs };
  if (grant.invoiceId) refs.invoice = grant.invoiceId;
  if (grant.invoiceLineId) refs.invoice_line = grant.invoiceLineId;
  if (grant.subscriptionId) refs.subscription = grant.subscriptionId;
  changes.txn({
    customerId: customer.id,
    kind: grant.source === 'rollover' ? 'rollover' : 'grant',
    cause: { type: 'grant', id: grant.id },
    refs,
    effectiveAtMs: nowMs,
    entries: [
      ...(fundedBy ?? [{ account: accounts.issued(grant.source), amountMicro: -grant.creditsMicro }]),
      { account: accounts.grant(grant.id), amountMicro: grant.creditsMicro },
    ],
  });
  changes.event('grant.created', customer.id, { grant: grant.id, customer: customer.id, credits: formatCredits(grant.creditsMicro), source: grant.source }, nowMs);
  if (grant.effectiveAtMs <= nowMs) await payDownDebt(tx, changes, customer, grant, nowMs);
  // Usable from a later time: the customer's debt is checked then, whatever it owes by then.
  else if (grant.status === 'active') await tx.customers.checkDebtAt(customer.id, grant.effectiveAtMs);
  if (signalsUnchangedByIssue(customer, grant, nowMs)) {
    // The caller writes these changes with its own (a renewal: both grants and its invoice at once).
    if (!flushLater) await changes.flush(tx);
    return;
  }
  await changes.flush(tx);
  const balance = await balanceOf(tx, customer, nowMs);
  await refreshSignals(tx, changes, customer, balance.availableMicro, nowMs);
}

/**
 * Refuses (`BalanceOutOfRange`, the transaction rolled back) a grant that would take the credits
 * issued to its customer, every source together (`issued:*`), beyond `limits.accountBalanceMaxMicro`.
 * Each `issued:<source>` account is bounded by the database anyway (migration 69); bounded
 * together, they also bound what grants give on to `expired` and `revoked` (never more than was
 * issued), so an expiry or a revocation, which due work posts with no one to refuse, never
 * passes the bound. One read of the customer's `issued:` balances per grant, plus what this
 * transaction issued and has not written yet (a renewal's grants, written with its invoice).
 */
async function checkIssuedBound(tx: StoreTx, changes: Changes, customerId: string, grant: GrantRecord): Promise<void> {
  let issuedMicro = await tx.ledger.issuedTotal(customerId);
  for (const t of changes.txns) {
    if (t.customerId !== customerId) continue;
    for (const e of t.entries) if (e.account.startsWith('issued:')) issuedMicro += e.amountMicro;
  }
  if (-issuedMicro + grant.creditsMicro <= limits.accountBalanceMaxMicro) return;
  throw new BalanceOutOfRange(limits.accountBalanceMaxMicro, { customerId, account: issuedAll, balanceMicro: issuedMicro, changeMicro: -grant.creditsMicro });
}

/**
 * Whether the low-balance signals certainly stay as they are, so the balance need not be read: the
 * customer has no threshold and is not marked depleted, and the new grant itself is usable now with
 * credits left, so what is available afterwards is above zero whatever else it held.
 */
function signalsUnchangedByIssue(customer: CustomerRecord, grant: GrantRecord, nowMs: number): boolean {
  if (customer.lowBalanceThresholdMicro !== null || customer.belowThreshold || customer.depleted) return false;
  return grant.remainingMicro > 0n && isGrantLiveAt(grant, nowMs) && !isGrantFrozen(grant, nowMs);
}

async function payDownDebt(tx: StoreTx, changes: Changes, customer: CustomerRecord, grant: GrantRecord, nowMs: number): Promise<void> {
  const debtMicro = -(await tx.ledger.balance(customer.id, accounts.debt)) - pendingDebtPaydown(changes, customer.id);
  if (debtMicro <= 0n) return;
  const payMicro = debtMicro < grant.remainingMicro ? debtMicro : grant.remainingMicro;
  grant.remainingMicro -= payMicro;
  postPaydown(changes, customer.id, [{ grantId: grant.id, amountMicro: payMicro }], { type: 'grant', id: grant.id }, nowMs);
}

function postPaydown(changes: Changes, customerId: string, from: { grantId: string; amountMicro: bigint }[], cause: { type: string; id: string }, nowMs: number): void {
  let total = 0n;
  const entries: LedgerEntry[] = from.map((f) => {
    total += f.amountMicro;
    return { account: accounts.grant(f.grantId), amountMicro: -f.amountMicro };
  });
  if (total === 0n) return;
  entries.push({ account: accounts.debt, amountMicro: total });
  changes.txn({ customerId, kind: 'debt_paydown', cause, refs: {}, effectiveAtMs: nowMs, entries });
  changes.event('debt.paid_down', customerId, { grants: from.map((f) => f.grantId), credits: formatCredits(total) }, nowMs);
}

/**
 * A check of a customer's debt (due work, `debtSettlement`; migration 66): pays what it owes from
 * the credits usable then, in burn-down order, and leaves the next check at the time its next
 * grant takes effect. Checks are asked wherever credits may become usable to a customer in debt
 * other than by a grant issued in effect (which pays the debt itself, `postIssue`): a grant
 * issued to take effect later (at that time, whether the customer owes anything yet or not, so
 * a debt that arises before it is paid then), credits that come back from a hold or a
 * chargeback won, an unfreeze, a debt recorded beside credits usable now (a late event's, a
 * revocation's or a refund's shortfall). Only the checks due are listed, by the index led by
 * the clock, so a customer in debt with nothing to pay it costs nothing until credits come.
 *
 * Skipped when another server has made this check already (its time is gone or later).
 */
export async function checkDebt(engine: Engine, tx: StoreTx, customerId: string, dueAtMs: number): Promise<void> {
  await tx.lockCustomers([customerId]);
  const checkAtMs = await tx.customers.debtCheckAt(customerId);
  if (checkAtMs === null || checkAtMs > dueAtMs) return;
  const customer = await tx.customers.find(customerId);
  if (!customer) return;
  // Debt may have arisen after the credits became usable: settle it no earlier than now.
  const atMs = Math.max(dueAtMs, await customerNow(engine, tx, customer));
  const funding = (await loadFunding(tx, [customer], new Map([[customer.id, atMs]]))).get(customer.id)!;
  await tx.customers.setDebtCheck(customer.id, nextEffective(funding.grants, atMs));
  const debtMicro = -(await tx.ledger.balance(customer.id, accounts.debt));
  if (debtMicro <= 0n) return;
  const burn = burnDown(funding.grants, debtMicro, atMs);
  if (burn.allocations.length === 0) return;
  const changes = new Changes(engine);
  postPaydown(changes, customer.id, burn.allocations, { type: 'debt_settlement', id: customer.id }, atMs);
  await changes.flush(tx);
  await refreshSignals(tx, changes, customer, availableOf(funding) - (debtMicro - burn.remainderMicro), atMs);
  await changes.flush(tx);
}

/** The earliest time after `atMs` a grant with credits left takes effect (still live then); null if none. */
export function nextEffective(grants: readonly Pick<BurnableGrant, 'remainingMicro' | 'effectiveAtMs' | 'expiresAtMs'>[], atMs: number): number | null {
  let next: number | null = null;
  for (const g of grants) {
    if (g.remainingMicro <= 0n || g.effectiveAtMs <= atMs || !isGrantLiveAt(g, g.effectiveAtMs)) continue;
    if (next === null || g.effectiveAtMs < next) next = g.effectiveAtMs;
  }
  return next;
}

/** Debt repaid by transactions queued in this unit of work but not yet written. */
function pendingDebtPaydown(changes: Changes, customerId: string): bigint {
  let total = 0n;
  for (const t of changes.txns) {
    if (t.customerId !== customerId) continue;
    for (const e of t.entries) if (e.account === accounts.debt) total += e.amountMicro;
  }
  return total;
}

/** Moves what is left of a grant to `revoked` (void) or `expired` (expiry), as one transaction. */
export async function closeGrant(
  tx: StoreTx,
  changes: Changes,
  grant: GrantRecord,
  how: 'voided' | 'expired',
  atMs: number,
  reason: string | null,
  knownRemainingMicro?: bigint,
): Promise<void> {
  const remaining = knownRemainingMicro ?? await tx.ledger.balance(grant.customerId, accounts.grant(grant.id));
  if (remaining !== 0n) {
    changes.txn({
      customerId: grant.customerId,
      kind: how === 'voided' ? 'void' : 'expiry',
      cause: { type: how === 'voided' ? 'grant_void' : 'grant_expiry', id: grant.id },
      refs: { grant: grant.id },
      effectiveAtMs: atMs,
      entries: [
        { account: accounts.grant(grant.id), amountMicro: -remaining },
        { account: how === 'voided' ? accounts.revoked : accounts.expired, amountMicro: remaining },
      ],
    });
  }
  await tx.grants.close(grant.id, how, atMs, reason);
  changes.event(how === 'voided' ? 'grant.voided' : 'grant.expired', grant.customerId, {
    grant: grant.id,
    customer: grant.customerId,
    credits: formatCredits(remaining),
    reason,
  }, atMs);
}

export async function voidGrant(engine: Engine, grantId: string, reason: string): Promise<Outcome<GrantRecord>> {
  return engine.store.transaction(async (tx) => {
    const found = await tx.grants.get(grantId);
    if (!found) return notFound('grant', grantId);
    await tx.lockCustomers([found.customerId]);
    tx.scopeWritesTo([found.customerId]);
    const grant = (await tx.grants.get(grantId))!;
    if (grant.status !== 'active') return fail('grant_not_active', `The grant is ${grant.status} already.`, { details: { status: grant.status } });
    const customer = (await tx.customers.find(grant.customerId))!;
    const nowMs = await customerNow(engine, tx, customer);
    const changes = new Changes(engine);
    // What holds reserve of it is not spent: the void takes that back from them too.
    const held = await heldOf(tx, grant.customerId, new Set([grant.id]));
    if (held.length > 0) {
      await releaseHeld(tx, changes, held, heldTotal(held), grant.id, nowMs);
      await changes.flush(tx);
    }
    await closeGrant(tx, changes, grant, 'voided', nowMs, reason);
    await changes.flush(tx);
    const balance = await balanceOf(tx, customer, nowMs);
    await refreshSignals(tx, changes, customer, balance.availableMicro, nowMs);
    await changes.flush(tx);
    return ok((await tx.grants.get(grantId))!);
  });
}
