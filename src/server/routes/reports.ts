import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import type { Engine } from '../../engine/context.ts';
import { reportNames, runReport, type ReportName } from '../../engine/reports.ts';
import { reconcile } from '../../engine/reconcile.ts';
import { Timestamp } from '../schemas.ts';
import * as R from '../records-schemas.ts';
import { responds } from '../openapi.ts';
import { reconciliationView, reportCsv, reportView } from '../report-views.ts';
import { hiddenCustomer, send, sendError } from '../reply.ts';
import { customerFilter } from './credits.ts';

export const ReportQuery = Type.Object({
  from: Type.Optional({ ...Timestamp, description: 'Start of the window (inclusive), RFC 3339. Open when left out.' }),
  to: Type.Optional({ ...Timestamp, description: 'End of the window (exclusive), RFC 3339. Open when left out.' }),
  customer: Type.Optional(Type.String({ minLength: 1, maxLength: 255, description: 'Only this customer (id or external_id).' })),
}, { additionalProperties: false });

const ReconcileQuery = Type.Object({ from: ReportQuery.properties.from, to: ReportQuery.properties.to }, { additionalProperties: false });

const summaries: Record<ReportName, string> = {
  revenue: 'Revenue by plan and period: invoiced, paid, refunded, charged back, net',
  usage: 'Credits consumed by plan (in effect at the time) and meter',
  overage: 'Overage revenue by the period it bills',
  refunds: 'Refund and chargeback impact: money returned against credits revoked, per policy',
  promotional: 'Promotional (non-revenue) consumption by grant source',
  deferred_revenue: 'Deferred revenue of credits bought at a cost basis: recognized, breakage, liability',
  credit_notes: 'Credit notes issued, and the customer balance: opening, issued, applied, paid out, closing',
  aging: 'Past-due invoices still unpaid, by days past due: 0–30, 31–60, 61–90, 90+',
};

const operationIds: Record<ReportName, string> = {
  revenue: 'getRevenueReport',
  usage: 'getUsageReport',
  overage: 'getOverageReport',
  refunds: 'getRefundsReport',
  promotional: 'getPromotionalReport',
  deferred_revenue: 'getDeferredRevenueReport',
  credit_notes: 'getCreditNotesReport',
  aging: 'getAgingReport',
};

/** JSON by default; the rows as CSV with `Accept: text/csv`. */
const reportResponses = {
  ...responds(200, Type.Ref(R.Report)),
  200: {
    description: 'The report.',
    content: {
      'application/json': { schema: Type.Ref(R.Report) },
      'text/csv': { schema: Type.String({ description: 'The rows: a header line, then one line per row (RFC 4180).' }) },
    },
  },
};

const wantsCsv = (req: FastifyRequest): boolean => (req.headers.accept ?? '').toLowerCase().includes('text/csv');

/** Finance reports (JSON, or CSV with `Accept: text/csv`) and the reconciliation (PRODUCT §10). */
export function reportRoutes(app: FastifyInstance, engine: Engine): void {
  for (const name of reportNames) {
    app.get<{ Querystring: Static<typeof ReportQuery> }>(`/v1/reports/${name}`, {
      config: { scope: 'read' },
      schema: { tags: ['reports'], operationId: operationIds[name], summary: summaries[name], response: reportResponses, description: 'JSON by default; one CSV table of the rows with Accept: text/csv.', querystring: ReportQuery },
    }, async (req, reply) => {
      const customerId = await customerFilter(engine, req.caller?.customerId ?? null, req.query.customer);
      if (customerId === false) return sendError(reply, hiddenCustomer(req.query.customer ?? ''));
      const outcome = await runReport(engine, name, { from: req.query.from, to: req.query.to, customer: customerId ?? undefined });
      if (outcome.ok && wantsCsv(req)) return reply.type('text/csv; charset=utf-8').send(reportCsv(name, outcome.value));
      return send(reply, outcome, (report) => reportView(name, report));
    });
  }

  app.get<{ Querystring: Static<typeof ReconcileQuery> }>('/v1/reconciliation', {
    config: { scope: 'read' },
    schema: { tags: ['reports'], operationId: 'getReconciliation', summary: 'Check that credits and money reconcile; lists every discrepancy with ids', response: responds(200, Type.Ref(R.Reconciliation), 'Every check and every discrepancy.'), querystring: ReconcileQuery },
  }, async (req, reply) => {
    if (req.caller?.customerId) return sendError(reply, { code: 'insufficient_scope', message: 'A portal token cannot run the reconciliation.' });
    return send(reply, await reconcile(engine, req.query), reconciliationView);
  });
}
