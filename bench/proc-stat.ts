import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/**
 * CPU time of other processes and of the whole machine, read from /proc (Linux): the benchmark's
 * servers run in child processes, whose CPU `process.cpuUsage()` cannot see. Elsewhere every
 * figure reads as zero.
 */

export const ticksPerSecond = (() => {
  const out = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' });
  const n = Number(out.stdout?.trim());
  return Number.isFinite(n) && n > 0 ? n : 100;
})();

/**
 * The fields of /proc/<pid>/stat after the command name, or undefined once the process is gone;
 * with `tid`, of that thread's own stat (a process's main thread has its pid as its tid).
 */
export function statFields(pid: number, tid?: number): string[] | undefined {
  try {
    const text = readFileSync(tid === undefined ? `/proc/${pid}/stat` : `/proc/${pid}/task/${tid}/stat`, 'utf8');
    // The command name is in parentheses and may hold spaces: fields start after the last ')'.
    return text.slice(text.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

/** CPU milliseconds a process used (user + system, all its threads), optionally with its reaped children. */
export function processCpuMs(pid: number, withChildren = false): number {
  const f = statFields(pid);
  if (!f) return 0;
  // Fields after the name, 0-based: 11 utime, 12 stime, 13 cutime, 14 cstime.
  let ticks = Number(f[11]) + Number(f[12]);
  if (withChildren) ticks += Number(f[13]) + Number(f[14]);
  return (ticks * 1000) / ticksPerSecond;
}

/** CPU milliseconds a process's main thread used (user + system): the JavaScript thread of a Node process. */
export function mainThreadCpuMs(pid: number): number {
  const f = statFields(pid, pid);
  return f ? ((Number(f[11]) + Number(f[12])) * 1000) / ticksPerSecond : 0;
}

/** Busy CPU milliseconds of the whole machine, all cores (everything but idle and iowait). */
export function machineBusyMs(): number {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!;
    const v = line.trim().split(/\s+/).slice(1).map(Number);
    const busy = v.reduce((a, b) => a + b, 0) - (v[3] ?? 0) - (v[4] ?? 0);
    return (busy * 1000) / ticksPerSecond;
  } catch {
    return 0;
  }
}
