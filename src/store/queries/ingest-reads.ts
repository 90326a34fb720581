import type { SqlConnection, SqlRow } from '../sql.ts';
import type { MeterRecord, PhaseRecord, SubscriptionRecord, UsageEventRecord } from '../records.ts';
import { big, num } from '../rows.ts';
import { toEvent, type MeterTotal, type UsageQueries } from './usage.ts';
import { toPhase, toPlan, toSubscription, type BillingQueries, type PlanRecord } from './billing.ts';
import { indexedAccount, latestExpiry, spendableGrant, type LedgerQueries, type SpendableGrant } from './ledger.ts';

/** What an ingestion write step reads once its customers are locked. */
export interface IngestReadRequest {
  customerIds: readonly string[];
  eventIds: readonly string[];
  eventTypes: readonly string[];
  /** Expired grants of these customers whose `expires_at` is after `sinceMs`, for late events. */
  expiredSince: { customerIds: readonly string[]; sinceMs: number } | null;
  /** Every meter's running total of these customers in these periods, when one statement can carry them. */
  totalsIn: { customerIds: readonly string[]; periodStartsMs: readonly number[] } | null;
}

export interface IngestReads {
  /** Stored events with the ids asked for, whatever their customer. */
  events: UsageEventRecord[];
  /** The meters of the event types asked for, by code. */
  meters: MeterRecord[];
  /** The customers' subscription timelines: subscriptions by id, phases by start, their plans. */
  subscriptions: SubscriptionRecord[];
  phases: PhaseRecord[];
  plans: Map<string, PlanRecord>;
  /** As `LedgerQueries.spendableGrants`. */
  grants: SpendableGrant[];
  /** As `LedgerQueries.expiredGrantsSince`; empty when not asked for. */
  expiredGrants: (SpendableGrant & { expiredMicro: bigint })[];
  /** The totals of `totalsIn`, or null when they were not read (the caller reads them by key). */
  totals: MeterTotal[] | null;
}

/** Every column of a row as JSON text (no bigint goes through a float), keyed by column name. */
const asText = (alias: string): string => `(SELECT json_object_agg(f.k, f.v) FROM json_each_text(to_json(${alias})) AS f(k, v))`;
const grantColumns = (g: string) => `${g}.id, ${g}.customer_id, ${g}.category, ${g}.priority::text, ${g}.effective_at::text, ${g}.expires_at::text, ${g}.frozen_from::text, ${g}.unfrozen_at::text`;

/**
 * PostgreSQL: the reads of `IngestReadQueries.read` as one prepared statement, one round trip.
 * Each result is one JSON array; what it holds matches the separate queries row for row. Each key
 * of an `unnest`ed array is looked up by index in a lateral subquery PostgreSQL cannot flatten
 * (`OFFSET 0`), so the plan is the same whatever the number of keys: matched with `= ANY(array)`
 * instead, the generic plan searched the event ids array once for every stored event.
 */
const lookup = (keys: string, table: string, alias: string, where: string): string =>
  `unnest(${keys}::text[]) AS k(id) CROSS JOIN LATERAL (SELECT * FROM ${table} WHERE ${where} OFFSET 0) ${alias}`;
const subscriptionIds = `SELECT s.id FROM ${lookup('$1', 'subscriptions', 's', 'customer_id = k.id')}`;
const ingestReadsSql = `SELECT
  (SELECT json_agg(${asText('e')}) FROM ${lookup('$2', 'usage_events', 'e', 'id = k.id')}) AS events,
  (SELECT json_agg(${asText('m')} ORDER BY m.code) FROM meters m WHERE m.event_type = ANY($3::text[])) AS meters,
  (SELECT json_agg(${asText('s')} ORDER BY s.id) FROM ${lookup('$1', 'subscriptions', 's', 'customer_id = k.id')}) AS subscriptions,
  (SELECT json_agg(${asText('p')} ORDER BY p.start_at, p.id) FROM subscription_phases p WHERE p.subscription_id IN (${subscriptionIds})) AS phases,
  (SELECT json_agg(${asText('pl')}) FROM plans pl
    WHERE pl.id IN (SELECT plan_id FROM subscription_phases WHERE subscription_id IN (${subscriptionIds}))) AS plans,
  (SELECT json_agg(json_build_array(${grantColumns('g')}, COALESCE(a.balance, 0)::text) ORDER BY g.id)
    FROM ${lookup('$1', 'grants', 'g', `customer_id = k.id AND status = 'active'`)}
    LEFT JOIN accounts a ON a.customer_id = g.customer_id AND a.code = 'grant:' || g.id) AS grants,
  (SELECT json_agg(json_build_array(${grantColumns('g')},
      (SELECT COALESCE(-SUM(e.amount), 0) FROM ledger_transactions t JOIN ledger_entries e ON e.txn_id = t.id
        WHERE t.cause_type = 'grant_expiry' AND t.cause_id = g.id AND e.customer_id = g.customer_id AND e.account = 'grant:' || g.id
          AND ${indexedAccount('e')})::text) ORDER BY g.id)
    FROM ${lookup('$4', 'grants', 'g', `customer_id = k.id AND status = 'expired' AND expires_at > ($5::bigint[])[1]`)}
    WHERE ($5::bigint[])[1] < (${latestExpiry})) AS expired,
  (SELECT json_agg(json_build_array(t.customer_id, t.meter_id, t.period_start::text, t.quantity::text, t.credits::text))
    FROM ${lookup('$6', 'meter_totals', 't', 'customer_id = k.id AND period_start = ANY($7::bigint[])')}) AS totals`;

/**
 * Up to this many customers and events a step reads in one statement. Past it the separate
 * statements cost less: a batch of 500 events took about twice PostgreSQL's CPU in one
 * statement (its hundreds of index lookups, or planned anew at each call with the keys joined
 * freely) as in the separate set-based reads, whose round trips are few beside the batch.
 */
const keysInOneReadMax = 64;

type GrantCells = [string, string, string, string, string, string | null, string | null, string | null, string];

function grantFromCells(cells: GrantCells): SpendableGrant {
  const [id, customerId, category, priority, effectiveAt, expiresAt, frozenFrom, unfrozenAt, amount] = cells;
  const row: SqlRow = { id, customer_id: customerId, category, priority, effective_at: effectiveAt, expires_at: expiresAt, frozen_from: frozenFrom, unfrozen_at: unfrozenAt };
  return spendableGrant(row, big(amount));
}

/**
 * The reads of an ingestion write step that depend only on its customers, event ids and types,
 * taken together after the customers are locked. On PostgreSQL, for up to `keysInOneReadMax`
 * customers and events, they are one statement: each separate read is a round trip, which costs
 * more CPU than a small read itself. Otherwise (and always on SQLite, whose statements run in
 * process) they are the store's usual queries one after another, and the running totals are left
 * to the caller's read by key.
 */
export class IngestReadQueries {
  constructor(
    private readonly c: SqlConnection,
    private readonly usage: UsageQueries,
    private readonly billing: BillingQueries,
    private readonly ledger: LedgerQueries,
  ) {}

  /**
   * Whether a step of these many customers and events is read in one statement, which alone reads
   * running totals (`totalsIn`): a caller need not work out their periods otherwise.
   */
  readsInOne(customerCount: number, eventCount: number): boolean {
    return this.c.dialect === 'postgres' && this.c.queryPrepared !== undefined && Math.max(customerCount, eventCount) <= keysInOneReadMax;
  }

  async read(request: IngestReadRequest): Promise<IngestReads> {
    if (this.readsInOne(request.customerIds.length, request.eventIds.length)) return this.readInOne(request);
    const subscriptions = await this.billing.subscriptionsOf(request.customerIds);
    const phases = subscriptions.length ? await this.billing.phases(subscriptions.map((s) => s.id)) : [];
    return {
      events: await this.usage.eventsById(request.eventIds),
      meters: await this.usage.metersForTypes(request.eventTypes),
      subscriptions,
      phases,
      plans: phases.length ? await this.billing.plansById(phases.map((p) => p.planId)) : new Map(),
      grants: await this.ledger.spendableGrants(request.customerIds),
      expiredGrants: request.expiredSince
        ? await this.ledger.expiredGrantsSince(request.expiredSince.customerIds, request.expiredSince.sinceMs)
        : [],
      totals: null,
    };
  }

  private async readInOne(request: IngestReadRequest): Promise<IngestReads> {
    const [row] = await this.c.queryPrepared!(ingestReadsSql, [
      request.customerIds,
      request.eventIds,
      request.eventTypes,
      request.expiredSince?.customerIds ?? [],
      [String(request.expiredSince?.sinceMs ?? 0)],
      request.totalsIn?.customerIds ?? [],
      (request.totalsIn?.periodStartsMs ?? []).map(String),
    ]);
    const list = <T>(value: unknown): T[] => (value ?? []) as T[];
    return {
      events: list<SqlRow>(row!.events).map(toEvent),
      meters: list<SqlRow>(row!.meters).map(this.usage.toMeter),
      subscriptions: list<SqlRow>(row!.subscriptions).map(toSubscription),
      phases: list<SqlRow>(row!.phases).map(toPhase),
      plans: new Map(list<SqlRow>(row!.plans).map((r) => [r.id as string, toPlan(r)])),
      grants: list<GrantCells>(row!.grants).map(grantFromCells),
      expiredGrants: list<GrantCells>(row!.expired).map((cells) => ({ ...grantFromCells([...cells.slice(0, 8), '0'] as GrantCells), expiredMicro: big(cells[8]) })),
      totals: request.totalsIn === null ? null : list<[string, string, string, string, string]>(row!.totals).map(([customerId, meterId, periodStart, quantity, credits]) => ({
        customerId, meterId, periodStartMs: num(periodStart), quantityMicro: big(quantity), creditsMicro: big(credits),
      })),
    };
  }
}
