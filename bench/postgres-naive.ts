import { createHash } from 'node:crypto';
import pg from 'pg';
import { EventSource, type BenchEvent } from './events.ts';
import { meterCodes } from './postgres-fixture.ts';
import { percentile } from './stats.ts';

/**
 * The naive baseline for the PostgreSQL figures: the row-per-transaction design PRODUCT §13 speaks
 * of. Each event is its own transaction: lock the customer row (`SELECT … FOR UPDATE`), read its
 * grants with their balances and its meter totals, then insert the usage event, the meter totals,
 * the ledger transaction with its entries, the account balances and the domain event, and COMMIT
 * (one WAL flush per event, shared only when commits happen to coincide). It writes the same rows
 * the engine writes for an event, with plain `pg` (no adapter), over a pool shared by
 * `workers` concurrent workers.
 */

export interface NaiveOptions {
  workers: number;
  events: number;
  timeLimitMs: number;
}

export interface NaiveResult {
  accepted: number;
  errors: number;
  firstError?: string;
  elapsedMs: number;
  rate: number;
  latencyMs: { p50: number; p99: number };
}

/** Micro-credits per token (0.00002 credits) and the graduated request tiers of the fixture. */
const tokenMicro = 20n;
function requestMicro(countAfter: bigint): bigint {
  if (countAfter <= 100n * 1_000_000n) return 10_000n;
  if (countAfter <= 1000n * 1_000_000n) return 5_000n;
  return 2_000n;
}

function monthStartMs(atMs: number): number {
  const d = new Date(atMs);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
}

export async function runNaive(url: string, customerIds: readonly string[], options: NaiveOptions): Promise<NaiveResult> {
  const pool = new pg.Pool({ connectionString: url, max: options.workers });
  pool.on('error', () => {});
  try {
    const meters = new Map((await pool.query<{ id: string; code: string }>('SELECT id, code FROM meters')).rows.map((r) => [r.code, r.id]));
    const tokensMeter = meters.get(meterCodes.tokens)!;
    const requestsMeter = meters.get(meterCodes.requests)!;
    // Open every connection before timing.
    const warm = await Promise.all(Array.from({ length: options.workers }, () => pool.connect()));
    for (const c of warm) c.release();

    const source = new EventSource(`naive-${process.pid}`, customerIds, 21);
    let issued = 0;
    let accepted = 0;
    let errors = 0;
    let firstError: string | undefined;
    let serial = 0;
    const latencies: number[] = [];
    const started = performance.now();
    const deadline = started + options.timeLimitMs;

    const one = async (e: BenchEvent): Promise<void> => {
      const client = await pool.connect();
      let broken: Error | undefined;
      try {
        await client.query('BEGIN');
        try {
          await chargeOne(client, e, tokensMeter, requestsMeter, `${process.pid}_${++serial}`);
          await client.query('COMMIT');
        } catch (error) {
          await client.query('ROLLBACK').catch((rollback: Error) => { broken = rollback; });
          throw error;
        }
      } finally {
        client.release(broken);
      }
    };

    const worker = async (): Promise<void> => {
      while (issued < options.events && performance.now() < deadline) {
        issued++;
        const e = source.event();
        const t0 = performance.now();
        try {
          await one(e);
          accepted++;
          latencies.push(performance.now() - t0);
        } catch (error) {
          errors++;
          firstError ??= (error as Error).message;
        }
      }
    };
    await Promise.all(Array.from({ length: options.workers }, worker));
    const elapsedMs = performance.now() - started;
    latencies.sort((a, b) => a - b);
    return {
      accepted, errors, firstError, elapsedMs, rate: accepted / (elapsedMs / 1000),
      latencyMs: { p50: percentile(latencies, 0.5), p99: percentile(latencies, 0.99) },
    };
  } finally {
    await pool.end();
  }
}

/** One event, inside the caller's transaction: 9 statements between BEGIN and COMMIT. */
async function chargeOne(c: pg.PoolClient, e: BenchEvent, tokensMeter: string, requestsMeter: string, serial: string): Promise<void> {
  const atMs = Date.parse(e.timestamp);
  const nowMs = Date.now();
  const periodStart = monthStartMs(atMs);
  const locked = await c.query<{ overage_enabled: string }>('SELECT overage_enabled FROM customers WHERE id = $1 FOR UPDATE', [e.customer]);
  const overage = locked.rows[0]?.overage_enabled === '1';
  const grants = (await c.query<{ id: string; remaining: string }>(
    `SELECT g.id, COALESCE(a.balance, 0) AS remaining FROM grants g
      LEFT JOIN accounts a ON a.customer_id = g.customer_id AND a.code = 'grant:' || g.id
      WHERE g.customer_id = $1 AND g.status = 'active' ORDER BY g.priority, g.id`, [e.customer])).rows;
  const totals = new Map((await c.query<{ meter_id: string; quantity: string }>(
    'SELECT meter_id, quantity FROM meter_totals WHERE customer_id = $1 AND period_start = $2', [e.customer, periodStart])).rows
    .map((r) => [r.meter_id, BigInt(r.quantity)]));

  const tokens = BigInt(e.properties.tokens);
  const tokensCost = tokens * tokenMicro;
  const requestsAfter = (totals.get(requestsMeter) ?? 0n) + 1_000_000n;
  const requestsCost = requestMicro(requestsAfter);
  const cost = tokensCost + requestsCost;

  // Burn down the grants in priority order; what they cannot pay goes to overage or debt.
  const entries: [string, bigint][] = [];
  let left = cost;
  for (const g of grants) {
    if (left === 0n) break;
    const remaining = BigInt(g.remaining);
    if (remaining <= 0n) continue;
    const take = remaining < left ? remaining : left;
    entries.push([`grant:${g.id}`, -take]);
    left -= take;
  }
  if (left > 0n) entries.push([overage ? 'overage' : 'debt', -left]);
  entries.push([`consumed:${meterCodes.tokens}`, tokensCost], [`consumed:${meterCodes.requests}`, requestsCost]);

  const txnId = `txn_naive_${serial}`;
  const properties = JSON.stringify(e.properties);
  const rating = JSON.stringify([
    { meter: meterCodes.tokens, quantity: tokens.toString(), credits: (Number(tokensCost) / 1e6).toString() },
    { meter: meterCodes.requests, quantity: '1', credits: (Number(requestsCost) / 1e6).toString() },
  ]);
  const bodyHash = createHash('sha256').update(JSON.stringify(e)).digest('base64url');
  await c.query(
    `INSERT INTO usage_events (customer_id, id, type, timestamp, properties, body_hash, credits, txn_id, rating, recorded_at, position)
      VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $8)`,
    [e.customer, e.id, e.type, atMs, properties, bodyHash, cost.toString(), txnId, rating, nowMs]);
  await c.query(
    `INSERT INTO meter_totals (customer_id, meter_id, period_start, quantity, credits) VALUES ($1, $2, $3, $4, $5), ($1, $6, $3, 1000000, $7)
      ON CONFLICT (customer_id, meter_id, period_start) DO UPDATE SET quantity = meter_totals.quantity + excluded.quantity, credits = meter_totals.credits + excluded.credits`,
    [e.customer, tokensMeter, periodStart, (tokens * 1_000_000n).toString(), tokensCost.toString(), requestsMeter, requestsCost.toString()]);
  await c.query(
    `INSERT INTO ledger_transactions (id, customer_id, kind, cause_type, cause_id, refs, effective_at, created_at)
      VALUES ($1, $2, 'usage', 'usage_event', $3, '{}', $4, $5)`,
    [txnId, e.customer, e.id, atMs, nowMs]);
  const entryParams: unknown[] = [];
  const entryRows = entries.map(([account, amount], seq) => {
    entryParams.push(txnId, seq, e.customer, account, amount.toString());
    const b = seq * 5;
    return `($${b + 1}, $${b + 2}, $${b + 3}, $${b + 4}, $${b + 5})`;
  });
  await c.query(`INSERT INTO ledger_entries (txn_id, seq, customer_id, account, amount) VALUES ${entryRows.join(', ')}`, entryParams);
  const accountParams: unknown[] = [];
  const accountRows = entries.map(([account, amount], i) => {
    accountParams.push(e.customer, account, amount.toString());
    return `($${i * 3 + 1}, $${i * 3 + 2}, $${i * 3 + 3})`;
  });
  await c.query(`INSERT INTO accounts (customer_id, code, balance) VALUES ${accountRows.join(', ')}
    ON CONFLICT (customer_id, code) DO UPDATE SET balance = accounts.balance + excluded.balance`, accountParams);
  await c.query(
    `INSERT INTO domain_events (id, customer_id, type, payload, created_at) VALUES ($1, $2, 'usage.recorded', $3, $4)`,
    [`evt_naive_${serial}`, e.customer, JSON.stringify({ event: e.id, credits: (Number(cost) / 1e6).toString(), transaction: txnId }), nowMs]);
}
