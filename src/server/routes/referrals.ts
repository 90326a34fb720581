import type { FastifyInstance } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import { List, responds } from '../openapi.ts';
import type { Engine } from '../../engine/context.ts';
import { createReferral } from '../../engine/referrals.ts';
import { notFound, ok } from '../../core/errors.ts';
import * as S from '../schemas.ts';
import * as P from '../promotion-schemas.ts';
import { referralView } from '../promotion-views.ts';
import { listView } from '../views.ts';
import { canSeeCustomer, hiddenCustomer, pageOf, send, sendError } from '../reply.ts';
import { customerFilter } from './credits.ts';

const tags = ['referrals'];

/** Referrals: rewards on the referred customer's first paid invoice, clawed back with its money (PRODUCT §15). */
export function referralRoutes(app: FastifyInstance, engine: Engine): void {
  app.post<{ Body: Static<typeof P.CreateReferral> }>('/v1/referrals', {
    schema: {
      tags, operationId: 'createReferral',
      summary: "Record a referral: promotional grants to the referrer (and the referred) when the referred customer's first invoice is paid",
      description: 'Refusals: customer_not_found, referral_to_self, customer_already_referred, referral_not_eligible (the referred customer has paid before).',
      body: P.CreateReferral, response: responds(201, Type.Ref(P.Referral), 'The referral, pending until the first paid invoice.'),
    },
  }, async (req, reply) => send(reply, await createReferral(engine, req.body), (r) => referralView(r), 201));

  app.get<{ Querystring: Static<typeof P.ReferralQuery> }>('/v1/referrals', {
    config: { scope: 'read' },
    schema: {
      tags, operationId: 'listReferrals', summary: 'List referrals, optionally by referrer, referred, or either (customer)',
      querystring: P.ReferralQuery, response: responds(200, List(Type.Ref(P.Referral), 'A page of referrals.')),
    },
  }, async (req, reply) => {
    const customerId = await customerFilter(engine, req.caller?.customerId ?? null, req.query.customer);
    if (customerId === false) return sendError(reply, hiddenCustomer(req.query.customer ?? ''));
    const resolve = async (ref: string | undefined): Promise<string | null | false> => {
      if (ref === undefined) return null;
      const c = await engine.store.read.customers.find(ref);
      return c ? c.id : false;
    };
    const [referrerId, referredId] = [await resolve(req.query.referrer), await resolve(req.query.referred)];
    if (referrerId === false) return sendError(reply, hiddenCustomer(req.query.referrer ?? ''));
    if (referredId === false) return sendError(reply, hiddenCustomer(req.query.referred ?? ''));
    // The referrals and their claw-backs from one snapshot: a claw-back revokes the rewards its
    // referral names, and separate reads could show one beside a referral not yet rewarded.
    const { page, clawBacks } = await engine.store.readsInOneSnapshot(async (tx) => {
      const found = await tx.referrals.list({ referrerId, referredId, customerId }, pageOf(req.query));
      return { page: found, clawBacks: await tx.referrals.clawBacksOfReferrals(found.data.map((r) => r.id)) };
    });
    return reply.send(listView(page, (r) => referralView(r, clawBacks.filter((c) => c.referralId === r.id)), (r) => r.id));
  });

  app.get<{ Params: Static<typeof S.IdParam> }>('/v1/referrals/:id', {
    config: { scope: 'read' },
    schema: { tags, operationId: 'getReferral', summary: 'Fetch a referral with its rewards and claw-backs', params: S.IdParam, response: responds(200, Type.Ref(P.Referral), 'The referral.') },
  }, async (req, reply) => {
    // The referral and its claw-backs from one snapshot, as the list reads them.
    const found = await engine.store.readsInOneSnapshot(async (tx) => {
      const referral = await tx.referrals.get(req.params.id);
      return referral ? { referral, clawBacks: await tx.referrals.clawBacksOfReferral(referral.id) } : null;
    });
    const visible = found && (canSeeCustomer(req, found.referral.referrerId) || canSeeCustomer(req, found.referral.referredId));
    if (!found || !visible) return send(reply, notFound('referral', req.params.id), () => null);
    return send(reply, ok(referralView(found.referral, found.clawBacks)), (v) => v);
  });
}
