import { describe, expect, it } from 'vitest';
import { dialects } from '../support/databases.ts';
import { unique, useServer } from '../support/server.ts';
import { SecretBox } from '../../src/engine/secret-box.ts';
import { ingest, listAll, newCustomer, newGrant, perUnitMeter } from './fixtures.ts';

/** Cursor pagination (PRODUCT §12): pages follow `next_cursor` until `has_more` is false. */
describe.each(dialects)('cursor pagination on %s', (dialect) => {
  const ctx = useServer(dialect, { webhooks: { box: new SecretBox('pagination-test'), allowPrivate: true } });

  it('pages 25 customers by 10 with starting_after, seeing each exactly once', async () => {
    const { api } = ctx;
    // This file's database holds only the customers it creates; the first test creates 25.
    const created: string[] = [];
    for (let i = 0; i < 25; i++) created.push((await newCustomer(api, { clock: null })).id);

    const pages: { ids: string[]; hasMore: boolean; next: string | null }[] = [];
    let cursor: string | null = null;
    for (let guard = 0; guard < 10; guard++) {
      const response: any = await api.get(`/v1/customers?limit=10${cursor ? `&starting_after=${cursor}` : ''}`);
      expect(response.status).toBe(200);
      expect(response.body.object).toBe('list');
      const ids = response.body.data.map((c: { id: string }) => c.id);
      pages.push({ ids, hasMore: response.body.has_more, next: response.body.next_cursor });
      if (!response.body.has_more) break;
      cursor = response.body.next_cursor;
    }
    expect(pages.map((p) => [p.ids.length, p.hasMore])).toEqual([[10, true], [10, true], [5, false]]);
    expect(pages[0]!.next).toBe(pages[0]!.ids[9]);
    expect(pages[1]!.next).toBe(pages[1]!.ids[9]);
    expect(pages[2]!.next).toBeNull();
    const seen = pages.flatMap((p) => p.ids);
    expect(new Set(seen).size).toBe(25);
    expect([...seen].sort()).toEqual([...created].sort());
    // Ids are time-sortable, so the pages come in creation order.
    expect(seen).toEqual(created);
  });

  it('uses the default page size of 20 and refuses a page size outside 1 to 100', async () => {
    const { api } = ctx;
    const total = (await listAll(api, '/v1/customers')).length;
    for (let i = total; i < 21; i++) await newCustomer(api, { clock: null });
    const all = Math.max(total, 21);
    const first = await api.get('/v1/customers');
    expect(first.body.data).toHaveLength(20);
    expect(first.body.has_more).toBe(true);
    const full = await api.get('/v1/customers?limit=100');
    expect(full.status).toBe(200);
    expect(full.body.data).toHaveLength(Math.min(all, 100));
    expect((await api.get('/v1/customers?limit=1')).body.data).toHaveLength(1);
    // Out of bounds is refused, where it was read as the nearest bound (0 answered one record, 999 a hundred).
    for (const limit of ['0', '101', '999', '000']) {
      const refused = await api.get(`/v1/customers?limit=${limit}`);
      expect(refused.status).toBe(400);
      expect(refused.body.error).toMatchObject({ code: 'validation_failed', details: { fields: [{ field: 'limit', code: 'out_of_range' }] } });
    }
    const grants = await api.get(`/v1/grants?customer=${first.body.data[0].id}&limit=101`);
    expect(grants.body.error.details.fields).toMatchObject([{ field: 'limit', code: 'out_of_range' }]);
    const bad = await api.get('/v1/customers?limit=ten');
    expect(bad.status).toBe(400);
    expect(bad.body.error.details.fields).toMatchObject([{ field: 'limit', code: 'invalid_format' }]);
  });

  it('pages a customer\'s grants the same way', async () => {
    const { api } = ctx;
    const customer = await newCustomer(api);
    const created: string[] = [];
    for (let i = 0; i < 5; i++) created.push((await newGrant(api, customer.id, String(i + 1))).id);
    const first = await api.get(`/v1/grants?customer=${customer.id}&limit=3`);
    expect(first.body).toMatchObject({ has_more: true, next_cursor: created[2] });
    const second = await api.get(`/v1/grants?customer=${customer.id}&limit=3&starting_after=${first.body.next_cursor}`);
    expect(second.body).toMatchObject({ has_more: false, next_cursor: null });
    expect([...first.body.data, ...second.body.data].map((g: { id: string }) => g.id)).toEqual(created);
  });

  it('lists a customer\'s ledger newest first with order=desc, paging towards older transactions', async () => {
    const { api } = ctx;
    const customer = await newCustomer(api, { clock: null });
    for (let i = 0; i < 5; i++) await newGrant(api, customer.id, String(i + 1));
    const oldestFirst = (await listAll(api, `/v1/ledger/transactions?customer=${customer.id}`)).map((t) => t.id);
    expect(oldestFirst).toHaveLength(5);
    const first = (await api.get(`/v1/ledger/transactions?customer=${customer.id}&order=desc&limit=3`)).body;
    expect(first.data.map((t: { id: string }) => t.id)).toEqual(oldestFirst.slice().reverse().slice(0, 3));
    expect(first.has_more).toBe(true);
    const second = (await api.get(`/v1/ledger/transactions?customer=${customer.id}&order=desc&limit=3&starting_after=${first.next_cursor}`)).body;
    expect(second.data.map((t: { id: string }) => t.id)).toEqual(oldestFirst.slice(0, 2).reverse());
    expect(second.has_more).toBe(false);
    expect((await api.get(`/v1/ledger/transactions?order=sideways`)).status).toBe(400);
  });

  it('lists a customer\'s usage charges among its other transactions in id order, both ways, from the events\' rows and the ledger\'s tables', async () => {
    const { api } = ctx;
    const customer = await newCustomer(api, { clock: null });
    const meter = await perUnitMeter(api);
    const now = Date.now();
    const effective_at = new Date(now - 600_000).toISOString();
    await newGrant(api, customer.id, '100', { effective_at });
    // Two minutes back, one minute back, now: each charge's id carries its event's minute.
    const stamped = (id: string, ago: number) => ({ id, customer: customer.id, type: meter.type, timestamp: new Date(now - ago).toISOString(), properties: { n: 1 } });
    expect((await ingest(api, [stamped(`late-${customer.id}`, 120_000), stamped(`mid-${customer.id}`, 60_000)])).map((r) => r.status)).toEqual(['accepted', 'accepted']);
    await newGrant(api, customer.id, '5', { effective_at });
    expect((await ingest(api, [stamped(`now-${customer.id}`, 0)]))[0].status).toBe('accepted');
    const all = await listAll(api, `/v1/ledger/transactions?customer=${customer.id}`);
    expect(all.map((t) => t.kind).sort()).toEqual(['grant', 'grant', 'usage', 'usage', 'usage']);
    const ids = all.map((t) => t.id as string);
    expect(ids).toEqual([...ids].sort());
    expect(all.filter((t) => t.kind === 'usage').map((t) => t.cause.id)).toEqual([`late-${customer.id}`, `mid-${customer.id}`, `now-${customer.id}`]);
    const micro = (text: string): bigint => {
      const [whole, fraction = ''] = text.replace('-', '').split('.');
      const value = BigInt(whole!) * 1_000_000n + BigInt(fraction.padEnd(6, '0'));
      return text.startsWith('-') ? -value : value;
    };
    for (const t of all) expect(t.entries.reduce((sum: bigint, e: { amount: string }) => sum + micro(e.amount), 0n)).toBe(0n);
    // Pages of two, forwards and backwards, see each once in order.
    const pages = async (order: 'asc' | 'desc') => {
      const seen: string[] = [];
      let cursor: string | null = null;
      for (let guard = 0; guard < 10; guard++) {
        const page: any = (await api.get(`/v1/ledger/transactions?customer=${customer.id}&order=${order}&limit=2${cursor ? `&starting_after=${cursor}` : ''}`)).body;
        seen.push(...page.data.map((t: { id: string }) => t.id));
        if (!page.has_more) break;
        cursor = page.next_cursor;
      }
      return seen;
    };
    expect(await pages('asc')).toEqual(ids);
    expect(await pages('desc')).toEqual([...ids].reverse());
    // A usage charge is found by its id, as any transaction.
    const usage = all.find((t) => t.kind === 'usage')!;
    expect((await api.get(`/v1/ledger/transactions/${usage.id}`)).body).toEqual(usage);
  });

  it('lists a customer\'s usage events in the order they happened, all events in id order', async () => {
    const { api } = ctx;
    const customer = await newCustomer(api, { clock: null });
    const meter = await perUnitMeter(api, '0');
    const now = Date.now();
    // Ids against the order of their timestamps, and one event charged nothing (a meter at 0).
    const events = ['z', 'y', 'x', 'w'].map((letter, i) => ({
      id: `${letter}-${customer.id}`, customer: customer.id, type: meter.type, timestamp: new Date(now - (4 - i) * 60_000).toISOString(), properties: { n: 1 },
    }));
    expect((await ingest(api, events)).map((r) => r.status)).toEqual(['accepted', 'accepted', 'accepted', 'accepted']);
    const inTime = events.map((e) => e.id);
    expect((await listAll(api, `/v1/usage_events?customer=${customer.id}`)).map((e) => e.id)).toEqual(inTime);
    const first = (await api.get(`/v1/usage_events?customer=${customer.id}&limit=3`)).body;
    expect(first).toMatchObject({ has_more: true, next_cursor: inTime[2] });
    const second = (await api.get(`/v1/usage_events?customer=${customer.id}&limit=3&starting_after=${first.next_cursor}`)).body;
    expect([...first.data, ...second.data].map((e: { id: string }) => e.id)).toEqual(inTime);
    expect(second.has_more).toBe(false);
    const newest = (await api.get(`/v1/usage_events?customer=${customer.id}&order=desc&limit=2`)).body;
    expect(newest.data.map((e: { id: string }) => e.id)).toEqual([inTime[3], inTime[2]]);
    const older = (await api.get(`/v1/usage_events?customer=${customer.id}&order=desc&limit=2&starting_after=${newest.next_cursor}`)).body;
    expect(older.data.map((e: { id: string }) => e.id)).toEqual([inTime[1], inTime[0]]);
    const everyone = (await listAll(api, '/v1/usage_events')).map((e) => e.id as string);
    expect(everyone).toEqual([...everyone].sort());
    expect(everyone.filter((id) => inTime.includes(id))).toEqual([...inTime].sort());
  });
  it('reads every list newest first with order=desc, and refuses a query parameter its list does not take', async () => {
    const { api } = ctx;
    const customer = await newCustomer(api, { clock: null });
    const grants = [];
    for (let i = 0; i < 3; i++) grants.push((await newGrant(api, customer.id, '5')).id);
    const oldestFirst = (await api.get(`/v1/grants?customer=${customer.id}`)).body.data.map((g: { id: string }) => g.id);
    expect(oldestFirst).toEqual(grants);
    const newest = (await api.get(`/v1/grants?customer=${customer.id}&order=desc&limit=2`)).body;
    expect(newest).toMatchObject({ has_more: true, next_cursor: grants[1] });
    expect(newest.data.map((g: { id: string }) => g.id)).toEqual([grants[2], grants[1]]);
    const older = (await api.get(`/v1/grants?customer=${customer.id}&order=desc&starting_after=${newest.next_cursor}`)).body;
    expect(older.data.map((g: { id: string }) => g.id)).toEqual([grants[0]]);
    const customersDesc = (await api.get('/v1/customers?order=desc&limit=1')).body.data.map((c: { id: string }) => c.id);
    expect(customersDesc).toEqual([customer.id]);

    // A misspelt filter answered every customer's grants before; a filter a list has no use for
    // (meters belong to no customer) said nothing of being ignored.
    for (const [path, field] of [
      [`/v1/grants?custmer=${customer.id}`, 'custmer'],
      [`/v1/meters?customer=${customer.id}`, 'customer'],
      ['/v1/invoices?limit=5&status=paid', 'status'],
      ['/v1/reports/revenue?currency=USD', 'currency'],
      ['/v1/promotions/prm_none/codes?order=desc', 'order'],
    ] as const) {
      const refused = await api.get(path);
      expect([refused.status, refused.body.error?.code, refused.body.error?.details?.fields], path)
        .toEqual([400, 'validation_failed', [expect.objectContaining({ field, code: 'unknown_field' })]]);
    }
  });
  it('refuses a starting_after that names no record of its list, on every list, and reads one that does', async () => {
    const { api } = ctx;
    const [a, b] = [await newCustomer(api, { clock: null }), await newCustomer(api, { clock: null })];
    const meter = await perUnitMeter(api);
    const [grantA, grantB] = [await newGrant(api, a.id, '10'), await newGrant(api, b.id, '10')];
    const events = [a, b].map((c) => ({ id: `e-${c.id}`, customer: c.id, type: meter.type, timestamp: new Date().toISOString(), properties: { n: 1 } }));
    expect((await ingest(api, events)).map((r) => r.status)).toEqual(['accepted', 'accepted']);
    const usageOfB = (await listAll(api, `/v1/ledger/transactions?customer=${b.id}`)).find((t) => t.kind === 'usage')!;
    const endpoint = (await api.post('/v1/webhook_endpoints', { url: 'http://127.0.0.1:9/unused' })).body;
    const promotion = (await api.post('/v1/promotions', { code: unique('PAGE').toUpperCase(), credits: '1' })).body;
    expect([endpoint.object, promotion.object]).toEqual(['webhook_endpoint', 'promotion']);

    const refused = async (path: string) => {
      const reply = await api.get(path);
      expect([reply.status, reply.body.error?.code, reply.body.error?.details?.fields], path)
        .toEqual([400, 'validation_failed', [expect.objectContaining({ field: 'starting_after', code: 'cursor_not_found' })]]);
    };
    // Every list the API document names, with a cursor that is no id at all: each answered an
    // empty last page (or, for a cursor sorting before the first id, the whole list) before.
    const document = (await api.get('/openapi.json')).body;
    const lists = Object.entries(document.paths as Record<string, Record<string, { parameters?: { name: string }[] }>>)
      .filter(([, methods]) => methods.get?.parameters?.some((p) => p.name === 'starting_after')).map(([path]) => path);
    expect(lists.length).toBeGreaterThanOrEqual(21);
    const ids: Record<string, string> = { '/v1/customers/{id}/credit_notes': a.id, '/v1/webhook_endpoints/{id}/deliveries': endpoint.id, '/v1/promotions/{id}/codes': promotion.id };
    for (const path of lists) {
      const concrete = path.includes('{id}') ? path.replace('{id}', ids[path]!) : path;
      for (const cursor of ['nope', '0', 'zzz']) await refused(`${concrete}?starting_after=${cursor}`);
    }
    // An id of another kind, or a record of the same kind outside the list's filter.
    await refused(`/v1/customers?starting_after=${grantA.id}`);
    await refused(`/v1/grants?customer=${a.id}&starting_after=${grantB.id}`);
    await refused(`/v1/usage_events?customer=${a.id}&starting_after=e-${b.id}`);
    await refused(`/v1/ledger/transactions?customer=${a.id}&starting_after=${usageOfB.id}`);
    await refused(`/v1/customers?q=${encodeURIComponent(a.externalId)}&starting_after=${grantA.id}`);
    // The same records as cursors of their own lists are read as before.
    for (const path of [`/v1/customers?starting_after=${a.id}`, `/v1/grants?customer=${b.id}&starting_after=${grantB.id}`,
      `/v1/usage_events?customer=${b.id}&starting_after=e-${b.id}`, `/v1/ledger/transactions?customer=${b.id}&starting_after=${usageOfB.id}&order=desc`,
      `/v1/ledger/transactions?starting_after=${usageOfB.id}`, `/v1/promotions/${promotion.id}/codes?starting_after=${promotion.code}`]) {
      expect((await api.get(path)).status, path).toBe(200);
    }
    // A usage charge's id carries its event's minute: its place among the customer's transactions
    // is read from that id, as before.
    const all = (await listAll(api, `/v1/ledger/transactions?customer=${b.id}`)).map((t) => t.id as string);
    const newer = (await api.get(`/v1/ledger/transactions?customer=${b.id}&starting_after=${usageOfB.id}`)).body.data;
    expect(newer.map((t: { id: string }) => t.id)).toEqual(all.slice(all.indexOf(usageOfB.id) + 1));
    expect(all).toHaveLength(2);
  });
});
