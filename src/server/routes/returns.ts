import type { FastifyInstance } from 'fastify';
import { minorToJson } from '../../core/money.ts';
import { Type, type Static } from '@sinclair/typebox';
import type { Engine } from '../../engine/context.ts';
import { closeChargeback, createReturn } from '../../engine/refunds.ts';
import { formatCredits } from '../../core/decimal.ts';
import { formatTimestamp } from '../../core/time.ts';
import { ok, type Outcome } from '../../core/errors.ts';
import type { ReturnRecord, ShortfallHandling } from '../../store/records.ts';
import * as S from '../schemas.ts';
import * as V from '../views.ts';
import * as R from '../records-schemas.ts';
import { List, responds } from '../openapi.ts';
import { canSeeCustomer, hiddenCustomer, pageOf, send, sendError } from '../reply.ts';
import { customerFilter } from './credits.ts';
import { referralClawBackView } from '../promotion-views.ts';
import type { ReferralClawBackRecord } from '../../store/promotion-records.ts';

export const CreateReturn = Type.Object({
  invoice: Type.String({ minLength: 1, maxLength: 255 }),
  amount: Type.Integer({ minimum: 1, maximum: 1e15, description: 'Minor units returned to the customer.' }),
  reason: Type.String({ minLength: 1, maxLength: 500 }),
  credit_policy: Type.Union([Type.Literal('proportional'), Type.Literal('full'), Type.Literal('unused_only'), Type.Literal('none')]),
  shortfall: Type.Optional(Type.Union([Type.Literal('debt'), Type.Literal('write_off')], { description: 'What happens to credits that cannot be revoked because they were spent (default: the server setting).' })),
  to: Type.Optional(Type.Union([Type.Literal('cash'), Type.Literal('balance')], { description: 'Refunds: `cash` (default) returns the money; `balance` keeps it as a credit note, refundable unless a note that is not refundable (goodwill) paid for it.' })),
}, { additionalProperties: false });

const CloseChargeback = Type.Object({ outcome: Type.Union([Type.Literal('won'), Type.Literal('lost')]) }, { additionalProperties: false });

export const returnView = (r: ReturnRecord, referralClawBacks: readonly ReferralClawBackRecord[] = []) => ({
  id: r.id,
  object: r.kind,
  customer: r.customerId,
  invoice: r.invoiceId,
  amount: minorToJson(r.amountMinor),
  currency: r.currency,
  reason: r.reason,
  credit_policy: r.creditPolicy,
  credits_granted: formatCredits(r.creditsGrantedMicro),
  credits_revoked: formatCredits(r.creditsRevokedMicro),
  credits_shortfall: formatCredits(r.creditsShortfallMicro),
  shortfall: r.shortfallHandling,
  status: r.status,
  transaction: r.txnId,
  restore_transaction: r.restoreTxnId,
  created_at: formatTimestamp(r.createdAtMs),
  closed_at: r.closedAtMs === null ? null : formatTimestamp(r.closedAtMs),
  ...(r.kind === 'refund' ? { to: r.destination, credit_note: r.creditNoteId } : {
    credit_notes_reversed: minorToJson(r.notesReversedMinor), credit_notes_shortfall: minorToJson(r.notesShortfallMinor),
  }),
  referral_claw_backs: referralClawBacks.map(referralClawBackView),
});

/** Refunds and chargebacks with their credit claw-back (PRODUCT §8). */
export function returnRoutes(app: FastifyInstance, engine: Engine, defaultShortfall: ShortfallHandling): void {
  for (const kind of ['refund', 'chargeback'] as const) {
    const plural = `${kind}s`;
    const title = kind === 'refund' ? 'Refund' : 'Chargeback';
    const record = kind === 'refund' ? R.Refund : R.Chargeback;
    app.post<{ Body: Static<typeof CreateReturn> }>(`/v1/${plural}`, {
      schema: { tags: [plural], operationId: `create${title}`, summary: `Record a ${kind} on an invoice and claw back credits by policy`, response: responds(201, Type.Ref(record), `The ${kind} recorded.`), body: CreateReturn },
    }, async (req, reply) => send(reply, await withClawBacks(engine, await createReturn(engine, kind, req.body, defaultShortfall)), (v) => returnView(v.record, v.clawBacks), 201));

    app.get<{ Params: Static<typeof S.IdParam> }>(`/v1/${plural}/:id`, {
      config: { scope: 'read' },
      schema: { tags: [plural], operationId: `get${title}`, summary: `Fetch a ${kind}`, response: responds(200, Type.Ref(record), `The ${kind}.`), params: S.IdParam },
    }, async (req, reply) => {
      // The record and its claw-backs from one snapshot: a chargeback closed as lost changes its
      // status and claws back in one commit, which separate reads could show half of.
      const found = await engine.store.readsInOneSnapshot(async (tx) => {
        const record = await tx.returns.get(req.params.id);
        return record ? { record, clawBacks: await tx.referrals.clawBacksOf([record.id]) } : null;
      });
      if (!found || found.record.kind !== kind || !canSeeCustomer(req, found.record.customerId)) return sendError(reply, { code: `${kind}_not_found`, message: `No such ${kind}.` });
      return reply.send(returnView(found.record, found.clawBacks));
    });

    app.get<{ Querystring: Static<typeof S.CustomerPageQuery> }>(`/v1/${plural}`, {
      config: { scope: 'read' },
      schema: { tags: [plural], operationId: `list${title}s`, summary: `List ${plural}`, response: responds(200, List(Type.Ref(record), `A page of ${plural}.`)), querystring: S.CustomerPageQuery },
    }, async (req, reply) => {
      const customerId = await customerFilter(engine, req.caller?.customerId ?? null, req.query.customer);
      if (customerId === false) return sendError(reply, hiddenCustomer(req.query.customer ?? ''));
      const { page, clawBacks } = await engine.store.readsInOneSnapshot(async (tx) => {
        const found = await tx.returns.list(kind, customerId, pageOf(req.query));
        return { page: found, clawBacks: await tx.referrals.clawBacksOf(found.data.map((r) => r.id)) };
      });
      return reply.send(V.listView(page, (r) => returnView(r, clawBacks.filter((c) => c.returnId === r.id)), (r) => r.id));
    });
  }

  app.post<{ Params: Static<typeof S.IdParam>; Body: Static<typeof CloseChargeback> }>('/v1/chargebacks/:id/close', {
    schema: { tags: ['chargebacks'], operationId: 'closeChargeback', summary: 'Close a chargeback: lost keeps the claw-back, won restores it', response: responds(200, Type.Ref(R.Chargeback), 'The chargeback, closed.'), params: S.IdParam, body: CloseChargeback },
  }, async (req, reply) => send(reply, await withClawBacks(engine, await closeChargeback(engine, req.params.id, req.body.outcome)), (v) => returnView(v.record, v.clawBacks)));
}

/** The referral rewards a refund or lost chargeback clawed back (PRODUCT §15), read after its commit. */
async function withClawBacks(engine: Engine, outcome: Outcome<ReturnRecord>): Promise<Outcome<{ record: ReturnRecord; clawBacks: ReferralClawBackRecord[] }>> {
  if (!outcome.ok) return outcome;
  return ok({ record: outcome.value, clawBacks: await engine.store.read.referrals.clawBacksOf([outcome.value.id]) });
}
