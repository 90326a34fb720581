import { readdirSync, readFileSync } from 'node:fs';
import pg from 'pg';
import { machineBusyMs, processCpuMs, statFields, ticksPerSecond } from './proc-stat.ts';

/**
 * What limits a PostgreSQL figure: where the CPU went (this process, the server processes, the
 * load generator, PostgreSQL's own processes, the whole machine) and what PostgreSQL's sessions
 * were doing (sampled from pg_stat_activity: running, waiting on a row lock, on the WAL flush,
 * or idle in a transaction waiting for the client's next statement). Linux only; elsewhere the
 * CPU figures read as zero.
 */

/**
 * All CPU PostgreSQL used: the postmaster with its reaped children (backends that exited) plus
 * every live child (backends, WAL writer, checkpointer…).
 */
export function postgresCpuMs(postmasterPid: number | undefined): number {
  if (postmasterPid === undefined) return 0;
  let total = processCpuMs(postmasterPid, true);
  let entries: string[] = [];
  try {
    entries = readdirSync('/proc');
  } catch {
    return total;
  }
  for (const name of entries) {
    if (!/^\d+$/.test(name)) continue;
    const f = statFields(Number(name));
    if (f && Number(f[1]) === postmasterPid) total += (Number(f[11]) + Number(f[12])) * 1000 / ticksPerSecond;
  }
  return total;
}

/** The postmaster's pid, from postmaster.pid in the data directory (needs a superuser URL). */
export async function postmasterPid(adminUrl: string): Promise<number | undefined> {
  const client = new pg.Client({ connectionString: adminUrl });
  client.on('error', () => {});
  try {
    await client.connect();
    const dir = (await client.query<{ data_directory: string }>('SHOW data_directory')).rows[0]!.data_directory;
    const pid = Number(readFileSync(`${dir}/postmaster.pid`, 'utf8').split('\n')[0]);
    return Number.isFinite(pid) ? pid : undefined;
  } catch {
    return undefined;
  } finally {
    await client.end().catch(() => {});
  }
}

export interface CpuSnapshot {
  atMs: number;
  self: number;
  machine: number;
  postgres: number;
  others: Map<string, number>;
}

/** CPU counters now, for this process, the machine, PostgreSQL and the named child processes. */
export function cpuSnapshot(pgPid: number | undefined, children: Record<string, number | undefined> = {}): CpuSnapshot {
  const usage = process.cpuUsage();
  const others = new Map<string, number>();
  for (const [name, pid] of Object.entries(children)) if (pid !== undefined) others.set(name, processCpuMs(pid));
  return { atMs: performance.now(), self: (usage.user + usage.system) / 1000, machine: machineBusyMs(), postgres: postgresCpuMs(pgPid), others };
}

export interface CpuReport {
  /** "CPU (share of one core): bench 95%, …, whole machine 190% of 200%; …µs per event". */
  text: string;
  /** CPU used by processes that are not part of the measurement, in cores (0.5 = half a core). */
  elsewhereCores: number;
}

/**
 * Each process's CPU as a share of one core, what the rest of the machine used meanwhile, and the
 * CPU all of the measurement's processes spent per event: `cores` divided by that is the rate
 * this design could reach if the measurement had the whole machine to itself and were CPU-bound.
 */
export function describeCpu(before: CpuSnapshot, after: CpuSnapshot, selfName: string, cores: number, events: number): CpuReport {
  const seconds = (after.atMs - before.atMs) / 1000;
  const share = (ms: number): string => `${Math.round((ms / 1000 / seconds) * 100)}%`;
  let ours = after.self - before.self + after.postgres - before.postgres;
  const parts = [`${selfName} ${share(after.self - before.self)}`];
  for (const [name, ms] of after.others) {
    const used = ms - (before.others.get(name) ?? 0);
    ours += used;
    parts.push(`${name} ${share(used)}`);
  }
  parts.push(`PostgreSQL ${share(after.postgres - before.postgres)}`);
  const machine = after.machine - before.machine;
  const elsewhere = Math.max(0, machine - ours);
  parts.push(`other processes ${share(elsewhere)}`);
  parts.push(`whole machine ${share(machine)} of ${cores * 100}%`);
  const perEvent = events > 0 ? (ours * 1000) / events : 0;
  const ceiling = perEvent > 0 ? Math.round((cores * 1_000_000) / perEvent).toLocaleString('en-US') : '?';
  return {
    text: `CPU (share of one core): ${parts.join(', ')}; ${perEvent.toFixed(0)} µs of CPU per event in all → at most ~${ceiling} events/s on ${cores} cores if CPU-bound`,
    elsewhereCores: elsewhere / 1000 / seconds,
  };
}

/**
 * Samples pg_stat_activity for one database every `intervalMs` and reports the average number of
 * sessions in each state: "on CPU" (active, not waiting), a wait event (Lock:transactionid is a
 * row lock; LWLock:WALWrite and IO:WALSync are the commit flush), or "idle in transaction" (the
 * session waits for its client's next statement).
 */
export class ActivitySampler {
  private readonly counts = new Map<string, number>();
  private samples = 0;
  private timer: NodeJS.Timeout | undefined;
  private client: pg.Client | undefined;
  private busy = false;

  constructor(private readonly adminUrl: string, private readonly databases: string[], private readonly intervalMs = 100) {}

  async start(): Promise<void> {
    // Bounded queries: `stop` waits for a sample in progress, so a sample must always end.
    this.client = new pg.Client({ connectionString: this.adminUrl, connectionTimeoutMillis: 10_000, query_timeout: 10_000 });
    this.client.on('error', () => {});
    await this.client.connect();
    this.timer = setInterval(() => void this.sample(), this.intervalMs);
  }

  private async sample(): Promise<void> {
    if (this.busy || !this.client) return;
    this.busy = true;
    try {
      const rows = (await this.client.query<{ state: string | null; wtype: string | null; wevent: string | null; n: string }>(
        `SELECT state, wait_event_type AS wtype, wait_event AS wevent, count(*) AS n FROM pg_stat_activity
          WHERE datname = ANY($1) AND pid <> pg_backend_pid() AND backend_type = 'client backend' GROUP BY 1, 2, 3`, [this.databases])).rows;
      this.samples++;
      for (const r of rows) {
        let key: string;
        if (r.state === 'active') key = r.wtype ? `${r.wtype}:${r.wevent}` : 'on CPU';
        else if (r.state === 'idle in transaction') key = 'idle in txn';
        else continue;
        this.counts.set(key, (this.counts.get(key) ?? 0) + Number(r.n));
      }
    } catch {
      // A sample lost to a dropped connection changes nothing.
    } finally {
      this.busy = false;
    }
  }

  /** Stops sampling; returns "avg sessions: on CPU 1.2, Lock:transactionid 3.4, …" (top five). */
  async stop(): Promise<string> {
    if (this.timer) clearInterval(this.timer);
    while (this.busy) await new Promise((resolve) => setTimeout(resolve, 5));
    await this.client?.end().catch(() => {});
    if (this.samples === 0) return 'PostgreSQL sessions: no samples';
    const top = [...this.counts.entries()].sort((a, b) => b[1] - a[1]).slice(0, 5)
      .map(([k, n]) => `${k} ${(n / this.samples).toFixed(1)}`);
    return `PostgreSQL sessions (mean over ${this.samples} samples): ${top.length ? top.join(', ') : 'all idle'}`;
  }
}
