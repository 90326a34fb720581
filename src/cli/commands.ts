import type { SqlDatabase } from '../store/sql.ts';
import type { Engine } from '../engine/context.ts';
import { checkLedger, reconcile } from '../engine/reconcile.ts';
import { reportNames, runReport, type ReportName } from '../engine/reports.ts';
import { reportCsv, reportView } from '../server/report-views.ts';
import { stripeStatus } from '../engine/stripe-pushes.ts';
import { webhooksCommand, webhooksUsage } from './webhooks-command.ts';
import { promotionsCommand, promotionsUsage } from './promotions.ts';
import { parseArgs } from './args.ts';

export interface CommandContext {
  databaseUrl: string;
  openDatabase(url: string): Promise<SqlDatabase>;
  createEngine(db: SqlDatabase): Promise<Engine>;
}

const usage = `Usage: tally <command>

Commands:
  serve                 run the HTTP server and the scheduler (PORT, TALLY_DATABASE_URL, TALLY_ADMIN_KEY)
  migrate               apply database migrations
  check-ledger          rebuild balances from entries and compare; exits 1 on any discrepancy
  reconcile [--from ISO] [--to ISO]
                        run every reconciliation check; prints each discrepancy with its ids, exits 1 on any
  report <name> [--from ISO] [--to ISO] [--customer ID] [--csv]
                        print a finance report as JSON (or CSV): ${reportNames.join(', ')}
  stripe-status         invoices not yet in Stripe (pending or failed pushes, with the last error) and Stripe
                        events kept for review; exits 1 on a failed push or an event kept for review
${webhooksUsage}${promotionsUsage}`;

/** Commands that work on the engine directly (no server needed). */
export async function runCommand(command: string, args: string[], ctx: CommandContext): Promise<number> {
  if (command === 'reconcile') return withEngine(ctx, (engine) => reconcileCommand(engine, args));
  if (command === 'report') return withEngine(ctx, (engine) => reportCommand(engine, args));
  if (command === 'stripe-status') return withEngine(ctx, stripeStatusCommand);
  if (command === 'webhooks') return withEngine(ctx, (engine) => webhooksCommand(engine, args));
  if (command === 'promotions') return withEngine(ctx, (engine) => promotionsCommand(engine, args));
  if (command === 'check-ledger') {
    return withEngine(ctx, async (engine) => {
      const startedMs = performance.now();
      console.error('checking the ledger (transactions balance, balances equal their entries)…');
      const { unbalanced, discrepancies } = await checkLedger(engine);
      console.error(`checked in ${((performance.now() - startedMs) / 1000).toFixed(1)} s`);
      for (const u of unbalanced) console.log(`unbalanced transaction ${u.txnId}: sum ${u.sumMicro} over ${u.entryCount} entries`);
      for (const d of discrepancies) console.log(`balance ${d.customerId} ${d.account}: stored ${d.storedMicro}, entries sum ${d.summedMicro}`);
      console.log(unbalanced.length + discrepancies.length === 0 ? 'ledger ok' : 'ledger has discrepancies');
      return unbalanced.length + discrepancies.length === 0 ? 0 : 1;
    });
  }
  process.stdout.write(usage);
  return command === 'help' || command === '--help' ? 0 : 2;
}

/**
 * Runs a command on an engine and closes the database. The exit code is set before closing:
 * should the process run out of work while the database shuts down, it still exits with it.
 */
async function withEngine(ctx: CommandContext, run: (engine: Engine) => Promise<number>): Promise<number> {
  const db = await ctx.openDatabase(ctx.databaseUrl);
  let code = 1;
  try {
    code = await run(await ctx.createEngine(db));
    process.exitCode = code;
    return code;
  } finally {
    process.exitCode = code;
    await db.close();
  }
}

/** `parseArgs` where an option given twice keeps its last value. */
function parseOptions(args: readonly string[], valued: readonly string[]): { options: Map<string, string>; flags: Set<string>; positional: string[]; bad: string | null } {
  const parsed = parseArgs(args, valued);
  return { ...parsed, options: new Map([...parsed.options].map(([name, values]) => [name, values[values.length - 1]!])) };
}

async function reconcileCommand(engine: Engine, args: string[]): Promise<number> {
  const { options, flags, bad } = parseOptions(args, ['from', 'to']);
  if (bad || flags.size > 0) {
    console.error(bad ?? `unknown option --${[...flags][0]}`);
    return 2;
  }
  // Progress goes to stderr, one line per check as it finishes (and per slice of customers of the
  // checks read in slices), so stdout stays the result.
  const startedMs = performance.now();
  const outcome = await reconcile(engine, { from: options.get('from'), to: options.get('to') }, {
    onProgress: ({ check, done, total, slice }) => {
      const elapsed = `${((performance.now() - startedMs) / 1000).toFixed(1)} s`;
      if (slice) console.error(`[${done + 1}/${total}] ${check}: ${slice.customersDone}/${slice.customersTotal} customers (${elapsed})`);
      else console.error(`[${done}/${total}] ${check} (${elapsed})`);
    },
  });
  if (!outcome.ok) {
    console.error(`${outcome.error.code}: ${outcome.error.message}`);
    return 2;
  }
  const result = outcome.value;
  for (const check of result.checks) console.log(`${check.ok ? 'ok  ' : 'FAIL'} ${check.name}`);
  for (const d of result.discrepancies) console.log(`discrepancy ${d.check}: ${d.message} [ids: ${d.ids.join(', ')}]`);
  console.log(result.ok ? 'reconciliation ok' : `reconciliation found ${result.discrepancies.length} discrepancies`);
  return result.ok ? 0 : 1;
}

async function reportCommand(engine: Engine, args: string[]): Promise<number> {
  const { options, flags, positional, bad } = parseOptions(args, ['from', 'to', 'customer']);
  const name = positional[0] as ReportName | undefined;
  if (bad || !name || !reportNames.includes(name) || [...flags].some((f) => f !== 'csv')) {
    console.error(bad ?? `usage: tally report <${reportNames.join('|')}> [--from ISO] [--to ISO] [--customer ID] [--csv]`);
    return 2;
  }
  const outcome = await runReport(engine, name, { from: options.get('from'), to: options.get('to'), customer: options.get('customer') });
  if (!outcome.ok) {
    console.error(`${outcome.error.code}: ${outcome.error.message}`);
    return 2;
  }
  process.stdout.write(flags.has('csv') ? reportCsv(name, outcome.value) : `${JSON.stringify(reportView(name, outcome.value), null, 2)}\n`);
  return 0;
}

async function stripeStatusCommand(engine: Engine): Promise<number> {
  const status = await stripeStatus(engine);
  for (const p of status.pushes) {
    const next = p.status === 'pending' ? `, next attempt ${new Date(p.nextAttemptAtMs).toISOString()}` : '';
    console.log(`push ${p.status} ${p.invoiceId} (customer ${p.customerId}, ${p.attempts} attempts${next})${p.lastError ? `: ${p.lastError}` : ''}`);
  }
  for (const e of status.events) console.log(`stripe event ${e.status} ${e.id} ${e.type} (${e.objectId ?? 'no object'})${e.invoiceId ? ` invoice ${e.invoiceId}` : ''}`);
  const failed = status.pushes.filter((p) => p.status === 'failed').length;
  console.log(`${status.pushes.length} pushes not done (${failed} failed), ${status.events.length} Stripe events kept for review`);
  return failed + status.events.length === 0 ? 0 : 1;
}
