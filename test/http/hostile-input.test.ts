import { describe, expect, it } from 'vitest';
import { request as httpRequest } from 'node:http';
import { gzipSync } from 'node:zlib';
import { dialects } from '../support/databases.ts';
import { adminKey, useServer, unique } from '../support/server.ts';
import { newCustomer, newGrant, perUnitMeter } from './fixtures.ts';

/** `{"a":{"a":…1…}}` nested `levels` deep, written as text (a recursive stringify would overflow). */
const nestedText = (levels: number): string => `${'{"a":'.repeat(levels)}1${'}'.repeat(levels)}`;

/** A raw HTTP request, for what fetch will not send (bad bytes, odd URLs, other charsets). */
function raw(baseUrl: string, method: string, path: string, body?: Buffer | string, headers: Record<string, string> = {}): Promise<{ status: number; body: any; headers: Record<string, unknown> }> {
  const url = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: url.hostname, port: url.port, method, path, headers: { authorization: `Bearer ${adminKey}`, ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let parsed: unknown = text;
        try {
          parsed = JSON.parse(text);
        } catch {
          // not JSON: kept as text, the assertion shows it
        }
        resolve({ status: res.statusCode ?? 0, body: parsed, headers: res.headers });
      });
    });
    req.on('error', reject);
    if (body !== undefined) req.end(body);
    else req.end();
  });
}

const errorShape = (code: string) => ({ error: expect.objectContaining({ code, message: expect.any(String) }) });

/** No input makes the server answer 5xx, and every refusal has the API's shape (PRODUCT §12, §16). */
describe.each(dialects)('hostile input on %s', (dialect) => {
  const ctx = useServer(dialect);

  it('refuses an event nested deeper than 8 levels alone; its batch and every other walk stay up', async () => {
    const { api } = ctx;
    const customer = await newCustomer(api, { overage: true });
    const meter = await perUnitMeter(api);
    const good = `good-${unique('e')}`;
    const body = `{"events":[{"id":"deep-${unique('e')}","customer":"${customer.id}","type":"${meter.type}","properties":{"n":1,"d":${nestedText(5000)}}},`
      + `{"id":"${good}","customer":"${customer.id}","type":"${meter.type}","properties":{"n":2}},`
      + `{"id":"nine-${unique('e')}","customer":"${customer.id}","type":"${meter.type}","properties":{"n":1,"d":${nestedText(8)}}},`
      + `{"id":"eight-${unique('e')}","customer":"${customer.id}","type":"${meter.type}","properties":{"n":1,"d":${nestedText(7)}}}]}`;
    for (const headers of [{}, { 'idempotency-key': unique('idem') }] as Record<string, string>[]) {
      const response = await api.request('POST', '/v1/events', body, headers);
      expect(response.status, JSON.stringify(response.body).slice(0, 300)).toBe(200);
      const [deep, ok, nine, eight] = response.body.results;
      expect(deep).toMatchObject({ status: 'rejected', error: { code: 'too_deep', field: 'properties' } });
      expect(ok.status).toMatch(/accepted|duplicate/);
      expect(nine).toMatchObject({ status: 'rejected', error: { code: 'too_deep', field: 'properties' } });
      expect(eight.status).toMatch(/accepted|duplicate/);
    }
    expect((await api.get(`/v1/usage_events/${good}`)).status).toBe(200);

    const deepEvent = `{"type":"${meter.type}","properties":{"d":${nestedText(5000)}}}`;
    const authorize = await api.request('POST', `/v1/customers/${customer.id}/authorize`, `{"event":${deepEvent}}`, { 'idempotency-key': unique('idem') });
    expect(authorize.status).toBe(400);
    expect(authorize.body.error.details.fields).toEqual([expect.objectContaining({ field: 'event.properties', code: 'too_deep' })]);

    await newGrant(api, customer.id, '10');
    const hold = await api.post('/v1/holds', { customer: customer.id, credits: '5', expires_in: 60 });
    const capture = await api.request('POST', `/v1/holds/${hold.body.id}/capture`, `{"event":{"id":"${unique('e')}","type":"${meter.type}","properties":{"d":${nestedText(5000)}}}}`);
    expect(capture.status).toBe(400);
    expect(capture.body).toEqual(errorShape(capture.body.error.code));
    // A deep body elsewhere is hashed for Idempotency-Key and refused by its schema, never a 5xx.
    const customerBody = await api.request('POST', '/v1/customers', `{"currency":"USD","metadata":{"a":${nestedText(5000)}}}`, { 'idempotency-key': unique('idem') });
    expect(customerBody.status).toBe(400);
  });

  it('refuses a NUL character in a body, a path or a query string with 400 and the field, storing nothing', async () => {
    const { api } = ctx;
    const before = (await api.get('/v1/customers?limit=100')).body.data.length;
    const named = await api.post('/v1/customers', { currency: 'USD', name: 'a\u0000b', external_id: unique('nul') });
    expect(named.status).toBe(400);
    expect(named.body.error).toMatchObject({ code: 'validation_failed', details: { fields: [{ field: 'name', code: 'nul_character' }] } });
    expect((await api.get('/v1/customers?limit=100')).body.data.length).toBe(before);

    const path = await api.get('/v1/customers/x%00y');
    expect(path.status).toBe(400);
    expect(path.body.error.details.fields).toEqual([expect.objectContaining({ field: 'id', code: 'nul_character' })]);
    const query = await api.get('/v1/usage_events?customer=a%00b');
    expect(query.status).toBe(400);
    expect(query.body.error.details.fields).toEqual([expect.objectContaining({ field: 'customer', code: 'nul_character' })]);

    const customer = await newCustomer(api);
    const meter = await perUnitMeter(api);
    const ok = unique('ev');
    const batch = await api.post('/v1/events', { events: [
      { id: `x\u0000${unique('ev')}`, customer: customer.id, type: meter.type, properties: { n: 1 } },
      { id: unique('ev'), customer: customer.id, type: meter.type, properties: { n: 1, note: 'a\u0000' } },
      { id: ok, customer: customer.id, type: meter.type, properties: { n: 1 } },
    ] });
    expect(batch.status).toBe(200);
    expect(batch.body.results.map((r: any) => [r.status, r.error?.code, r.error?.field])).toEqual([
      ['rejected', 'nul_character', 'id'], ['rejected', 'nul_character', 'properties.note'], ['accepted', undefined, undefined],
    ]);
  });

  it('serves every id up to 255 characters by path, percent-encoded too', async () => {
    const { api } = ctx;
    const customer = await newCustomer(api);
    const meter = await perUnitMeter(api);
    const ascii = `e${'x'.repeat(254)}`;
    const accented = `é${'ü'.repeat(254)}`;
    const results = await api.post('/v1/events', { events: [ascii, accented].map((id) => ({ id, customer: customer.id, type: `${meter.type}`, properties: { n: 1 } })) });
    expect(results.body.results.map((r: any) => r.status)).toEqual(['accepted', 'accepted']);
    for (const id of [ascii, accented]) {
      const fetched = await api.get(`/v1/usage_events/${encodeURIComponent(id)}`);
      expect(fetched.status, JSON.stringify(fetched.body).slice(0, 200)).toBe(200);
      expect(fetched.body.id).toBe(id);
    }
    const external = `c${'y'.repeat(254)}`;
    expect((await api.post('/v1/customers', { currency: 'USD', external_id: external })).status).toBe(201);
    expect((await api.get(`/v1/customers/${external}`)).body.external_id).toBe(external);
    const tooLong = await api.get(`/v1/usage_events/${'z'.repeat(256)}`);
    expect(tooLong.status).toBe(400);
    expect(tooLong.body).toEqual(errorShape('validation_failed'));
  });

  it('answers every error in the API shape with an X-Request-Id: routes, URLs, sizes, encodings', async () => {
    const { api } = ctx;
    const cases: [Promise<{ status: number; body: any; headers: any }>, number, string][] = [
      [api.get('/v1/nowhere'), 404, 'route_not_found'],
      [raw(api.baseUrl, 'GET', '/v1/customers/%E0%A4%A'), 400, 'invalid_url'],
      [raw(api.baseUrl, 'GET', `/v1/usage_events/${'a'.repeat(3000)}`), 414, 'uri_too_long'],
      [raw(api.baseUrl, 'GET', `/v1/customers?x=${'a'.repeat(20_000)}`), 431, 'headers_too_large'],
      [api.request('POST', '/v1/customers', `{"currency":"USD","name":"${'n'.repeat(1_100_000)}"}`), 413, 'payload_too_large'],
      [api.request('POST', '/v1/customers', '{"currency":'), 400, 'invalid_json'],
      [api.request('POST', '/v1/customers', '{"currency":"USD"}', { 'content-type': 'text/plain' }), 415, 'unsupported_media_type'],
      [raw(api.baseUrl, 'POST', '/v1/customers', Buffer.from('{"currency":"USD"}', 'utf16le'), { 'content-type': 'application/json; charset=utf-16' }), 415, 'unsupported_charset'],
      [raw(api.baseUrl, 'POST', '/v1/customers', Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d]), { 'content-type': 'application/json' }), 400, 'invalid_encoding'],
      [raw(api.baseUrl, 'POST', '/v1/customers', gzipSync('{"currency":"USD"}'), { 'content-type': 'application/json', 'content-encoding': 'gzip' }), 415, 'unsupported_content_encoding'],
      [api.request('POST', '/v1/customers', '{"currency":"USD"}', { 'content-encoding': 'br' }), 415, 'unsupported_content_encoding'],
      [api.as(null).get('/v1/customers'), 401, 'missing_api_key'],
    ];
    for (const [pending, status, code] of cases) {
      const response = await pending;
      expect([response.status, response.body], code).toEqual([status, errorShape(code)]);
      const id = typeof response.headers.get === 'function' ? response.headers.get('x-request-id') : response.headers['x-request-id'];
      expect(id, `x-request-id of ${code}`).toMatch(/^\S{1,128}$/);
    }
    const utf8 = await api.request('POST', '/v1/customers', '{"currency":"USD"}', { 'content-type': 'application/json; charset=UTF-8' });
    expect(utf8.status).toBe(201);
    const identity = await api.request('POST', '/v1/customers', '{"currency":"USD"}', { 'content-encoding': 'Identity' });
    expect(identity.status).toBe(201);
    const echoed = await api.request('GET', '/healthz', undefined, { 'x-request-id': 'trace-42' });
    expect(echoed.headers.get('x-request-id')).toBe('trace-42');
    const replaced = await api.request('GET', '/healthz', undefined, { 'x-request-id': 'bad id with spaces' });
    expect(replaced.headers.get('x-request-id')).toMatch(/^req_/);
  });
});
