import type Stripe from 'stripe';
import type { Engine } from '../../engine/context.ts';
import { claimStripePushes, queueStripePushes, recordStripePushFailure } from '../../engine/stripe-pushes.ts';
import { createStripeClient } from './client.ts';
import { pushInvoice } from './push-invoice.ts';
import { retryStripePayments } from './retry-payments.ts';
import { voidStripeInvoices } from './void-invoices.ts';
import type { StripeSettings } from './settings.ts';

/** Jobs one pass claims; the rest wait for the next pass. */
const pushesPerPassMax = 20;
/**
 * How long a claim holds a job. Longer than any push takes (a few requests of at most 15 s each);
 * if the server holding it dies, another takes the job over after this.
 */
const claimLeaseMs = 5 * 60_000;

/**
 * One pass: feed jobs from the outbox, then claim and push what is due, ask Stripe to pay what a
 * dunning retry asks for, and void in Stripe what was voided in Tally. Returns the invoices pushed.
 */
export async function runStripePushes(engine: Engine, stripe: Stripe, settings: Pick<StripeSettings, 'retryDelaysMs'>): Promise<string[]> {
  await queueStripePushes(engine);
  const pushed: string[] = [];
  for (const job of await claimStripePushes(engine, pushesPerPassMax, claimLeaseMs)) {
    try {
      await pushInvoice(engine, stripe, job);
      pushed.push(job.invoiceId);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      await recordStripePushFailure(engine, job, message, settings.retryDelaysMs);
    }
  }
  await retryStripePayments(engine, stripe);
  await voidStripeInvoices(engine, stripe);
  return pushed;
}

/**
 * Runs the push in the server process, like the scheduler: a pass every `pollIntervalMs`, one at
 * a time. Several servers may run it at once; each attempt is claimed by one of them.
 */
export function startStripePushWorker(engine: Engine, settings: StripeSettings) {
  const stripe = createStripeClient(settings);
  let stopped = false;
  let busy = false;
  let running: Promise<void> = Promise.resolve();
  const pass = async () => {
    try {
      await runStripePushes(engine, stripe, settings);
    } catch (error) {
      console.error('stripe push pass failed:', error instanceof Error ? error.message : error);
    }
  };
  const timer = setInterval(() => {
    if (stopped || busy) return;
    busy = true;
    running = pass().finally(() => {
      busy = false;
    });
  }, settings.pollIntervalMs);
  timer.unref();
  return {
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running;
    },
  };
}
