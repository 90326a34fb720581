import { describe, expect, it } from 'vitest';
import { dialects } from '../support/databases.ts';
import { useServer } from '../support/server.ts';

/** The public surface: the OpenAPI 3.1 document, interactive docs and the health check. */
describe.each(dialects)('OpenAPI, docs and health on %s', (dialect) => {
  const ctx = useServer(dialect);

  it('serves an OpenAPI 3.1 document with every path, without a key', async () => {
    const response = await ctx.api.as(null).get('/openapi.json');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/application\/json/);
    const doc = response.body;
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.info).toMatchObject({ title: 'Tally API' });
    const paths = Object.keys(doc.paths);
    for (const path of [
      '/v1/customers',
      '/v1/customers/{id}',
      '/v1/customers/{id}/balance',
      '/v1/customers/{id}/authorize',
      '/v1/meters',
      '/v1/grants',
      '/v1/grants/{id}/void',
      '/v1/events',
      '/v1/usage_events/{id}',
      '/v1/holds',
      '/v1/holds/{id}/capture',
      '/v1/holds/{id}/release',
      '/v1/test_clocks',
      '/v1/test_clocks/{id}/advance',
      '/v1/api_keys',
      '/v1/domain_events',
      '/v1/ledger/transactions',
      '/v1/credit_notes',
      '/v1/credit_notes/{id}/refund',
      '/v1/customers/{id}/money_balance',
      '/healthz',
    ]) expect(paths, path).toContain(path);
    expect(doc.components.securitySchemes.apiKey).toMatchObject({ type: 'http', scheme: 'bearer' });
  });

  it('documents request bodies from the schemas that validate them', async () => {
    const doc = (await ctx.api.as(null).get('/openapi.json')).body;
    const grant = doc.paths['/v1/grants'].post.requestBody.content['application/json'].schema;
    expect(grant.required).toEqual(expect.arrayContaining(['customer', 'credits', 'category', 'source']));
    expect(grant.properties.credits).toMatchObject({ type: 'string', pattern: '^-?[0-9]+(\\.[0-9]+)?$' });
    expect(grant.properties.priority).toMatchObject({ type: 'integer', minimum: 0, maximum: 100 });
    expect(grant.additionalProperties).toBe(false);
    const events = doc.paths['/v1/events'].post.requestBody.content['application/json'].schema;
    expect(events.properties.events).toMatchObject({ type: 'array', maxItems: 1000, minItems: 1 });
    expect(JSON.stringify(events.properties.events.items)).toContain('"customer"');
  });

  it('answers /healthz with ok and the database dialect, without a key', async () => {
    const response = await ctx.api.as(null).get('/healthz');
    expect(response.status).toBe(200);
    expect(response.body).toEqual({ ok: true, database: dialect });
  });

  it('serves the interactive docs as HTML, without a key', async () => {
    const response = await ctx.api.as(null).get('/docs');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/text\/html/);
    expect(String(response.body)).toMatch(/<html/i);
  });
});
