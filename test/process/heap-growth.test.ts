import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { limitHeapGrowth } from '../../src/cli/heap.ts';

/**
 * `tally serve` keeps V8's heap near what is alive (src/cli/heap.ts): the same allocation, run in
 * a child process, once as the server starts it and once with `node --heap-growing-percent=300`
 * (V8's own ceiling, which the server then leaves alone), keeps 400,000 objects alive while
 * making 8 million more; the heap's largest size is what differs. Both factors are fixed numbers,
 * so nothing here depends on the machine's speed.
 */
const heapModule = resolve(import.meta.dirname, '../../src/cli/heap.ts');
const churn = `
import v8 from 'node:v8';
import { limitHeapGrowth } from ${JSON.stringify(heapModule)};
const set = limitHeapGrowth();
const ring = new Array(400000);
let largest = 0;
for (let i = 0; i < 8000000; i++) {
  ring[i % ring.length] = { n: i, list: [i, i + 1] };
  if (i % 20000 === 0) largest = Math.max(largest, v8.getHeapStatistics().total_heap_size);
}
console.log(JSON.stringify({ set, largest }));
`;

function run(nodeOptions: string[]): { set: boolean; largest: number } {
  const out = spawnSync(process.execPath, [...nodeOptions, '--import', 'tsx', '--input-type=module', '--eval', churn], { encoding: 'utf8' });
  if (out.status !== 0) throw new Error(out.stderr);
  return JSON.parse(out.stdout.trim().split('\n').at(-1)!);
}

describe('the server heap growth limit', () => {
  it('leaves a growth factor given on the command line alone', () => {
    expect(limitHeapGrowth(['--heap-growing-percent=300'])).toBe(false);
    expect(limitHeapGrowth(['--heap_growing_percent', '300'])).toBe(false);
  });

  it('keeps the heap well below what four times the live objects would reach', () => {
    const limited = run([]);
    const ceiling = run(['--heap-growing-percent=300']);
    expect(limited.set).toBe(true);
    expect(ceiling.set).toBe(false);
    expect(limited.largest).toBeLessThan(ceiling.largest * 0.7);
  }, 60_000);
});
