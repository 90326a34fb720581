import { describe, expect, it } from 'vitest';
import { dialects } from '../support/databases.ts';
import { unique, useServer } from '../support/server.ts';

/** GET /v1/customers?q=: by id, external id or email, or the start of a name or email; paginated. */
describe.each(dialects)('customer search on %s', (dialect) => {
  const ctx = useServer(dialect);

  it('finds customers by id, external id, email and name or email prefix, page by page', async () => {
    const { api } = ctx;
    const tag = unique('Srch').replace(/_/g, '');
    const made = [];
    for (let i = 0; i < 5; i += 1) {
      const created = await api.post('/v1/customers', { currency: 'USD', external_id: `${tag}-ext-${i}`, name: `${tag} Customer ${i}`, email: `${tag.toLowerCase()}${i}@example.test` });
      expect(created.status).toBe(201);
      made.push(created.body);
    }
    const ids = (body: { data: { id: string }[] }) => body.data.map((c) => c.id);
    expect(ids((await api.get(`/v1/customers?q=${made[2].id}`)).body)).toEqual([made[2].id]);
    expect(ids((await api.get(`/v1/customers?q=${tag}-ext-3`)).body)).toEqual([made[3].id]);
    expect(ids((await api.get(`/v1/customers?q=${encodeURIComponent(made[1].email)}`)).body)).toEqual([made[1].id]);
    expect(ids((await api.get(`/v1/customers?q=${encodeURIComponent(`${tag} Cust`)}`)).body).sort()).toEqual(made.map((c) => c.id).sort());
    const first = (await api.get(`/v1/customers?q=${encodeURIComponent(tag)}&limit=3`)).body;
    expect(first.data).toHaveLength(3);
    expect(first.has_more).toBe(true);
    // The customer that ended the first page, renamed since (name and email), no longer matches
    // the search but still continues it.
    const cursor = first.next_cursor as string;
    const renamed = await api.post(`/v1/customers/${cursor}`, { name: 'Renamed', email: 'renamed@example.test' });
    expect(renamed.status, JSON.stringify(renamed.body)).toBe(200);
    const second = (await api.get(`/v1/customers?q=${encodeURIComponent(tag)}&limit=3&starting_after=${cursor}`)).body;
    expect([...ids(first), ...ids(second)].sort()).toEqual(made.map((c) => c.id).sort());
    expect((await api.get('/v1/customers?q=nobody-like-this')).body.data).toEqual([]);
    expect((await api.get('/v1/customers?q=')).status).toBe(400);
  });

  it('ignores case in names and emails, and still matches ids and external ids exactly', async () => {
    const { api } = ctx;
    const tag = unique('Case').replace(/_/g, '');
    const made = (await api.post('/v1/customers', { currency: 'USD', external_id: `${tag}-Ext`, name: `${tag} Zephyr Analytics`, email: `Ops.${tag}@Zephyr.Example` })).body;
    const other = (await api.post('/v1/customers', { currency: 'USD', name: `${tag.toUpperCase()} ZEPHYR LABS` })).body;
    const ids = async (q: string) => (await api.get(`/v1/customers?q=${encodeURIComponent(q)}`)).body.data.map((c: { id: string }) => c.id).sort();
    expect(await ids(`${tag.toLowerCase()} zeph`)).toEqual([made.id, other.id].sort());
    expect(await ids(`${tag.toUpperCase()} ZEPHYR A`)).toEqual([made.id]);
    expect(await ids(`ops.${tag.toLowerCase()}@zephyr.example`)).toEqual([made.id]);
    expect(await ids(`OPS.${tag.toUpperCase()}`)).toEqual([made.id]);
    expect(await ids(`${tag}-Ext`)).toEqual([made.id]);
    expect(await ids(`${tag}-ext`)).toEqual([]);
  });
});
