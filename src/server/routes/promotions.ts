import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import { List, responds } from '../openapi.ts';
import { notFound, ok } from '../../core/errors.ts';
import type { Engine } from '../../engine/context.ts';
import { createPromotion, deactivatePromotion } from '../../engine/promotions.ts';
import { redeemPromotion } from '../../engine/redeem-promotion.ts';
import * as S from '../schemas.ts';
import * as P from '../promotion-schemas.ts';
import { promotionCodeView, promotionsReportColumns, promotionsReportView, promotionView, redemptionView } from '../promotion-views.ts';
import { promotionsReport } from '../../engine/promotion-report.ts';
import { ReportQuery } from './reports.ts';
import { listView } from '../views.ts';
import { rowsToCsv } from '../report-views.ts';
import { hiddenCustomer, pageOf, send, sendError } from '../reply.ts';
import { customerFilter } from './credits.ts';

const tags = ['promotions'];
const wantsCsv = (req: FastifyRequest): boolean => (req.headers.accept ?? '').toLowerCase().includes('text/csv');
const portalRefused = { code: 'insufficient_scope', message: 'A portal token cannot see campaigns.' };
const codeColumns = ['code', 'promotion', 'single_use', 'redemptions', 'created_at'];

/** Campaigns, their codes and redemptions (PRODUCT §15). */
export function promotionRoutes(app: FastifyInstance, engine: Engine): void {
  app.post<{ Body: Static<typeof P.CreatePromotion> }>('/v1/promotions', {
    schema: {
      tags, operationId: 'createPromotion', summary: 'Create a campaign with one shared code or generated single-use codes',
      body: P.CreatePromotion, response: responds(201, Type.Ref(P.Promotion), 'The campaign, with its terms.'),
    },
  }, async (req, reply) => send(reply, await createPromotion(engine, req.body), promotionView, 201));

  app.get<{ Querystring: Static<typeof S.PageQuery> }>('/v1/promotions', {
    config: { scope: 'read' },
    schema: { tags, operationId: 'listPromotions', summary: 'List campaigns, oldest first', querystring: S.PageQuery, response: responds(200, List(Type.Ref(P.Promotion), 'A page of campaigns.')) },
  }, async (req, reply) => {
    if (req.caller?.customerId) return sendError(reply, portalRefused);
    return reply.send(listView(await engine.store.read.promotions.list(pageOf(req.query)), promotionView, (p) => p.id));
  });

  app.post<{ Body: Static<typeof P.Redeem> }>('/v1/promotions/redeem', {
    schema: {
      tags, operationId: 'redeemPromotion', summary: 'Redeem a code for a customer: a promotional grant linked to the campaign and code',
      description: 'Refusals: promotion_not_found, promotion_inactive, promotion_expired, promotion_already_redeemed, promotion_exhausted, promotion_not_eligible.',
      body: P.Redeem, response: responds(201, Type.Ref(P.Redemption), 'The redemption and the grant it made.'),
    },
  }, async (req, reply) => send(reply, await redeemPromotion(engine, req.body), (v) => redemptionView(v.redemption, v.grant), 201));

  app.get<{ Querystring: Static<typeof P.RedemptionQuery> }>('/v1/promotions/redemptions', {
    config: { scope: 'read' },
    schema: {
      tags, operationId: 'listPromotionRedemptions', summary: 'List redemptions, of one campaign or one customer',
      querystring: P.RedemptionQuery, response: responds(200, List(Type.Ref(P.Redemption), 'A page of redemptions.')),
    },
  }, async (req, reply) => {
    const customerId = await customerFilter(engine, req.caller?.customerId ?? null, req.query.customer);
    if (customerId === false) return sendError(reply, hiddenCustomer(req.query.customer ?? ''));
    const read = engine.store.read;
    const page = await read.promotions.listRedemptions(req.query.promotion ?? null, customerId, pageOf(req.query));
    const grants = new Map((await read.grants.getMany(page.data.map((r) => r.grantId))).map((g) => [g.id, g]));
    return reply.send(listView(page, (r) => redemptionView(r, grants.get(r.grantId)), (r) => r.id));
  });

  app.get<{ Params: Static<typeof S.IdParam> }>('/v1/promotions/:id', {
    config: { scope: 'read' },
    schema: { tags, operationId: 'getPromotion', summary: 'Fetch a campaign', params: S.IdParam, response: responds(200, Type.Ref(P.Promotion), 'The campaign.') },
  }, async (req, reply) => {
    if (req.caller?.customerId) return sendError(reply, portalRefused);
    const promotion = await engine.store.read.promotions.get(req.params.id);
    return send(reply, promotion ? ok(promotion) : notFound('promotion', req.params.id), promotionView);
  });

  app.post<{ Params: Static<typeof S.IdParam> }>('/v1/promotions/:id/deactivate', {
    schema: {
      tags, operationId: 'deactivatePromotion', summary: 'Stop a campaign: later redemptions are refused (promotion_inactive)',
      params: S.IdParam, response: responds(200, Type.Ref(P.Promotion), 'The campaign, inactive.'),
    },
  }, async (req, reply) => send(reply, await deactivatePromotion(engine, req.params.id), promotionView));

  app.get<{ Params: Static<typeof S.IdParam>; Querystring: Static<typeof S.CursorQuery> }>('/v1/promotions/:id/codes', {
    config: { scope: 'read' },
    schema: {
      tags, operationId: 'listPromotionCodes', summary: "A campaign's codes: a page of JSON, or every code as CSV (Accept: text/csv) for export",
      params: S.IdParam, querystring: S.CursorQuery,
      response: P.respondsJsonOrCsv(List(Type.Ref(P.PromotionCodeView), 'A page of codes (JSON), or every code (CSV).'), 'A page of codes (JSON), or every code (CSV).'),
    },
  }, async (req, reply) => {
    if (req.caller?.customerId) return sendError(reply, portalRefused);
    const read = engine.store.read;
    const promotion = await read.promotions.get(req.params.id);
    if (!promotion) return send(reply, notFound('promotion', req.params.id), () => null);
    if (wantsCsv(req)) {
      const all = await read.promotions.codes(promotion.id, { limit: Math.max(promotion.codeCount, 1) });
      return reply.type('text/csv; charset=utf-8').send(rowsToCsv(all.data.map(promotionCodeView), codeColumns));
    }
    return reply.send(listView(await read.promotions.codes(promotion.id, pageOf(req.query)), promotionCodeView, (c) => c.code));
  });

  app.get<{ Querystring: Static<typeof ReportQuery> }>('/v1/reports/promotions', {
    config: { scope: 'read' },
    schema: {
      tags: ['reports'], operationId: 'promotionsReport',
      summary: 'Per campaign and per referrer: redemptions, credits granted, consumed, expired, revoked, and the revenue those customers paid afterwards',
      description: 'JSON by default; one CSV table of the rows with Accept: text/csv.', querystring: ReportQuery,
      response: P.respondsJsonOrCsv(Type.Ref(P.PromotionsReport), 'The report (JSON), or its rows (CSV).'),
    },
  }, async (req, reply) => {
    const customerId = await customerFilter(engine, req.caller?.customerId ?? null, req.query.customer);
    if (customerId === false) return sendError(reply, hiddenCustomer(req.query.customer ?? ''));
    const outcome = await promotionsReport(engine, { from: req.query.from, to: req.query.to, customer: customerId ?? undefined });
    if (outcome.ok && wantsCsv(req)) return reply.type('text/csv; charset=utf-8').send(rowsToCsv(promotionsReportView(outcome.value).rows, promotionsReportColumns));
    return send(reply, outcome, promotionsReportView);
  });
}
