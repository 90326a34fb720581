import type { FastifyInstance } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import type { Engine } from '../../engine/context.ts';
import { createTestClock, startTestClockAdvance } from '../../engine/test-clocks.ts';
import { createApiKey } from '../../engine/api-keys.ts';
import { checkLedger } from '../../engine/reconcile.ts';
import { ok } from '../../core/errors.ts';
import * as S from '../schemas.ts';
import * as V from '../views.ts';
import * as R from '../records-schemas.ts';
import { List, responds } from '../openapi.ts';
import { hiddenCustomer, pageOf, send, sendError } from '../reply.ts';
import { customerFilter } from './credits.ts';
import type { Metrics } from '../metrics.ts';

const LedgerCheck = Type.Object({
  ok: Type.Boolean(),
  unbalanced_transactions: Type.Array(Type.Object({ transaction: Type.String(), sum: Type.String(), entries: Type.Integer() }, { additionalProperties: false })),
  balance_discrepancies: Type.Array(Type.Object({ customer: Type.String(), account: Type.String(), stored: Type.String(), summed: Type.String() }, { additionalProperties: false })),
}, { additionalProperties: false });

/**
 * How long an advance request waits for its job before answering `status: advancing` (the job goes on;
 * the clock is polled until `ready`). Small populations finish well within it and answer `ready`.
 */
export const defaultTestClockWaitMs = 10_000;

/** Test clocks, API keys, the ledger and the domain-event log, health and metrics. */
export function systemRoutes(app: FastifyInstance, engine: Engine, metrics: Metrics, options: { testClockWaitMs?: number | undefined; metricsPublic: boolean }): void {
  const testClockWaitMs = options.testClockWaitMs ?? defaultTestClockWaitMs;
  app.post<{ Body: Static<typeof S.CreateTestClock> }>('/v1/test_clocks', {
    schema: { tags: ['test clocks'], operationId: 'createTestClock', summary: 'Create a test clock', response: responds(201, Type.Ref(R.TestClock), 'The test clock created.'), body: S.CreateTestClock },
  }, async (req, reply) => send(reply, await createTestClock(engine, req.body), V.testClockView, 201));

  app.get<{ Params: Static<typeof S.IdParam> }>('/v1/test_clocks/:id', {
    config: { scope: 'read' },
    schema: { tags: ['test clocks'], operationId: 'getTestClock', summary: 'Fetch a test clock', response: responds(200, Type.Ref(R.TestClock), 'The test clock.'), params: S.IdParam },
  }, async (req, reply) => {
    const clock = await engine.store.read.customers.getClock(req.params.id);
    if (!clock) return sendError(reply, { code: 'test_clock_not_found', message: 'No such test clock.' });
    return reply.send(V.testClockView(clock));
  });

  app.post<{ Params: Static<typeof S.IdParam>; Body: Static<typeof S.AdvanceTestClock> }>('/v1/test_clocks/:id/advance', {
    schema: {
      tags: ['test clocks'],
      operationId: 'advanceTestClock',
      summary: 'Advance a test clock, running everything due on the way in time order, as a job: status ready (with ran) when done within the wait bound, else advancing (poll the clock until ready)',
      response: responds(200, Type.Composite([R.TestClock, Type.Object({ ran: Type.Optional(Type.Integer({ description: 'Due work items run on the way; present once the clock is ready.' })) })], { additionalProperties: false }), 'The test clock: ready at its new time, or still advancing towards advancing_to.'),
      params: S.IdParam, body: S.AdvanceTestClock,
    },
  }, async (req, reply) => {
    const outcome = await startTestClockAdvance(engine, req.params.id, req.body, testClockWaitMs);
    if (!outcome.ok) return sendError(reply, outcome.error);
    const { clock, ran } = outcome.value;
    return reply.send(ran === null ? V.testClockView(clock) : { ...V.testClockView(clock), ran });
  });

  app.post<{ Body: Static<typeof S.CreateApiKey> }>('/v1/api_keys', {
    config: { secretInReply: true },
    schema: { tags: ['api keys'], operationId: 'createApiKey', summary: 'Create an API key; the secret is shown once', response: responds(201, Type.Composite([R.ApiKey, Type.Object({ secret: Type.String({ description: 'The key itself; shown only in this reply.' }) })], { additionalProperties: false }), 'The API key with its secret.'), body: S.CreateApiKey },
  }, async (req, reply) => send(reply, await createApiKey(engine, req.body), (v) => ({ ...V.apiKeyView(v.key), secret: v.secret }), 201));

  app.get<{ Querystring: Static<typeof S.PageQuery> }>('/v1/api_keys', {
    schema: { tags: ['api keys'], operationId: 'listApiKeys', summary: 'List API keys', response: responds(200, List(Type.Ref(R.ApiKey), 'A page of API keys.')), querystring: S.PageQuery },
  }, async (req, reply) => reply.send(V.listView(await engine.store.read.access.listKeys(pageOf(req.query)), V.apiKeyView, (k) => k.id)));

  app.post<{ Params: Static<typeof S.IdParam> }>('/v1/api_keys/:id/revoke', {
    schema: { tags: ['api keys'], operationId: 'revokeApiKey', summary: 'Revoke an API key', response: responds(200, Type.Object({ id: Type.String(), object: Type.Literal('api_key'), revoked: Type.Boolean() }, { additionalProperties: false }), 'The key is revoked.'), params: S.IdParam },
  }, async (req, reply) => {
    const changed = await engine.store.read.access.revokeKey(req.params.id, engine.clock.now());
    if (changed === 0) return sendError(reply, { code: 'api_key_not_found', message: 'No active API key with this id.' });
    return reply.send({ id: req.params.id, object: 'api_key', revoked: true });
  });

  app.get<{ Querystring: Static<typeof S.CustomerPageQuery> }>('/v1/ledger/transactions', {
    config: { scope: 'read' },
    schema: { tags: ['ledger'], operationId: 'listLedgerTransactions', summary: 'List ledger transactions with their entries',
      description: 'In id order (`order=desc`: newest first). A transaction\'s id follows the time it was written, except a usage charge\'s, which carries its event\'s timestamp: the charge of an event sent late lists at the time of its usage.',
      response: responds(200, List(Type.Ref(R.LedgerTransaction), 'A page of ledger transactions.')), querystring: S.CustomerPageQuery },
  }, async (req, reply) => {
    const customerId = await customerFilter(engine, req.caller?.customerId ?? null, req.query.customer);
    if (customerId === false) return sendError(reply, hiddenCustomer(req.query.customer ?? ''));
    return reply.send(V.listView(await engine.store.read.ledger.listTransactions(customerId, pageOf(req.query)), V.transactionView, (t) => t.id));
  });

  app.get<{ Params: Static<typeof S.IdParam> }>('/v1/ledger/transactions/:id', {
    config: { scope: 'read' },
    schema: { tags: ['ledger'], operationId: 'getLedgerTransaction', summary: 'Fetch a ledger transaction and walk to its cause', response: responds(200, Type.Ref(R.LedgerTransaction), 'The transaction.'), params: S.IdParam },
  }, async (req, reply) => {
    const [txn] = await engine.store.read.ledger.transactions([req.params.id]);
    if (!txn || (req.caller?.customerId && req.caller.customerId !== txn.customerId)) {
      return sendError(reply, { code: 'transaction_not_found', message: 'No such transaction.' });
    }
    return reply.send(V.transactionView(txn));
  });

  app.get('/v1/ledger/check', {
    schema: { tags: ['ledger'], operationId: 'checkLedger', summary: 'Rebuild every balance from its entries and compare with the stored balances', response: responds(200, LedgerCheck, 'What the rebuild found.') },
  }, async (_req, reply) => {
    return send(reply, ok(await checkLedger(engine)), (v) => ({
      ok: v.unbalanced.length === 0 && v.discrepancies.length === 0,
      unbalanced_transactions: v.unbalanced.map((u) => ({ transaction: u.txnId, sum: u.sumMicro.toString(), entries: u.entryCount })),
      balance_discrepancies: v.discrepancies.map((d) => ({ customer: d.customerId, account: d.account, stored: d.storedMicro.toString(), summed: d.summedMicro.toString() })),
    }));
  });

  app.get<{ Querystring: Static<typeof S.EventsLogQuery> }>('/v1/domain_events', {
    config: { scope: 'read' },
    schema: { tags: ['events'], operationId: 'listDomainEvents', summary: 'The audit trail: every state change as a typed event', response: responds(200, List(Type.Ref(R.DomainEvent), 'A page of domain events.')), querystring: S.EventsLogQuery },
  }, async (req, reply) => {
    const customerId = await customerFilter(engine, req.caller?.customerId ?? null, req.query.customer);
    if (customerId === false) return sendError(reply, hiddenCustomer(req.query.customer ?? ''));
    const page = await engine.store.read.ledger.listDomainEvents({ customerId: customerId ?? undefined, type: req.query.type }, pageOf(req.query));
    return reply.send(V.listView(page, V.domainEventView, (e) => e.id));
  });

  app.get('/healthz', { config: { scope: 'public' }, schema: { tags: ['system'], operationId: 'getHealth', summary: 'Liveness and database check', response: responds(200, Type.Object({ ok: Type.Boolean(), database: Type.String({ examples: ['sqlite'] }) }, { additionalProperties: false }), 'The server and its database answer.'), security: [] } }, async (_req, reply) => {
    await engine.store.read.c.query('SELECT 1 AS ok');
    return reply.send({ ok: true, database: engine.store.dialect });
  });

  // Metrics name routes and volumes: admin only, unless TALLY_METRICS_PUBLIC=1 opens them to a scraper.
  app.get('/metrics', { config: { scope: options.metricsPublic ? 'public' : 'admin' }, schema: { hide: true } }, async (_req, reply) => {
    return reply.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });
}
