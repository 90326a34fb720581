import v8 from 'node:v8';

/**
 * How far V8 lets its heap grow past what survived the last full collection before the next one,
 * in percent, in `tally serve`. Left to itself V8 chooses up to 300% (four times the live heap)
 * whenever collecting is cheap next to the program's own work, which it is in a busy server: with
 * 55–78 MB alive while ingesting for 25,000 customers it let the heap reach 290–320 MB between
 * full collections, and the process 520–540 MiB, where PRODUCT §13 allows 300 MB with 100,000
 * customers. At 50% (with the hot state's customers and SQLite's 32 MiB cache) a server ingesting
 * for 100,000 customers peaked at 267–276 MiB when this was set (docs/BENCHMARKS.md, "Round 16"),
 * and at 246 MiB in round 34's load check.
 */
const heapGrowingPercent = 50;

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
