import type { SqlConnection, SqlRow, SqlValue } from '../sql.ts';
import type { Page, PageRequest } from '../records.ts';
import type { PromotionCodeRecord, PromotionRecord, RedemptionRecord } from '../promotion-records.ts';
import type { LinkedGrantFacts } from '../../core/promotion-reconciliation.ts';
import { big, insertRows, json, num, numOrNull, queryInChunks, strOrNull } from '../rows.ts';
import { pageQuery, unknownCursor } from './paging.ts';
import { allCustomers, inCustomerRange, type CustomerRange } from './customer-range.ts';

const toPromotion = (r: SqlRow): PromotionRecord => ({
  id: r.id as string,
  name: strOrNull(r.name),
  code: strOrNull(r.code),
  codePrefix: strOrNull(r.code_prefix),
  codeCount: num(r.code_count),
  creditsMicro: big(r.credits),
  priority: num(r.priority),
  grantExpiresInSeconds: numOrNull(r.grant_expires_in),
  validFromMs: numOrNull(r.valid_from),
  validUntilMs: numOrNull(r.valid_until),
  maxRedemptions: numOrNull(r.max_redemptions),
  maxPerCustomer: num(r.max_per_customer),
  newCustomersOnly: num(r.new_customers_only) === 1,
  plans: json<string[]>(r.plans),
  active: num(r.active) === 1,
  redemptions: num(r.redemptions),
  metadata: json(r.metadata),
  createdAtMs: num(r.created_at),
  deactivatedAtMs: numOrNull(r.deactivated_at),
});

const toCode = (r: SqlRow): PromotionCodeRecord => ({
  code: r.code as string,
  promotionId: r.promotion_id as string,
  singleUse: num(r.single_use) === 1,
  redemptions: num(r.redemptions),
  createdAtMs: num(r.created_at),
});

const toRedemption = (r: SqlRow): RedemptionRecord => ({
  id: r.id as string,
  promotionId: r.promotion_id as string,
  code: r.code as string,
  customerId: r.customer_id as string,
  grantId: r.grant_id as string,
  creditsMicro: big(r.credits),
  createdAtMs: num(r.created_at),
});

/**
 * Campaigns, codes and redemptions (PRODUCT §15). Limits are enforced under the campaign row's
 * lock (`lockPromotion`, FOR UPDATE on PostgreSQL; SQLite transactions are serial), and the
 * counters move with conditional UPDATEs, so concurrent redemptions never pass a limit.
 */
export class PromotionQueries {
  constructor(private readonly c: SqlConnection) {}

  async insert(p: PromotionRecord, codes: readonly PromotionCodeRecord[]): Promise<void> {
    await this.c.run(
      `INSERT INTO promotions (id, name, code, code_prefix, code_count, credits, priority, grant_expires_in, valid_from, valid_until,
        max_redemptions, max_per_customer, new_customers_only, plans, active, redemptions, metadata, created_at, deactivated_at)
        VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`,
      [p.id, p.name, p.code, p.codePrefix, p.codeCount, p.creditsMicro, p.priority, p.grantExpiresInSeconds, p.validFromMs, p.validUntilMs,
        p.maxRedemptions, p.maxPerCustomer, p.newCustomersOnly ? 1 : 0, JSON.stringify(p.plans), p.active ? 1 : 0, p.redemptions,
        JSON.stringify(p.metadata), p.createdAtMs, p.deactivatedAtMs],
    );
    await insertRows(this.c, 'promotion_codes', ['code', 'promotion_id', 'single_use', 'redemptions', 'created_at'],
      codes.map((k) => [k.code, k.promotionId, k.singleUse ? 1 : 0, k.redemptions, k.createdAtMs]));
  }

  async get(id: string): Promise<PromotionRecord | null> {
    const rows = await this.c.query(`SELECT * FROM promotions WHERE id = ?`, [id]);
    return rows[0] ? toPromotion(rows[0]) : null;
  }

  async getMany(ids: readonly string[]): Promise<PromotionRecord[]> {
    if (ids.length === 0) return [];
    return (await this.c.query(`SELECT * FROM promotions WHERE id IN (${ids.map(() => '?').join(',')}) ORDER BY id`, [...ids])).map(toPromotion);
  }

  /** Reads the campaign under its row lock: concurrent redemptions of it queue here (PostgreSQL). */
  async lock(id: string): Promise<PromotionRecord | null> {
    const lock = this.c.dialect === 'postgres' ? ' FOR UPDATE' : '';
    const rows = await this.c.query(`SELECT * FROM promotions WHERE id = ?${lock}`, [id]);
    return rows[0] ? toPromotion(rows[0]) : null;
  }

  async list(page: PageRequest): Promise<Page<PromotionRecord>> {
    return pageQuery(this.c, 'promotions', '', [], page, toPromotion);
  }

  async all(): Promise<PromotionRecord[]> {
    return (await this.c.query(`SELECT * FROM promotions ORDER BY id`)).map(toPromotion);
  }

  async code(code: string): Promise<PromotionCodeRecord | null> {
    const rows = await this.c.query(`SELECT * FROM promotion_codes WHERE code = ?`, [code]);
    return rows[0] ? toCode(rows[0]) : null;
  }

  /** A campaign's codes in code order, a page after `startingAfter` (a code of this campaign). */
  async codes(promotionId: string, page: PageRequest): Promise<Page<PromotionCodeRecord>> {
    const params: SqlValue[] = [promotionId];
    let where = 'promotion_id = ?';
    if (page.startingAfter) {
      const found = await this.c.query(`SELECT 1 AS found FROM promotion_codes WHERE promotion_id = ? AND code = ?`, [promotionId, page.startingAfter]);
      if (found.length === 0) return unknownCursor();
      where += ' AND code > ?';
      params.push(page.startingAfter);
    }
    const rows = await this.c.query(`SELECT * FROM promotion_codes WHERE ${where} ORDER BY code LIMIT ?`, [...params, page.limit + 1]);
    return { data: rows.slice(0, page.limit).map(toCode), hasMore: rows.length > page.limit };
  }

  /** Takes one use of a code; 0 when a single-use code was already used. */
  async spendCode(code: string): Promise<number> {
    return this.c.run(`UPDATE promotion_codes SET redemptions = redemptions + 1 WHERE code = ? AND (single_use = 0 OR redemptions = 0)`, [code]);
  }

  /** Counts one redemption against the campaign; 0 when `max_redemptions` is reached. */
  async countRedemption(id: string): Promise<number> {
    return this.c.run(
      `UPDATE promotions SET redemptions = redemptions + 1 WHERE id = ? AND (max_redemptions IS NULL OR redemptions < max_redemptions)`, [id]);
  }

  async deactivate(id: string, atMs: number): Promise<void> {
    await this.c.run(`UPDATE promotions SET active = 0, deactivated_at = ? WHERE id = ? AND active = 1`, [atMs, id]);
  }

  async insertRedemption(r: RedemptionRecord): Promise<void> {
    await this.c.run(`INSERT INTO promotion_redemptions (id, promotion_id, code, customer_id, grant_id, credits, created_at) VALUES (?,?,?,?,?,?,?)`,
      [r.id, r.promotionId, r.code, r.customerId, r.grantId, r.creditsMicro, r.createdAtMs]);
  }

  async redemption(id: string): Promise<RedemptionRecord | null> {
    const rows = await this.c.query(`SELECT * FROM promotion_redemptions WHERE id = ?`, [id]);
    return rows[0] ? toRedemption(rows[0]) : null;
  }

  /** The codes this customer redeemed in this campaign, one per redemption. */
  async codesRedeemedBy(customerId: string, promotionId: string): Promise<string[]> {
    const rows = await this.c.query(`SELECT code FROM promotion_redemptions WHERE customer_id = ? AND promotion_id = ? ORDER BY id`, [customerId, promotionId]);
    return rows.map((r) => r.code as string);
  }

  async listRedemptions(promotionId: string | null, customerId: string | null, page: PageRequest): Promise<Page<RedemptionRecord>> {
    const conditions: string[] = [];
    const params: SqlValue[] = [];
    if (promotionId) { conditions.push('promotion_id = ?'); params.push(promotionId); }
    if (customerId) { conditions.push('customer_id = ?'); params.push(customerId); }
    return pageQuery(this.c, 'promotion_redemptions', conditions.join(' AND '), params, page, toRedemption);
  }

  /** Every redemption created before `toMs` (the promotions report and reconciliation). */
  async redemptionsBefore(toMs: number, customerId: string | null): Promise<RedemptionRecord[]> {
    const params: SqlValue[] = [toMs];
    const customer = customerId ? ' AND customer_id = ?' : '';
    if (customerId) params.push(customerId);
    return (await this.c.query(`SELECT * FROM promotion_redemptions WHERE created_at < ?${customer} ORDER BY id`, params)).map(toRedemption);
  }

  /**
   * What `new_customers_only` looks at: money paid on any invoice (a payment of method `balance`
   * is the customer's credit notes, not money it paid), any subscription ever, any earlier
   * redemption of any campaign. A referral looks at the money paid too.
   */
  async customerHistory(customerId: string): Promise<{ payments: number; subscriptions: number; redemptions: number }> {
    const rows = await this.c.query(
      `SELECT (SELECT COUNT(*) FROM payments WHERE customer_id = ? AND method <> 'balance') AS payments,
        (SELECT COUNT(*) FROM subscriptions WHERE customer_id = ?) AS subscriptions,
        (SELECT COUNT(*) FROM promotion_redemptions WHERE customer_id = ?) AS redemptions`, [customerId, customerId, customerId]);
    return { payments: num(rows[0]!.payments), subscriptions: num(rows[0]!.subscriptions), redemptions: num(rows[0]!.redemptions) };
  }

  /** The plan codes of the customer's subscriptions that are running (not canceled, not ended). */
  async subscribedPlanCodes(customerId: string): Promise<string[]> {
    const rows = await this.c.query(
      `SELECT DISTINCT p.code FROM subscriptions s JOIN plans p ON p.id = s.plan_id
        WHERE s.customer_id = ? AND s.status <> 'canceled' AND s.ended_at IS NULL`, [customerId]);
    return rows.map((r) => r.code as string);
  }

  /** Payments of these customers made in [fromMs, toMs) (the report's revenue after a redemption or referral). */
  async paymentsOf(customerIds: readonly string[], fromMs: number, toMs: number): Promise<{ customerId: string; currency: string; amountMinor: bigint; atMs: number }[]> {
    if (customerIds.length === 0) return [];
    const rows = await queryInChunks(this.c, customerIds,
      (list) => `SELECT customer_id, currency, amount, created_at FROM payments WHERE created_at >= ? AND created_at < ? AND customer_id IN ${list} ORDER BY id`,
      [fromMs, toMs]);
    return rows.map((r) => ({ customerId: r.customer_id as string, currency: r.currency as string, amountMinor: big(r.amount), atMs: num(r.created_at) }));
  }

  /**
   * The facts of the promotion_grants_linked check: every grant of source `promotion` or
   * `referral` created in the window with the redemption or referral that links to it and the
   * refs of the transaction that issued it, and every redemption or rewarded referral whose grant
   * is missing; of the customers in `customers` (a grant's, a redemption's, the referrer's or the
   * referred customer's, whose grant each is).
   */
  async linkFacts(fromMs: number, toMs: number, customers: CustomerRange = allCustomers): Promise<PromotionLinkFacts> {
    const grantOwner = inCustomerRange('g.customer_id', customers);
    const redeemer = inCustomerRange('r.customer_id', customers);
    const referrer = inCustomerRange('f.referrer_id', customers);
    const referred = inCustomerRange('f.referred_id', customers);
    // The issuing transaction is found by the partial cause index (migration 11: its condition
    // repeated), not by the customer's: SQLite without statistics would otherwise pick a
    // customer-led index and read the customer's whole history for every grant. `|| ''` keeps
    // the customer comparison off those indexes on both engines.
    const grants = await this.c.query(
      `SELECT g.id, g.customer_id, g.credits, g.category, g.source, t.refs,
          r.id AS redemption_id, r.customer_id AS redemption_customer, r.credits AS redemption_credits,
          f.id AS referral_id, f.referrer_id, f.referred_id, f.reward_credits, f.referred_credits, f.referrer_grant_id, f.referred_grant_id
        FROM grants g
        LEFT JOIN ledger_transactions t ON t.cause_id = g.id AND t.customer_id || '' = g.customer_id AND t.kind = 'grant' AND t.kind <> 'usage'
        LEFT JOIN promotion_redemptions r ON r.grant_id = g.id
        LEFT JOIN referrals f ON f.referrer_grant_id = g.id OR f.referred_grant_id = g.id
        WHERE ${grantOwner.sql} AND g.source IN ('promotion', 'referral') AND g.created_at >= ? AND g.created_at < ? ORDER BY g.id`,
      [...grantOwner.params, fromMs, toMs]);
    const orphans = await this.c.query(
      `SELECT r.id, r.grant_id FROM promotion_redemptions r LEFT JOIN grants g ON g.id = r.grant_id
        WHERE ${redeemer.sql} AND g.id IS NULL AND r.created_at >= ? AND r.created_at < ?
       UNION ALL
       SELECT f.id, f.referrer_grant_id FROM referrals f LEFT JOIN grants g ON g.id = f.referrer_grant_id
        WHERE ${referrer.sql} AND f.status = 'rewarded' AND g.id IS NULL AND f.rewarded_at >= ? AND f.rewarded_at < ?
       UNION ALL
       SELECT f.id, f.referred_grant_id FROM referrals f LEFT JOIN grants g ON g.id = f.referred_grant_id
        WHERE ${referred.sql} AND f.status = 'rewarded' AND f.referred_credits IS NOT NULL AND g.id IS NULL AND f.rewarded_at >= ? AND f.rewarded_at < ?`,
      [...redeemer.params, fromMs, toMs, ...referrer.params, fromMs, toMs, ...referred.params, fromMs, toMs]);
    return {
      grants: grants.map((r) => {
        const isReferred = r.referred_grant_id === r.id;
        return {
          grantId: r.id as string, customerId: r.customer_id as string, creditsMicro: big(r.credits), category: r.category as string, source: r.source as string,
          refs: r.refs === null || r.refs === undefined ? {} : json<Record<string, string>>(r.refs),
          redemption: r.redemption_id === null ? null : { id: r.redemption_id as string, customerId: r.redemption_customer as string, creditsMicro: big(r.redemption_credits) },
          referral: r.referral_id === null ? null : {
            id: r.referral_id as string,
            customerId: (isReferred ? r.referred_id : r.referrer_id) as string,
            creditsMicro: isReferred ? big(r.referred_credits) : big(r.reward_credits),
          },
        };
      }),
      missingGrants: orphans.map((r) => ({ linkId: r.id as string, grantId: strOrNull(r.grant_id) })),
    };
  }
}

export interface PromotionLinkFacts {
  grants: LinkedGrantFacts[];
  missingGrants: { linkId: string; grantId: string | null }[];
}
