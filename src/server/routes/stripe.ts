import type { FastifyInstance } from 'fastify';
import type { Static } from '@sinclair/typebox';
import type { Engine } from '../../engine/context.ts';
import { applyStripeEvent, resolveStripeEvent } from '../../engine/stripe-events.ts';
import { formatTimestamp } from '../../core/time.ts';
import { verifyStripeEvent } from '../../integrations/stripe/inbound.ts';
import type { StripeSettings } from '../../integrations/stripe/settings.ts';
import type { ShortfallHandling } from '../../store/records.ts';
import type { StripeEventRecord } from '../../store/queries/stripe.ts';
import * as S from '../schemas.ts';
import { ResolveStripeEvent, StripeEventList, StripeEventView, StripeWebhookReceipt } from '../stripe-schemas.ts';
import { responds } from '../openapi.ts';
import { pageOf, send, sendError } from '../reply.ts';
import { listView } from '../views.ts';

export const stripeEventView = (e: StripeEventRecord) => ({
  id: e.id,
  object: 'stripe_event' as const,
  type: e.type,
  status: e.status,
  object_id: e.objectId,
  invoice: e.invoiceId,
  outcome: e.outcome,
  received_at: formatTimestamp(e.receivedAtMs),
  payload: e.payload,
});

/**
 * Stripe, inbound (PRODUCT §11): the webhook Stripe calls, and the events kept for review. The
 * webhook has no API key: the `Stripe-Signature` over the raw body is its authentication, so the
 * route reads the body as bytes (its own content parser, in its own encapsulated scope).
 */
export function stripeRoutes(app: FastifyInstance, engine: Engine, settings: StripeSettings | undefined, shortfall: ShortfallHandling): void {
  void app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: 1024 * 1024 }, (_req, body, done) => done(null, body));
    scope.post('/v1/integrations/stripe/webhook', {
      // The endpoint's URL is whatever was typed into Stripe's dashboard: a query string on it is
      // no reason to refuse Stripe's events (Stripe retries, then disables the endpoint).
      config: { scope: 'public', ignoresQuery: true },
      schema: {
        operationId: 'receiveStripeWebhook',
        tags: ['stripe'],
        security: [],
        summary: 'Receive a Stripe event (signed with Stripe-Signature; no API key)',
        description: 'Verifies the signature (300 s tolerance) over the raw body, then applies invoice.paid, invoice.payment_failed, '
          + 'charge.refunded, charge.dispute.created and charge.dispute.closed once per Stripe event id. Other types are acknowledged and ignored; '
          + 'events for no known invoice are kept at GET /v1/integrations/stripe/unmatched.',
        response: responds(200, StripeWebhookReceipt),
      },
    }, async (req, reply) => {
      if (!settings?.webhookSecret) {
        return sendError(reply, { code: 'stripe_webhook_not_configured', message: 'Set TALLY_STRIPE_WEBHOOK_SECRET to receive Stripe events.' });
      }
      const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
      const header = req.headers['stripe-signature'];
      const verified = await verifyStripeEvent(body, typeof header === 'string' ? header : undefined, settings.webhookSecret);
      if (!verified.ok) return sendError(reply, verified.error);
      const result = await applyStripeEvent(engine, verified.value, { creditPolicy: settings.refundPolicy, shortfall });
      return reply.send({ received: true, event: verified.value.id, ...result });
    });
  });

  app.get<{ Querystring: Static<typeof S.PageQuery> }>('/v1/integrations/stripe/unmatched', {
    config: { scope: 'read' },
    schema: {
      operationId: 'listUnmatchedStripeEvents',
      tags: ['stripe'],
      summary: 'Stripe events kept for review: no Tally invoice matched, or the flow refused them',
      querystring: S.PageQuery,
      response: responds(200, StripeEventList),
    },
  }, async (req, reply) => {
    // Events for review may concern any customer: a portal token (bound to one) does not see them.
    if (req.caller?.customerId) return sendError(reply, { code: 'customer_forbidden', message: 'A key bound to one customer cannot read Stripe events.' });
    return reply.send(listView(await engine.store.read.stripe.eventsForReview(pageOf(req.query)), stripeEventView, (e) => e.id));
  });

  app.post<{ Params: Static<typeof S.IdParam>; Body: Static<typeof ResolveStripeEvent> }>('/v1/integrations/stripe/events/:id/resolve', {
    schema: {
      operationId: 'resolveStripeEvent',
      tags: ['stripe'],
      summary: 'Settle a Stripe event kept for review, with a note of how it was dealt with',
      description: 'For an unmatched or rejected event (say, money Stripe collected on an invoice voided in Tally, refunded in Stripe): '
        + 'its status becomes resolved, outcome.resolution keeps the note, it leaves the review list and the reconciliation, and '
        + 'stripe_event.resolved is recorded. No money or credits move. Refusals: stripe_event_not_found, stripe_event_not_in_review.',
      params: S.IdParam, body: ResolveStripeEvent, response: responds(200, StripeEventView, 'The event, resolved.'),
    },
  }, async (req, reply) => {
    if (req.caller?.customerId) return sendError(reply, { code: 'customer_forbidden', message: 'A key bound to one customer cannot settle Stripe events.' });
    return send(reply, await resolveStripeEvent(engine, req.params.id, req.body), stripeEventView);
  });
}
