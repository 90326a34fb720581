import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Engine } from '../../src/engine/context.ts';
import { createEngine } from '../../src/engine/create-engine.ts';
import { runDue } from '../../src/engine/due-work.ts';
import { allDueWork } from '../../src/engine/scheduled-work.ts';
import { migrate, migrations } from '../../src/store/migrations.ts';
import { openPostgresDatabase } from '../../src/store/postgres/postgres-database.ts';
import { idempotencyClaimLeaseMs } from '../../src/store/queries/access.ts';
import type { SqlDatabase } from '../../src/store/sql.ts';
import { dialects, freshDatabase, type FreshDatabase } from '../support/databases.ts';
import { Api } from '../support/server.ts';
import { freePort, ServerProcess } from '../support/server-processes.ts';

/**
 * Several stateless server processes on one PostgreSQL database (PRODUCT §12, issue 5): three real
 * `tally serve` processes take thousands of events for a handful of hot customers at once, with
 * batches re-sent to another process to race duplicates; due work (test clock advances and the
 * real-clock scheduler in every process) runs exactly once; a process killed with SIGKILL
 * mid-ingestion loses no acknowledged event, and re-sent batches are charged once. Every
 * invariant is checked in the database itself, not through the API.
 */
const skipReason = dialects.includes('postgres')
  ? ''
  : 'skipped: no PostgreSQL test server (TALLY_TEST_SKIP_POSTGRES=1); these tests need real PostgreSQL';
if (skipReason) console.warn(`multi-process.test.ts ${skipReason}`);

const adminKey = 'multi-process-admin-key';
const serverCount = 3;
const micro = 1_000_000n;
/**
 * A pool of requests fails (instead of hanging) when no request completes for this long. It bounds
 * a stall, not the pool's total time: a loaded CI machine may take several times longer overall.
 */
const stallMs = 60_000;
const requestTimeoutMs = 60_000;
/** Three servers compile and start at once; on a loaded 2-core machine that takes a while. */
const serverStartupMs = 300_000;

interface EventResult {
  id: string;
  status: 'accepted' | 'duplicate' | 'rejected';
  credits?: string;
  error?: { code: string };
}
interface SentEvent {
  id: string;
  customer: string;
  type: string;
  properties: { n: number };
}
type Batch = SentEvent[];
type Sent = { ok: true; results: EventResult[] } | { ok: false; problem: string };

describe.skipIf(skipReason !== '')('three server processes on one PostgreSQL database', () => {
  let database: FreshDatabase;
  let db: SqlDatabase;
  let engine: Engine;
  let servers: ServerProcess[] = [];
  let apis: Api[] = [];
  let meterType = '';
  /** The ingestion customers, with what was granted to them (micro-credits). */
  const customers: { id: string; overage: boolean; grantedMicro: bigint; weight: number }[] = [];

  beforeAll(async () => {
    database = await freshDatabase('postgres');
    db = database.db;
    // The servers start together on an empty database: the migrations race among them too.
    const ports = await distinctFreePorts(serverCount);
    servers = await Promise.all(ports.map((port) => ServerProcess.start({ port, databaseUrl: database.url, adminKey })));
    apis = servers.map((s) => new Api(s.baseUrl, adminKey));
    engine = await createEngine(db);

    const api = apis[0]!;
    meterType = `mp_call_${Date.now()}`;
    const meter = await api.post('/v1/meters', {
      code: `mp_meter_${Date.now()}`, event_type: meterType, aggregation: 'sum', value_property: 'n',
      rate: { model: 'per_unit', credits_per_unit: '1' },
    });
    expect(meter.status, JSON.stringify(meter.body)).toBe(201);
    // One hot customer that never runs out, and small grants that run out into overage or debt.
    const plan = [
      { overage: true, grants: ['1000000'], weight: 40 },
      { overage: true, grants: ['300'], weight: 15 },
      { overage: false, grants: ['300'], weight: 15 },
      { overage: false, grants: ['200', '400'], weight: 15 },
      { overage: true, grants: ['50'], weight: 15 },
    ];
    for (const [i, p] of plan.entries()) {
      const created = await apis[i % serverCount]!.post('/v1/customers', { currency: 'USD', overage: p.overage, name: `mp ${i}` });
      expect(created.status, JSON.stringify(created.body)).toBe(201);
      let grantedMicro = 0n;
      for (const [g, credits] of p.grants.entries()) {
        const grant = await apis[g % serverCount]!.post('/v1/grants', {
          customer: created.body.id, credits, category: g === 0 ? 'paid' : 'promotional', source: g === 0 ? 'purchase' : 'promotion', priority: 10 + g,
        });
        expect(grant.status, JSON.stringify(grant.body)).toBe(201);
        grantedMicro += BigInt(credits) * micro;
      }
      customers.push({ id: created.body.id as string, overage: p.overage, grantedMicro, weight: p.weight });
    }
  }, serverStartupMs);

  afterAll(async () => {
    await Promise.all(servers.map((s) => s.kill()));
    await database?.drop();
  });

  it('ingests 6,000 events from three processes at once, racing re-sent batches, and charges each exactly once', { timeout: 300_000 }, async () => {
    const batches = makeBatches('mp', 6000, [...repeat(100, 30), ...repeat(10, 200), ...repeat(1, 1000)], customers, meterType, 1);
    const acks = new Acks();
    // Every fifth batch is sent to two processes at the same moment; every seventh again later to a third.
    await runPool(batches.length, 48, async (i) => {
      const targets = i % 5 === 0 ? [i % serverCount, (i + 1) % serverCount] : [i % serverCount];
      const replies = await Promise.all(targets.map((t) => sendEvents(servers[t]!, batches[i]!)));
      for (const reply of replies) acks.record(reply);
    });
    await runPool(batches.length, 48, async (i) => {
      if (i % 7 === 0) acks.record(await sendEvents(servers[(i + 2) % serverCount]!, batches[i]!));
    });

    expect(acks.failures).toEqual([]);
    acks.expectEachAcceptedOnce(batches.flat());
    await expectStored(db, batches.flat());
    await expectCustomerTotals(db, customers, batches.flat());
    await expectLedgerInvariants(db, engine);
  });

  it('accepts an event id used for two customers at once on two processes only once', { timeout: 180_000 }, async () => {
    const pairs = 120;
    const acks = new Acks();
    // One process always takes customer a and another customer b, so no group commit puts both
    // customers in one transaction (whose customer locks would serialize the pair).
    await runPool(pairs, 8, async (i) => {
      const id = `mp_cross_${i}`;
      const [a, b] = [customers[1]!, customers[2]!];
      const replies = await Promise.all([
        sendEvents(servers[0]!, [{ id, customer: a.id, type: meterType, properties: { n: 1 } }]),
        sendEvents(servers[1]!, [{ id, customer: b.id, type: meterType, properties: { n: 1 } }]),
      ]);
      for (const reply of replies) acks.record(reply);
    });
    expect(acks.failures).toEqual([]);
    for (let i = 0; i < pairs; i++) {
      const statuses = acks.of(`mp_cross_${i}`).map((r) => r.error?.code ?? r.status).sort();
      expect(statuses, `mp_cross_${i}`).toEqual(['accepted', 'idempotency_conflict']);
    }
    const stored = await db.query(`SELECT id, COUNT(*) AS n FROM usage_events WHERE id LIKE 'mp_cross_%' GROUP BY id HAVING COUNT(*) <> 1`);
    expect(stored).toEqual([]);
    await expectLedgerInvariants(db, engine);
  });

  it('claims an Idempotency-Key once when the same request reaches every process at once', { timeout: 180_000 }, async () => {
    for (let k = 0; k < 10; k++) {
      const key = `mp_idem_${k}`;
      const body = { customer: customers[0]!.id, credits: '1', category: 'promotional', source: 'promotion', metadata: { key } };
      const replies = await Promise.all(apis.map((api) => api.post('/v1/grants', body, { 'idempotency-key': key })));
      const created = replies.filter((r) => r.status === 201);
      expect(created.length, JSON.stringify(replies.map((r) => [r.status, r.body]))).toBeGreaterThanOrEqual(1);
      for (const r of replies) {
        if (r.status === 201) expect(r.body.id).toBe(created[0]!.body.id);
        else expect(r.body?.error?.code, JSON.stringify(r.body)).toBe('idempotency_key_in_use');
      }
      const stored = await db.query(`SELECT id FROM grants WHERE metadata LIKE ?`, [`%"${key}"%`]);
      expect(stored, key).toHaveLength(1);
    }
    await expectLedgerInvariants(db, engine);
  });

  it('runs due work once when one test clock is advanced from every process at once', { timeout: 180_000 }, async () => {
    const t0 = '2026-05-01T00:00:00.000Z';
    const t0Ms = Date.parse(t0);
    const hour = 3_600_000;
    const clock = await apis[0]!.post('/v1/test_clocks', { frozen_time: t0 });
    expect(clock.status).toBe(201);
    const clockId = clock.body.id as string;
    const grantIds: string[] = [];
    const holdIds: string[] = [];
    for (let c = 0; c < 4; c++) {
      const api = apis[c % serverCount]!;
      const customer = await api.post('/v1/customers', { currency: 'USD', test_clock: clockId, overage: c % 2 === 0 });
      expect(customer.status, JSON.stringify(customer.body)).toBe(201);
      for (const expiresMs of [t0Ms + hour, t0Ms + 2 * hour, t0Ms + 2 * hour + 1]) {
        const grant = await api.post('/v1/grants', {
          customer: customer.body.id, credits: '100', category: 'paid', source: 'purchase', expires_at: new Date(expiresMs).toISOString(),
        });
        expect(grant.status, JSON.stringify(grant.body)).toBe(201);
        grantIds.push(grant.body.id as string);
      }
      const hold = await api.post('/v1/holds', { customer: customer.body.id, credits: '30', expires_in: 1800 });
      expect(hold.status, JSON.stringify(hold.body)).toBe(201);
      holdIds.push(hold.body.id as string);
      const used = await sendEvents(servers[c % serverCount]!, [1, 2, 3].map((k) => ({ id: `mp_clock_${c}_${k}`, customer: customer.body.id as string, type: meterType, properties: { n: k } })));
      expect(used.ok && used.results.every((r) => r.status === 'accepted'), JSON.stringify(used)).toBe(true);
    }

    // Two customers in debt (overage off, nothing to pay with) with a grant taking effect in 3
    // hours: each debt is checked then, and paid once, whichever processes list the check.
    const debtors: string[] = [];
    for (let c = 0; c < 2; c++) {
      const api = apis[c % serverCount]!;
      const customer = await api.post('/v1/customers', { currency: 'USD', test_clock: clockId });
      expect(customer.status, JSON.stringify(customer.body)).toBe(201);
      const owed = await sendEvents(servers[c % serverCount]!, [{ id: `mp_debt_${c}`, customer: customer.body.id as string, type: meterType, properties: { n: 5 } }]);
      expect(owed.ok && owed.results.every((r) => r.status === 'accepted'), JSON.stringify(owed)).toBe(true);
      const later = await api.post('/v1/grants', {
        customer: customer.body.id, credits: '10', category: 'paid', source: 'purchase', effective_at: new Date(t0Ms + 3 * hour).toISOString(),
      });
      expect(later.status, JSON.stringify(later.body)).toBe(201);
      debtors.push(customer.body.id as string);
    }

    const target = new Date(t0Ms + 24 * hour).toISOString();
    const advances = await Promise.all([0, 1, 2, 3, 4, 5].map((k) => apis[k % serverCount]!.post(`/v1/test_clocks/${clockId}/advance`, { frozen_time: target })));
    for (const a of advances) expect(a.status, JSON.stringify(a.body)).toBe(200);
    await expectDueWorkOnce(db, grantIds, holdIds);
    for (const id of debtors) {
      const settlements = await db.query(`SELECT effective_at FROM ledger_transactions WHERE cause_type = 'debt_settlement' AND customer_id = ?`, [id]);
      expect(settlements.map((t) => Number(t.effective_at)), id).toEqual([t0Ms + 3 * hour]);
      const balance = await apis[0]!.get(`/v1/customers/${id}/balance`);
      expect([balance.body.debt, balance.body.available], id).toEqual(['0', '5']);
    }
    expect(await frozenTime(db, clockId)).toBe(t0Ms + 24 * hour);

    // Two advances racing to different targets: the clock ends at the later one, never goes back.
    for (let round = 1; round <= 4; round++) {
      const base = t0Ms + 24 * hour + round * 10 * hour;
      const targets = [base + 2 * hour, base + hour];
      const raced = await Promise.all(targets.map((t, k) => apis[(round + k) % serverCount]!.post(`/v1/test_clocks/${clockId}/advance`, { frozen_time: new Date(t).toISOString() })));
      for (const r of raced) {
        if (r.status !== 200) expect(r.body?.error?.code, JSON.stringify(r.body)).toBe('clock_cannot_go_back');
      }
      expect(await frozenTime(db, clockId), `round ${round}`).toBe(base + 2 * hour);
    }
    await expectLedgerInvariants(db, engine);
  });

  it('runs real-clock expiries once while every process runs its scheduler', { timeout: 180_000 }, async () => {
    const grantIds: string[] = [];
    const holdIds: string[] = [];
    for (let c = 0; c < 4; c++) {
      const api = apis[c % serverCount]!;
      const customer = await api.post('/v1/customers', { currency: 'USD', overage: c % 2 === 0 });
      expect(customer.status, JSON.stringify(customer.body)).toBe(201);
      // A lasting grant funds the hold whether or not the expiring ones are still live by then.
      const lasting = await api.post('/v1/grants', { customer: customer.body.id, credits: '20', category: 'paid', source: 'purchase' });
      expect(lasting.status, JSON.stringify(lasting.body)).toBe(201);
      for (let g = 0; g < 2; g++) {
        // Each expiry is set from the time of its own request (a cumulative deadline for the whole
        // set-up could pass first on a loaded machine).
        const expiresAt = new Date(Date.now() + 1_000).toISOString();
        const grant = await api.post('/v1/grants', { customer: customer.body.id, credits: '100', category: 'paid', source: 'purchase', expires_at: expiresAt });
        expect(grant.status, JSON.stringify(grant.body)).toBe(201);
        grantIds.push(grant.body.id as string);
      }
      const hold = await api.post('/v1/holds', { customer: customer.body.id, credits: '20', expires_in: 1 });
      expect(hold.status, JSON.stringify(hold.body)).toBe(201);
      holdIds.push(hold.body.id as string);
    }
    const deadline = Date.now() + 60_000;
    for (;;) {
      const open = await db.query(
        `SELECT (SELECT COUNT(*) FROM grants WHERE status = 'active' AND id IN (${marks(grantIds)}))
              + (SELECT COUNT(*) FROM holds WHERE status = 'active' AND id IN (${marks(holdIds)})) AS n`,
        [...grantIds, ...holdIds],
      );
      if (Number(open[0]!.n) === 0) break;
      if (Date.now() > deadline) throw new Error(`${String(open[0]!.n)} grants or holds still active 60 s after they were due`);
      await sleep(200);
    }
    // Let every scheduler tick at least twice more: a second run must find nothing to do.
    await sleep(2_500);
    await expectDueWorkOnce(db, grantIds, holdIds);
    await expectLedgerInvariants(db, engine);
  });

  it('runs each due item once when several schedulers reach it at the same instant', { timeout: 180_000 }, async () => {
    // The servers' schedulers tick once a second each; three more engines (each its own pool, as
    // a process would have) run the same due work at the very moment it falls due.
    const schedulers = await Promise.all([0, 1, 2].map(async () => createEngine(await openPostgresDatabase(database.url, { max: 4 }))));
    try {
      const grantIds: string[] = [];
      const holdIds: string[] = [];
      let dueByMs = Date.now();
      for (let c = 0; c < 10; c++) {
        const api = apis[c % serverCount]!;
        const customer = await api.post('/v1/customers', { currency: 'USD' });
        expect(customer.status, JSON.stringify(customer.body)).toBe(201);
        // The holds are funded by a lasting grant, so they never depend on the expiring one still
        // being live when they are placed (on a loaded machine it may already have expired).
        const lasting = await api.post('/v1/grants', { customer: customer.body.id, credits: '10', category: 'paid', source: 'purchase' });
        expect(lasting.status, JSON.stringify(lasting.body)).toBe(201);
        const expiresAtMs = Date.now() + 1_000;
        dueByMs = Math.max(dueByMs, expiresAtMs);
        const grant = await api.post('/v1/grants', { customer: customer.body.id, credits: '100', category: 'paid', source: 'purchase', expires_at: new Date(expiresAtMs).toISOString() });
        expect(grant.status, JSON.stringify(grant.body)).toBe(201);
        grantIds.push(grant.body.id as string);
        for (let h = 0; h < 3; h++) {
          const hold = await api.post('/v1/holds', { customer: customer.body.id, credits: '1', expires_in: 1 });
          expect(hold.status, JSON.stringify(hold.body)).toBe(201);
          holdIds.push(hold.body.id as string);
          dueByMs = Math.max(dueByMs, Date.now() + 1_000);
        }
      }
      await sleep(Math.max(0, dueByMs - Date.now()));
      await Promise.all(schedulers.map((s) => runDue(s, null, Date.now(), { kinds: allDueWork })));
      await expectDueWorkOnce(db, grantIds, holdIds);
      await expectLedgerInvariants(db, engine);
    } finally {
      await Promise.all(schedulers.map((s) => s.store.close()));
    }
  });

  it('migrates one empty database from several processes at once', { timeout: 180_000 }, async () => {
    const empty = await freshDatabase('postgres');
    const pools = [empty.db, ...(await Promise.all([0, 1, 2].map(() => openPostgresDatabase(empty.url, { max: 2 }))))];
    try {
      const applied = await Promise.all(pools.map((pool) => migrate(pool, Date.now())));
      expect(applied.flat().sort((a, b) => a - b)).toEqual(migrations.map((m) => m.version));
      const rows = await empty.db.query(`SELECT version FROM schema_migrations ORDER BY version`);
      expect(rows.map((r) => Number(r.version))).toEqual(migrations.map((m) => m.version));
    } finally {
      await Promise.all(pools.slice(1).map((pool) => pool.close()));
      await empty.drop();
    }
  });

  it('loses no acknowledged event when a process is killed mid-ingestion, and charges re-sent batches once', { timeout: 300_000 }, async () => {
    const batches = makeBatches('mp_kill', 1500, [...repeat(10, 60), ...repeat(100, 9)], customers, meterType, 2);
    // Each batch carries an Idempotency-Key too, as a careful client would, so the test also
    // covers claims left behind by the killed process.
    const keyOf = (i: number) => `mp_kill_batch_${i}`;
    const victimIndex = serverCount - 1;
    const victim = servers[victimIndex]!;
    const state: ('unsent' | 'inflight' | 'acked' | 'lost')[] = batches.map(() => 'unsent');
    const firstReplies = new Map<number, EventResult[]>();
    const kill: { done: Promise<void> | null } = { done: null };
    const killAfterAcks = 12;
    await runPool(batches.length, 6, async (i) => {
      if (kill.done) return;
      state[i] = 'inflight';
      const reply = await sendEvents(victim, batches[i]!, keyOf(i));
      if (reply.ok) {
        state[i] = 'acked';
        firstReplies.set(i, reply.results);
        if (!kill.done && firstReplies.size >= killAfterAcks) kill.done = victim.kill('SIGKILL');
      } else {
        state[i] = 'lost';
      }
    });
    expect(kill.done, 'the victim was killed').not.toBeNull();
    await kill.done;
    const lost = state.flatMap((s, i) => (s === 'lost' ? [i] : []));
    expect(lost.length, 'requests were in flight when the process died').toBeGreaterThan(0);

    servers[victimIndex] = await ServerProcess.start({ port: victim.port, databaseUrl: database.url, adminKey });
    // Each lost request committed whole or not at all.
    for (const i of lost) {
      const rows = await db.query(`SELECT COUNT(*) AS n FROM usage_events WHERE id IN (${marks(batches[i]!)})`, batches[i]!.map((e) => e.id));
      expect([0, batches[i]!.length], `lost batch ${i}`).toContain(Number(rows[0]!.n));
    }
    // Every acknowledged event is stored already, before anything is re-sent.
    const ackedIndexes = state.flatMap((s, i) => (s === 'acked' ? [i] : []));
    await expectStored(db, ackedIndexes.flatMap((i) => batches[i]!));
    // The dead process's claims stay "in use" until their lease runs out; then age them past it.
    const stale = await db.query(`SELECT key FROM idempotency_keys WHERE status_code = 0 AND key LIKE 'mp_kill_batch_%'`);
    const staleIndex = lost.find((i) => stale.some((r) => r.key === keyOf(i)));
    if (staleIndex !== undefined) {
      const early = await sendEvents(servers[0]!, batches[staleIndex]!, keyOf(staleIndex));
      expect(early.ok ? 'ok' : early.problem).toContain('idempotency_key_in_use');
    }
    await db.run(`UPDATE idempotency_keys SET created_at = created_at - ? WHERE status_code = 0 AND key LIKE 'mp_kill_batch_%'`, [idempotencyClaimLeaseMs + 1]);

    // Every batch again with its key (a replay for acknowledged ones), then the acknowledged ones
    // once more without a key to another process (plain duplicates).
    const retries = new Acks();
    await runPool(batches.length, 24, async (i) => {
      const withKey = await sendEvents(servers[i % serverCount]!, batches[i]!, keyOf(i));
      retries.record(withKey);
      const first = firstReplies.get(i);
      if (!first) return;
      expect(withKey.ok && withKey.results, `replay of batch ${i}`).toEqual(first);
      const again = await sendEvents(servers[(i + 1) % serverCount]!, batches[i]!);
      retries.record(again);
      expect(again.ok && again.results, `batch ${i} again`).toEqual(first.map((r) => ({ id: r.id, status: 'duplicate', credits: r.credits })));
    });
    expect(retries.failures).toEqual([]);
    for (const i of ackedIndexes) for (const r of firstReplies.get(i)!) expect(r.status, r.id).toBe('accepted');
    await expectStored(db, batches.flat());
    await expectLedgerInvariants(db, engine);
    // The adapter re-runs a deadlocked transaction silently, but PostgreSQL counts each one: with
    // locks always taken in one order there are none (the count may lag a moment behind).
    const stats = await db.query(`SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()`);
    expect(Number(stats[0]!.deadlocks), 'deadlocks in this database').toBe(0);
  });
});

/** Every acknowledged result, by event id, and every request that got no 200 answer. */
class Acks {
  private readonly byId = new Map<string, EventResult[]>();
  readonly failures: string[] = [];

  record(reply: Sent): void {
    if (!reply.ok) {
      this.failures.push(reply.problem);
      return;
    }
    for (const r of reply.results) {
      const list = this.byId.get(r.id) ?? [];
      list.push(r);
      this.byId.set(r.id, list);
    }
  }

  of(id: string): EventResult[] {
    return this.byId.get(id) ?? [];
  }

  /** Exactly one `accepted` per event across every reply; each other reply a duplicate with its charge. */
  expectEachAcceptedOnce(events: readonly SentEvent[]): void {
    const problems: string[] = [];
    for (const event of events) {
      const results = this.of(event.id);
      const accepted = results.filter((r) => r.status === 'accepted');
      if (accepted.length !== 1) problems.push(`${event.id}: ${JSON.stringify(results)}`);
      else if (accepted[0]!.credits !== String(event.properties.n)) problems.push(`${event.id} charged ${accepted[0]!.credits}`);
      for (const r of results) {
        if (r.status === 'duplicate' && r.credits !== undefined && r.credits !== String(event.properties.n)) problems.push(`${event.id} duplicate says ${r.credits}`);
        if (r.status === 'rejected') problems.push(`${event.id} rejected: ${JSON.stringify(r.error)}`);
      }
    }
    expect(problems.slice(0, 20), `${problems.length} events not accepted exactly once`).toEqual([]);
  }
}

async function sendEvents(server: ServerProcess, events: Batch, idempotencyKey?: string): Promise<Sent> {
  const headers: Record<string, string> = { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' };
  if (idempotencyKey !== undefined) headers['idempotency-key'] = idempotencyKey;
  try {
    const response = await fetch(`${server.baseUrl}/v1/events`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ events }),
      signal: AbortSignal.timeout(requestTimeoutMs),
    });
    const text = await response.text();
    if (response.status !== 200) return { ok: false, problem: `HTTP ${response.status} from :${server.port}: ${text.slice(0, 300)}` };
    return { ok: true, results: (JSON.parse(text) as { results: EventResult[] }).results };
  } catch (error) {
    return { ok: false, problem: `no reply from :${server.port}: ${(error as Error).message}` };
  }
}

/**
 * Runs `work(0..count-1)` with at most `concurrency` in flight, and fails if no item completes for
 * `stallMs` (a hang), however long the whole pool takes.
 */
async function runPool(count: number, concurrency: number, work: (index: number) => Promise<void>): Promise<void> {
  let lastProgressMs = Date.now();
  let next = 0;
  const worker = async () => {
    while (next < count) {
      if (Date.now() - lastProgressMs > stallMs) throw new Error(`request pool made no progress for ${stallMs} ms, at item ${next} of ${count}`);
      await work(next++);
      lastProgressMs = Date.now();
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
}

/**
 * `total` events with ids `<prefix>_<i>`, cut into batches of the given sizes (shuffled), each
 * event for a customer picked by weight with `n` of 1..5 units. Deterministic for a seed.
 */
function makeBatches(prefix: string, total: number, sizes: number[], to: readonly { id: string; weight: number }[], type: string, seed: number): Batch[] {
  const random = seededRandom(seed);
  expect(sizes.reduce((a, b) => a + b, 0)).toBe(total);
  for (let i = sizes.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [sizes[i], sizes[j]] = [sizes[j]!, sizes[i]!];
  }
  const weightTotal = to.reduce((a, c) => a + c.weight, 0);
  const pick = () => {
    let r = random() * weightTotal;
    for (const c of to) if ((r -= c.weight) < 0) return c.id;
    return to[to.length - 1]!.id;
  };
  let i = 0;
  return sizes.map((size) => Array.from({ length: size }, () => ({ id: `${prefix}_${i++}`, customer: pick(), type, properties: { n: 1 + Math.floor(random() * 5) } })));
}

/** Each event stored once, for its customer, charged `n` credits (the rate is 1 credit a unit). */
async function expectStored(db: SqlDatabase, events: readonly SentEvent[]): Promise<void> {
  const stored = new Map<string, { customer: string; credits: bigint; count: number }>();
  for (let start = 0; start < events.length; start += 1000) {
    const chunk = events.slice(start, start + 1000);
    const rows = await db.query(`SELECT id, customer_id, credits FROM usage_events WHERE id IN (${marks(chunk)})`, chunk.map((e) => e.id));
    for (const r of rows) {
      const previous = stored.get(r.id as string);
      stored.set(r.id as string, { customer: r.customer_id as string, credits: r.credits as bigint, count: (previous?.count ?? 0) + 1 });
    }
  }
  const problems: string[] = [];
  for (const e of events) {
    const s = stored.get(e.id);
    if (!s) problems.push(`${e.id} not stored`);
    else if (s.count !== 1 || s.customer !== e.customer || s.credits !== BigInt(e.properties.n) * micro) problems.push(`${e.id}: ${JSON.stringify({ ...s, credits: String(s.credits) })}`);
  }
  expect(problems.slice(0, 20), `${problems.length} events not stored exactly once`).toEqual([]);
}

/**
 * Per customer: the credits charged equal the units sent; grants are used up before overage or
 * debt, and what was granted less what was charged is exactly what the grants, overage and debt
 * accounts hold.
 */
async function expectCustomerTotals(db: SqlDatabase, list: readonly { id: string; overage: boolean; grantedMicro: bigint }[], events: readonly SentEvent[]): Promise<void> {
  for (const c of list) {
    const chargedMicro = events.filter((e) => e.customer === c.id).reduce((sum, e) => sum + BigInt(e.properties.n) * micro, 0n);
    const rows = await db.query(
      `SELECT code, balance FROM accounts WHERE customer_id = ? AND (code LIKE 'grant:%' OR code IN ('overage', 'debt'))`, [c.id]);
    const balance = (pick: (code: string) => boolean) => rows.filter((r) => pick(r.code as string)).reduce((s, r) => s + (r.balance as bigint), 0n);
    const grantsMicro = balance((code) => code.startsWith('grant:'));
    const shortMicro = chargedMicro > c.grantedMicro ? c.grantedMicro - chargedMicro : 0n;
    expect({ customer: c.id, grants: grantsMicro, overage: balance((code) => code === 'overage'), debt: balance((code) => code === 'debt') }).toEqual({
      customer: c.id,
      grants: c.grantedMicro - chargedMicro - shortMicro,
      overage: c.overage ? shortMicro : 0n,
      debt: c.overage ? 0n : shortMicro,
    });
  }
}

/**
 * Every usage charge, and the entries of each: since migration 58 a charge is usually posted on its
 * event's row (`entries`, src/store/queries/event-postings.ts), else it is a usage transaction in
 * the ledger's tables (a hold's capture, a charge written before); the invariants hold for both.
 * Spelled out in PostgreSQL here rather than with the store's helpers, so the check stands apart.
 */
const usageCharges = `usage_charges AS (
    SELECT t.id, t.customer_id, t.cause_id, 'ledger' AS form FROM ledger_transactions t WHERE t.kind = 'usage'
    UNION ALL
    SELECT u.txn_id, u.customer_id, u.id, 'event row' FROM usage_events u WHERE u.entries IS NOT NULL)`;
const usageEntries = `usage_entries AS (
    SELECT le.txn_id, le.customer_id, le.account, le.amount FROM ledger_entries le JOIN ledger_transactions t ON t.id = le.txn_id WHERE t.kind = 'usage'
    UNION ALL
    SELECT u.txn_id, u.customer_id, x.value->>0, (x.value->>1)::bigint FROM usage_events u CROSS JOIN LATERAL jsonb_array_elements(u.entries::jsonb) AS x(value)
      WHERE u.entries IS NOT NULL)`;
/** Every entry of every transaction, those posted on event rows included. */
const allEntries = `all_entries AS (
    SELECT le.customer_id, le.account, le.amount FROM ledger_entries le
    UNION ALL
    SELECT u.customer_id, x.value->>0, (x.value->>1)::bigint FROM usage_events u CROSS JOIN LATERAL jsonb_array_elements(u.entries::jsonb) AS x(value)
      WHERE u.entries IS NOT NULL)`;

/** The ledger invariants, read straight from the database. */
async function expectLedgerInvariants(db: SqlDatabase, engine: Engine): Promise<void> {
  const ledger = engine.store.read.ledger;
  expect(await ledger.unbalancedTransactions(), 'transactions sum to zero').toEqual([]);
  expect(await ledger.balanceDiscrepancies(), 'stored balances equal their entries').toEqual([]);
  const empty: Record<string, string> = {
    'each usage charge posted once, on its event row or in the ledger': `WITH ${usageCharges} SELECT id, COUNT(*) AS n FROM usage_charges GROUP BY id HAVING COUNT(*) > 1`,
    'one usage transaction per event': `WITH ${usageCharges} SELECT cause_id, COUNT(*) AS n FROM usage_charges GROUP BY cause_id HAVING COUNT(*) > 1`,
    'one stored event per id': `SELECT id, COUNT(*) AS n FROM usage_events GROUP BY id HAVING COUNT(*) > 1`,
    'each charged event points at its own usage transaction': `SELECT e.id FROM usage_events e LEFT JOIN ledger_transactions t ON t.id = e.txn_id
      WHERE e.credits <> 0 AND CASE WHEN e.entries IS NOT NULL THEN e.txn_id IS NULL OR e.position <> e.txn_id OR t.id IS NOT NULL
        ELSE t.id IS NULL OR t.kind <> 'usage' OR t.cause_id <> e.id OR t.customer_id <> e.customer_id END`,
    'an event charged nothing has no usage transaction': `SELECT id FROM usage_events WHERE credits = 0 AND (txn_id IS NOT NULL OR entries IS NOT NULL)`,
    'each usage transaction belongs to a stored event': `SELECT t.id FROM ledger_transactions t LEFT JOIN usage_events e ON e.txn_id = t.id
      WHERE t.kind = 'usage' AND e.id IS NULL`,
    'each event consumed what it says it charged': `WITH ${usageEntries} SELECT e.id FROM usage_events e
      JOIN usage_entries ue ON ue.txn_id = e.txn_id AND ue.account LIKE 'consumed:%'
      GROUP BY e.id, e.credits HAVING SUM(ue.amount) <> e.credits`,
    'no grant or hold below zero': `SELECT customer_id, code, balance FROM accounts WHERE (code LIKE 'grant:%' OR code LIKE 'hold:%') AND balance < 0`,
    'no overage when overage is off': `WITH ${allEntries} SELECT le.customer_id FROM all_entries le JOIN customers c ON c.id = le.customer_id
      WHERE le.account = 'overage' AND c.overage_enabled = 0`,
    'overage and debt only go negative': `SELECT customer_id, code FROM accounts WHERE code IN ('overage', 'debt') AND balance > 0`,
  };
  for (const [name, sql] of Object.entries(empty)) expect(await db.query(sql), name).toEqual([]);
  const perCustomer = await db.query(
    `WITH ${usageEntries}
    SELECT e.customer_id FROM (SELECT customer_id, SUM(credits) AS total FROM usage_events GROUP BY customer_id) e
      LEFT JOIN (SELECT ue.customer_id, SUM(ue.amount) AS total FROM usage_entries ue WHERE ue.account LIKE 'consumed:%' GROUP BY ue.customer_id) l ON l.customer_id = e.customer_id
      WHERE COALESCE(l.total, 0) <> e.total`,
  );
  expect(perCustomer, 'credits charged per customer equal the credits of its stored events').toEqual([]);
}

/** Each grant expired by exactly one transaction and one `grant.expired`; each hold likewise. */
async function expectDueWorkOnce(db: SqlDatabase, grantIds: readonly string[], holdIds: readonly string[]): Promise<void> {
  const count = async (sql: string, ids: readonly string[]) =>
    new Map((await db.query(sql, [...ids])).map((r) => [r.cause_id as string, Number(r.n)]));
  const expiries = await count(`SELECT cause_id, COUNT(*) AS n FROM ledger_transactions WHERE cause_type = 'grant_expiry' AND cause_id IN (${marks(grantIds)}) GROUP BY cause_id`, grantIds);
  // A grant's expiry that comes first takes back what the hold reserved of it (a `hold_release`
  // naming it in `reduced_by`); the hold's own expiry is the one release without it.
  const releases = await count(`SELECT cause_id, COUNT(*) AS n FROM ledger_transactions WHERE kind = 'hold_release' AND refs NOT LIKE '%reduced_by%' AND cause_id IN (${marks(holdIds)}) GROUP BY cause_id`, holdIds);
  const events = await db.query(`SELECT type, payload FROM domain_events WHERE type IN ('grant.expired', 'hold.expired')`);
  const announced = new Map<string, number>();
  for (const e of events) {
    const payload = JSON.parse(e.payload as string) as { grant?: string; hold?: string };
    const id = e.type === 'grant.expired' ? payload.grant! : payload.hold!;
    announced.set(id, (announced.get(id) ?? 0) + 1);
  }
  const statuses = new Map((await db.query(`SELECT id, status FROM grants WHERE id IN (${marks(grantIds)}) UNION ALL SELECT id, status FROM holds WHERE id IN (${marks(holdIds)})`,
    [...grantIds, ...holdIds])).map((r) => [r.id as string, r.status as string]));
  const seen = [...grantIds.map((id) => [id, expiries.get(id) ?? 0]), ...holdIds.map((id) => [id, releases.get(id) ?? 0])].map(([id, txns]) => ({
    id, txns, announced: announced.get(id as string) ?? 0, status: statuses.get(id as string),
  }));
  // A hold a grant's expiry emptied first (it reserved all of its credits of that grant) ends
  // holding nothing, so its own expiry has nothing to release: no transaction, still one event.
  const heldAtEnd = new Map((await db.query(`SELECT id, held FROM holds WHERE id IN (${marks(holdIds)})`, [...holdIds])).map((r) => [r.id as string, BigInt(r.held as string | number)]));
  expect(seen).toEqual(seen.map(({ id }) => ({ id, txns: heldAtEnd.get(id as string) === 0n ? 0 : 1, announced: 1, status: 'expired' })));
}

async function frozenTime(db: SqlDatabase, clockId: string): Promise<number> {
  const rows = await db.query(`SELECT frozen_time FROM test_clocks WHERE id = ?`, [clockId]);
  return Number(rows[0]!.frozen_time);
}

async function distinctFreePorts(count: number): Promise<number[]> {
  const ports = new Set<number>();
  for (let attempt = 0; ports.size < count && attempt < count * 10; attempt++) ports.add(await freePort());
  return [...ports];
}

function marks(list: readonly unknown[]): string {
  return list.map(() => '?').join(',');
}

function repeat(value: number, times: number): number[] {
  return new Array<number>(times).fill(value);
}

function seededRandom(seed: number): () => number {
  let state = seed >>> 0 || 1;
  return () => {
    // xorshift32: enough spread for picking customers and sizes, and repeatable.
    state ^= state << 13;
    state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    return state / 4294967296;
  };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
