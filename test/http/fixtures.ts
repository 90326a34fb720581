import { expect } from 'vitest';
import { unique, type Api } from '../support/server.ts';

/**
 * Small builders shared by the HTTP suites. Each creates its object through the API, asserts the
 * creation succeeded, and returns what later requests need. Codes and event types are unique per
 * call, because meters are global and every suite shares one server between its tests.
 */
export const t0 = '2026-05-01T00:00:00Z';
export const t0Ms = Date.parse(t0);

export const at = (offsetMs: number): string => new Date(t0Ms + offsetMs).toISOString();
export const seconds = 1000;
export const minutes = 60 * seconds;
export const days = 24 * 60 * minutes;

export async function newClock(api: Api, frozenTime = t0): Promise<string> {
  const created = await api.post('/v1/test_clocks', { frozen_time: frozenTime });
  expect(created.status).toBe(201);
  return created.body.id as string;
}

/**
 * Advances a test clock and waits until it is `ready`: the server answers `ready` when the
 * advance finished within its wait bound, or `advancing`, and then the clock is polled.
 */
export async function advance(api: Api, clockId: string, frozenTime: string, deadlineMs = 120_000): Promise<any> {
  const advanced = await api.post(`/v1/test_clocks/${clockId}/advance`, { frozen_time: frozenTime });
  expect(advanced.status, JSON.stringify(advanced.body)).toBe(200);
  if (advanced.body.status === 'ready') return advanced.body;
  expect(advanced.body.status).toBe('advancing');
  const until = Date.now() + deadlineMs;
  for (;;) {
    const clock = await api.get(`/v1/test_clocks/${clockId}`);
    expect(clock.status).toBe(200);
    if (clock.body.status === 'ready') return clock.body;
    if (clock.body.status === 'internal_failure') throw new Error(`test clock ${clockId} failed to advance: ${clock.body.failure.message}`);
    if (Date.now() > until) throw new Error(`test clock ${clockId} still advancing after ${deadlineMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

export interface CustomerOptions {
  clock?: string | null;
  overage?: boolean;
  low_balance_threshold?: string;
  net_days?: number;
}

/** A customer on a fresh test clock at `t0` unless told otherwise; returns its id and clock. */
export async function newCustomer(api: Api, options: CustomerOptions = {}): Promise<{ id: string; externalId: string; clock: string | null }> {
  const clock = options.clock === undefined ? await newClock(api) : options.clock;
  const externalId = unique('cust');
  const body: Record<string, unknown> = { currency: 'USD', external_id: externalId };
  if (clock !== null) body.test_clock = clock;
  if (options.overage !== undefined) body.overage = options.overage;
  if (options.low_balance_threshold !== undefined) body.low_balance_threshold = options.low_balance_threshold;
  if (options.net_days !== undefined) body.net_days = options.net_days;
  const created = await api.post('/v1/customers', body);
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  return { id: created.body.id as string, externalId, clock };
}

/** A meter on its own event type; `value_property` defaults to `n` for the aggregations that read one. */
export async function newMeter(
  api: Api,
  rate: unknown,
  options: { aggregation?: 'count' | 'sum' | 'max' | 'unique_count'; value_property?: string } = {},
): Promise<{ code: string; type: string }> {
  const code = unique('meter');
  const type = unique('type');
  const aggregation = options.aggregation ?? 'sum';
  const body: Record<string, unknown> = { code, event_type: type, aggregation, rate };
  if (aggregation !== 'count') body.value_property = options.value_property ?? 'n';
  const created = await api.post('/v1/meters', body);
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  return { code, type };
}

/** A sum meter on property `n` charging `creditsPerUnit` per unit. */
export const perUnitMeter = (api: Api, creditsPerUnit = '1') => newMeter(api, { model: 'per_unit', credits_per_unit: creditsPerUnit });

/** A monthly USD plan of 10.00 with 100 credits included; `fields` adds or replaces any field. */
export async function newPlan(api: Api, fields: Record<string, unknown> = {}): Promise<any> {
  const created = await api.post('/v1/plans', {
    code: unique('plan'), name: 'Plan', currency: 'USD', interval: 'month', amount: 1000, included_credits: '100', ...fields,
  });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  return created.body;
}

/** A customer's overage lines, invoice by invoice: the invoice's kind and subscription, the line's quantity and amount. */
export const overageLines = async (api: Api, customer: string): Promise<any[]> => (await listAll(api, `/v1/invoices?customer=${customer}`))
  .flatMap((i: any) => i.lines.filter((l: any) => l.type === 'overage').map((l: any) => ({ invoice: i.kind, subscription: i.subscription, quantity: l.quantity, amount: l.amount })));

export async function newGrant(api: Api, customer: string, credits: string, extra: Record<string, unknown> = {}): Promise<any> {
  const created = await api.post('/v1/grants', { customer, credits, category: 'paid', source: 'purchase', ...extra });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  return created.body;
}

export async function ingest(api: Api, events: unknown[]): Promise<any[]> {
  const response = await api.post('/v1/events', { events });
  expect(response.status, JSON.stringify(response.body)).toBe(200);
  return response.body.results as any[];
}

/** Ingests one event of `n` units and expects it accepted. */
export async function use(api: Api, customer: string, type: string, n: number | string, id = unique('ev')): Promise<any> {
  const [result] = await ingest(api, [{ id, customer, type, properties: { n } }]);
  expect(result.status, JSON.stringify(result)).toBe('accepted');
  return result;
}

export async function balance(api: Api, customer: string): Promise<any> {
  const response = await api.get(`/v1/customers/${customer}/balance`);
  expect(response.status, JSON.stringify(response.body)).toBe(200);
  return response.body;
}

/** Every page of a list endpoint, following `next_cursor`. */
export async function listAll(api: Api, path: string): Promise<any[]> {
  const out: any[] = [];
  let cursor: string | null = null;
  for (;;) {
    const separator = path.includes('?') ? '&' : '?';
    const page: { status: number; body: any } = await api.get(`${path}${separator}limit=100${cursor ? `&starting_after=${encodeURIComponent(cursor)}` : ''}`);
    expect(page.status, JSON.stringify(page.body)).toBe(200);
    out.push(...page.body.data);
    if (!page.body.has_more) return out;
    cursor = page.body.next_cursor;
  }
}

export async function domainEvents(api: Api, customer: string, type?: string): Promise<any[]> {
  return listAll(api, `/v1/domain_events?customer=${customer}${type ? `&type=${type}` : ''}`);
}

export async function transactions(api: Api, customer: string): Promise<any[]> {
  return listAll(api, `/v1/ledger/transactions?customer=${customer}`);
}

/** The ledger stays balanced and every stored balance equals its entries. */
export async function expectLedgerConsistent(api: Api): Promise<void> {
  const check = await api.get('/v1/ledger/check');
  expect(check.status).toBe(200);
  expect(check.body).toMatchObject({ ok: true, unbalanced_transactions: [], balance_discrepancies: [] });
}
