import Fastify, { type FastifyError, type FastifyInstance } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { Socket } from 'node:net';
import type { Engine } from '../engine/context.ts';
import { IngestBatcher } from '../engine/ingest-batcher.ts';
import { stopTestClockAdvances } from '../engine/test-clocks.ts';
import { createAuthenticator } from './auth.ts';
import { registerIdempotency } from './idempotency.ts';
import { errorBody, fromSchemaErrors } from './errors.ts';
import { createMetrics, type Metrics } from './metrics.ts';
import { clientErrorHandler, frameworkErrors, refuseUnknownQueries, registerJsonParser, registerNulGuard, RequestRefused, requestIdFor } from './request-guards.ts';
import { registerRateLimit, type RateLimitSettings } from './rate-limit.ts';
import { lazyCompilersFactory } from './lazy-compilers.ts';
import { limits } from '../engine/limits.ts';
import { AmountBeyondJson } from '../core/money.ts';
import { BalanceOutOfRange, outOfRange, SumOutOfRange } from '../core/ledger.ts';
import { creditRoutes } from './routes/credits.ts';
import { usageRoutes } from './routes/usage.ts';
import { systemRoutes } from './routes/system.ts';
import { billingRoutes } from './routes/billing.ts';
import { returnRoutes } from './routes/returns.ts';
import { reportRoutes } from './routes/reports.ts';
import { creditNoteRoutes } from './routes/credit-notes.ts';
import { refResolver, tags } from './openapi.ts';
import { components } from './records-schemas.ts';
import { registerReplyCheck, ReplyDriftError } from './reply-check.ts';
import { stripeRoutes } from './routes/stripe.ts';
import type { StripeSettings } from '../integrations/stripe/settings.ts';
import { webhookRoutes } from './routes/webhooks.ts';
import { SecretBox } from '../engine/secret-box.ts';
import { webhookUrlCheck } from '../integrations/webhooks/url-safety.ts';
import { dunningRoutes } from './routes/dunning.ts';
import { promotionRoutes } from './routes/promotions.ts';
import { referralRoutes } from './routes/referrals.ts';
import { previewRoutes } from './routes/previews.ts';
import { dashboardRoutes } from './routes/dashboard.ts';

export interface ServerOptions {
  adminKey?: string | undefined;
  logger?: boolean;
  /** What a refund's unrecoverable (already spent) credits become: `debt` (default) or `write_off`. */
  refundShortfall?: 'debt' | 'write_off';
  /** Stripe settings (PRODUCT §11); the inbound webhook needs `webhookSecret`. */
  stripe?: StripeSettings;
  /**
   * Webhooks: the SecretBox that seals signing secrets (default: keyed by the admin key) and
   * whether endpoint URLs may point at loopback or private addresses (`TALLY_WEBHOOK_ALLOW_PRIVATE`).
   */
  webhooks?: { box?: SecretBox; allowPrivate?: boolean };
  /**
   * How long `POST /v1/test_clocks/{id}/advance` waits for the advance before answering with
   * `status: advancing` (default 10 s; 0 answers at once).
   */
  testClockWaitMs?: number | undefined;
  /** Requests per API key per window, per server instance; null or absent: no limit. */
  rateLimit?: RateLimitSettings | null;
  /** Serve `/metrics` without an API key (`TALLY_METRICS_PUBLIC=1`); by default it needs the admin scope. */
  metricsPublic?: boolean;
  /** Extra route groups (plans, invoices, reports…) registered by the caller. */
  extraRoutes?: ((app: FastifyInstance, engine: Engine) => void)[];
  /** Check every JSON reply against its route's response schema (the test servers turn this on). */
  checkReplies?: boolean;
}

const version = '0.1.0';
/** Key material for sealing secrets when neither TALLY_SECRET_KEY nor an admin key is configured. */
const localSecretKey = 'tally-local-secret-key';

declare module 'fastify' {
  interface FastifyInstance {
    /** The server's Prometheus metrics; the scheduler counts its work here too. */
    metrics: Metrics;
  }
}

/**
 * What closing the server does beside Fastify's own (which answers 503 to requests arriving
 * meanwhile, lets those in flight finish and closes idle connections):
 * - test clock advances running in the background stop between two transactions (so an advance
 *   request still waiting for one answers at once, `advancing`), before the database closes; each
 *   stays `advancing`, for a server to resume (`resumeTestClockAdvances`);
 * - a connection that has not sent a byte (a client's pool opening one ahead of its requests) is
 *   closed: Node counts it as busy, and the close would wait for it until the client gave up;
 * - a connection whose reply ends after the close began is closed once idle, not kept alive.
 */
function closeGracefully(app: FastifyInstance, engine: Engine): void {
  const connections = new Set<Socket>();
  let closing = false;
  app.server.on('connection', (socket: Socket) => {
    if (closing) {
      socket.destroy();
      return;
    }
    connections.add(socket);
    socket.once('close', () => connections.delete(socket));
  });
  app.addHook('preClose', async () => {
    closing = true;
    app.server.keepAliveTimeout = 1;
    await stopTestClockAdvances(engine);
    for (const socket of connections) if (socket.bytesRead === 0) socket.destroy();
  });
}

/**
 * The HTTP server: thin. It parses and validates (schemas), authenticates, applies
 * Idempotency-Key, calls one engine use case and shapes the reply. Errors leave through one map.
 */
export async function buildServer(engine: Engine, options: ServerOptions = {}): Promise<FastifyInstance> {
  const app = Fastify({
    logger: options.logger ?? false,
    bodyLimit: 1024 * 1024,
    ajv: { customOptions: { allErrors: true, coerceTypes: false, removeAdditional: false, useDefaults: false } },
    // Ids up to 255 characters must be usable in every path, percent-encoded too.
    routerOptions: { maxParamLength: limits.pathSegmentLengthMax },
    genReqId: requestIdFor,
    schemaController: { compilersFactory: lazyCompilersFactory as never },
    frameworkErrors,
    clientErrorHandler,
  });
  const metrics = createMetrics(engine.store.db);
  app.decorate('metrics', metrics);
  // The hooks every request runs take Fastify's callback form: an async hook costs a promise and
  // a microtask turn per request even when it has nothing to do.
  app.addHook('onRequest', (request, reply, done) => {
    reply.header('x-request-id', request.id);
    done();
  });
  registerJsonParser(app);
  refuseUnknownQueries(app);
  closeGracefully(app, engine);
  const batcher = new IngestBatcher(engine, {}, { onGroup: (events) => metrics.ingestGroups.observe(events) });

  for (const schema of components) app.addSchema(schema);
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Tally API',
        version,
        description: 'Exact, real-time credits and billing. Credits are decimal strings; money is integer minor units. '
          + 'Every POST accepts an `Idempotency-Key` header; lists are paginated with `starting_after`.',
        license: { name: 'Apache-2.0', identifier: 'Apache-2.0' },
      },
      servers: [{ url: '/', description: 'The server that serves this document.' }],
      tags,
      components: { securitySchemes: { apiKey: { type: 'http', scheme: 'bearer', description: 'An API key, or a customer portal token.' } } },
      security: [{ apiKey: [] }],
    },
    refResolver,
    // A route may document a body more precisely than it validates it (ingestion checks each event
    // on its own): its `documentedBody` replaces `body` in the document.
    transform: ({ schema, url }) => {
      const documented = (schema as { documentedBody?: unknown } | undefined)?.documentedBody;
      return { schema: documented ? { ...schema, body: documented } as typeof schema : schema, url };
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs', uiConfig: { docExpansion: 'list' } });
  app.get('/openapi.json', { config: { scope: 'public' }, schema: { hide: true } }, async () => app.swagger());

  app.decorateRequest('caller', null);
  const authenticate = createAuthenticator(engine, options.adminKey);
  app.addHook('onRequest', (request, reply, done) => {
    if (request.url.startsWith('/docs')) return done();
    authenticate(request, reply, done);
  });
  const box = options.webhooks?.box ?? new SecretBox(options.adminKey ?? localSecretKey);
  if (options.rateLimit) await registerRateLimit(app, options.rateLimit);
  registerNulGuard(app);
  registerIdempotency(app, engine, box);
  if (options.checkReplies) registerReplyCheck(app, components);
  app.addHook('onResponse', (request, reply, done) => {
    metrics.requests.observe(
      { method: request.method, route: request.routeOptions.url ?? 'unknown', status: String(reply.statusCode) },
      reply.elapsedTime / 1000,
    );
    done();
  });

  app.setErrorHandler(async (error: FastifyError, request, reply) => {
    if (error instanceof RequestRefused) return reply.code(error.statusCode).send(error.body);
    if (error.validation) {
      return reply.code(400).send(errorBody(fromSchemaErrors(error.validation as never, error.validationContext ?? 'body')));
    }
    const code = error.code ?? '';
    if (code === 'FST_ERR_CTP_BODY_TOO_LARGE') return reply.code(413).send({ error: { code: 'payload_too_large', message: 'The request body is too large.' } });
    if (code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return reply.code(415).send({ error: { code: 'unsupported_media_type', message: 'Send JSON with Content-Type: application/json.' } });
    if (code.startsWith('FST_ERR_CTP_') || error instanceof SyntaxError) {
      return reply.code(400).send({ error: { code: 'invalid_json', message: 'The request body is not valid JSON.' } });
    }
    if (error.statusCode && error.statusCode < 500) {
      return reply.code(error.statusCode).send({ error: { code: 'bad_request', message: error.message } });
    }
    if (error instanceof BalanceOutOfRange) return reply.code(422).send({ error: { code: 'balance_out_of_range', message: error.message, details: error.details } });
    if (error instanceof SumOutOfRange || outOfRange(error) === 'overflow') {
      return reply.code(422).send({ error: { code: 'sum_out_of_range', message: `${new SumOutOfRange().message} Ask for less: a shorter window, or one customer.` } });
    }
    if (error instanceof AmountBeyondJson) return reply.code(422).send({ error: { code: 'amount_beyond_json', message: `${error.message} Ask for less: a shorter window, or one customer.` } });
    if (error instanceof ReplyDriftError) return reply.code(500).send({ error: { code: 'reply_schema_mismatch', message: error.message } });
    request.log.error({ err: error }, 'request failed');
    return reply.code(500).send({ error: { code: 'internal_error', message: 'Something went wrong on our side; the request was not applied.' } });
  });
  app.setNotFoundHandler(async (request, reply) =>
    reply.code(404).send({ error: { code: 'route_not_found', message: `No route ${request.method} ${request.url}.` } }));

  creditRoutes(app, engine);
  usageRoutes(app, engine, batcher, metrics);
  systemRoutes(app, engine, metrics, { testClockWaitMs: options.testClockWaitMs, metricsPublic: options.metricsPublic ?? false });
  billingRoutes(app, engine);
  returnRoutes(app, engine, options.refundShortfall ?? 'debt');
  reportRoutes(app, engine);
  previewRoutes(app, engine, options.refundShortfall ?? 'debt');
  dashboardRoutes(app);
  creditNoteRoutes(app, engine);
  stripeRoutes(app, engine, options.stripe, options.refundShortfall ?? 'debt');
  webhookRoutes(app, engine, { box, checkUrl: webhookUrlCheck({ allowPrivate: options.webhooks?.allowPrivate ?? false }) });
  dunningRoutes(app, engine);
  promotionRoutes(app, engine);
  referralRoutes(app, engine);
  for (const add of options.extraRoutes ?? []) add(app, engine);
  await app.ready();
  return app;
}
