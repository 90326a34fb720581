import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

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
 * with `thread`, those of that one thread (/proc/<pid>/task/<thread>/stat).
 */
export function statFields(pid: number, thread?: number): string[] | undefined {
  try {
    const text = readFileSync(thread === undefined ? `/proc/${pid}/stat` : `/proc/${pid}/task/${thread}/stat`, 'utf8');
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

/**
 * Minor page faults of a process so far, all its threads (/proc/<pid>/stat): each is a page the
 * kernel mapped in on first touch, which on a virtual machine costs far more than the copy itself.
 */
export function minorFaults(pid: number): number {
  const f = statFields(pid);
  // Fields after the name, 0-based: 7 minflt.
  return f ? Number(f[7]) : 0;
}

/**
 * CPU milliseconds of a process's threads by name (/proc/<pid>/task/<tid>/comm): its main thread
 * as `main`; Node 20 names every other thread of its own `node` too (the checkpointer and other
 * workers, libuv's pool, V8's helpers), reported together as `other threads`; a thread named
 * otherwise keeps its name. Threads that ended are not counted.
 */
export function threadCpuMsByName(pid: number): Map<string, number> {
  const byName = new Map<string, number>();
  let threads: string[];
  try {
    threads = readdirSync(`/proc/${pid}/task`);
  } catch {
    return byName;
  }
  for (const tid of threads) {
    const f = statFields(pid, Number(tid));
    if (!f) continue;
    let name = 'main';
    if (Number(tid) !== pid) {
      try {
        const comm = readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim();
        name = comm === 'node' ? 'other threads' : comm;
      } catch {
        continue;
      }
    }
    byName.set(name, (byName.get(name) ?? 0) + ((Number(f[11]) + Number(f[12])) * 1000) / ticksPerSecond);
  }
  return byName;
}

/** What each thread name used between two `threadCpuMsByName` readings, per `n` (µs), largest first. */
export function threadCpuUsPer(before: Map<string, number>, after: Map<string, number>, n: number): string {
  return [...after]
    .map(([name, ms]) => [name, ((ms - (before.get(name) ?? 0)) * 1000) / n] as const)
    .filter(([, us]) => us >= 0.05)
    .sort((a, b) => b[1] - a[1])
    .map(([name, us]) => `${name} ${us.toFixed(1)}`)
    .join(', ');
}

/**
 * A process's main thread (the JavaScript thread of a Node process) from the scheduler's own
 * account (/proc/<pid>/task/<pid>/schedstat, nanoseconds): the time it ran on a CPU, and the time
 * it was ready to run but waited for one (the run queue: what other processes on the machine
 * cost it).
 */
export function mainThreadSchedMs(pid: number): { onCpuMs: number; waitingMs: number } {
  try {
    const [onCpu, waiting] = readFileSync(`/proc/${pid}/task/${pid}/schedstat`, 'utf8').trim().split(' ').map(Number);
    return { onCpuMs: onCpu! / 1e6, waitingMs: waiting! / 1e6 };
  } catch {
    return { onCpuMs: 0, waitingMs: 0 };
  }
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

/** A line of /proc/<pid>/status, in MiB (the kernel reports kB). */
export function procStatusMiB(pid: number, field: 'VmRSS' | 'VmHWM' | 'RssAnon' | 'RssFile'): number {
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!match) throw new Error(`no ${field} in /proc/${pid}/status`);
  return Number(match[1]) / 1024;
}
