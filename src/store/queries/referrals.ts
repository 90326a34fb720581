import type { SqlConnection, SqlRow, SqlValue } from '../sql.ts';
import type { Page, PageRequest } from '../records.ts';
import type { ReferralClawBackRecord, ReferralRecord } from '../promotion-records.ts';
import { big, bigOrNull, json, num, numOrNull, strOrNull } from '../rows.ts';
import { pageQuery } from './paging.ts';

const toReferral = (r: SqlRow): ReferralRecord => ({
  id: r.id as string,
  referrerId: r.referrer_id as string,
  referredId: r.referred_id as string,
  rewardCreditsMicro: big(r.reward_credits),
  referredCreditsMicro: bigOrNull(r.referred_credits),
  status: r.status as ReferralRecord['status'],
  invoiceId: strOrNull(r.invoice_id),
  referrerGrantId: strOrNull(r.referrer_grant_id),
  referredGrantId: strOrNull(r.referred_grant_id),
  rewardedAtMs: numOrNull(r.rewarded_at),
  metadata: json(r.metadata),
  createdAtMs: num(r.created_at),
});

const toClawBack = (r: SqlRow): ReferralClawBackRecord => ({
  id: r.id as string,
  referralId: r.referral_id as string,
  returnId: r.return_id as string,
  customerId: r.customer_id as string,
  grantId: r.grant_id as string,
  creditsMicro: big(r.credits),
  txnId: strOrNull(r.txn_id),
  createdAtMs: num(r.created_at),
});

/** Referrals, their rewards and the claw-backs of those rewards (PRODUCT §15). */
export class ReferralQueries {
  constructor(private readonly c: SqlConnection) {}

  async insert(r: ReferralRecord): Promise<void> {
    await this.c.run(
      `INSERT INTO referrals (id, referrer_id, referred_id, reward_credits, referred_credits, status, invoice_id, referrer_grant_id,
        referred_grant_id, rewarded_at, metadata, created_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)`,
      [r.id, r.referrerId, r.referredId, r.rewardCreditsMicro, r.referredCreditsMicro, r.status, r.invoiceId, r.referrerGrantId,
        r.referredGrantId, r.rewardedAtMs, JSON.stringify(r.metadata), r.createdAtMs],
    );
  }

  async markRewarded(r: ReferralRecord): Promise<void> {
    await this.c.run(`UPDATE referrals SET status = ?, invoice_id = ?, referrer_grant_id = ?, referred_grant_id = ?, rewarded_at = ? WHERE id = ?`,
      [r.status, r.invoiceId, r.referrerGrantId, r.referredGrantId, r.rewardedAtMs, r.id]);
  }

  async get(id: string): Promise<ReferralRecord | null> {
    const rows = await this.c.query(`SELECT * FROM referrals WHERE id = ?`, [id]);
    return rows[0] ? toReferral(rows[0]) : null;
  }

  async ofReferred(customerId: string): Promise<ReferralRecord | null> {
    const rows = await this.c.query(`SELECT * FROM referrals WHERE referred_id = ?`, [customerId]);
    return rows[0] ? toReferral(rows[0]) : null;
  }

  /** The referrers of these customers' pending referrals (a customer is referred once). */
  async pendingReferrersOf(customerIds: readonly string[]): Promise<string[]> {
    if (customerIds.length === 0) return [];
    const rows = await this.c.query(`SELECT referrer_id FROM referrals WHERE referred_id IN (${customerIds.map(() => '?').join(',')}) AND status = 'pending'`, [...customerIds]);
    return rows.map((r) => r.referrer_id as string);
  }

  async forInvoice(invoiceId: string): Promise<ReferralRecord | null> {
    const rows = await this.c.query(`SELECT * FROM referrals WHERE invoice_id = ?`, [invoiceId]);
    return rows[0] ? toReferral(rows[0]) : null;
  }

  /** Referrals made by `referrer` or of `referred` (either filter optional), oldest first. */
  async list(filter: { referrerId?: string | null; referredId?: string | null; customerId?: string | null }, page: PageRequest): Promise<Page<ReferralRecord>> {
    const conditions: string[] = [];
    const params: SqlValue[] = [];
    if (filter.referrerId) { conditions.push('referrer_id = ?'); params.push(filter.referrerId); }
    if (filter.referredId) { conditions.push('referred_id = ?'); params.push(filter.referredId); }
    if (filter.customerId) { conditions.push('(referrer_id = ? OR referred_id = ?)'); params.push(filter.customerId, filter.customerId); }
    return pageQuery(this.c, 'referrals', conditions.join(' AND '), params, page, toReferral);
  }

  async all(): Promise<ReferralRecord[]> {
    return (await this.c.query(`SELECT * FROM referrals ORDER BY id`)).map(toReferral);
  }

  async insertClawBack(r: ReferralClawBackRecord): Promise<void> {
    await this.c.run(`INSERT INTO referral_claw_backs (id, referral_id, return_id, customer_id, grant_id, credits, txn_id, created_at) VALUES (?,?,?,?,?,?,?,?)`,
      [r.id, r.referralId, r.returnId, r.customerId, r.grantId, r.creditsMicro, r.txnId, r.createdAtMs]);
  }

  async clawBacksOf(returnIds: readonly string[]): Promise<ReferralClawBackRecord[]> {
    if (returnIds.length === 0) return [];
    return (await this.c.query(`SELECT * FROM referral_claw_backs WHERE return_id IN (${returnIds.map(() => '?').join(',')}) ORDER BY id`, [...returnIds])).map(toClawBack);
  }

  async clawBacksOfReferral(referralId: string): Promise<ReferralClawBackRecord[]> {
    return this.clawBacksOfReferrals([referralId]);
  }

  /** The claw-backs of a page of referrals, in one statement, in the order of their ids. */
  async clawBacksOfReferrals(referralIds: readonly string[]): Promise<ReferralClawBackRecord[]> {
    if (referralIds.length === 0) return [];
    return (await this.c.query(`SELECT * FROM referral_claw_backs WHERE referral_id IN (${referralIds.map(() => '?').join(',')}) ORDER BY id`, [...referralIds])).map(toClawBack);
  }
}
