import v8 from 'node:v8';

/**
 * How far V8 lets its heap grow past what survived the last full collection before the next one,
 * in percent, in `tally serve`. Left to itself V8 chooses up to 300% (four times the live heap)
 * whenever collecting is cheap next to the program's own work, which it is in a busy server: with
 * 55–78 MB alive while ingesting for 25,000 customers it let the heap reach 290–320 MB between
 * full collections, and the process 520–540 MiB, where PRODUCT §13 allows 300 MB with 100,000
 * customers. At 50% (with the hot state's customers and SQLite's 32 MiB cache) a server ingesting
 * for 100,000 customers peaked at 267–276 MiB when it was first set (docs/benchmark-rounds.md, "Round
 * 16"); by round 38 a ledger check and a reconciliation after such a load took it to 285 MiB in
 * both of two runs, and with 25,000 customers to 272–289 in four, at or past 300 MB (286 MiB). At
 * 30% the same load checks peaked at 268 and 270 MiB, and at 252–268, the CPU per event within
 * their spread ("Round 38").
 */
const heapGrowingPercent = 30;

/**
 * Sets V8's heap growing factor for this process, unless `node` was started with one of its own
 * (`node --heap-growing-percent=300 dist/cli/main.js serve` keeps 300). V8 reads the flag each
 * time it sets the next collection's limit, so setting it at start-up takes effect. Returns
 * whether it set it.
 */
export function limitHeapGrowth(execArgv: readonly string[] = process.execArgv): boolean {
  if (execArgv.some((arg) => /^--heap[-_]growing[-_]percent(=|$)/.test(arg))) return false;
  v8.setFlagsFromString(`--heap-growing-percent=${heapGrowingPercent}`);
  return true;
}
