import { divRound, formatDecimal } from '../core/decimal.ts';
import { invalid, notFound, ok, type Outcome } from '../core/errors.ts';
import type { CustomerRecord, GrantRecord, InvoiceRecord } from '../store/records.ts';
import type { BurnableGrant } from '../core/burn-down.ts';
import type { StoreTx } from '../store/store.ts';
import { Changes, customerNow, findCustomerLocked, customerNows, type Engine } from './context.ts';
import type { DueWorkKind } from './due-work.ts';
import { FieldCheck } from './input.ts';
import { grantWindowErrors } from '../core/grant-window.ts';
import { issueGrant } from './grants.ts';
import { issueInvoice } from './invoices.ts';
import { availableOf, loadFunding } from './funding.ts';

export interface PurchaseInput {
  credits: string;
  amount: number;
  priority?: number | undefined;
  expires_at?: string | undefined;
}

/**
 * Buying credits: an invoice with one `credit_purchase` line and a paid grant linked to that line,
 * with its cost basis (amount / credits). The grant waits, pending, until the invoice is paid.
 */
export async function purchaseCredits(engine: Engine, ref: string, input: PurchaseInput): Promise<Outcome<{ invoice: InvoiceRecord; grant: GrantRecord }>> {
  const check = new FieldCheck();
  const creditsMicro = check.credits('credits', input.credits, { positive: true });
  if (!Number.isSafeInteger(input.amount) || input.amount < 0) check.add('amount', 'invalid_amount', 'amount must be a non-negative integer of minor units.');
  const expiresAtMs = check.keptTime('expires_at', input.expires_at);
  if (check.errors.length) return invalid(check.errors);
  return engine.store.transaction(async (tx) => {
    // Its invoice may be paid at once from the balance and reward a referral: the referrer is locked too.
    const customer = await findCustomerLocked(tx, ref, { pendingReferrers: true });
    if (!customer) return notFound('customer', ref);
    // Its writes are this customer's rows, and a referral's reward's, which names its own.
    tx.scopeWritesTo([customer.id]);
    const nowMs = await customerNow(engine, tx, customer);
    // The purchased grant starts now: the same window rule as /v1/grants.
    const windowErrors = grantWindowErrors(nowMs, expiresAtMs);
    if (windowErrors.length) return invalid(windowErrors);
    const changes = new Changes(engine);
    const result = await buy(engine, tx, changes, customer, creditsMicro, BigInt(input.amount), nowMs, { priority: input.priority ?? 50, expiresAtMs });
    await changes.flush(tx);
    return ok(result);
  });
}

async function buy(
  engine: Engine, tx: StoreTx, changes: Changes, customer: CustomerRecord, creditsMicro: bigint, amountMinor: bigint, nowMs: number,
  options: { priority: number; expiresAtMs: number | null; metadata?: Record<string, string> },
): Promise<{ invoice: InvoiceRecord; grant: GrantRecord }> {
  // The unit price per credit, as a decimal string of minor units (exact to 6 places, shown only).
  const unitScaled = divRound(amountMinor * 10n ** 12n, creditsMicro);
  const invoice = await issueInvoice(engine, tx, changes, {
    customer,
    kind: 'purchase',
    lines: [{
      type: 'credit_purchase',
      description: `${formatDecimal(creditsMicro, 6)} credits`,
      quantity: formatDecimal(creditsMicro, 6),
      unitAmount: formatDecimal(unitScaled, 6),
      amountMinor,
      periodStartMs: nowMs,
      periodEndMs: nowMs,
      refs: {},
    }],
    ...(options.metadata ? { metadata: options.metadata } : {}),
  }, nowMs);
  const paidAlready = invoice.status === 'paid';
  const grant = await issueGrant(engine, tx, changes, customer, nowMs, {
    creditsMicro,
    category: 'paid',
    source: 'purchase',
    priority: options.priority,
    effectiveAtMs: nowMs,
    expiresAtMs: options.expiresAtMs,
    invoiceId: invoice.id,
    invoiceLineId: invoice.lines[0]!.id,
    costAmountMinor: amountMinor,
    costCurrency: customer.currency,
    pending: !paidAlready,
  });
  return { invoice, grant };
}

/**
 * Auto top-up: when a customer's available credits are below its threshold and top-up is armed,
 * buy the configured pack (invoice + pending grant) and disarm, so one crossing buys once. It
 * re-arms when that invoice is paid or voided. Only the checks that have come are listed
 * (`topUpCheckAtMs`, by `customers_topup_check`: asked by `refreshSignals` in funding.ts and by dunning), in time order with
 * the other due work, so a run reads the customers whose credits may have fallen, not every armed
 * one. A check above the threshold leaves the next one to come: the earliest time a grant of the
 * customer's stops paying (frozen from then, its invoice unpaid).
 */
export const autoTopUp: DueWorkKind = {
  kind: 'auto_top_up',
  // The customer's row and a purchase for it (a referral's reward names its own customer).
  customerScoped: true,
  paysInvoices: true,
  async due(tx, clock, upTo, limit) {
    return (await tx.customers.dueTopUpChecks(clock, upTo, limit)).map((d) => ({ kind: 'auto_top_up', id: d.id, customerId: d.id, dueAtMs: d.dueAtMs }));
  },
  async run(engine, tx, item) {
    // Its invoice may be paid at once from the balance and reward a referral: the referrer is locked too.
    await tx.lockCustomers([item.customerId], { pendingReferrers: true });
    const customer = await tx.customers.find(item.customerId);
    // Checked already (by another server's run), or not yet due: nothing now.
    if (customer?.topUpCheckAtMs == null || customer.topUpCheckAtMs > item.dueAtMs) return;
    await tx.customers.clearTopUpCheck(customer.id);
    if (!customer.autoTopUp || !customer.topUpArmed) return;
    const nows = await customerNows(engine, tx, [customer]);
    const nowMs = Math.max(nows.get(customer.id)!, item.dueAtMs);
    const funding = (await loadFunding(tx, [customer], new Map([[customer.id, nowMs]]))).get(customer.id)!;
    if (availableOf(funding) >= customer.autoTopUp.thresholdMicro) {
      const next = nextFreeze(funding.grants, nowMs);
      if (next !== null) await tx.customers.checkTopUpAt(customer.id, next);
      return;
    }
    const changes = new Changes(engine);
    customer.topUpArmed = false;
    await tx.customers.setTopUpArmed(customer.id, false, null);
    const { invoice } = await buy(engine, tx, changes, customer, customer.autoTopUp.creditsMicro, customer.autoTopUp.amountMinor, nowMs, {
      priority: 50, expiresAtMs: null, metadata: { auto_top_up: 'true' },
    });
    changes.event('credits.top_up_created', customer.id, { customer: customer.id, invoice: invoice.id }, nowMs);
    await changes.flush(tx);
    // Paid as it was issued (a free pack, or the customer's money balance covered it): armed again
    // as a paid top-up is, but with no check at this instant. Credits still below the threshold
    // are the same crossing, which has bought once; the next fall of its credits asks the next.
    // (A check at once bought again and again in one instant while the balance lasted.)
    if (invoice.status === 'paid') await tx.customers.setTopUpArmed(customer.id, true, null);
  },
};

/** The earliest time after `nowMs` a grant stops paying, frozen from then (its invoice unpaid); null if none. */
function nextFreeze(grants: readonly Pick<BurnableGrant, 'frozenFromMs' | 'unfrozenAtMs'>[], nowMs: number): number | null {
  let next: number | null = null;
  for (const g of grants) {
    const from = g.frozenFromMs ?? null;
    if (from !== null && from > nowMs && (g.unfrozenAtMs ?? null) === null && (next === null || from < next)) next = from;
  }
  return next;
}
