import { createEngine } from '../engine/create-engine.ts';
import { openDatabase } from '../store/open-database.ts';
import { buildServer } from '../server/app.ts';
import { startScheduler } from '../scheduler/scheduler.ts';
import { stripeSettingsFromEnv } from '../integrations/stripe/settings.ts';
import { SecretBox } from '../engine/secret-box.ts';
import { startWebhookWorker } from '../integrations/webhooks/delivery-worker.ts';
import { settingsFromEnv } from './settings.ts';

export interface ServeOptions {
  databaseUrl: string;
  port: number;
  host: string;
  adminKey: string;
}

/** Starts the HTTP server and the real-clock scheduler; stops both cleanly on SIGINT/SIGTERM. */
export async function startServer(options: ServeOptions): Promise<void> {
  const stripe = stripeSettingsFromEnv();
  const db = await openDatabase(options.databaseUrl);
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
    stripe,
  });
  const scheduler = startScheduler(engine);
  // Pushes finalized invoices to Stripe when a secret key is set (PRODUCT §11).
  // Loaded only then: the `stripe` package is not needed otherwise.
  const stripePush = stripe.secretKey ? (await import('../integrations/stripe/push-worker.ts')).startStripePushWorker(engine, stripe) : null;
  const webhooks = startWebhookWorker(engine, { box, allowPrivate });
  await app.listen({ port: options.port, host: options.host });
  const shown = options.host === '0.0.0.0' ? '127.0.0.1' : options.host;
  console.log(`Tally listening on http://${shown}:${options.port} (database: ${options.databaseUrl.replace(/\/\/[^@]*@/, '//***@')})`);
  console.log(`API docs: http://${shown}:${options.port}/docs`);
  if (!process.env.TALLY_ADMIN_KEY) console.log('Admin API key: in ./data/admin-key (set TALLY_ADMIN_KEY to choose your own)');
  const stop = async () => {
    await scheduler.stop();
    await stripePush?.stop();
    await webhooks.stop();
    await app.close();
    await db.close();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop());
  process.once('SIGTERM', () => void stop());
}
