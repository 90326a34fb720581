import type { FastifyInstance } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import { customerNows, type Engine } from '../../engine/context.ts';
import type { StoreTx } from '../../store/store.ts';
import { createCustomer, getCustomer, updateCustomer } from '../../engine/customers.ts';
import { createMeter } from '../../engine/meters.ts';
import { createGrant, voidGrant } from '../../engine/grants.ts';
import { getBalanceIn } from '../../engine/balance.ts';
import { authorize } from '../../engine/authorize.ts';
import { formatCredits } from '../../core/decimal.ts';
import { notFound, ok } from '../../core/errors.ts';
import * as S from '../schemas.ts';
import * as V from '../views.ts';
import * as R from '../records-schemas.ts';
import { List, responds } from '../openapi.ts';
import { canSeeCustomer, hiddenCustomer, pageOf, send, sendError } from '../reply.ts';
import { moneyBalanceView } from './credit-notes.ts';

/** Customers, meters, grants, balances and authorization. */
export function creditRoutes(app: FastifyInstance, engine: Engine): void {
  app.post<{ Body: Static<typeof S.CreateCustomer> }>('/v1/customers', {
    schema: { tags: ['customers'], operationId: 'createCustomer', summary: 'Create a customer', response: responds(201, Type.Ref(R.Customer), 'The customer created.'), body: S.CreateCustomer },
  }, async (req, reply) => send(reply, await createCustomer(engine, req.body), V.customerView, 201));

  app.get<{ Querystring: Static<typeof S.CustomerQuery> }>('/v1/customers', {
    config: { scope: 'read' },
    schema: { tags: ['customers'], operationId: 'listCustomers', summary: 'List customers, or search them with q', response: responds(200, List(Type.Ref(R.Customer), 'A page of customers.')), querystring: S.CustomerQuery },
  }, async (req, reply) => {
    if (req.caller?.customerId) return sendError(reply, { code: 'insufficient_scope', message: 'A portal token cannot list customers.' });
    const customers = engine.store.read.customers;
    const page = req.query.q ? await customers.search(req.query.q, pageOf(req.query)) : await customers.list(pageOf(req.query));
    return reply.send(V.listView(page, V.customerView, (c) => c.id));
  });

  app.get<{ Params: Static<typeof S.IdParam> }>('/v1/customers/:id', {
    config: { scope: 'read' },
    schema: { tags: ['customers'], operationId: 'getCustomer', summary: 'Fetch a customer by id or external_id', response: responds(200, Type.Ref(R.Customer), 'The customer.'), params: S.IdParam },
  }, async (req, reply) => {
    const outcome = await getCustomer(engine, req.params.id);
    if (outcome.ok && !canSeeCustomer(req, outcome.value.id)) return sendError(reply, hiddenCustomer(req.params.id));
    const money = outcome.ok ? moneyBalanceView(await engine.store.read.creditNotes.balances(outcome.value.id)) : [];
    return send(reply, outcome, (c) => ({ ...V.customerView(c), money_balance: money }));
  });

  app.post<{ Params: Static<typeof S.IdParam>; Body: Static<typeof S.UpdateCustomer> }>('/v1/customers/:id', {
    schema: { tags: ['customers'], operationId: 'updateCustomer', summary: 'Update a customer', response: responds(200, Type.Ref(R.Customer), 'The customer as updated.'), params: S.IdParam, body: S.UpdateCustomer },
  }, async (req, reply) => send(reply, await updateCustomer(engine, req.params.id, req.body), V.customerView));

  app.get<{ Params: Static<typeof S.IdParam> }>('/v1/customers/:id/balance', {
    config: { scope: 'read' },
    schema: { tags: ['credits'], operationId: 'getBalance', summary: 'The exact balance now, with the per-grant breakdown', response: responds(200, Type.Ref(R.Balance), 'The balance.'), params: S.IdParam },
  }, async (req, reply) => {
    // Credits and money from one snapshot: a refund to balance revokes credits and issues a credit
    // note in one commit, which separate reads could show half of.
    const { outcome, money } = await engine.store.readsInOneSnapshot(async (tx) => {
      const found = await getBalanceIn(engine, tx, req.params.id);
      return { outcome: found, money: found.ok ? await tx.creditNotes.balances(found.value.customer.id) : new Map<string, bigint>() };
    });
    if (outcome.ok && !canSeeCustomer(req, outcome.value.customer.id)) return sendError(reply, hiddenCustomer(req.params.id));
    return send(reply, outcome, (v) => ({ ...V.balanceView(v.customer, v.balance, v.nowMs), money_balance: moneyBalanceView(money) }));
  });

  app.post<{ Params: Static<typeof S.IdParam>; Body: Static<typeof S.Authorize> }>('/v1/customers/:id/authorize', {
    config: { scope: 'ingest' },
    schema: { tags: ['credits'], operationId: 'authorizeUsage', summary: 'Check an entitlement in real time, without side effects', response: responds(200, Type.Ref(R.Authorization), 'Whether the usage is allowed.'), params: S.IdParam, body: S.Authorize },
  }, async (req, reply) => send(reply, await authorize(engine, req.params.id, req.body), (a) => ({
    allowed: a.allowed,
    available: formatCredits(a.availableMicro),
    cost: formatCredits(a.costMicro),
    reason: a.reason,
  })));

  app.post<{ Body: Static<typeof S.CreateMeter> }>('/v1/meters', {
    schema: { tags: ['meters'], operationId: 'createMeter', summary: 'Create a meter with its rate', response: responds(201, Type.Ref(R.Meter), 'The meter created.'), body: S.CreateMeter },
  }, async (req, reply) => send(reply, await createMeter(engine, req.body), V.meterView, 201));

  app.get<{ Querystring: Static<typeof S.PageQuery> }>('/v1/meters', {
    config: { scope: 'read' },
    schema: { tags: ['meters'], operationId: 'listMeters', summary: 'List meters', response: responds(200, List(Type.Ref(R.Meter), 'A page of meters.')), querystring: S.PageQuery },
  }, async (req, reply) => reply.send(V.listView(await engine.store.read.usage.listMeters(pageOf(req.query)), V.meterView, (m) => m.id)));

  app.get<{ Params: Static<typeof S.IdParam> }>('/v1/meters/:id', {
    config: { scope: 'read' },
    schema: { tags: ['meters'], operationId: 'getMeter', summary: 'Fetch a meter by id or code', response: responds(200, Type.Ref(R.Meter), 'The meter.'), params: S.IdParam },
  }, async (req, reply) => {
    const meter = await engine.store.read.usage.meterByCode(req.params.id);
    return send(reply, meter ? ok(meter) : notFound('meter', req.params.id), V.meterView);
  });

  app.post<{ Body: Static<typeof S.CreateGrant> }>('/v1/grants', {
    schema: { tags: ['grants'], operationId: 'createGrant', summary: 'Grant credits to a customer', response: responds(201, Type.Ref(R.Grant), 'The grant created.'), body: S.CreateGrant },
  }, async (req, reply) => send(reply, await createGrant(engine, req.body), V.grantView, 201));

  app.get<{ Querystring: Static<typeof S.CustomerPageQuery> }>('/v1/grants', {
    config: { scope: 'read' },
    schema: { tags: ['grants'], operationId: 'listGrants', summary: 'List grants, optionally of one customer', response: responds(200, List(Type.Ref(R.Grant), 'A page of grants.')), querystring: S.CustomerPageQuery },
  }, async (req, reply) => {
    const customerId = await customerFilter(engine, req.caller?.customerId ?? null, req.query.customer);
    if (customerId === false) return sendError(reply, hiddenCustomer(req.query.customer ?? ''));
    // The grants and their customers' clocks from one snapshot, so `frozen` is told by the clock
    // the grants were read at, not by one a test clock's advance has moved since.
    const { page, nows } = await engine.store.readsInOneSnapshot(async (tx) => {
      const found = await tx.grants.list(customerId, pageOf(req.query));
      return { page: found, nows: await nowsOf(engine, tx, found.data.map((g) => g.customerId)) };
    });
    return reply.send(V.listView(page, (g) => V.grantView(g, nows.get(g.customerId)), (g) => g.id));
  });

  app.get<{ Params: Static<typeof S.IdParam> }>('/v1/grants/:id', {
    config: { scope: 'read' },
    schema: { tags: ['grants'], operationId: 'getGrant', summary: 'Fetch a grant', response: responds(200, Type.Ref(R.Grant), 'The grant.'), params: S.IdParam },
  }, async (req, reply) => {
    const found = await engine.store.readsInOneSnapshot(async (tx) => {
      const grant = await tx.grants.get(req.params.id);
      return grant ? { grant, nowMs: (await nowsOf(engine, tx, [grant.customerId])).get(grant.customerId) } : null;
    });
    if (!found || !canSeeCustomer(req, found.grant.customerId)) return sendError(reply, { code: 'grant_not_found', message: 'No such grant.', details: { id: req.params.id } });
    return reply.send(V.grantView(found.grant, found.nowMs));
  });

  app.post<{ Params: Static<typeof S.IdParam>; Body: Static<typeof S.VoidGrant> }>('/v1/grants/:id/void', {
    schema: { tags: ['grants'], operationId: 'voidGrant', summary: 'Revoke what is left of a grant', response: responds(200, Type.Ref(R.Grant), 'The grant, voided.'), params: S.IdParam, body: S.VoidGrant },
  }, async (req, reply) => send(reply, await voidGrant(engine, req.params.id, req.body.reason), V.grantView));
}

/** Each customer's now (its test clock, or the real clock), to show grants frozen or not. */
async function nowsOf(engine: Engine, tx: StoreTx, customerIds: string[]): Promise<Map<string, number>> {
  const customers = await tx.customers.findMany([...new Set(customerIds)]);
  return customerNows(engine, tx, [...new Set(customers.values())]);
}

/**
 * Resolves the `customer` filter of a list: a portal token is pinned to its customer; `false`
 * means the caller asked for a customer it may not see (or one that does not exist).
 */
export async function customerFilter(engine: Engine, bound: string | null, ref: string | undefined): Promise<string | null | false> {
  if (ref === undefined) return bound;
  const customer = await engine.store.read.customers.find(ref);
  if (!customer || (bound && bound !== customer.id)) return false;
  return customer.id;
}
