import type { FastifyInstance } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import type { Engine } from '../../engine/context.ts';
import { preview, type PreviewWrites } from '../../engine/preview.ts';
import { createReturn } from '../../engine/refunds.ts';
import { cancelSubscription, changeSubscription } from '../../engine/subscriptions.ts';
import type { ShortfallHandling } from '../../store/records.ts';
import * as S from '../schemas.ts';
import * as B from '../billing-schemas.ts';
import * as R from '../records-schemas.ts';
import * as V from '../views.ts';
import * as BV from '../billing-views.ts';
import { responds } from '../openapi.ts';
import { send } from '../reply.ts';
import { CreateReturn, returnView } from './returns.ts';
import { creditNoteView } from './credit-notes.ts';

function writesView(engine: Engine, w: PreviewWrites) {
  const nowMs = engine.clock.now();
  return {
    ledger_transactions: w.transactions.map((t) => V.transactionView({ ...t, causeType: t.cause.type, causeId: t.cause.id, createdAtMs: nowMs })),
    invoices: w.invoices.map(BV.invoiceView),
    credit_notes: w.creditNotes.map((n) => creditNoteView(n)),
    events: w.events.map((e) => e.type),
  };
}

/**
 * Previews of the support actions that change credits (PRODUCT §12): the same use case as the real
 * call, run in a transaction that is rolled back.
 */
export function previewRoutes(app: FastifyInstance, engine: Engine, defaultShortfall: ShortfallHandling): void {
  app.post<{ Body: Static<typeof CreateReturn> }>('/v1/refunds/preview', {
    schema: {
      tags: ['refunds'], operationId: 'previewRefund', summary: 'Preview a refund: the credits it would revoke, without writing anything',
      body: CreateReturn, response: responds(200, Type.Ref(R.RefundPreview), 'The refund as it would be recorded.'),
    },
  }, async (req, reply) => {
    const { result, writes: w } = await preview(engine, (e) => createReturn(e, 'refund', req.body, defaultShortfall));
    return send(reply, result, (r) => ({ object: 'refund_preview', refund: returnView(r), ...writesView(engine, w) }));
  });

  app.post<{ Params: Static<typeof S.IdParam>; Body: Static<typeof B.ChangeSubscription> }>('/v1/subscriptions/:id/change/preview', {
    schema: {
      tags: ['subscriptions'], operationId: 'previewSubscriptionChange', summary: 'Preview a plan change: proration lines and credit changes, without writing anything',
      params: S.IdParam, body: B.ChangeSubscription, response: responds(200, Type.Ref(R.SubscriptionPreview), 'The change as it would be made.'),
    },
  }, async (req, reply) => {
    const { result, writes: w } = await preview(engine, (e) => changeSubscription(e, req.params.id, req.body));
    return send(reply, result, (s) => ({ object: 'subscription_preview', subscription: BV.subscriptionView(s), ...writesView(engine, w) }));
  });

  app.post<{ Params: Static<typeof S.IdParam>; Body: Static<typeof B.CancelSubscription> }>('/v1/subscriptions/:id/cancel/preview', {
    schema: {
      tags: ['subscriptions'], operationId: 'previewSubscriptionCancel', summary: 'Preview a cancellation: the final invoice and credit changes, without writing anything',
      params: S.IdParam, body: B.CancelSubscription, response: responds(200, Type.Ref(R.SubscriptionPreview), 'The cancellation as it would be made.'),
    },
  }, async (req, reply) => {
    const { result, writes: w } = await preview(engine, (e) => cancelSubscription(e, req.params.id, req.body));
    return send(reply, result, (s) => ({ object: 'subscription_preview', subscription: BV.subscriptionView(s), ...writesView(engine, w) }));
  });
}
