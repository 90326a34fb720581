import type { SqlConnection, SqlRow, SqlValue } from '../sql.ts';
import type { MeterRecord, Page, PageRequest, RatingLine, UsageEventRecord } from '../records.ts';
import type { Rate } from '../../core/rating.ts';
import type { BucketSum } from '../../core/usage-series.ts';
import { big, inList, insertShape, insertShapedRows, json, num, queryInChunks, strOrNull } from '../rows.ts';
import { pageQuery, unknownCursor } from './paging.ts';
import { entriesJson, parseEntries } from './event-postings.ts';
import { bound, ofCustomer, tailOf, sqlPart, valuePart, type Bound } from './customer-events.ts';

export interface MeterTotalKey {
  customerId: string;
  meterId: string;
  periodStartMs: number;
}

export interface MeterTotal extends MeterTotalKey {
  quantityMicro: bigint;
  creditsMicro: bigint;
}

export interface UniqueValueKey extends MeterTotalKey {
  value: string;
}

/** How rates travel through storage: the wire form keeps bigints as decimal strings. */
export interface RateCodec {
  encode(rate: Rate): string;
  decode(text: string): Rate;
}

export const totalKey = (k: MeterTotalKey): string => `${k.customerId}\u0000${k.meterId}\u0000${k.periodStartMs}`;
export const uniqueKey = (k: UniqueValueKey): string => `${totalKey(k)}\u0000${k.value}`;

/**
 * `JSON.stringify(lines)`, written directly: a line's quantity and credits are decimal text (digits,
 * a point, a sign), which JSON writes as is, so only the meter code goes through the encoder.
 */
export function ratingJson(lines: readonly RatingLine[]): string {
  let text = '[';
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    text += `${i === 0 ? '' : ','}{"meter":${JSON.stringify(line.meter)},"quantity":"${line.quantity}","credits":"${line.credits}"}`;
  }
  return `${text}]`;
}

export function toEvent(r: SqlRow): UsageEventRecord {
  return {
    customerId: r.customer_id as string,
    id: r.id as string,
    type: r.type as string,
    timestampMs: num(r.timestamp),
    properties: r.properties as string,
    bodyHash: r.body_hash as string,
    creditsMicro: big(r.credits),
    txnId: strOrNull(r.txn_id),
    rating: json(r.rating),
    recordedAtMs: num(r.recorded_at),
    position: r.position as string,
    entries: r.entries === null || r.entries === undefined ? null : parseEntries(r.entries as string),
  };
}

const usageEventsShape = insertShape('usage_events', {
  customer_id: 'text', id: 'text', type: 'text', timestamp: 'bigint', properties: 'text', body_hash: 'text',
  credits: 'bigint', txn_id: 'text', rating: 'text', recorded_at: 'bigint', position: 'text', entries: 'text',
});
const meterTotalsShape = insertShape('meter_totals',
  { customer_id: 'text', meter_id: 'text', period_start: 'bigint', quantity: 'bigint', credits: 'bigint' },
  ' ON CONFLICT (customer_id, meter_id, period_start) DO UPDATE SET quantity = excluded.quantity, credits = excluded.credits');
const uniqueValuesShape = insertShape('meter_unique_values',
  { customer_id: 'text', meter_id: 'text', period_start: 'bigint', value: 'text' }, ' ON CONFLICT DO NOTHING');

/** Distinct rate texts kept decoded; far above the number of meters and plan overrides in use. */
const decodedRatesMax = 1000;
const decodedRates = new WeakMap<RateCodec, Map<string, Rate>>();

const byTotalKey = (a: MeterTotalKey, b: MeterTotalKey): number =>
  a.customerId < b.customerId ? -1 : a.customerId > b.customerId ? 1
    : a.meterId < b.meterId ? -1 : a.meterId > b.meterId ? 1 : a.periodStartMs - b.periodStartMs;

export class UsageQueries {
  constructor(private readonly c: SqlConnection, private readonly rates: RateCodec = jsonRateCodec) {}

  readonly toMeter = (r: SqlRow): MeterRecord => ({
    id: r.id as string,
    code: r.code as string,
    name: strOrNull(r.name),
    eventType: r.event_type as string,
    filter: json(r.filter),
    aggregation: r.aggregation as MeterRecord['aggregation'],
    valueProperty: strOrNull(r.value_property),
    rate: this.decodeRate(r.rate as string),
    createdAtMs: num(r.created_at),
  });

  /**
   * Rates are decoded once per distinct stored text: a meter's rate is read for every ingest
   * batch and every authorization, and the text is immutable, so the decoded value is shared.
   */
  private decodeRate(text: string): Rate {
    let decoded = decodedRates.get(this.rates);
    if (decoded === undefined) {
      decoded = new Map();
      decodedRates.set(this.rates, decoded);
    }
    let rate = decoded.get(text);
    if (rate === undefined) {
      rate = this.rates.decode(text);
      if (decoded.size >= decodedRatesMax) decoded.delete(decoded.keys().next().value!);
      decoded.set(text, rate);
    }
    return rate;
  }

  /**
   * Meters are written once and never changed or removed: authorization keeps each event type's
   * meters in memory and knows its list is current while the type's count is (engine/authorize.ts).
   */
  async insertMeter(m: MeterRecord): Promise<void> {
    await this.c.run(
      `INSERT INTO meters (id, code, name, event_type, filter, aggregation, value_property, rate, created_at) VALUES (?,?,?,?,?,?,?,?,?)`,
      [m.id, m.code, m.name, m.eventType, JSON.stringify(m.filter), m.aggregation, m.valueProperty, this.rates.encode(m.rate), m.createdAtMs],
    );
  }

  async meterByCode(code: string): Promise<MeterRecord | null> {
    const rows = await this.c.query(`SELECT * FROM meters WHERE code = ? OR id = ?`, [code, code]);
    return rows[0] ? this.toMeter(rows[0]) : null;
  }

  async metersForTypes(types: readonly string[]): Promise<MeterRecord[]> {
    const rows = await queryInChunks(this.c, types, (list) => `SELECT * FROM meters WHERE event_type IN ${list} ORDER BY code`);
    return rows.map(this.toMeter);
  }

  async allMeters(): Promise<MeterRecord[]> {
    return (await this.c.query(`SELECT * FROM meters ORDER BY code`)).map(this.toMeter);
  }

  async listMeters(page: PageRequest): Promise<Page<MeterRecord>> {
    return pageQuery(this.c, 'meters', '', [], page, this.toMeter);
  }

  /** Stored events with these ids, whatever their customer (ids are the caller's idempotency keys). */
  async eventsById(ids: readonly string[]): Promise<UsageEventRecord[]> {
    const rows = await queryInChunks(this.c, ids, (list) => `SELECT * FROM usage_events WHERE id IN ${list}`);
    return rows.map(toEvent);
  }

  async event(id: string): Promise<UsageEventRecord | null> {
    const rows = await this.c.query(`SELECT * FROM usage_events WHERE id = ?`, [id]);
    return rows[0] ? toEvent(rows[0]) : null;
  }

  /**
   * A customer's usage per meter and per bucket of `bucketMs` (UTC-aligned) in [fromMs, toMs),
   * summed in SQL from each event's rating lines. The rating keeps quantities and credits as
   * decimal texts of at most 6 fraction digits; each is turned into an exact integer of
   * micro-units before it is summed (string arithmetic on SQLite, `numeric` on PostgreSQL), so
   * no floating point touches an amount.
   */
  async series(customerId: string, meterCode: string | null, fromMs: number, toMs: number, bucketMs: number): Promise<BucketSum[]> {
    const postgres = this.c.dialect === 'postgres';
    const field = (name: string) => (postgres ? `(r.value->>'${name}')` : `json_extract(r.value, '$.${name}')`);
    const micro = (column: string) => (postgres ? `(${column}::numeric * 1000000)::bigint` : sqliteMicro(column));
    const lines = postgres ? 'CROSS JOIN LATERAL jsonb_array_elements(e.rating::jsonb) AS r(value)' : 'CROSS JOIN json_each(e.rating) AS r';
    const meterFilter = meterCode === null ? '' : ` AND ${field('meter')} = ?`;
    // All the customer's events, cut to the window by timestamp: a position carries its charge's
    // minute only for rows written since migration 58, so positions do not bound a time window.
    const customer = ofCustomer(this.c.dialect, 'e', valuePart(customerId));
    // Each rating line's fields are read once (MATERIALIZED keeps SQLite from inlining the JSON
    // reads into every use of them in the arithmetic, which made it three times slower).
    const rows = await this.c.query(
      `WITH lines AS ${postgres ? '' : 'MATERIALIZED '}(
        SELECT (e.timestamp / ?) * ? AS bucket, ${field('meter')} AS meter, ${field('quantity')} AS quantity, ${field('credits')} AS credits
          FROM usage_events e ${lines}
          WHERE ${customer.sql} AND e.timestamp >= ? AND e.timestamp < ?${meterFilter})
        SELECT bucket, meter, SUM(${micro('quantity')}) AS quantity, SUM(${micro('credits')}) AS credits FROM lines GROUP BY bucket, meter ORDER BY bucket, meter`,
      [bucketMs, bucketMs, ...customer.params, fromMs, toMs, ...(meterCode === null ? [] : [meterCode])]);
    return rows.map((r) => ({ bucketStartMs: num(r.bucket), meter: r.meter as string, quantityMicro: exactMicro(r.quantity), creditsMicro: exactMicro(r.credits) }));
  }

  /**
   * All events in id order (the caller's ids: the unique index on them), or one customer's in the
   * order they happened: by position (migration 58), a time-ordered key, so a page is a range of
   * it. On PostgreSQL the events' primary key leads with the customer and serves the page; on
   * SQLite the customer's merged keys (`usage_keys`) do, read up to the page's end, merged with its
   * tail (at most `usageTailMerge` rows, customer-events.ts). The cursor is an event id either way.
   */
  async listEvents(customerId: string | null, page: PageRequest): Promise<Page<UsageEventRecord>> {
    if (customerId === null) return pageQuery(this.c, 'usage_events', '', [], page, toEvent);
    if (page.startingAfter) {
      const found = await this.c.query(`SELECT 1 AS found FROM usage_events WHERE id = ? AND customer_id = ?`, [page.startingAfter, customerId]);
      if (found.length === 0) return unknownCursor();
    }
    const descending = page.order === 'desc';
    const order = descending ? ' DESC' : '';
    const cursor = (column: string): Bound => (page.startingAfter
      ? bound` AND ${column} ${descending ? '<' : '>'} (SELECT position FROM usage_events WHERE id = ${valuePart(page.startingAfter)} AND customer_id = ${valuePart(customerId)})`
      : sqlPart(''));
    const limit = valuePart(page.limit + 1);
    const query = this.c.dialect === 'postgres'
      ? bound`SELECT * FROM usage_events WHERE customer_id = ${valuePart(customerId)}${cursor('position')} ORDER BY position${order} LIMIT ${limit}`
      : bound`SELECT * FROM (SELECT u.* FROM usage_keys k JOIN usage_events u ON u.seq = k.seq
            WHERE k.customer_id = ${valuePart(customerId)}${cursor('k.position')} ORDER BY k.position${order} LIMIT ${limit})
          UNION ALL SELECT * FROM usage_events u WHERE u.seq IN (${tailOf(valuePart(customerId))})${cursor('u.position')}
          ORDER BY position${order} LIMIT ${limit}`;
    const rows = await this.c.query(query.sql, query.params);
    return { data: rows.slice(0, page.limit).map(toEvent), hasMore: rows.length > page.limit };
  }

  /**
   * Rows go in id order: two transactions that race for the same new ids (for different
   * customers) then wait on each other's unique-index entries in one order, and cannot deadlock.
   */
  async insertEvents(events: readonly UsageEventRecord[]): Promise<void> {
    const sorted = [...events].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    const values: SqlValue[] = [];
    for (const e of sorted) {
      values.push(e.customerId, e.id, e.type, e.timestampMs, e.properties, e.bodyHash, e.creditsMicro, e.txnId, ratingJson(e.rating), e.recordedAtMs,
        e.position, e.entries === null ? null : entriesJson(e.entries));
    }
    await insertShapedRows(this.c, usageEventsShape, values);
  }

  async totals(keys: readonly MeterTotalKey[]): Promise<Map<string, MeterTotal>> {
    const out = new Map<string, MeterTotal>();
    if (keys.length === 0) return out;
    const customers = [...new Set(keys.map((k) => k.customerId))];
    const periods = [...new Set(keys.map((k) => k.periodStartMs))];
    const wanted = new Set(keys.map(totalKey));
    // Only the periods asked for: a customer's rows of earlier periods are never read again, so
    // the cost stays flat as months of totals pile up.
    const rows = await queryInChunks(this.c, customers,
      (list) => `SELECT customer_id, meter_id, period_start, quantity, credits FROM meter_totals WHERE period_start IN ${inList(periods.length)} AND customer_id IN ${list}`,
      periods);
    for (const r of rows) {
      const total: MeterTotal = {
        customerId: r.customer_id as string,
        meterId: r.meter_id as string,
        periodStartMs: num(r.period_start),
        quantityMicro: big(r.quantity),
        creditsMicro: big(r.credits),
      };
      const key = totalKey(total);
      if (wanted.has(key)) out.set(key, total);
    }
    return out;
  }

  async saveTotals(totals: readonly MeterTotal[]): Promise<void> {
    const values: SqlValue[] = [];
    // SQLite: in primary-key order, so the upserts walk its pages in order (PostgreSQL keeps the caller's).
    const ordered = this.c.dialect === 'sqlite' ? [...totals].sort(byTotalKey) : totals;
    for (const t of ordered) values.push(t.customerId, t.meterId, t.periodStartMs, t.quantityMicro, t.creditsMicro);
    await insertShapedRows(this.c, meterTotalsShape, values);
  }

  /**
   * One customer's running quantities of these meters in one period, by meter id (`totals` for
   * a single customer and period, as authorization reads them): each key is a primary-key lookup.
   */
  async quantitiesIn(customerId: string, periodStartMs: number, meterIds: readonly string[]): Promise<Map<string, bigint>> {
    const out = new Map<string, bigint>();
    if (meterIds.length === 0) return out;
    const rows = await this.c.query(
      `SELECT meter_id, quantity FROM meter_totals WHERE customer_id = ? AND period_start = ? AND meter_id IN ${inList(meterIds.length)}`,
      [customerId, periodStartMs, ...meterIds]);
    for (const r of rows) out.set(r.meter_id as string, big(r.quantity));
    return out;
  }

  async totalsForCustomer(customerId: string): Promise<MeterTotal[]> {
    const rows = await this.c.query(`SELECT * FROM meter_totals WHERE customer_id = ? ORDER BY period_start, meter_id`, [customerId]);
    return rows.map((r) => ({ customerId, meterId: r.meter_id as string, periodStartMs: num(r.period_start), quantityMicro: big(r.quantity), creditsMicro: big(r.credits) }));
  }

  /** Which of these unique-count values were already seen in their period. */
  async seenValues(keys: readonly UniqueValueKey[]): Promise<Set<string>> {
    const seen = new Set<string>();
    if (keys.length === 0) return seen;
    const params: SqlValue[] = [];
    const clauses: string[] = [];
    for (const k of keys) {
      clauses.push('(customer_id = ? AND meter_id = ? AND period_start = ? AND value = ?)');
      params.push(k.customerId, k.meterId, k.periodStartMs, k.value);
    }
    for (let start = 0; start < clauses.length; start += 200) {
      const rows = await this.c.query(`SELECT * FROM meter_unique_values WHERE ${clauses.slice(start, start + 200).join(' OR ')}`,
        params.slice(start * 4, (start + 200) * 4));
      for (const r of rows) seen.add(uniqueKey({ customerId: r.customer_id as string, meterId: r.meter_id as string, periodStartMs: num(r.period_start), value: r.value as string }));
    }
    return seen;
  }

  async insertValues(keys: readonly UniqueValueKey[]): Promise<void> {
    const values: SqlValue[] = [];
    for (const k of keys) values.push(k.customerId, k.meterId, k.periodStartMs, k.value);
    await insertShapedRows(this.c, uniqueValuesShape, values);
  }
}

/** Stores a rate as JSON with bigints written as decimal strings, never as floats. */
export const jsonRateCodec: RateCodec = {
  encode: (rate) => JSON.stringify(rate, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v)),
  decode: (text) =>
    JSON.parse(text, (_k, v: unknown) => (typeof v === 'string' && /^-?\d+n$/.test(v) ? BigInt(v.slice(0, -1)) : v)) as Rate,
};

/**
 * SQLite: a decimal text (`-12.5`, `0.000250`, `3`) as an exact integer of millionths, by string
 * arithmetic: the whole part times 10^6 plus the fraction padded to six digits, with its sign.
 */
function sqliteMicro(text: string): string {
  const abs = `ltrim(${text}, '-')`;
  const dot = `instr(${abs}, '.')`;
  const whole = `CASE WHEN ${dot} > 0 THEN substr(${abs}, 1, ${dot} - 1) ELSE ${abs} END`;
  const fraction = `CASE WHEN ${dot} > 0 THEN substr(substr(${abs}, ${dot} + 1) || '000000', 1, 6) ELSE '000000' END`;
  return `(CASE WHEN substr(${text}, 1, 1) = '-' THEN -1 ELSE 1 END * (CAST(${whole} AS INTEGER) * 1000000 + CAST(${fraction} AS INTEGER)))`;
}

/** A sum of micro-units: an integer from SQLite, a whole `numeric` text from PostgreSQL. */
function exactMicro(v: unknown): bigint {
  if (typeof v === 'string') return BigInt(v.replace(/\.0*$/, ''));
  return big(v);
}
