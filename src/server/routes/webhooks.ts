import type { FastifyInstance } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import type { Engine } from '../../engine/context.ts';
import { invalid, ok } from '../../core/errors.ts';
import { parseTimestamp, formatTimestamp } from '../../core/time.ts';
import {
  createWebhookEndpoint, deleteWebhookEndpoint, rotateWebhookSecret, updateWebhookEndpoint, type WebhookEndpointDeps,
} from '../../engine/webhook-endpoints.ts';
import { replayEvents } from '../../integrations/webhooks/fan-out.ts';
import * as S from '../schemas.ts';
import * as W from '../webhook-schemas.ts';
import { listView } from '../views.ts';
import { webhookDeliveryView, webhookEndpointView } from '../webhook-views.ts';
import { pageOf, send, sendError } from '../reply.ts';
import { responds } from '../openapi.ts';

const tags = ['webhooks'];
const endpointNotFound = (id: string) => ({ code: 'webhook_endpoint_not_found', message: `No webhook endpoint ${JSON.stringify(id)}.`, details: { id } });
const withSecret = (v: { endpoint: Parameters<typeof webhookEndpointView>[0]; secret: string }) => ({ ...webhookEndpointView(v.endpoint), secret: v.secret });

/** Webhook endpoints, their deliveries, retry and replay (PRODUCT §11). Admin keys only. */
export function webhookRoutes(app: FastifyInstance, engine: Engine, deps: WebhookEndpointDeps): void {
  app.post<{ Body: Static<typeof W.CreateWebhookEndpoint> }>('/v1/webhook_endpoints', {
    config: { secretInReply: true },
    schema: {
      operationId: 'createWebhookEndpoint', tags, summary: 'Create a webhook endpoint; its signing secret is shown in this reply only',
      body: W.CreateWebhookEndpoint, response: responds(201, W.WebhookEndpointWithSecret, 'The endpoint with its signing secret, shown only here.'),
    },
  }, async (req, reply) => send(reply, await createWebhookEndpoint(engine, deps, req.body), withSecret, 201));

  app.get<{ Querystring: Static<typeof S.PageQuery> }>('/v1/webhook_endpoints', {
    schema: { operationId: 'listWebhookEndpoints', tags, summary: 'List webhook endpoints', querystring: S.PageQuery, response: responds(200, W.WebhookEndpointList) },
  }, async (req, reply) => reply.send(listView(await engine.store.read.webhooks.listEndpoints(pageOf(req.query)), webhookEndpointView, (e) => e.id)));

  app.get<{ Params: Static<typeof S.IdParam> }>('/v1/webhook_endpoints/:id', {
    schema: { operationId: 'getWebhookEndpoint', tags, summary: 'Fetch a webhook endpoint', params: S.IdParam, response: responds(200, Type.Ref(W.WebhookEndpoint), 'The webhook endpoint.') },
  }, async (req, reply) => {
    const endpoint = await engine.store.read.webhooks.endpoint(req.params.id);
    return endpoint ? reply.send(webhookEndpointView(endpoint)) : sendError(reply, endpointNotFound(req.params.id));
  });

  app.post<{ Params: Static<typeof S.IdParam>; Body: Static<typeof W.UpdateWebhookEndpoint> }>('/v1/webhook_endpoints/:id', {
    schema: {
      operationId: 'updateWebhookEndpoint', tags, summary: 'Update a webhook endpoint (url, event types, disabled, description, metadata)',
      params: S.IdParam, body: W.UpdateWebhookEndpoint, response: responds(200, Type.Ref(W.WebhookEndpoint), 'The endpoint as updated.'),
    },
  }, async (req, reply) => send(reply, await updateWebhookEndpoint(engine, deps, req.params.id, req.body), webhookEndpointView));

  app.delete<{ Params: Static<typeof S.IdParam> }>('/v1/webhook_endpoints/:id', {
    schema: { operationId: 'deleteWebhookEndpoint', tags, summary: 'Delete a webhook endpoint and its deliveries', params: S.IdParam, response: responds(200, W.DeletedWebhookEndpoint, 'The endpoint is deleted.') },
  }, async (req, reply) => send(reply, await deleteWebhookEndpoint(engine, req.params.id), (v) => ({ id: v.id, object: 'webhook_endpoint', deleted: true })));

  app.post<{ Params: Static<typeof S.IdParam> }>('/v1/webhook_endpoints/:id/rotate_secret', {
    config: { secretInReply: true },
    schema: {
      operationId: 'rotateWebhookSecret', tags, summary: 'Rotate the signing secret; the old one keeps signing alongside for 24 hours',
      params: S.IdParam, response: responds(200, W.WebhookEndpointWithSecret, 'The endpoint with its new secret, shown only here.'),
    },
  }, async (req, reply) => send(reply, await rotateWebhookSecret(engine, deps, req.params.id), withSecret));

  app.get<{ Params: Static<typeof S.IdParam>; Querystring: Static<typeof S.PageQuery> }>('/v1/webhook_endpoints/:id/deliveries', {
    schema: {
      operationId: 'listWebhookDeliveries', tags, summary: 'List an endpoint\'s deliveries, each with every attempt (oldest first, or newest first with order=desc)',
      params: S.IdParam, querystring: S.PageQuery, response: responds(200, W.WebhookDeliveryList),
    },
  }, async (req, reply) => {
    // The deliveries and their attempts from one snapshot: a batch of attempts recorded between
    // the two reads would otherwise list an attempt beside its delivery's earlier state.
    const found = await engine.store.readsInOneSnapshot(async (tx) => {
      if (!(await tx.webhooks.endpoint(req.params.id))) return null;
      const page = await tx.webhooks.listDeliveries(req.params.id, pageOf(req.query));
      return { page, attempts: await tx.webhooks.attemptsOf(page.data.map((d) => d.id)) };
    });
    if (found === null) return sendError(reply, endpointNotFound(req.params.id));
    const { page, attempts } = found;
    return reply.send(listView(page, (d) => webhookDeliveryView(d, attempts.filter((a) => a.deliveryId === d.id)), (d) => d.id));
  });

  app.post<{ Params: Static<typeof S.IdParam> }>('/v1/webhook_deliveries/:id/retry', {
    schema: {
      operationId: 'retryWebhookDelivery', tags, summary: 'Send a delivery again now (also a failed or a succeeded one)',
      params: S.IdParam, response: responds(200, Type.Ref(W.WebhookDelivery), 'The delivery, due now.'),
    },
  }, async (req, reply) => {
    const store = engine.store.read.webhooks;
    const delivery = await store.delivery(req.params.id);
    if (!delivery) return sendError(reply, { code: 'webhook_delivery_not_found', message: `No webhook delivery ${JSON.stringify(req.params.id)}.`, details: { id: req.params.id } });
    if (!(await store.retryNow(delivery.id, engine.clock.now()))) {
      return sendError(reply, { code: 'webhook_delivery_in_flight', message: 'An attempt of this delivery is being sent right now.' });
    }
    // The delivery and its attempts from one snapshot, as the list reads them.
    const [updated, attempts] = await engine.store.readsInOneSnapshot(async (tx) =>
      [(await tx.webhooks.delivery(delivery.id))!, await tx.webhooks.attemptsOf([delivery.id])] as const);
    return reply.send(webhookDeliveryView(updated, attempts));
  });

  app.post<{ Params: Static<typeof S.IdParam>; Body: Static<typeof W.ReplayWebhooks> }>('/v1/webhook_endpoints/:id/replay', {
    schema: {
      operationId: 'replayWebhooks', tags, summary: 'Send every event the endpoint wants, recorded since a time, again',
      params: S.IdParam, body: W.ReplayWebhooks, response: responds(200, W.ReplayResult, 'How many deliveries the replay created.'),
    },
  }, async (req, reply) => {
    const since = parseTimestamp(req.body.since);
    if (!since.ok) return send(reply, invalid([{ field: 'since', code: 'invalid_timestamp', message: 'since must be an RFC 3339 date-time.' }]), () => null);
    const endpoint = await engine.store.read.webhooks.endpoint(req.params.id);
    if (!endpoint) return sendError(reply, endpointNotFound(req.params.id));
    const result = await replayEvents(engine, endpoint, since.value);
    return send(reply, ok(result), (r) => ({ object: 'webhook_replay', endpoint: endpoint.id, since: formatTimestamp(since.value), deliveries: r.deliveries, truncated: r.truncated }));
  });
}
