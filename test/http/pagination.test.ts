import { describe, expect, it } from 'vitest';
import { dialects } from '../support/databases.ts';
import { useServer } from '../support/server.ts';
import { listAll, newCustomer, newGrant } from './fixtures.ts';

/** Cursor pagination (PRODUCT §12): pages follow `next_cursor` until `has_more` is false. */
describe.each(dialects)('cursor pagination on %s', (dialect) => {
  const ctx = useServer(dialect);

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

  it('uses the default page size of 20 and caps the limit at 100', async () => {
    const { api } = ctx;
    const total = (await listAll(api, '/v1/customers')).length;
    for (let i = total; i < 21; i++) await newCustomer(api, { clock: null });
    const all = Math.max(total, 21);
    const first = await api.get('/v1/customers');
    expect(first.body.data).toHaveLength(20);
    expect(first.body.has_more).toBe(true);
    const big = await api.get('/v1/customers?limit=999');
    expect(big.status).toBe(200);
    expect(big.body.data).toHaveLength(Math.min(all, 100));
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
});
