import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { hotStateCounts } from '../engine/hot-state.ts';

/**
 * Prometheus metrics for `/metrics`, one registry per server so tests do not share counters.
 * `database` is the engine's (`Store.db`), whose ingestion hot state the reads counter reports.
 */
export function createMetrics(database: object) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  // What the counter last reported, so each scrape adds what happened since.
  const reported = { memory: 0, database: 0 };
  return {
    registry,
    requests: new Histogram({
      name: 'tally_http_request_duration_seconds',
      help: 'HTTP request duration by route and status.',
      labelNames: ['method', 'route', 'status'],
      buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1],
      registers: [registry],
    }),
    eventsIngested: new Counter({ name: 'tally_usage_events_total', help: 'Usage events by outcome.', labelNames: ['status'], registers: [registry] }),
    ingestGroups: new Histogram({
      name: 'tally_ingest_group_events',
      help: 'Usage events per ingest store transaction: a group commit of the requests that waited together, or one request retried alone after its group failed.',
      buckets: [1, 4, 16, 64, 256, 1000, 2000, 3000, 5000],
      registers: [registry],
    }),
    dueWork: new Counter({ name: 'tally_due_work_total', help: 'Scheduled items run (renewals, expiries).', registers: [registry] }),
    dueWorkFailures: new Counter({
      name: 'tally_due_work_failures_total',
      help: 'Scheduled items that failed on their own, by kind: each is tried again after a backoff while the work behind it runs.',
      labelNames: ['kind'],
      registers: [registry],
    }),
    ingestCustomerReads: new Counter({
      name: 'tally_ingest_customer_reads_total',
      help: "Customers of ingestion batches by where their grants, timeline and settings came from: 'memory' (the hot state, SQLite) or 'database'.",
      labelNames: ['source'],
      registers: [registry],
      collect() {
        const counts = hotStateCounts(database);
        for (const source of ['memory', 'database'] as const) {
          if (counts[source] > reported[source]) this.inc({ source }, counts[source] - reported[source]);
          reported[source] = counts[source];
        }
      },
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
