import { createEngine } from '../engine/create-engine.ts';
import { openDatabase } from '../store/open-database.ts';
import { buildServer } from '../server/app.ts';
import { rateLimitFromEnv } from '../server/rate-limit.ts';
import { startScheduler } from '../scheduler/scheduler.ts';
import { stripeSettingsFromEnv } from '../integrations/stripe/settings.ts';
import { SecretBox } from '../engine/secret-box.ts';
import { startWebhookWorker } from '../integrations/webhooks/delivery-worker.ts';
import { settingsFromEnv, sqliteCacheMibFromEnv, sqliteWalCoalescingFromEnv, sqliteWriterThreadFromEnv } from './settings.ts';
import { limitHeapGrowth } from './heap.ts';
import { resumeTestClockAdvances } from '../engine/test-clocks.ts';

export interface ServeOptions {
  databaseUrl: string;
  port: number;
  host: string;
  adminKey: string;
}

/** How long in-flight requests get to finish after SIGTERM/SIGINT before the process exits anyway. */
const shutdownGraceMs = 10_000;

/**
 * Starts the HTTP server and the real-clock scheduler, and resumes the test clock advances a
 * stopped server left unfinished. SIGINT or SIGTERM stops them cleanly: the server stops
 * accepting, in-flight requests finish, background test clock advances and the scheduler's tick
 * stop after their transaction in progress, the database closes, and the process exits (after
 * `shutdownGraceMs` at the latest).
 */
export async function startServer(options: ServeOptions): Promise<void> {
  // Within PRODUCT §13's memory budget (heap.ts).
  limitHeapGrowth();
  const stripe = stripeSettingsFromEnv();
  const sqliteCacheMib = sqliteCacheMibFromEnv(process.env);
  const sqliteWalCoalescing = sqliteWalCoalescingFromEnv(process.env);
  const sqliteWriterThread = sqliteWriterThreadFromEnv(process.env);
  const db = await openDatabase(options.databaseUrl, {
    ...(sqliteCacheMib === undefined ? {} : { sqliteCacheMib }),
    ...(sqliteWalCoalescing === undefined ? {} : { sqliteWalCoalescing }),
    ...(sqliteWriterThread === undefined ? {} : { sqliteWriterThread }),
  });
  // With Stripe configured, dunning retries ask Stripe to pay (unless TALLY_COLLECTION says otherwise).
  const engine = await createEngine(db, { settings: { ...(stripe.secretKey ? { collection: 'provider' as const } : {}), ...settingsFromEnv(process.env) } });
  // Webhook signing secrets are sealed with TALLY_SECRET_KEY, or for local use with a key
  // derived from the admin key (docs/ARCHITECTURE.md, "Webhooks").
  const box = new SecretBox(process.env.TALLY_SECRET_KEY || options.adminKey);
  const allowPrivate = process.env.TALLY_WEBHOOK_ALLOW_PRIVATE === '1';
  const app = await buildServer(engine, {
    webhooks: { box, allowPrivate },
    adminKey: options.adminKey,
    logger: process.env.TALLY_LOG === '1',
    refundShortfall: process.env.TALLY_REFUND_SHORTFALL === 'write_off' ? 'write_off' : 'debt',
    rateLimit: rateLimitFromEnv(process.env),
    metricsPublic: process.env.TALLY_METRICS_PUBLIC === '1',
    stripe,
  });
  const scheduler = startScheduler(engine, {
    onRan: (items) => app.metrics.dueWork.inc(items),
    onFailure: (item) => app.metrics.dueWorkFailures.inc({ kind: item.kind }),
  });
  // Pushes finalized invoices to Stripe when a secret key is set (PRODUCT §11).
  // Loaded only then: the `stripe` package is not needed otherwise.
  const stripePush = stripe.secretKey ? (await import('../integrations/stripe/push-worker.ts')).startStripePushWorker(engine, stripe) : null;
  const webhooks = startWebhookWorker(engine, { box, allowPrivate });
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`${signal}: stopping (in-flight requests finish first)`);
    setTimeout(() => {
      console.error(`still stopping after ${shutdownGraceMs} ms; exiting`);
      process.exit(1);
    }, shutdownGraceMs).unref();
    await app.close();
    await scheduler.stop();
    await stripePush?.stop();
    await webhooks.stop();
    await db.close();
    process.exit(0);
  };
  // `on`, not `once`: Ctrl-C reaches both npm (which forwards it) and the server, and a second
  // signal must not cut the clean stop short.
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
  await app.listen({ port: options.port, host: options.host });
  // Test clock advances a stopped server left unfinished run on to their targets.
  for (const { id } of await resumeTestClockAdvances(engine)) console.log(`test clock ${id}: resuming its advance`);
  const url = boundUrl(app.server.address());
  console.log(`Tally listening on ${url} (database: ${options.databaseUrl.replace(/\/\/[^@]*@/, '//***@')})`);
  console.log(`API docs: ${url}/docs`);
  if (!process.env.TALLY_ADMIN_KEY) console.log('Admin API key: in ./data/admin-key (set TALLY_ADMIN_KEY to choose your own)');
}

/** The address the server actually bound, as a URL (IPv6 in brackets). */
function boundUrl(address: ReturnType<import('node:net').Server['address']>): string {
  if (address === null || typeof address === 'string') return String(address);
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return `http://${host}:${address.port}`;
}
