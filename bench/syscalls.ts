/**
 * What a system call costs on this machine (`npx tsx bench/syscalls.ts`): the floor under every
 * WAL frame SQLite writes (two `pwrite` calls each: the 24-byte frame header, then the 4 KiB page),
 * every page read outside its cache, every fsync handed to the pool and every reply written to a
 * socket. Times 200,000 calls of each from Node's synchronous fs bindings (a few hundred
 * nanoseconds of that is Node's own) and prints µs per call and the share spent in the kernel.
 */
import { closeSync, fstatSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const calls = 200_000;
const dir = mkdtempSync(join(tmpdir(), 'tally-bench-syscalls-'));
const fd = openSync(join(dir, 'frames'), 'w+');
const header = Buffer.alloc(24);
const page = Buffer.alloc(4096);

function time(label: string, call: (i: number) => void): void {
  for (let i = 0; i < 10_000; i++) call(i);
  const cpu = process.cpuUsage();
  const started = performance.now();
  for (let i = 0; i < calls; i++) call(i);
  const wallUs = ((performance.now() - started) * 1000) / calls;
  const used = process.cpuUsage(cpu);
  console.log(`${label.padEnd(24)} ${wallUs.toFixed(2).padStart(6)} µs per call, ${((100 * used.system) / (used.user + used.system)).toFixed(0)}% in the kernel`);
}

try {
  time('fstat', () => fstatSync(fd));
  time('pwrite, 24 bytes', (i) => writeSync(fd, header, 0, 24, (i % 1000) * 4120));
  time('pwrite, 4096 bytes', (i) => writeSync(fd, page, 0, 4096, (i % 1000) * 4120 + 24));
} finally {
  closeSync(fd);
  rmSync(dir, { recursive: true, force: true });
}
