import { Type } from '@sinclair/typebox';
import { Currency, Metadata, Timestamp } from './schemas.ts';
import { List } from './openapi.ts';

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
  kind: Type.Union([Type.Literal('applied'), Type.Literal('refunded'), Type.Literal('reversed'), Type.Literal('restored')], {
    description: '`reversed`: taken back by a chargeback of the invoice whose fee the note credited (`invoice`); `restored`: given back when that chargeback was won.',
  }),
  invoice: Nullable(Type.String()),
  payment: Nullable(Type.String()),
  chargeback: Nullable(Type.String({ description: 'The chargeback that reversed or restored it.' })),
  amount: Type.Integer(),
  created_at: Timestamp,
}, { additionalProperties: false });

export const CreditNoteShare = Type.Object({
  invoice: Type.String({ description: 'An invoice that paid the fee the note credits back.' }),
  amount: Type.Integer({ description: 'Minor units of the note that give back this invoice\'s money: a refund of the invoice returns at most what it was paid less its returns and these parts.' }),
}, { additionalProperties: false });

export const CreditNote = Type.Object({
  id: Type.String({ description: 'cn_…' }),
  object: Type.Literal('credit_note'),
  customer: Type.String(),
  currency: Currency,
  amount: Type.Integer({ description: 'Minor units issued.' }),
  remaining: Type.Integer({ description: 'Minor units left: amount − applied − refunded − reversed.' }),
  amount_applied: Type.Integer(),
  amount_refunded: Type.Integer({ description: 'Minor units paid out in cash.' }),
  amount_reversed: Type.Integer({ description: 'Minor units taken back by chargebacks of the invoice whose fee the note credited back (less what won ones restored).' }),
  source: Type.Union([Type.Literal('proration'), Type.Literal('refund'), Type.Literal('goodwill'), Type.Literal('invoice_void')]),
  reason: Type.String(),
  refundable: Type.Boolean(),
  status: Type.Union([Type.Literal('open'), Type.Literal('closed')]),
  invoice: Nullable(Type.String()),
  invoice_line: Nullable(Type.String()),
  refund: Nullable(Type.String()),
  metadata: Type.Record(Type.String(), Type.String()),
  created_at: Timestamp,
  uses: Type.Optional(Type.Array(CreditNoteUse, { description: 'Each use of the note; only when fetched alone.' })),
  gives_back: Type.Optional(Type.Array(CreditNoteShare, {
    description: 'A note for a fee\'s unused time (source `proration`): whose money it gives back, to the cent: the fee\'s own invoice and, when a plan change\'s charge was paid in part by the credit of the fee before it, that fee\'s invoice, in that proportion (back through the period\'s changes). Empty for other notes; only when fetched alone.',
  })),
}, { $id: 'CreditNote', additionalProperties: false, description: 'Money owed to the customer, kept as balance and applied to invoices oldest first.' });

export const CreditNoteList = List(Type.Ref(CreditNote), 'A page of credit notes.');

export const MoneyAmount = Type.Object({ currency: Currency, amount: Type.Integer({ description: 'Minor units of credit notes left to apply.' }) }, { additionalProperties: false });

export const MoneyBalance = Type.Object({
  object: Type.Literal('money_balance'),
  customer: Type.String(),
  balances: Type.Array(MoneyAmount),
}, { $id: 'MoneyBalance', additionalProperties: false, description: "The customer's money balance per currency." });
