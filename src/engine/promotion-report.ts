import { ok, type Outcome } from '../core/errors.ts';
import { programFigures, type ProgramFigures, type ProgramGroup, type ProgramRow } from '../core/promotion-report.ts';
import type { Engine } from './context.ts';
import { fatesBySlice, resolveFilter, type ReportInput, type ReportOptions, type ResolvedFilter } from './reports.ts';

export interface PromotionsReport {
  filter: ResolvedFilter;
  rows: (ProgramRow & { customers: number })[];
  totals: ProgramFigures & { redemptions: number; customers: number };
}

/**
 * The promotions report (PRODUCT §15): per campaign and per referrer, redemptions (or rewarded
 * referrals) in the window, credits granted, consumed, expired and revoked in the window, what is
 * unspent at its end, and the money those customers paid in the window after their redemption
 * (campaign) or after being referred (referrer). With `customer`, only that customer's grants and
 * payments count. Read-only.
 */
export async function promotionsReport(engine: Engine, input: ReportInput, options: ReportOptions = {}): Promise<Outcome<PromotionsReport>> {
  const resolved = await resolveFilter(engine, input);
  if (!resolved.ok) return resolved;
  const filter = resolved.value;
  const tx = engine.store.read;
  const inWindow = (ms: number | null): boolean => ms !== null && ms >= filter.fromMs && ms < filter.toMs;
  const groups = new Map<string, ProgramGroup>();
  const group = (key: string, make: () => ProgramGroup): ProgramGroup => {
    let g = groups.get(key);
    if (!g) groups.set(key, (g = make()));
    return g;
  };
  const redemptions = await tx.promotions.redemptionsBefore(filter.toMs, filter.customerId);
  const promotions = new Map((await tx.promotions.getMany([...new Set(redemptions.map((r) => r.promotionId))])).map((p) => [p.id, p]));
  for (const r of redemptions) {
    const g = group(`campaign:${r.promotionId}`, () => ({
      kind: 'campaign', promotionId: r.promotionId, code: promotions.get(r.promotionId)?.code ?? null, referrerId: null,
      redemptionsInWindow: 0, grantIds: [], customersSince: new Map(),
    }));
    if (inWindow(r.createdAtMs)) g.redemptionsInWindow += 1;
    g.grantIds.push(r.grantId);
    if (!g.customersSince.has(r.customerId)) g.customersSince.set(r.customerId, r.createdAtMs);
  }
  for (const r of await tx.referrals.all()) {
    if (r.status !== 'rewarded' || r.rewardedAtMs === null || r.rewardedAtMs >= filter.toMs) continue;
    const mine = filter.customerId === null || filter.customerId === r.referrerId || filter.customerId === r.referredId;
    if (!mine) continue;
    const g = group(`referrer:${r.referrerId}`, () => ({
      kind: 'referrer', promotionId: null, code: null, referrerId: r.referrerId, redemptionsInWindow: 0, grantIds: [], customersSince: new Map(),
    }));
    if (inWindow(r.rewardedAtMs)) g.redemptionsInWindow += 1;
    for (const [grantId, owner] of [[r.referrerGrantId, r.referrerId], [r.referredGrantId, r.referredId]] as const) {
      if (grantId && (filter.customerId === null || filter.customerId === owner)) g.grantIds.push(grantId);
    }
    if (filter.customerId === null || filter.customerId === r.referredId) g.customersSince.set(r.referredId, r.createdAtMs);
  }
  // The fates of the groups' grants only, read a slice of customers at a time: a store's other
  // promotional grants (given by hand, PRODUCT §4) may be many more, and belong to no group.
  const wanted = new Set([...groups.values()].flatMap((g) => g.grantIds));
  const fates = await fatesBySlice(engine, 'promotional', filter, ({ grants, opening, closing }) =>
    grants.filter((g) => wanted.has(g.id)).map((g) => ({ id: g.id, opening: opening.get(g.id)!, closing: closing.get(g.id)! })), options);
  const opening = new Map(fates.map((f) => [f.id, f.opening]));
  const closing = new Map(fates.map((f) => [f.id, f.closing]));
  const customers = [...new Set([...groups.values()].flatMap((g) => [...g.customersSince.keys()]))];
  const payments = await tx.promotions.paymentsOf(customers, filter.fromMs, filter.toMs);
  const { rows, totals } = programFigures([...groups.values()], opening, closing, payments);
  return ok({
    filter,
    rows: rows.map((row) => ({ ...row, customers: row.group.customersSince.size })),
    totals: { ...totals, customers: customers.length },
  });
}
