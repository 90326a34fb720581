import type { Api } from './server.ts';

/**
 * Requests for every operation of the OpenAPI document, made from its own schemas: a body, query
 * and path that mostly fit, with ids of objects that exist (harvested from earlier replies), and
 * then, often, one part of it replaced by something hostile (a wrong type, a number past every
 * limit, a string of 70,000 characters, an impossible date, an id of another kind). What the
 * server must do with any of them (PRODUCT §16): answer below 500, refusals in the API's error shape.
 */
export interface FuzzRequest {
  operationId: string;
  method: string;
  path: string;
  body?: unknown;
}

type Schema = Record<string, any>;

const pathPrefixes: Record<string, string> = {
  customers: 'cus', meters: 'mtr', grants: 'grt', usage_events: 'evt', holds: 'hld', test_clocks: 'clk', api_keys: 'key', transactions: 'txn',
  plans: 'pln', subscriptions: 'sub', invoices: 'inv', refunds: 'ref', chargebacks: 'cbk', credit_notes: 'cn', webhook_endpoints: 'whk',
  webhook_deliveries: 'dlv', promotions: 'prm', referrals: 'rfl',
};
const fieldPrefixes: Record<string, string> = {
  customer: 'cus', grant: 'grt', invoice: 'inv', subscription: 'sub', hold: 'hld', meter: 'mtr', test_clock: 'clk', refund: 'ref',
  chargeback: 'cbk', credit_note: 'cn', promotion: 'prm', referrer: 'cus', referred: 'cus', endpoint: 'whk', referral: 'rfl',
};

export class ApiFuzzer {
  private readonly ids = new Map<string, string[]>();
  private readonly plans: string[] = [];
  private readonly eventTypes: string[] = [];
  private readonly meterCodes: string[] = [];
  private readonly operations: { method: string; path: string; op: Schema }[] = [];
  private random: () => number = Math.random;

  constructor(private readonly doc: Schema, private readonly nowMs: number) {
    for (const [path, item] of Object.entries<Schema>(doc.paths)) {
      for (const method of ['get', 'post', 'delete']) {
        // Stripe's webhook is signed: every unsigned body is refused before it is read (its own suite).
        if (item[method] && item[method].operationId !== 'receiveStripeWebhook') this.operations.push({ method, path, op: item[method] });
      }
    }
  }

  get operationCount(): number {
    return this.operations.length;
  }

  /** Objects to aim at: meters, customers with grants and purchases, a plan with overage, subscriptions. */
  async seed(api: Api): Promise<void> {
    const t = this.nowMs;
    for (let i = 0; i < 3; i++) {
      const rate = i === 2 ? { model: 'package', package_size: '10', credits_per_package: '3' } : { model: 'per_unit', credits_per_unit: '1.5' };
      this.harvest((await api.post('/v1/meters', { code: `fz_m${i}_${t}`, event_type: `fz_t${i}_${t}`, aggregation: i === 0 ? 'count' : 'sum', ...(i === 0 ? {} : { value_property: 'n' }), rate })).body);
    }
    const clock = (await api.post('/v1/test_clocks', { frozen_time: new Date(t).toISOString() })).body;
    this.harvest(clock);
    this.harvest((await api.post('/v1/plans', { code: `fz_p_${t}`, name: 'P', currency: 'USD', interval: 'month', amount: 2000, included_credits: '100', overage: { unit_amount_per_credit: '5' } })).body);
    for (let i = 0; i < 6; i++) {
      const customer = (await api.post('/v1/customers', { name: `c${i}`, currency: 'USD', overage: i % 2 === 0, ...(i >= 3 ? { test_clock: clock.id } : {}) })).body;
      this.harvest(customer);
      this.harvest((await api.post('/v1/grants', { customer: customer.id, credits: '1000', category: 'paid', source: 'adjustment' })).body);
      this.harvest((await api.post(`/v1/customers/${customer.id}/purchases`, { credits: '500', amount: 1000 })).body);
      if (i < 4) this.harvest((await api.post('/v1/subscriptions', { customer: customer.id, plan: this.plans[0] })).body);
    }
  }

  /** Remembers the ids, plan codes, meter codes and event types of a reply, to aim later requests at them. */
  harvest(body: unknown, depth = 0): void {
    if (depth > 4 || body === null || typeof body !== 'object') return;
    if (Array.isArray(body)) {
      for (const item of body.slice(0, 20)) this.harvest(item, depth + 1);
      return;
    }
    const record = body as Record<string, unknown>;
    for (const [key, value] of Object.entries(record)) {
      if (typeof value === 'string') {
        const prefix = /^([a-z]+)_[0-9A-Z]{10,}/.exec(value)?.[1];
        if (prefix !== undefined) this.remember(this.ids, prefix, value);
        if (key === 'code' && typeof record.interval === 'string' && !this.plans.includes(value)) this.plans.push(value);
        if (key === 'code' && typeof record.event_type === 'string' && !this.meterCodes.includes(value)) this.meterCodes.push(value);
        if (key === 'event_type' && !this.eventTypes.includes(value)) this.eventTypes.push(value);
      } else this.harvest(value, depth + 1);
    }
  }

  private remember(map: Map<string, string[]>, key: string, value: string): void {
    const list = map.get(key) ?? [];
    if (list.includes(value)) return;
    list.push(value);
    if (list.length > 100) list.shift();
    map.set(key, list);
  }

  /** One request, from `random` alone (a seeded generator makes it again). */
  request(random: () => number): FuzzRequest {
    this.random = random;
    const { method, path, op } = this.pick(this.operations);
    const resource = path.split('/')[2] === 'ledger' ? 'transactions' : path.split('/')[2] ?? '';
    const url = path.replace(/\{(\w+)\}/g, () => encodeURIComponent(this.id(path.includes('/webhook_deliveries/') ? 'dlv' : pathPrefixes[resource] ?? 'x')));
    const query: Record<string, unknown> = {};
    for (const p of op.parameters ?? []) if (p.in === 'query' && (p.required || this.chance(0.4))) query[p.name] = this.value(p.schema, p.name, 0);
    const bodySchema = op.requestBody?.content?.['application/json']?.schema;
    let body = bodySchema === undefined ? undefined : this.value(bodySchema, op.operationId, 0);
    if (this.chance(0.6)) {
      if (body !== undefined && this.chance(0.8)) body = this.mutate(body);
      else if (Object.keys(query).length > 0) query[this.pick(Object.keys(query))] = this.hostile();
    }
    const entries = Object.entries(query).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v) ?? ''] as [string, string]);
    const qs = entries.length > 0 ? `?${new URLSearchParams(entries).toString()}` : '';
    return { operationId: op.operationId, method: method.toUpperCase(), path: `${url}${qs}`, ...(body === undefined ? {} : { body }) };
  }

  private chance(p: number): boolean {
    return this.random() < p;
  }

  private int(n: number): number {
    return Math.floor(this.random() * n);
  }

  private pick<T>(list: readonly T[]): T {
    return list[this.int(list.length)]!;
  }

  private id(prefix: string): string {
    const known = this.ids.get(prefix);
    if (known !== undefined && known.length > 0 && this.chance(0.9)) return this.pick(known);
    const other = [...this.ids.values()].flat();
    return this.pick([`${prefix}_nope`, `${prefix}_01KZZZZZZZZZZZZZZZZZZZZZZZ`, 'x', '..', '%00', 'ÿ', 'a'.repeat(255), other.length > 0 ? this.pick(other) : 'z']);
  }

  private iso(offsetSeconds: number): string {
    return new Date(this.nowMs + offsetSeconds * 1000).toISOString();
  }

  private hostile(): unknown {
    const values: unknown[] = [
      null, true, false, -1, 0, 1, 1.5, -0.5, 1e308, -1e308, 2 ** 53, 2 ** 53 + 2, 1e21, '', ' ', 'x'.repeat(300), 'x'.repeat(70_000), '\u0000', '💥',
      '-0', '0', '1e5', '0.0000001', '0.000001', '-1', '99999999999999999999999999999999999999', '999999999999999.999999', '1000000000000000',
      '-99999999999999999', '+1', '.5', '5.', [], {}, { constructor: 1 }, { toString: 'x' }, '9999-12-31T23:59:59Z', '0000-01-01T00:00:00Z',
      '9899-12-31T23:59:59.999Z', '9999-12-31T23:00:00-05:00', '0000-01-01T00:00:00+01:00', '2036-01-01T00:00:00Z', '2026-02-30T00:00:00Z', '1970-01-01T00:00:00Z', this.iso(3600), this.iso(-40 * 86400), this.iso(-34 * 86400), '2026-12-05T10:00:00+05:00',
      'USD', 'usd', 'XXX', 'month', 'immediate', [1, 2, 3], ['a'], [{}], Array.from({ length: 60 }, (_, i) => `k${i}`),
      Object.fromEntries(Array.from({ length: 60 }, (_, i) => [`k${i}`, i])),
    ];
    return this.pick(values);
  }

  private decimal(signed: boolean): string {
    const whole = this.pick(['0', '1', '5', '10', '100', '1000', String(this.int(100_000)), '999999999999']);
    const fraction = this.chance(0.5) ? '' : `.${String(this.int(1_000_000)).padStart(this.pick([1, 2, 3, 6]), '0').slice(0, 6)}`;
    return `${signed && this.chance(0.1) ? '-' : ''}${whole}${fraction}`;
  }

  private resolve(schema: Schema | undefined): Schema | undefined {
    let s = schema;
    while (s?.$ref) s = this.doc.components.schemas[String(s.$ref).split('/').pop()!];
    return s;
  }

  /** A value that mostly fits `schema`, with ids and codes of objects that exist where the name asks for one. */
  private value(raw: Schema | undefined, name: string, depth: number): unknown {
    const schema = this.resolve(raw);
    if (schema === undefined || depth > 6) return null;
    if (schema.const !== undefined) return schema.const;
    if (schema.enum) return this.pick(schema.enum);
    const alternatives = schema.anyOf ?? schema.oneOf;
    if (alternatives) return this.value(this.pick(alternatives), name, depth);
    const type = Array.isArray(schema.type) ? this.pick(schema.type) : schema.type;
    switch (type) {
      case 'object': {
        const out: Record<string, unknown> = {};
        const required = new Set<string>(schema.required ?? []);
        for (const [key, property] of Object.entries<Schema>(schema.properties ?? {})) {
          if (required.has(key) || this.chance(0.5)) out[key] = this.value(property, key, depth + 1);
        }
        if (schema.additionalProperties && typeof schema.additionalProperties === 'object') {
          for (let i = this.int(3); i > 0; i--) {
            const key = name === 'rates' ? this.pick([...this.meterCodes, 'nope']) : this.pick(['a', 'b', 'tokens', 'model', 'region']);
            out[key] = this.value(schema.additionalProperties, key, depth + 1);
          }
        }
        return out;
      }
      case 'array': {
        const n = Math.max(schema.minItems ?? 0, this.int(Math.min(schema.maxItems ?? 4, 4)));
        return Array.from({ length: n }, () => this.value(schema.items, name, depth + 1));
      }
      case 'integer': {
        const low = schema.minimum ?? 0;
        const high = Math.min(schema.maximum ?? 100_000, low + 100_000);
        return this.pick([low, low + this.int(high - low + 1), low + this.int(100), schema.maximum ?? low + 1000]);
      }
      case 'number':
        return this.pick([0, 1, 2.5, 100, this.int(1000)]);
      case 'boolean':
        return this.chance(0.5);
      case 'null':
        return null;
      default:
        return this.text(schema, name);
    }
  }

  private text(schema: Schema, name: string): string {
    const prefix = fieldPrefixes[name];
    if (prefix !== undefined) return this.id(prefix);
    if (name === 'code') return `fz${this.int(1e9)}`;
    if (name === 'plan') return this.pick([...this.plans, 'nope']);
    if (name === 'type' || name === 'event_type') return this.pick([...this.eventTypes, 'nope']);
    if (name === 'url') return this.pick(['http://127.0.0.1:9/x', 'https://example.com/hook', 'ftp://x', 'http://localhost:1']);
    const pattern: string | undefined = schema.pattern;
    const described = `${schema.description ?? ''} ${schema.example ?? ''} ${JSON.stringify(schema.examples ?? '')}`;
    if (pattern === '^[A-Z]{3}$') return this.pick(['USD', 'EUR', 'JPY']);
    if (pattern?.includes('[0-9]+(')) return this.decimal(pattern.startsWith('^-?'));
    if (pattern === '^[0-9]{1,3}$') return String(this.int(120));
    if (/RFC 3339|date-time|T10:00/.test(described) || schema.format === 'date-time') return this.iso(this.pick([-1, 1, -30, -86400, 3600, 86400 * 40]) * this.int(10));
    if (Array.isArray(schema.examples) && this.chance(0.7)) return String(this.pick(schema.examples));
    if (pattern?.includes('A-Za-z0-9')) return `v${this.int(1e6)}`;
    return this.pick(['a', 'hello', `s${this.int(1000)}`, 'x'.repeat(Math.min(schema.maxLength ?? 10, 50))]);
  }

  /** Replaces one node of `value` with something hostile, or drops a key, or adds one. */
  private mutate(value: unknown): unknown {
    if (this.chance(0.2) || value === null || typeof value !== 'object') return this.hostile();
    if (Array.isArray(value)) {
      if (value.length === 0) return [this.hostile()];
      const i = this.int(value.length);
      value[i] = this.mutate(value[i]);
      return value;
    }
    const record = value as Record<string, unknown>;
    const keys = Object.keys(record);
    const roll = this.random();
    if (roll < 0.1 && keys.length > 0) delete record[this.pick(keys)];
    else if (roll < 0.15) record[this.pick(['extra', 'id', 'metadata'])] = this.hostile();
    else if (keys.length > 0) {
      const key = this.pick(keys);
      record[key] = this.mutate(record[key]);
    }
    return record;
  }
}

/** A small seeded generator (mulberry32): the same seed makes the same request again. */
export function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
