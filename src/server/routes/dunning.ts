import type { FastifyInstance } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import type { Engine } from '../../engine/context.ts';
import { recordPaymentAttempt } from '../../engine/dunning.ts';
import { formatTimestamp } from '../../core/time.ts';
import type { PaymentAttemptRecord } from '../../store/records.ts';
import * as S from '../schemas.ts';
import { responds } from '../openapi.ts';
import { Invoice } from '../records-schemas.ts';
import * as BV from '../billing-views.ts';
import { canSeeCustomer, send, sendError } from '../reply.ts';

const RecordAttempt = Type.Object({
  outcome: Type.Union([Type.Literal('succeeded'), Type.Literal('failed')]),
  failure_code: Type.Optional(Type.String({ minLength: 1, maxLength: 100, pattern: '^[a-z0-9_]+$', description: 'Why it failed (card_declined, insufficient_funds…).' })),
  amount: Type.Optional(Type.Integer({ minimum: 1, maximum: 1e15, description: 'Succeeded only: minor units received (default: all that is due).' })),
  provider: Type.Optional(Type.String({ maxLength: 50 })),
  provider_payment_id: Type.Optional(Type.String({ maxLength: 255 })),
}, { additionalProperties: false });

const Attempt = Type.Object({
  id: Type.String({ description: 'pat_…' }),
  object: Type.Literal('payment_attempt'),
  invoice: Type.String(),
  customer: Type.String(),
  outcome: Type.Union([Type.Literal('succeeded'), Type.Literal('failed')]),
  failure_code: Type.Union([Type.String(), Type.Null()]),
  attempt: Type.Integer({ description: '1 for the first attempt on the invoice.' }),
  source: Type.Union([Type.Literal('api'), Type.Literal('dunning'), Type.Literal('provider')]),
  payment: Type.Union([Type.String(), Type.Null()]),
  created_at: Type.String({ format: 'date-time' }),
}, { additionalProperties: false });

export const attemptView = (a: PaymentAttemptRecord) => ({
  id: a.id, object: 'payment_attempt' as const, invoice: a.invoiceId, customer: a.customerId, outcome: a.outcome, failure_code: a.failureCode,
  attempt: a.attempt, source: a.source, payment: a.paymentId, created_at: formatTimestamp(a.createdAtMs),
});

/** Payment attempts on invoices, the way in for dunning by hand or from a provider (PRODUCT §14). */
export function dunningRoutes(app: FastifyInstance, engine: Engine): void {
  app.post<{ Params: Static<typeof S.IdParam>; Body: Static<typeof RecordAttempt> }>('/v1/invoices/:id/payment_attempts', {
    schema: {
      operationId: 'recordPaymentAttempt', tags: ['invoices'],
      summary: 'Record a payment attempt: succeeded pays the invoice; failed makes it past due and schedules retries',
      description: 'A succeeded attempt may pay an uncollectible invoice late (as a payment does); a failed one is for open invoices only. Refusals: invoice_not_open, overpayment.',
      params: S.IdParam, body: RecordAttempt,
      response: responds(201, Type.Object({ ...Attempt.properties, invoice_detail: Type.Ref(Invoice) }, { additionalProperties: false }), 'The attempt, with the invoice as it now stands.'),
    },
  }, async (req, reply) => send(reply, await recordPaymentAttempt(engine, req.params.id, req.body),
    (v) => ({ ...attemptView(v.attempt), invoice_detail: BV.invoiceView(v.invoice) }), 201));

  app.get<{ Params: Static<typeof S.IdParam> }>('/v1/invoices/:id/payment_attempts', {
    config: { scope: 'read' },
    schema: {
      operationId: 'listPaymentAttempts', tags: ['invoices'], summary: 'The payment attempts of an invoice, oldest first',
      params: S.IdParam, response: responds(200, Type.Object({ object: Type.Literal('list'), data: Type.Array(Attempt) }, { additionalProperties: false }), 'The attempts of the invoice, oldest first.'),
    },
  }, async (req, reply) => {
    const invoice = await engine.store.read.billing.invoice(req.params.id);
    if (!invoice || !canSeeCustomer(req, invoice.customerId)) return sendError(reply, { code: 'invoice_not_found', message: 'No such invoice.' });
    return reply.send({ object: 'list', data: (await engine.store.read.dunning.attempts(invoice.id)).map(attemptView) });
  });
}
