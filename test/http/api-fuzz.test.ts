import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { dialects } from '../support/databases.ts';
import { useServer } from '../support/server.ts';
import { ApiFuzzer, seeded } from '../support/api-fuzz.ts';

/**
 * Every operation of the OpenAPI document, driven by requests made from its own schemas and then
 * spoiled (test/support/api-fuzz.ts): no answer is a 5xx, every refusal has the API's error shape,
 * and the ledger stays balanced whatever was accepted (PRODUCT §2, §16), one request at a time and
 * eight at once (the writes of one customer or object racing each other). The runs are seeded, so a
 * failure names the seed that makes its request again; `TALLY_FUZZ_RUNS` and `TALLY_FUZZ_SEED`
 * run a longer or another campaign.
 */
const runs = Number(process.env.TALLY_FUZZ_RUNS ?? 700);
const campaign = Number(process.env.TALLY_FUZZ_SEED ?? 20261205);
/** Requests sent at once in the second test, and its rounds. */
const inFlight = 8;
const concurrentRuns = Math.ceil(Number(process.env.TALLY_FUZZ_RUNS ?? 700) / 8 / 2);

describe.each(dialects)('every operation under generated and hostile input on %s', (dialect) => {
  const ctx = useServer(dialect);

  it(`answers ${runs} requests below 500, refusals in the error shape, the ledger balanced after`, async () => {
    const { api } = ctx;
    const doc = (await api.get('/openapi.json')).body;
    const fuzzer = new ApiFuzzer(doc, Date.now());
    expect(fuzzer.operationCount).toBeGreaterThan(90);
    await fuzzer.seed(api);
    const seen = new Map<string, Set<number>>();
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 2 ** 31 - 1 }), async (seed) => {
        const request = fuzzer.request(seeded(seed));
        const response = await api.request(request.method, request.path, request.body);
        const statuses = seen.get(request.operationId) ?? new Set<number>();
        statuses.add(response.status);
        seen.set(request.operationId, statuses);
        const shown = `${request.method} ${request.path.slice(0, 300)} ${JSON.stringify(request.body)?.slice(0, 500)} → ${response.status} ${JSON.stringify(response.body)?.slice(0, 300)}`;
        expect(response.status, shown).toBeLessThan(500);
        if (response.status >= 400) expect(response.body?.error, shown).toMatchObject({ code: expect.any(String), message: expect.any(String) });
        if (response.status < 300) fuzzer.harvest(response.body);
      }),
      { numRuns: runs, seed: campaign, endOnFailure: true },
    );
    // The campaign reached most operations, and got past validation in many.
    expect(seen.size).toBeGreaterThan(fuzzer.operationCount * 0.8);
    const accepted = [...seen.values()].filter((statuses) => [...statuses].some((s) => s < 300)).length;
    expect(accepted).toBeGreaterThan(fuzzer.operationCount * 0.5);
    const check = await api.get('/v1/ledger/check');
    expect(check.body).toMatchObject({ ok: true, unbalanced_transactions: [], balance_discrepancies: [] });
  }, 240_000);

  it(`answers ${concurrentRuns} rounds of ${inFlight} requests at once below 500, the ledger balanced after`, async () => {
    const { api } = ctx;
    const fuzzer = new ApiFuzzer((await api.get('/openapi.json')).body, Date.now());
    await fuzzer.seed(api);
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer({ min: 0, max: 2 ** 31 - 1 }), { minLength: inFlight, maxLength: inFlight }), async (seeds) => {
        const requests = seeds.map((seed) => fuzzer.request(seeded(seed)));
        const responses = await Promise.all(requests.map((r) => api.request(r.method, r.path, r.body)));
        responses.forEach((response, i) => {
          const shown = `${requests[i]!.method} ${requests[i]!.path.slice(0, 300)} ${JSON.stringify(requests[i]!.body)?.slice(0, 500)} → ${response.status} ${JSON.stringify(response.body)?.slice(0, 300)}`;
          expect(response.status, shown).toBeLessThan(500);
          if (response.status >= 400) expect(response.body?.error, shown).toMatchObject({ code: expect.any(String), message: expect.any(String) });
          if (response.status < 300) fuzzer.harvest(response.body);
        });
      }),
      { numRuns: concurrentRuns, seed: campaign + 1, endOnFailure: true },
    );
    const check = await api.get('/v1/ledger/check');
    expect(check.body).toMatchObject({ ok: true, unbalanced_transactions: [], balance_discrepancies: [] });
  }, 240_000);
});
