import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Engine } from '../../src/engine/context.ts';
import { createEngine } from '../../src/engine/create-engine.ts';
import { createCreditNote } from '../../src/engine/credit-notes.ts';
import { createCustomer, setAutoTopUp, updateCustomer } from '../../src/engine/customers.ts';
import { runDue } from '../../src/engine/due-work.ts';
import { createGrant } from '../../src/engine/grants.ts';
import { recordPayment } from '../../src/engine/invoices.ts';
import { allDueWork } from '../../src/engine/scheduled-work.ts';
import { createPlan } from '../../src/engine/plans.ts';
import { purchaseCredits } from '../../src/engine/purchases.ts';
import { createReferral } from '../../src/engine/referrals.ts';
import { createReturn } from '../../src/engine/refunds.ts';
import { createTestClock } from '../../src/engine/test-clocks.ts';
import { createWebhookEndpoint, deleteWebhookEndpoint } from '../../src/engine/webhook-endpoints.ts';
import { SecretBox } from '../../src/engine/secret-box.ts';
import { changeSubscription, createSubscription } from '../../src/engine/subscriptions.ts';
import { dialects, freshDatabase, type FreshDatabase } from '../support/databases.ts';
import { waitFor } from '../support/wait-for.ts';

/**
 * Races between two servers on one PostgreSQL database, made deterministic: a second connection
 * (standing in for the other server) takes a row's lock in an open transaction, the use case runs
 * until it waits on that lock (seen in `pg_stat_activity`), and the other transaction then
 * commits. Each test fails without the fix it names.
 */
const skipReason = dialects.includes('postgres') ? '' : 'skipped: no PostgreSQL test server (TALLY_TEST_SKIP_POSTGRES=1)';
if (skipReason) console.warn(`postgres-races.test.ts ${skipReason}`);

const shown = (value: unknown) => JSON.stringify(value, (_, v: unknown) => (typeof v === 'bigint' ? String(v) : v));

describe.skipIf(skipReason !== '')('races between two servers on one PostgreSQL database', () => {
  let database: FreshDatabase;
  let engine: Engine;
  let other: pg.Client;

  beforeAll(async () => {
    database = await freshDatabase('postgres');
    engine = await createEngine(database.db);
    other = new pg.Client({ connectionString: database.url });
    await other.connect();
  });

  afterAll(async () => {
    await other?.end();
    await database?.drop();
  });

  /** Until a statement of the engine's pool waits for a lock the other connection holds. */
  async function engineWaitsForLock(): Promise<void> {
    await waitFor('a statement waiting for a row lock', async () => {
      // Asked outside the other connection's transaction, whose view of the statistics stays as it first read them.
      const [waiting] = await database.db.query(`SELECT COUNT(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`);
      return Number(waiting!.n) > 0;
    });
  }

  /**
   * What `createPlan` does when the code is posted again before anyone subscribed: the version is
   * deleted and a new one with the same number inserted, committed by `commit()`.
   */
  async function replacePlanElsewhere(code: string): Promise<{ replacementId: string; commit: () => Promise<void> }> {
    const { rows } = await other.query(`SELECT id FROM plans WHERE code = $1 ORDER BY version DESC LIMIT 1`, [code]);
    const replacementId = `${rows[0].id}R`;
    await other.query('BEGIN');
    await other.query(`INSERT INTO plans SELECT $1, code, version + 1000, name, currency, billing_interval, amount, included_credits, rollover_max,
      overage_unit, overage_limit, rates, subscribed, created_at FROM plans WHERE id = $2`, [replacementId, rows[0].id]);
    await other.query(`DELETE FROM plans WHERE id = $1 AND subscribed = 0`, [rows[0].id]);
    await other.query(`UPDATE plans SET version = version - 1000 WHERE id = $1`, [replacementId]);
    return { replacementId, commit: async () => { await other.query('COMMIT'); } };
  }

  it('subscribes to the version that replaced the plan it read, never to a deleted one (createSubscription against createPlan)', async () => {
    for (const [i, how] of (['create', 'change', 'change_at_period_end'] as const).entries()) {
      const code = `race_plan_${i}`;
      const plan = await createPlan(engine, { code, name: 'P', currency: 'USD', interval: 'month', amount: 1000, included_credits: '10' });
      expect(plan.ok).toBe(true);
      const customer = await createCustomer(engine, { currency: 'USD' });
      if (!customer.ok) throw new Error('customer');
      let subscriptionId: string | null = null;
      if (how !== 'create') {
        const base = await createPlan(engine, { code: `race_base_${i}`, name: 'B', currency: 'USD', interval: 'month', amount: 500, included_credits: '5' });
        expect(base.ok).toBe(true);
        const sub = await createSubscription(engine, { customer: customer.value.id, plan: `race_base_${i}` });
        if (!sub.ok) throw new Error('subscription');
        subscriptionId = sub.value.id;
      }
      // The other server holds the plan row (deleting it); the use case reads the plan, then waits on the row to mark it.
      const replacing = await replacePlanElsewhere(code);
      const running = how === 'create'
        ? createSubscription(engine, { customer: customer.value.id, plan: code })
        : changeSubscription(engine, subscriptionId!, { plan: code, timing: how === 'change' ? 'immediate' : 'period_end' });
      await engineWaitsForLock();
      await replacing.commit();
      const outcome = await running;
      expect(outcome.ok, shown(outcome)).toBe(true);
      if (!outcome.ok) continue;
      const named = how === 'change_at_period_end' ? outcome.value.pendingPlanId : outcome.value.planId;
      expect(named, how).toBe(replacing.replacementId);
      const phases = await database.db.query(`SELECT p.plan_id, pl.id AS found FROM subscription_phases p LEFT JOIN plans pl ON pl.id = p.plan_id WHERE p.subscription_id = ?`, [outcome.value.id]);
      for (const phase of phases) expect(phase.found, `${how}: phase names plan ${String(phase.plan_id)}`).not.toBeNull();
      const [marked] = await database.db.query(`SELECT subscribed FROM plans WHERE id = ?`, [replacing.replacementId]);
      expect(Number(marked!.subscribed)).toBe(1);
    }
  });

  it("keeps what another server wrote on the customer's row while a use case waited for its lock (updateCustomer, createSubscription)", async () => {
    await createPlan(engine, { code: 'race_overage', name: 'O', currency: 'USD', interval: 'month', amount: 1000, included_credits: '10', overage: { unit_amount_per_credit: '1' } });
    for (const how of ['update', 'subscribe'] as const) {
      const customer = await createCustomer(engine, { currency: 'USD' });
      if (!customer.ok) throw new Error('customer');
      const id = customer.value.id;
      expect((await setAutoTopUp(engine, id, { threshold: '5', credits: '100', amount: 500 })).ok).toBe(true);
      // The other server's top-up check bought a pack: it disarmed the customer under the lock.
      await other.query('BEGIN');
      await other.query(`SELECT id FROM customers WHERE id = $1 FOR UPDATE`, [id]);
      await other.query(`UPDATE customers SET topup_armed = 0, depleted = 1 WHERE id = $1`, [id]);
      const running = how === 'update' ? updateCustomer(engine, id, { name: 'renamed' }) : createSubscription(engine, { customer: id, plan: 'race_overage' });
      await engineWaitsForLock();
      await other.query('COMMIT');
      const outcome = await running;
      expect(outcome.ok, shown(outcome)).toBe(true);
      const [row] = await database.db.query(`SELECT topup_armed, depleted, overage_enabled, name FROM customers WHERE id = ?`, [id]);
      // Still disarmed: armed again, the next check would buy a second pack for the same crossing.
      expect(Number(row!.topup_armed), how).toBe(0);
      if (how === 'update') expect([Number(row!.depleted), row!.name]).toEqual([1, 'renamed']);
      else expect(Number(row!.overage_enabled)).toBe(1);
    }
  });

  it("locks a test clock's row before its customers' in a due-work transaction of several items, as every other transaction does", async () => {
    const t0 = Date.parse('2026-04-01T00:00:00.000Z');
    const clock = await createTestClock(engine, { frozen_time: new Date(t0).toISOString() });
    if (!clock.ok) throw new Error('clock');
    const customers: string[] = [];
    for (let c = 0; c < 2; c++) {
      const customer = await createCustomer(engine, { currency: 'USD', test_clock: clock.value.id });
      if (!customer.ok) throw new Error('customer');
      customers.push(customer.value.id);
      const grant = await createGrant(engine, { customer: customer.value.id, credits: '10', category: 'paid', source: 'adjustment', expires_at: new Date(t0 + 3_600_000).toISOString() });
      expect(grant.ok).toBe(true);
    }
    // The other server's item of one customer: its transaction holds the clock, then locks the customer.
    await other.query('BEGIN');
    await other.query(`SELECT id FROM test_clocks WHERE id = $1 FOR UPDATE`, [clock.value.id]);
    // Both expiries at one instant run in one transaction, which moves the clock first, as an advance does.
    const running = runDue(engine, clock.value.id, t0 + 7_200_000, {
      beforeEach: async (tx) => { await tx.customers.getClockForUpdate(clock.value.id); },
    });
    await engineWaitsForLock();
    // Had the batch locked its customers before the clock, this would close a cycle: detected here first.
    await other.query(`SET LOCAL deadlock_timeout = '10ms'`);
    const locked = await other.query(`SELECT id FROM customers WHERE id = $1 FOR UPDATE`, [customers.sort()[0]]).then(() => 'locked', (error: { code?: string }) => error.code);
    await other.query(locked === 'locked' ? 'COMMIT' : 'ROLLBACK');
    expect(await running).toBe(2);
    expect(locked).toBe('locked');
  });

  it('deletes a webhook endpoint after the delivery worker recording its outcomes, not into a deadlock with it', async () => {
    const deps = { box: new SecretBox('race-test-key'), checkUrl: async () => null };
    const created = await createWebhookEndpoint(engine, deps, { url: 'https://hooks.example.com/race' });
    if (!created.ok) throw new Error('endpoint');
    const endpointId = created.value.endpoint.id;
    await database.db.query(`INSERT INTO webhook_deliveries (id, endpoint_id, event_id, event_type, body, status, attempts, created_at, updated_at)
      VALUES ('whd_race', ?, 'evt_race', 'grant.created', '{}', 'pending', 0, 0, 0)`, [endpointId]);
    // The worker's outcomes (`recordOutcomes`): the endpoint's row locked, then its deliveries written.
    await other.query('BEGIN');
    await other.query(`SELECT id FROM webhook_endpoints WHERE id = $1 FOR UPDATE`, [endpointId]);
    const deleting = deleteWebhookEndpoint(engine, endpointId);
    await engineWaitsForLock();
    // Had the delete taken the deliveries before the endpoint, this would close a cycle: detected here first.
    await other.query(`SET LOCAL deadlock_timeout = '10ms'`);
    const written = await other.query(`UPDATE webhook_deliveries SET attempts = 1 WHERE id = 'whd_race'`).then(() => 'written', (error: { code?: string }) => error.code);
    await other.query(written === 'written' ? 'COMMIT' : 'ROLLBACK');
    const outcome = await deleting;
    expect(outcome.ok, shown(outcome)).toBe(true);
    expect(written).toBe('written');
    expect(await database.db.query(`SELECT id FROM webhook_deliveries WHERE endpoint_id = ?`, [endpointId])).toEqual([]);
  });

  it("locks a referral's referrer together with the paying customer, in sorted order: paying the first invoice and refunding it", async () => {
    const referrer = await createCustomer(engine, { currency: 'USD' });
    const referred = await createCustomer(engine, { currency: 'USD' });
    if (!referrer.ok || !referred.ok) throw new Error('customers');
    const [a, b] = [referrer.value.id, referred.value.id];
    // The order that deadlocked: the referrer sorts first, and the use case held the referred customer before it.
    expect(a < b).toBe(true);
    expect((await createReferral(engine, { referrer: a, referred: b, reward_credits: '5' })).ok).toBe(true);
    const bought = await purchaseCredits(engine, b, { credits: '10', amount: 1000 });
    if (!bought.ok) throw new Error('purchase');
    const invoiceId = bought.value.invoice.id;
    for (const how of ['pay', 'refund'] as const) {
      // The other server's transaction of both customers (a due-work batch, a referral made): the referrer first, in sorted order.
      await other.query('BEGIN');
      await other.query(`SELECT id FROM customers WHERE id = $1 FOR UPDATE`, [a]);
      const running = how === 'pay'
        ? recordPayment(engine, invoiceId, { amount: 1000 })
        : createReturn(engine, 'refund', { invoice: invoiceId, amount: 1000, reason: 'race', credit_policy: 'unused_only' });
      await engineWaitsForLock();
      // Had the use case locked the referred customer before waiting for the referrer, this would close a cycle: detected here first.
      await other.query(`SET LOCAL deadlock_timeout = '10ms'`);
      const locked = await other.query(`SELECT id FROM customers WHERE id = $1 FOR UPDATE`, [b]).then(() => 'locked', (error: { code?: string }) => error.code);
      await other.query(locked === 'locked' ? 'COMMIT' : 'ROLLBACK');
      const outcome = await running;
      expect(outcome.ok, shown(outcome)).toBe(true);
      expect(locked, how).toBe('locked');
    }
    const [referral] = await database.db.query(`SELECT status FROM referrals WHERE referred_id = ?`, [b]);
    expect(referral!.status).toBe('rewarded');
    const [clawBacks] = await database.db.query(`SELECT COUNT(*) AS n FROM referral_claw_backs WHERE customer_id = ?`, [a]);
    expect(Number(clawBacks!.n)).toBe(1);
  });

  it("takes the pending referrers of a due-work transaction's customers in its up-front lock: renewals paid from the balance", async () => {
    const t0 = Date.parse('2026-05-01T00:00:00.000Z');
    const clock = await createTestClock(engine, { frozen_time: new Date(t0).toISOString() });
    if (!clock.ok) throw new Error('clock');
    const plan = await createPlan(engine, { code: 'race_referral_renewal', name: 'R', currency: 'USD', interval: 'month', amount: 1000, included_credits: '10' });
    expect(plan.ok).toBe(true);
    const referrer = await createCustomer(engine, { currency: 'USD' });
    if (!referrer.ok) throw new Error('referrer');
    const renewing: string[] = [];
    for (let c = 0; c < 2; c++) {
      const customer = await createCustomer(engine, { currency: 'USD', test_clock: clock.value.id });
      if (!customer.ok) throw new Error('customer');
      renewing.push(customer.value.id);
      expect((await createSubscription(engine, { customer: customer.value.id, plan: 'race_referral_renewal' })).ok).toBe(true);
      // Balance enough for the renewal's invoice, which it then pays at once.
      expect((await createCreditNote(engine, { customer: customer.value.id, amount: 1000, reason: 'race' })).ok).toBe(true);
    }
    const [a, b] = [referrer.value.id, renewing[0]!];
    expect(a < b).toBe(true);
    expect((await createReferral(engine, { referrer: a, referred: b, reward_credits: '5' })).ok).toBe(true);
    // The other server holds the referrer; both renewals run at one instant, in one transaction.
    await other.query('BEGIN');
    await other.query(`SELECT id FROM customers WHERE id = $1 FOR UPDATE`, [a]);
    const running = runDue(engine, clock.value.id, t0 + 32 * 86_400_000, {
      kinds: allDueWork,
      beforeEach: async (tx) => { await tx.customers.getClockForUpdate(clock.value.id); },
    });
    await engineWaitsForLock();
    // Had the transaction locked its customers and only then the referrer, this would close a cycle: detected here first.
    await other.query(`SET LOCAL deadlock_timeout = '10ms'`);
    const locked = await other.query(`SELECT id FROM customers WHERE id = $1 FOR UPDATE`, [b]).then(() => 'locked', (error: { code?: string }) => error.code);
    await other.query(locked === 'locked' ? 'COMMIT' : 'ROLLBACK');
    expect(await running).toBeGreaterThanOrEqual(2);
    expect(locked).toBe('locked');
    // A renewal the balance paid in full rewards nothing (a first payment is money); its
    // transaction takes the pending referrer's lock up front all the same, as a retry that pays
    // in money needs.
    const [referral] = await database.db.query(`SELECT status FROM referrals WHERE referred_id = ?`, [b]);
    expect(referral!.status).toBe('pending');
  });
});
