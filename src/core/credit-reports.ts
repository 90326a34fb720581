import { divRound } from './decimal.ts';
import type { GrantFate } from './grant-flows.ts';

/**
 * The reports over what became of grants' credits (PRODUCT §10), from their fates at the window's
 * start and end (grant-flows.ts): deferred revenue of credits bought at a cost basis, and
 * promotional (non-revenue) consumption. The only rounding is the valuation at cost basis, once
 * per grant and figure, half away from zero.
 */

export interface CostGrant {
  id: string;
  customerId: string;
  invoiceId: string | null;
  currency: string;
  creditsMicro: bigint;
  costMinor: bigint;
}

export interface GrantValuation {
  recognizedMinor: bigint;
  breakageMinor: bigint;
  revokedMinor: bigint;
  deferredMinor: bigint;
}

/**
 * Values a grant's fate at its cost basis: spent credits are recognized revenue, expired ones
 * breakage, revoked ones (refunded, voided) leave the books, and the rest (unspent, held) is the
 * deferred-revenue liability. Each figure is `cost × credits / granted`, rounded once; deferred is
 * what remains of the cost, so the four always add up to it exactly. Rolled-over credits count as
 * spent. Nothing is on the books before the grant is issued.
 */
export function valueAtCost(grant: CostGrant, fate: GrantFate): GrantValuation {
  if (fate.issuedMicro <= 0n || grant.creditsMicro <= 0n) return { recognizedMinor: 0n, breakageMinor: 0n, revokedMinor: 0n, deferredMinor: 0n };
  const value = (micro: bigint): bigint => divRound(grant.costMinor * micro, grant.creditsMicro);
  const recognizedMinor = value(fate.consumedMicro + fate.transferredMicro);
  const breakageMinor = value(fate.expiredMicro);
  const revokedMinor = value(fate.revokedMicro);
  return { recognizedMinor, breakageMinor, revokedMinor, deferredMinor: grant.costMinor - recognizedMinor - breakageMinor - revokedMinor };
}

export interface DeferredRow extends CostGrant {
  closing: GrantFate;
  /** Bought (issued) inside the window: its cost enters the liability in the window. */
  purchasedMinor: bigint;
  openingDeferredMinor: bigint;
  recognizedMinor: bigint;
  breakageMinor: bigint;
  revokedMinor: bigint;
  closingDeferredMinor: bigint;
}

export interface DeferredTotal {
  currency: string;
  openingDeferredMinor: bigint;
  purchasedMinor: bigint;
  recognizedMinor: bigint;
  breakageMinor: bigint;
  revokedMinor: bigint;
  closingDeferredMinor: bigint;
}

/**
 * The deferred-revenue roll-forward per grant and per currency: opening liability + purchased −
 * recognized − breakage − revoked = closing liability, exactly, because each window figure is the
 * difference of two cumulative valuations (at `from` and at `to`).
 */
export function deferredRevenue(grants: readonly CostGrant[], opening: Map<string, GrantFate>, closing: Map<string, GrantFate>): { rows: DeferredRow[]; totals: DeferredTotal[] } {
  const rows: DeferredRow[] = [];
  for (const grant of grants) {
    const before = opening.get(grant.id)!;
    const after = closing.get(grant.id)!;
    const a = valueAtCost(grant, before);
    const b = valueAtCost(grant, after);
    const purchasedMinor = before.issuedMicro <= 0n && after.issuedMicro > 0n ? grant.costMinor : 0n;
    const row: DeferredRow = {
      ...grant, closing: after, purchasedMinor, openingDeferredMinor: a.deferredMinor,
      recognizedMinor: b.recognizedMinor - a.recognizedMinor, breakageMinor: b.breakageMinor - a.breakageMinor,
      revokedMinor: b.revokedMinor - a.revokedMinor, closingDeferredMinor: b.deferredMinor,
    };
    const moved = row.purchasedMinor !== 0n || row.openingDeferredMinor !== 0n || row.closingDeferredMinor !== 0n || row.recognizedMinor !== 0n
      || row.breakageMinor !== 0n || row.revokedMinor !== 0n;
    if (moved) rows.push(row);
  }
  return { rows, totals: deferredTotals(rows) };
}

/** The deferred-revenue rows' figures summed per currency, in currency order. */
export function deferredTotals(rows: readonly DeferredRow[]): DeferredTotal[] {
  const totals = new Map<string, DeferredTotal>();
  for (const r of rows) {
    const t = totals.get(r.currency) ?? { currency: r.currency, openingDeferredMinor: 0n, purchasedMinor: 0n, recognizedMinor: 0n, breakageMinor: 0n, revokedMinor: 0n, closingDeferredMinor: 0n };
    t.openingDeferredMinor += r.openingDeferredMinor;
    t.purchasedMinor += r.purchasedMinor;
    t.recognizedMinor += r.recognizedMinor;
    t.breakageMinor += r.breakageMinor;
    t.revokedMinor += r.revokedMinor;
    t.closingDeferredMinor += r.closingDeferredMinor;
    totals.set(r.currency, t);
  }
  return [...totals.values()].sort((x, y) => (x.currency < y.currency ? -1 : 1));
}

export interface PromotionalRow {
  source: string;
  grants: bigint;
  issuedMicro: bigint;
  consumedMicro: bigint;
  expiredMicro: bigint;
  revokedMicro: bigint;
}

/**
 * Credits spent from promotional grants in the window, by grant source, against all credits
 * consumed in the window: the share of usage that earns no revenue.
 */
export function promotionalConsumption(
  grants: readonly { id: string; source: string }[], opening: Map<string, GrantFate>, closing: Map<string, GrantFate>, totalConsumedMicro: bigint,
): { rows: PromotionalRow[]; totals: { consumedMicro: bigint; totalConsumedMicro: bigint } } {
  const rows = new Map<string, PromotionalRow>();
  let consumed = 0n;
  for (const g of grants) {
    const a = opening.get(g.id)!;
    const b = closing.get(g.id)!;
    const delta = {
      issued: b.issuedMicro - a.issuedMicro, consumed: b.consumedMicro - a.consumedMicro,
      expired: b.expiredMicro - a.expiredMicro, revoked: b.revokedMicro - a.revokedMicro,
    };
    if (delta.issued === 0n && delta.consumed === 0n && delta.expired === 0n && delta.revoked === 0n) continue;
    const row = rows.get(g.source) ?? { source: g.source, grants: 0n, issuedMicro: 0n, consumedMicro: 0n, expiredMicro: 0n, revokedMicro: 0n };
    row.grants += 1n;
    row.issuedMicro += delta.issued;
    row.consumedMicro += delta.consumed;
    row.expiredMicro += delta.expired;
    row.revokedMicro += delta.revoked;
    consumed += delta.consumed;
    rows.set(g.source, row);
  }
  return { rows: [...rows.values()].sort((a, b) => (a.source < b.source ? -1 : 1)), totals: { consumedMicro: consumed, totalConsumedMicro: totalConsumedMicro } };
}
