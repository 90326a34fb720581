import type { SqlDatabase } from '../store/sql.ts';
import type { Engine } from '../engine/context.ts';

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
`;

/** Commands that work on the engine directly (no server needed). */
export async function runCommand(command: string, _args: string[], ctx: CommandContext): Promise<number> {
  if (command === 'check-ledger') {
    const db = await ctx.openDatabase(ctx.databaseUrl);
    const engine = await ctx.createEngine(db);
    const unbalanced = await engine.store.read.ledger.unbalancedTransactions();
    const discrepancies = await engine.store.read.ledger.balanceDiscrepancies();
    for (const u of unbalanced) console.log(`unbalanced transaction ${u.txnId}: sum ${u.sumMicro} over ${u.entryCount} entries`);
    for (const d of discrepancies) console.log(`balance ${d.customerId} ${d.account}: stored ${d.storedMicro}, entries sum ${d.summedMicro}`);
    console.log(unbalanced.length + discrepancies.length === 0 ? 'ledger ok' : 'ledger has discrepancies');
    await db.close();
    return unbalanced.length + discrepancies.length === 0 ? 0 : 1;
  }
  process.stdout.write(usage);
  return command === 'help' || command === '--help' ? 0 : 2;
}
