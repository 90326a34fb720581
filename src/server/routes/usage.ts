import type { FastifyInstance } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import type { Engine } from '../../engine/context.ts';
import type { IngestBatcher } from '../../engine/ingest-batcher.ts';
import { explainEvent } from '../../engine/explain-event.ts';
import { captureHold, createHold, releaseHold } from '../../engine/holds.ts';
import { limits } from '../../engine/limits.ts';
import { usageSeries } from '../../engine/usage-series.ts';
import { usageSeriesBucketsMax } from '../../core/usage-series.ts';
import * as S from '../schemas.ts';
import * as V from '../views.ts';
import * as R from '../records-schemas.ts';
import { List, responds } from '../openapi.ts';
import { canSeeCustomer, hiddenCustomer, pageOf, send, sendError } from '../reply.ts';
import { customerFilter } from './credits.ts';
import type { Metrics } from '../metrics.ts';

/** Usage ingestion, the explanation of a charge, and holds. */
export function usageRoutes(app: FastifyInstance, engine: Engine, batcher: IngestBatcher, metrics: Metrics): void {
  app.post<{ Body: Static<typeof S.IngestEvents> }>('/v1/events', {
    config: { scope: 'ingest', checksItemsItself: true },
    bodyLimit: limits.eventsPerBatchMax * (limits.propertiesBytesMax + 1024),
    schema: {
      tags: ['usage'],
operationId: 'ingestEvents',
      summary: `Ingest up to ${limits.eventsPerBatchMax} usage events; each is rated and charged in the transaction that stores it`,
      response: responds(200, Type.Object({ results: Type.Array(Type.Ref(R.UsageEventResult)) }, { additionalProperties: false }), 'One result per event, in order.'),
      body: S.IngestEvents,
      documentedBody: S.IngestEventsDocumented,
    },
  }, async (req, reply) => {
    const results = await batcher.submit(req.body.events);
    // Counted here, then added once per outcome: the counter's label lookup costs more than a count.
    let accepted = 0;
    let duplicate = 0;
    for (const r of results) {
      if (r.status === 'accepted') accepted++;
      else if (r.status === 'duplicate') duplicate++;
    }
    const rejected = results.length - accepted - duplicate;
    if (accepted > 0) metrics.eventsIngested.inc({ status: 'accepted' }, accepted);
    if (duplicate > 0) metrics.eventsIngested.inc({ status: 'duplicate' }, duplicate);
    if (rejected > 0) metrics.eventsIngested.inc({ status: 'rejected' }, rejected);
    return reply.send({ results });
  });

  app.get<{ Params: Static<typeof S.IdParam> }>('/v1/usage_events/:id', {
    config: { scope: 'read' },
    schema: { tags: ['usage'], operationId: 'getUsageEvent', summary: 'Explain a charge: the event, its rating per meter and the grants that paid', response: responds(200, Type.Ref(R.UsageEvent), 'The usage event with its charge.'), params: S.IdParam },
  }, async (req, reply) => {
    const outcome = await explainEvent(engine, req.params.id);
    if (outcome.ok && !canSeeCustomer(req, outcome.value.event.customerId)) return sendError(reply, { code: 'usage_event_not_found', message: 'No such usage event.' });
    return send(reply, outcome, (v) => V.usageEventView(v.event, v.transaction));
  });

  app.get<{ Querystring: Static<typeof S.CustomerPageQuery> }>('/v1/usage_events', {
    config: { scope: 'read' },
    schema: { tags: ['usage'], operationId: 'listUsageEvents', summary: 'List usage events',
      description: 'All usage events in the order of their ids, or with `customer` one customer\'s in the order they happened (by the minute of their timestamp, then as recorded). The cursor is an event id either way.',
      response: responds(200, List(Type.Ref(R.UsageEvent), 'A page of usage events.')), querystring: S.CustomerPageQuery },
  }, async (req, reply) => {
    const customerId = await customerFilter(engine, req.caller?.customerId ?? null, req.query.customer);
    if (customerId === false) return sendError(reply, hiddenCustomer(req.query.customer ?? ''));
    return reply.send(V.listView(await engine.store.read.usage.listEvents(customerId, pageOf(req.query)), (e) => V.usageEventView(e, null), (e) => e.id));
  });

  app.get<{ Params: Static<typeof S.IdParam>; Querystring: Static<typeof S.UsageSeriesQuery> }>('/v1/customers/:id/usage_series', {
    config: { scope: 'read' },
    schema: {
      tags: ['usage'], operationId: 'getUsageSeries',
      summary: 'Consumption over time: quantity and credits per meter and per UTC hour or day',
      description: `Summed in the database over the customer's usage events in the window, as exact decimal strings. Every bucket of the window is present (zeros included), at most ${usageSeriesBucketsMax} per window. Bad input: 400 validation_failed naming the field (invalid_timestamp, invalid_window, too_many_buckets); an unknown meter: 404 meter_not_found.`,
      params: S.IdParam, querystring: S.UsageSeriesQuery, response: responds(200, Type.Ref(R.UsageSeries), 'The series, one per meter.'),
    },
  }, async (req, reply) => {
    const outcome = await usageSeries(engine, { customer: req.params.id, ...req.query });
    if (outcome.ok && !canSeeCustomer(req, outcome.value.customer.id)) return sendError(reply, hiddenCustomer(req.params.id));
    return send(reply, outcome, V.usageSeriesView);
  });

  app.post<{ Body: Static<typeof S.CreateHold> }>('/v1/holds', {
    config: { scope: 'ingest' },
    schema: { tags: ['holds'], operationId: 'createHold', summary: 'Reserve credits for a long job', response: responds(201, Type.Ref(R.Hold), 'The hold created.'), body: S.CreateHold },
  }, async (req, reply) => send(reply, await createHold(engine, req.body), V.holdView, 201));

  app.get<{ Querystring: Static<typeof S.CustomerPageQuery> }>('/v1/holds', {
    config: { scope: 'read' },
    schema: {
      tags: ['holds'], operationId: 'listHolds', summary: 'List holds, optionally of one customer',
      description: 'Every hold, active or closed (captured, released, expired), oldest first (`order=desc`: newest first). `held` is what an active hold still reserves: less than `credits` once a grant\'s void or expiry, or a refund\'s claw-back, took some back (`hold.reduced`).',
      response: responds(200, List(Type.Ref(R.Hold), 'A page of holds.')), querystring: S.CustomerPageQuery,
    },
  }, async (req, reply) => {
    const customerId = await customerFilter(engine, req.caller?.customerId ?? null, req.query.customer);
    if (customerId === false) return sendError(reply, hiddenCustomer(req.query.customer ?? ''));
    return reply.send(V.listView(await engine.store.read.grants.listHolds(customerId, pageOf(req.query)), V.holdView, (h) => h.id));
  });

  app.get<{ Params: Static<typeof S.IdParam> }>('/v1/holds/:id', {
    config: { scope: 'read' },
    schema: { tags: ['holds'], operationId: 'getHold', summary: 'Fetch a hold', response: responds(200, Type.Ref(R.Hold), 'The hold.'), params: S.IdParam },
  }, async (req, reply) => {
    const hold = await engine.store.read.grants.getHold(req.params.id);
    if (!hold || !canSeeCustomer(req, hold.customerId)) return sendError(reply, { code: 'hold_not_found', message: 'No such hold.' });
    return reply.send(V.holdView(hold));
  });

  app.post<{ Params: Static<typeof S.IdParam>; Body: Static<typeof S.CaptureHold> }>('/v1/holds/:id/capture', {
    config: { scope: 'ingest' },
    schema: { tags: ['holds'], operationId: 'captureHold', summary: 'Charge actual usage from the hold and release the rest', description: 'The event is paid as ingestion pays it at its `timestamp` (default: now): what the hold reserves of grants that cannot pay it then (not started yet, expired or frozen at that time) goes back to them first and is not used; what it reserves of the others pays first (`captured`); the grants live at the event\'s time pay the rest, then overage or debt. Whatever is left goes back to its grants. A refused capture changes nothing: the hold stays active.', response: responds(200, Type.Composite([R.Hold, Type.Object({ result: Type.Ref(R.UsageEventResult) })], { additionalProperties: false }), 'The hold, captured, with the result of its event.'), params: S.IdParam, body: S.CaptureHold },
  }, async (req, reply) => send(reply, await captureHold(engine, req.params.id, req.body.event), (v) => ({ ...V.holdView(v.hold), result: v.event })));

  app.post<{ Params: Static<typeof S.IdParam> }>('/v1/holds/:id/release', {
    config: { scope: 'ingest' },
    schema: { tags: ['holds'], operationId: 'releaseHold', summary: 'Free a hold', response: responds(200, Type.Ref(R.Hold), 'The hold, released.'), params: S.IdParam },
  }, async (req, reply) => send(reply, await releaseHold(engine, req.params.id), V.holdView));
}
