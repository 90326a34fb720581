import { Type } from '@sinclair/typebox';
import { Currency, Metadata, Timestamp } from './schemas.ts';

/** Request and response schemas of credit notes and the customer's money balance (PRODUCT §14). */
export const CreateCreditNote = Type.Object({
  customer: Type.String({ minLength: 1, maxLength: 255, description: 'Customer id or external_id.' }),
  amount: Type.Integer({ minimum: 1, maximum: 1e15, description: 'Minor units owed to the customer, kept as balance.' }),
  currency: Type.Optional({ ...Currency, description: 'When given, must be the customer\'s currency.' }),
  reason: Type.String({ minLength: 1, maxLength: 500 }),
  refundable: Type.Optional(Type.Boolean({ description: 'Whether the note may be paid out in cash (default false: balance only).' })),
  invoice: Type.Optional(Type.String({ minLength: 1, maxLength: 255, description: 'An invoice of the customer the note relates to (not void).' })),
  metadata: Type.Optional(Metadata),
}, { additionalProperties: false });

export const RefundCreditNote = Type.Object({
  amount: Type.Optional(Type.Integer({ minimum: 1, maximum: 1e15, description: 'Minor units to pay out (default: all that remains).' })),
}, { additionalProperties: false });

const Nullable = <T extends ReturnType<typeof Type.String>>(t: T) => Type.Union([t, Type.Null()]);

export const CreditNoteUse = Type.Object({
  id: Type.String(),
  kind: Type.Union([Type.Literal('applied'), Type.Literal('refunded')]),
  invoice: Nullable(Type.String()),
  payment: Nullable(Type.String()),
  amount: Type.Integer(),
  created_at: Timestamp,
});

export const CreditNote = Type.Object({
  id: Type.String({ description: 'cn_…' }),
  object: Type.Literal('credit_note'),
  customer: Type.String(),
  currency: Currency,
  amount: Type.Integer({ description: 'Minor units issued.' }),
  remaining: Type.Integer({ description: 'Minor units left: amount − applied − refunded.' }),
  amount_applied: Type.Integer(),
  amount_refunded: Type.Integer({ description: 'Minor units paid out in cash.' }),
  source: Type.Union([Type.Literal('proration'), Type.Literal('refund'), Type.Literal('goodwill'), Type.Literal('invoice_void')]),
  reason: Type.String(),
  refundable: Type.Boolean(),
  status: Type.Union([Type.Literal('open'), Type.Literal('closed')]),
  invoice: Nullable(Type.String()),
  invoice_line: Nullable(Type.String()),
  refund: Nullable(Type.String()),
  metadata: Type.Record(Type.String(), Type.String()),
  created_at: Timestamp,
  uses: Type.Optional(Type.Array(CreditNoteUse)),
});

export const CreditNoteList = Type.Object({
  object: Type.Literal('list'),
  data: Type.Array(CreditNote),
  has_more: Type.Boolean(),
  next_cursor: Nullable(Type.String()),
});

export const MoneyBalance = Type.Object({
  object: Type.Literal('money_balance'),
  customer: Type.String(),
  balances: Type.Array(Type.Object({ currency: Currency, amount: Type.Integer({ description: 'Minor units of credit notes left to apply.' }) })),
});

export const ErrorResponse = Type.Object({
  error: Type.Object({
    code: Type.String({ description: 'A stable snake_case code.' }),
    message: Type.String(),
    details: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  }),
});

/** The error replies every route may give, by status. */
export const errorResponses = { 400: ErrorResponse, 401: ErrorResponse, 403: ErrorResponse, 404: ErrorResponse, 409: ErrorResponse };
