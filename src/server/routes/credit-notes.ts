import type { FastifyInstance } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import type { Engine } from '../../engine/context.ts';
import { applyBalanceToInvoice, createCreditNote, refundCreditNote } from '../../engine/credit-notes.ts';
import { minorToJson } from '../../core/money.ts';
import { formatTimestamp } from '../../core/time.ts';
import type { CreditNoteRecord, CreditNoteUseRecord } from '../../store/records.ts';
import type { NoteShare } from '../../store/queries/credit-notes.ts';
import * as S from '../schemas.ts';
import * as C from '../credit-note-schemas.ts';
import * as V from '../views.ts';
import * as R from '../records-schemas.ts';
import { responds } from '../openapi.ts';
import * as BV from '../billing-views.ts';
import { canSeeCustomer, hiddenCustomer, pageOf, send, sendError } from '../reply.ts';
import { customerFilter } from './credits.ts';

export const creditNoteUseView = (u: CreditNoteUseRecord) => ({
  id: u.id, kind: u.kind, invoice: u.invoiceId, payment: u.paymentId, chargeback: u.returnId, amount: minorToJson(u.amountMinor), created_at: formatTimestamp(u.createdAtMs),
});

export const creditNoteView = (n: CreditNoteRecord, uses?: CreditNoteUseRecord[], shares?: NoteShare[]) => ({
  id: n.id,
  object: 'credit_note' as const,
  customer: n.customerId,
  currency: n.currency,
  amount: minorToJson(n.amountMinor),
  remaining: minorToJson(n.remainingMinor),
  amount_applied: minorToJson(n.amountAppliedMinor),
  amount_refunded: minorToJson(n.amountRefundedMinor),
  amount_reversed: minorToJson(n.amountReversedMinor),
  source: n.source,
  reason: n.reason,
  refundable: n.refundable,
  status: n.status,
  invoice: n.invoiceId,
  invoice_line: n.invoiceLineId,
  refund: n.refundId,
  metadata: n.metadata,
  created_at: formatTimestamp(n.createdAtMs),
  ...(uses ? { uses: uses.map(creditNoteUseView) } : {}),
  ...(shares ? { gives_back: shares.map((s) => ({ invoice: s.invoiceId, amount: minorToJson(s.amountMinor) })) } : {}),
});

/** The money balance per currency, as the customer and balance endpoints show it. */
export const moneyBalanceView = (balances: Map<string, bigint>) => [...balances].map(([currency, amount]) => ({ currency, amount: minorToJson(amount) }));

/** Credit notes, the money balance and applying it to an invoice (PRODUCT §14). */
export function creditNoteRoutes(app: FastifyInstance, engine: Engine): void {
  app.post<{ Body: Static<typeof C.CreateCreditNote> }>('/v1/credit_notes', {
    schema: {
      operationId: 'createCreditNote', tags: ['credit notes'], summary: 'Issue a goodwill credit note: money kept as the customer\'s balance',
      body: C.CreateCreditNote, response: responds(201, Type.Ref(C.CreditNote), 'The credit note issued.'),
    },
  }, async (req, reply) => send(reply, await createCreditNote(engine, req.body), (n) => creditNoteView(n), 201));

  app.get<{ Querystring: Static<typeof S.CustomerPageQuery> }>('/v1/credit_notes', {
    config: { scope: 'read' },
    schema: {
      operationId: 'listCreditNotes', tags: ['credit notes'], summary: 'List credit notes, optionally of one customer',
      querystring: S.CustomerPageQuery, response: responds(200, C.CreditNoteList),
    },
  }, async (req, reply) => {
    const customerId = await customerFilter(engine, req.caller?.customerId ?? null, req.query.customer);
    if (customerId === false) return sendError(reply, hiddenCustomer(req.query.customer ?? ''));
    return reply.send(V.listView(await engine.store.read.creditNotes.list(customerId, pageOf(req.query)), (n) => creditNoteView(n), (n) => n.id));
  });

  app.get<{ Params: Static<typeof S.IdParam>; Querystring: Static<typeof S.PageQuery> }>('/v1/customers/:id/credit_notes', {
    config: { scope: 'read' },
    schema: {
      operationId: 'listCustomerCreditNotes', tags: ['credit notes'], summary: 'List one customer\'s credit notes',
      params: S.IdParam, querystring: S.PageQuery, response: responds(200, C.CreditNoteList),
    },
  }, async (req, reply) => {
    const customerId = await customerFilter(engine, req.caller?.customerId ?? null, req.params.id);
    if (customerId === false || customerId === null) return sendError(reply, hiddenCustomer(req.params.id));
    return reply.send(V.listView(await engine.store.read.creditNotes.list(customerId, pageOf(req.query)), (n) => creditNoteView(n), (n) => n.id));
  });

  app.get<{ Params: Static<typeof S.IdParam> }>('/v1/credit_notes/:id', {
    config: { scope: 'read' },
    schema: {
      operationId: 'getCreditNote', tags: ['credit notes'], summary: 'Fetch a credit note with each use of it (applied to invoices, paid out) and whose money it gives back',
      params: S.IdParam, response: responds(200, Type.Ref(C.CreditNote), 'The credit note with its uses.'),
    },
  }, async (req, reply) => {
    // The note and its uses from one snapshot: applying or paying out a note writes its amounts
    // and the use in one commit, and separate reads could list a use the amounts do not count.
    const found = await engine.store.readsInOneSnapshot(async (tx) => {
      const note = await tx.creditNotes.get(req.params.id);
      return note ? { note, uses: await tx.creditNotes.uses(note.id), shares: await tx.creditNotes.sharesOfNote(note.id) } : null;
    });
    if (!found || !canSeeCustomer(req, found.note.customerId)) return sendError(reply, { code: 'credit_note_not_found', message: 'No such credit note.', details: { id: req.params.id } });
    return reply.send(creditNoteView(found.note, found.uses, found.shares));
  });

  app.post<{ Params: Static<typeof S.IdParam>; Body: Static<typeof C.RefundCreditNote> }>('/v1/credit_notes/:id/refund', {
    schema: {
      operationId: 'refundCreditNote', tags: ['credit notes'], summary: 'Pay out a refundable credit note (all that remains, or an amount)',
      description: 'Refusals: credit_note_not_refundable, amount_exceeds_remaining, customer_has_unpaid_invoices (the customer owes money on open or uncollectible invoices in the note\'s currency: apply the balance to them first; details.invoices names them).',
      params: S.IdParam, body: C.RefundCreditNote, response: responds(200, Type.Ref(C.CreditNote), 'The credit note after the payout.'),
    },
  }, async (req, reply) => send(reply, await refundCreditNote(engine, req.params.id, req.body ?? {}), (n) => creditNoteView(n)));

  app.get<{ Params: Static<typeof S.IdParam> }>('/v1/customers/:id/money_balance', {
    config: { scope: 'read' },
    schema: {
      operationId: 'getMoneyBalance', tags: ['credit notes'], summary: 'The customer\'s money balance per currency (credit notes left to apply)',
      params: S.IdParam, response: responds(200, Type.Ref(C.MoneyBalance), 'The money balance.'),
    },
  }, async (req, reply) => {
    const customer = await engine.store.read.customers.find(req.params.id);
    if (!customer || !canSeeCustomer(req, customer.id)) return sendError(reply, hiddenCustomer(req.params.id));
    return reply.send({ object: 'money_balance', customer: customer.id, balances: moneyBalanceView(await engine.store.read.creditNotes.balances(customer.id)) });
  });

  app.post<{ Params: Static<typeof S.IdParam> }>('/v1/invoices/:id/apply_balance', {
    schema: {
      operationId: 'applyBalanceToInvoice', tags: ['invoices'], summary: 'Apply the customer\'s balance to an unpaid invoice, oldest credit note first', description: 'Open or uncollectible invoices; a paid or void one is invoice_not_open, and one already pushed to Stripe (which collects the amount it was pushed with) is invoice_in_provider.',
      params: S.IdParam, response: responds(200, Type.Ref(R.Invoice), 'The invoice with the balance applied.'),
    },
  }, async (req, reply) => send(reply, await applyBalanceToInvoice(engine, req.params.id), BV.invoiceView));
}
