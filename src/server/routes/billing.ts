import type { FastifyInstance } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import type { Engine } from '../../engine/context.ts';
import { createPlan, getPlan } from '../../engine/plans.ts';
import { cancelSubscription, changeSubscription, createSubscription } from '../../engine/subscriptions.ts';
import { recordPayment, voidInvoice } from '../../engine/invoices.ts';
import { purchaseCredits } from '../../engine/purchases.ts';
import { setAutoTopUp } from '../../engine/customers.ts';
import { formatTimestamp, parseTimestamp } from '../../core/time.ts';
import * as S from '../schemas.ts';
import * as B from '../billing-schemas.ts';
import * as V from '../views.ts';
import * as R from '../records-schemas.ts';
import { List, responds } from '../openapi.ts';
import * as BV from '../billing-views.ts';
import { canSeeCustomer, hiddenCustomer, pageOf, send, sendError } from '../reply.ts';
import { customerFilter } from './credits.ts';

/** Plans, subscriptions (change, cancel), invoices, payments, purchases and auto top-up. */
export function billingRoutes(app: FastifyInstance, engine: Engine): void {
  app.post<{ Body: Static<typeof B.CreatePlan> }>('/v1/plans', {
    schema: { tags: ['plans'], operationId: 'createPlan', summary: 'Create a plan, or a new version of a plan code', response: responds(201, Type.Ref(R.Plan), 'The plan version created.'), body: B.CreatePlan },
  }, async (req, reply) => send(reply, await createPlan(engine, req.body), BV.planView, 201));

  app.get<{ Querystring: Static<typeof S.PageQuery> }>('/v1/plans', {
    config: { scope: 'read' },
    schema: { tags: ['plans'], operationId: 'listPlans', summary: 'List plan versions', response: responds(200, List(Type.Ref(R.Plan), 'A page of plan versions.')), querystring: S.PageQuery },
  }, async (req, reply) => reply.send(V.listView(await engine.store.read.billing.listPlans(pageOf(req.query)), BV.planView, (p) => p.id)));

  app.get<{ Params: Static<typeof S.IdParam> }>('/v1/plans/:id', {
    config: { scope: 'read' },
    schema: { tags: ['plans'], operationId: 'getPlan', summary: 'Fetch a plan by code (latest version) or version id', response: responds(200, Type.Ref(R.Plan), 'The plan version.'), params: S.IdParam },
  }, async (req, reply) => send(reply, await getPlan(engine, req.params.id), BV.planView));

  app.post<{ Body: Static<typeof B.CreateSubscription> }>('/v1/subscriptions', {
    schema: { tags: ['subscriptions'], operationId: 'createSubscription', summary: 'Subscribe a customer to a plan (anniversary periods)', response: responds(201, Type.Ref(R.Subscription), 'The subscription created.'), body: B.CreateSubscription },
  }, async (req, reply) => send(reply, await createSubscription(engine, req.body), BV.subscriptionView, 201));

  app.get<{ Querystring: Static<typeof S.CustomerPageQuery> }>('/v1/subscriptions', {
    config: { scope: 'read' },
    schema: { tags: ['subscriptions'], operationId: 'listSubscriptions', summary: 'List subscriptions', response: responds(200, List(Type.Ref(R.Subscription), 'A page of subscriptions.')), querystring: S.CustomerPageQuery },
  }, async (req, reply) => {
    const customerId = await customerFilter(engine, req.caller?.customerId ?? null, req.query.customer);
    if (customerId === false) return sendError(reply, hiddenCustomer(req.query.customer ?? ''));
    return reply.send(V.listView(await engine.store.read.billing.listSubscriptions(customerId, pageOf(req.query)), BV.subscriptionView, (s) => s.id));
  });

  app.get<{ Params: Static<typeof S.IdParam> }>('/v1/subscriptions/:id', {
    config: { scope: 'read' },
    schema: { tags: ['subscriptions'], operationId: 'getSubscription', summary: 'Fetch a subscription with its timeline', response: responds(200, Type.Ref(R.SubscriptionDetail), 'The subscription with its timeline and periods.'), params: S.IdParam },
  }, async (req, reply) => {
    // The subscription, its timeline and its periods from one snapshot: a plan change or a
    // renewal writes all three in one commit, which separate reads could show half of.
    const found = await engine.store.readsInOneSnapshot(async (tx) => {
      const sub = await tx.billing.subscription(req.params.id);
      return sub ? { sub, phases: await tx.billing.phases([sub.id]), periods: await tx.billing.periods(sub.id) } : null;
    });
    if (!found || !canSeeCustomer(req, found.sub.customerId)) return sendError(reply, { code: 'subscription_not_found', message: 'No such subscription.' });
    const { sub, phases, periods } = found;
    return reply.send({
      ...BV.subscriptionView(sub),
      timeline: phases.map((p) => ({ plan: p.planId, start_at: formatTimestamp(p.startAtMs), end_at: p.endAtMs === null ? null : formatTimestamp(p.endAtMs), reason: p.reason })),
      periods: periods.map((p) => ({ index: p.periodIndex, plan: p.planId, start: formatTimestamp(p.periodStartMs), end: formatTimestamp(p.periodEndMs), invoice: p.invoiceId, grant: p.grantId })),
    });
  });

  app.post<{ Params: Static<typeof S.IdParam>; Body: Static<typeof B.ChangeSubscription> }>('/v1/subscriptions/:id/change', {
    schema: { tags: ['subscriptions'], operationId: 'changeSubscription', summary: 'Change plan now (prorated money and credits in one transaction) or at period end', response: responds(200, Type.Ref(R.Subscription), 'The subscription as changed.'), params: S.IdParam, body: B.ChangeSubscription },
  }, async (req, reply) => send(reply, await changeSubscription(engine, req.params.id, req.body), BV.subscriptionView));

  app.post<{ Params: Static<typeof S.IdParam>; Body: Static<typeof B.CancelSubscription> }>('/v1/subscriptions/:id/cancel', {
    schema: { tags: ['subscriptions'], operationId: 'cancelSubscription', summary: 'Cancel now (prorated credit) or at period end', response: responds(200, Type.Ref(R.Subscription), 'The subscription as canceled.'), params: S.IdParam, body: B.CancelSubscription },
  }, async (req, reply) => send(reply, await cancelSubscription(engine, req.params.id, req.body), BV.subscriptionView));

  app.get<{ Querystring: Static<typeof B.InvoiceQuery> }>('/v1/invoices', {
    config: { scope: 'read' },
    schema: { tags: ['invoices'], operationId: 'listInvoices', summary: 'List invoices by customer, subscription and period', response: responds(200, List(Type.Ref(R.Invoice), 'A page of invoices.')), querystring: B.InvoiceQuery },
  }, async (req, reply) => {
    const customerId = await customerFilter(engine, req.caller?.customerId ?? null, req.query.customer);
    if (customerId === false) return sendError(reply, hiddenCustomer(req.query.customer ?? ''));
    let periodStartMs: number | undefined;
    if (req.query.period_start !== undefined) {
      const parsed = parseTimestamp(req.query.period_start);
      if (!parsed.ok) return sendError(reply, { code: 'validation_failed', message: 'period_start must be an RFC 3339 date-time.', fields: [{ field: 'period_start', code: 'invalid_timestamp', message: 'not a date-time' }] });
      periodStartMs = parsed.value;
    }
    const page = await engine.store.read.billing.listInvoices({
      customerId, ...(req.query.subscription ? { subscriptionId: req.query.subscription } : {}), ...(periodStartMs !== undefined ? { periodStartMs } : {}),
    }, pageOf(req.query));
    return reply.send(V.listView(page, BV.invoiceView, (i) => i.id));
  });

  app.get<{ Params: Static<typeof S.IdParam> }>('/v1/invoices/:id', {
    config: { scope: 'read' },
    schema: { tags: ['invoices'], operationId: 'getInvoice', summary: 'Fetch an invoice with its lines and payments', response: responds(200, Type.Ref(R.InvoiceDetail), 'The invoice with its payments.'), params: S.IdParam },
  }, async (req, reply) => {
    // The invoice and its payments from one snapshot: a payment and the invoice's amount paid
    // commit together, and separate reads could list a payment the invoice does not count.
    const found = await engine.store.readsInOneSnapshot(async (tx) => {
      const invoice = await tx.billing.invoice(req.params.id);
      return invoice ? { invoice, payments: await tx.billing.payments(invoice.id) } : null;
    });
    if (!found || !canSeeCustomer(req, found.invoice.customerId)) return sendError(reply, { code: 'invoice_not_found', message: 'No such invoice.' });
    return reply.send({ ...BV.invoiceView(found.invoice), payments: found.payments.map(BV.paymentView) });
  });

  app.post<{ Params: Static<typeof S.IdParam>; Body: Static<typeof B.RecordPayment> }>('/v1/invoices/:id/payments', {
    schema: { tags: ['invoices'], operationId: 'recordPayment', summary: 'Record a payment; paid in full activates the credits it bought', description: 'An open invoice, or one marked uncollectible: paid in full, an uncollectible invoice becomes paid and the credits its being uncollectible revoked come back as new grants (metadata.restores), unless expired or of an ended subscription. Refusals: invoice_not_open (paid or void), overpayment.', response: responds(201, Type.Ref(R.PaymentResult), 'The payment recorded.'), params: S.IdParam, body: B.RecordPayment },
  }, async (req, reply) => send(reply, await recordPayment(engine, req.params.id, req.body), (v) => ({ ...BV.paymentView(v.payment), invoice: BV.invoiceView(v.invoice) }), 201));

  app.post<{ Params: Static<typeof S.IdParam> }>('/v1/invoices/:id/void', {
    schema: { tags: ['invoices'], operationId: 'voidInvoice', summary: 'Void an open, unpaid invoice', response: responds(200, Type.Ref(R.Invoice), 'The invoice, voided.'), params: S.IdParam },
  }, async (req, reply) => send(reply, await voidInvoice(engine, req.params.id), BV.invoiceView));

  app.post<{ Params: Static<typeof S.IdParam>; Body: Static<typeof B.Purchase> }>('/v1/customers/:id/purchases', {
    schema: { tags: ['invoices'], operationId: 'purchaseCredits', summary: 'Buy credits: an invoice and a paid grant, active once the invoice is paid', response: responds(201, Type.Ref(R.Purchase), 'The invoice and the grant it will activate.'), params: S.IdParam, body: B.Purchase },
  }, async (req, reply) => send(reply, await purchaseCredits(engine, req.params.id, req.body), (v) => ({ invoice: BV.invoiceView(v.invoice), grant: V.grantView(v.grant) }), 201));

  app.post<{ Params: Static<typeof S.IdParam>; Body: Static<typeof B.AutoTopUpSettings> }>('/v1/customers/:id/auto_top_up', {
    schema: { tags: ['invoices'], operationId: 'setAutoTopUp', summary: 'Configure auto top-up: below a threshold, buy a pack (once per crossing)', response: responds(200, Type.Ref(R.Customer), 'The customer with its auto top-up settings.'), params: S.IdParam, body: B.AutoTopUpSettings },
  }, async (req, reply) => send(reply, await setAutoTopUp(engine, req.params.id, req.body.auto_top_up), V.customerView));
}
