import { describe, expect, it } from 'vitest';
import { dialects } from '../support/databases.ts';
import { toMicro } from '../support/amounts.ts';
import { unique, useServer } from '../support/server.ts';
import { loadCostMicro, loadMeters, random } from '../support/usage-load.ts';
import { at, balance, expectLedgerConsistent, ingest, newClock, newCustomer, newGrant } from './fixtures.ts';

/**
 * Batched usage for many customers from concurrent clients over HTTP, as a load test drives it,
 * with every amount checked to the micro-credit against what the events must cost: a per-unit
 * meter and a graduated one on each event, two grants per customer (a small promotional one that
 * burns first), some customers running past their grants into overage or debt, and batches sent
 * twice at once. The rating of a period is exact whatever order the events are charged in
 * (PRODUCT §3), so each customer's total is known without knowing which request ran first.
 */
const customersCount = 120;
const batches = 16;
const eventsPerBatch = 250;
const clients = 4;

describe.each(dialects)('batched ingestion under load on %s', (dialect) => {
  const ctx = useServer(dialect);

  it('charges every event of concurrent batches exactly once, and every balance to the micro-credit', async () => {
    const { api } = ctx;
    const type = unique('llm');
    for (const meter of loadMeters(type, { tokens: unique('tokens'), requests: unique('requests') })) {
      const created = await api.post('/v1/meters', meter);
      expect(created.status, JSON.stringify(created.body)).toBe(201);
    }
    const clock = await newClock(api);
    // Every fourth customer has a paid grant of 0.05 credits, which its usage outruns: with
    // overage on (every other customer) the rest is overage, otherwise debt.
    const customers: { id: string; overage: boolean; grantedMicro: bigint }[] = [];
    for (let i = 0; i < customersCount; i += 20) {
      customers.push(...await Promise.all(Array.from({ length: 20 }, async (_, k) => {
        const n = i + k;
        const overage = n % 2 === 0;
        const paid = n % 4 === 3 ? '0.05' : '50';
        const customer = await newCustomer(api, { clock, overage });
        await newGrant(api, customer.id, '0.4', { category: 'promotional', source: 'promotion', priority: 10 });
        await newGrant(api, customer.id, paid);
        return { id: customer.id, overage, grantedMicro: toMicro('0.4') + toMicro(paid) };
      })));
    }

    const next = random(7);
    const tokens = new Map<string, bigint>();
    const requests = new Map<string, bigint>();
    const sent: { id: string; customer: string; type: string; timestamp: string; properties: { tokens: number } }[][] = [];
    for (let b = 0; b < batches; b++) {
      const batch = [];
      for (let e = 0; e < eventsPerBatch; e++) {
        const customer = customers[Math.floor(next() * customers.length)]!.id;
        const count = 1 + Math.floor(next() * 5000);
        batch.push({ id: unique('ev'), customer, type, timestamp: at(Math.floor(next() * 120_000)), properties: { tokens: count } });
        tokens.set(customer, (tokens.get(customer) ?? 0n) + BigInt(count));
        requests.set(customer, (requests.get(customer) ?? 0n) + 1n);
      }
      sent.push(batch);
    }

    // Four clients take batches in turn; every fourth batch is also sent a second time at once.
    const results: any[] = [];
    let taken = 0;
    await Promise.all(Array.from({ length: clients }, async () => {
      while (taken < sent.length) {
        const batch = sent[taken++]!;
        const answers = await Promise.all(taken % 4 === 0 ? [ingest(api, batch), ingest(api, batch)] : [ingest(api, batch)]);
        for (const answer of answers) results.push(...answer);
      }
    }));

    // Each event is accepted once; its twin, where there is one, is a duplicate with its charge.
    const accepted = new Map<string, any>();
    for (const r of results) {
      if (r.status !== 'accepted') continue;
      expect(accepted.has(r.id), `${r.id} accepted twice`).toBe(false);
      accepted.set(r.id, r);
    }
    expect(accepted.size).toBe(batches * eventsPerBatch);
    const duplicates = results.filter((r) => r.status === 'duplicate');
    expect(duplicates.length).toBe(results.length - accepted.size);
    expect(duplicates.length).toBe((batches / 4) * eventsPerBatch);
    for (const d of duplicates) expect(d.credits).toBe(accepted.get(d.id).credits);

    const chargedMicro = new Map<string, bigint>();
    for (const batch of sent) {
      for (const event of batch) chargedMicro.set(event.customer, (chargedMicro.get(event.customer) ?? 0n) + toMicro(accepted.get(event.id).credits));
    }
    let outrun = 0;
    for (const c of customers) {
      const costMicro = loadCostMicro(tokens.get(c.id) ?? 0n, requests.get(c.id) ?? 0n);
      expect(chargedMicro.get(c.id) ?? 0n, c.id).toBe(costMicro);
      const beyond = costMicro > c.grantedMicro ? costMicro - c.grantedMicro : 0n;
      if (beyond > 0n) outrun++;
      const b = await balance(api, c.id);
      expect({ available: toMicro(b.available), overage: toMicro(b.overage), debt: toMicro(b.debt) }, c.id).toEqual({
        available: c.grantedMicro - costMicro + beyond,
        overage: c.overage ? beyond : 0n,
        debt: c.overage ? 0n : beyond,
      });
    }
    // The small grants were outrun, so overage and debt were both exercised.
    expect(outrun).toBeGreaterThanOrEqual(customersCount / 8);
    await expectLedgerConsistent(api);
    const reconciliation = await api.get('/v1/reconciliation');
    expect(reconciliation.status).toBe(200);
    expect(reconciliation.body.checks.find((c: { name: string }) => c.name === 'usage_charged_once')).toEqual({ name: 'usage_charged_once', ok: true });
  }, 120_000);
});
