import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Type } from '@sinclair/typebox';
import openapiTS, { astToString } from 'openapi-typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openapiDocument } from '../../src/cli/openapi-document.ts';
import { responds } from '../../src/server/openapi.ts';
import { useServer } from '../support/server.ts';

type Operation = {
  operationId?: string;
  summary?: string;
  tags?: string[];
  security?: unknown[];
  responses: Record<string, { description: string; content?: Record<string, { schema: Record<string, unknown> }> }>;
};

const methods = ['get', 'post', 'put', 'patch', 'delete'] as const;

function operations(doc: any): { method: string; path: string; op: Operation }[] {
  return Object.entries(doc.paths as Record<string, Record<string, Operation>>).flatMap(([path, item]) =>
    methods.filter((m) => item[m]).map((method) => ({ method, path, op: item[method]! })));
}

/**
 * The OpenAPI document describes every reply (PRODUCT §12): a user can generate a typed client from
 * it. The document does not depend on the database, so one dialect suffices here.
 */
describe('the OpenAPI document', () => {
  let doc: any;
  let dir: string;
  beforeAll(async () => {
    doc = await openapiDocument();
    dir = mkdtempSync(join(tmpdir(), 'tally-openapi-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('gives every operation an operationId, a summary, a tag, its success reply with a schema and the shared error', () => {
    const ids = new Set<string>();
    for (const { method, path, op } of operations(doc)) {
      const where = `${method.toUpperCase()} ${path}`;
      expect(op.operationId, where).toMatch(/^[a-z][A-Za-z]+$/);
      expect(ids.has(op.operationId!), `${where}: duplicate operationId`).toBe(false);
      ids.add(op.operationId!);
      expect(op.summary, where).toBeTruthy();
      expect(op.tags?.length, where).toBe(1);
      const success = Object.keys(op.responses).filter((s) => s.startsWith('2'));
      expect(success, where).toHaveLength(1);
      const reply = op.responses[success[0]!]!;
      expect(reply.description, where).not.toBe('Default Response');
      expect(reply.content?.['application/json']?.schema, where).toBeTruthy();
      for (const status of ['4XX', '5XX']) {
        expect(op.responses[status]?.content?.['application/json']?.schema, `${where} ${status}`).toEqual({ $ref: '#/components/schemas/Error' });
      }
    }
    expect(ids.size).toBeGreaterThan(40);
  });

  it('answers 201 where a POST creates, and 200 elsewhere', () => {
    const created = operations(doc).filter(({ op }) => op.responses['201']).map(({ op }) => op.operationId);
    expect(created).toEqual(expect.arrayContaining(['createCustomer', 'createGrant', 'createMeter', 'createHold', 'createPlan', 'createSubscription', 'createRefund', 'createChargeback', 'recordPayment', 'purchaseCredits', 'createApiKey', 'createTestClock']));
    expect(doc.paths['/v1/customers/{id}/balance'].get.responses['200'].content['application/json'].schema).toEqual({ $ref: '#/components/schemas/Balance' });
  });

  it('shares the records as components, with descriptions and examples', () => {
    const schemas = doc.components.schemas;
    for (const name of ['Error', 'Customer', 'Balance', 'Grant', 'UsageEventResult', 'UsageEvent', 'LedgerTransaction', 'Invoice', 'Subscription', 'Plan', 'Refund', 'Chargeback', 'Report', 'Reconciliation']) {
      expect(schemas[name], name).toMatchObject({ type: 'object', description: expect.any(String) });
    }
    expect(schemas.Balance.properties.available).toMatchObject({ type: 'string' });
    expect(schemas.Balance.examples[0].available).toBe('750.5');
    expect(schemas.Customer.examples).toHaveLength(1);
  });

  it('passes `redocly lint` (recommended rules) with no error and no warning, offline', async () => {
    const file = join(dir, 'openapi.json');
    writeFileSync(file, JSON.stringify(doc));
    const { stdout, stderr } = await promisify(execFile)(
      process.execPath,
      [join(process.cwd(), 'node_modules/@redocly/cli/bin/cli.js'), 'lint', '--extends=recommended', '--format=stylish', file],
      { cwd: dir, env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true', NO_COLOR: '1' }, timeout: 60_000 },
    ).catch((error: { stdout: string; stderr: string }) => ({ stdout: error.stdout, stderr: `${error.stderr}\nexit: failed` }));
    const output = `${stdout}\n${stderr}`;
    expect(output, output).toContain('Your API description is valid');
    // (The CLI's banner about Node.js versions is not a finding about the document.)
    expect(output, output).not.toMatch(/\d+ warnings?\b|\d+ errors?\b|exit: failed/i);
  }, 90_000);

  it('generates, with openapi-typescript, a client that types the balance as strings', async () => {
    const types = astToString(await openapiTS(doc));
    const balance = types.slice(types.indexOf('        Balance: {'), types.indexOf('        };', types.indexOf('        Balance: {')));
    expect(balance).toMatch(/\n\s+available: string;/);
    expect(types).toMatch(/getBalance: \{[\s\S]*?200: \{[\s\S]*?"application\/json": components\["schemas"\]\["Balance"\]/);
  });
});

describe('a reply that drifts from its schema', () => {
  const ctx = useServer('sqlite', {
    extraRoutes: [(app) => {
      app.get('/v1/test/drift', {
        schema: { operationId: 'driftingReply', tags: ['system'], summary: 'A route whose reply names a field its schema does not', response: responds(200, Type.Object({ ok: Type.Boolean() }, { additionalProperties: false })) },
      }, async () => ({ ok: true, secret_field: 'dropped by the serializer' }));
      app.get('/v1/test/missing', {
        schema: { operationId: 'missingField', tags: ['system'], summary: 'A route whose reply lacks a required field', response: responds(200, Type.Object({ ok: Type.Boolean(), total: Type.Integer() }, { additionalProperties: false })) },
      }, async () => ({ ok: true }));
    }],
  });

  it('fails the request instead of sending less than the view made', async () => {
    for (const path of ['/v1/test/drift', '/v1/test/missing']) {
      const response = await ctx.api.get(path);
      expect(response.status, path).toBe(500);
      expect(response.body.error.code).toBe('reply_schema_mismatch');
    }
  });
});
