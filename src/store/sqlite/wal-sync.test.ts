import { mkdtempSync, readdirSync, readlinkSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { WalSync } from './wal-sync.ts';

/** A sync the test finishes by hand: it records when each started and what it was asked for. */
class HeldSyncs {
  started: { resolve: () => void; reject: (e: Error) => void }[] = [];
  readonly run = (): Promise<void> => new Promise((resolve, reject) => { this.started.push({ resolve, reject }); });
  get running(): number {
    return this.started.length;
  }
}

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('WalSync', () => {
  let dir: string;
  let wal: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'tally-walsync-'));
    wal = join(dir, 'db-wal');
    writeFileSync(wal, 'frames');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('acknowledges a commit only after a sync that started after it; commits made during a sync wait for the next', async () => {
    const syncs = new HeldSyncs();
    const sync = new WalSync(wal, syncs.run);
    const told: string[] = [];
    void sync.afterCommit().then(() => told.push('a'));
    void sync.afterCommit().then(() => told.push('b'));
    await turn();
    expect(syncs.running).toBe(1); // a and b share the first sync
    void sync.afterCommit().then(() => told.push('c')); // committed while the first runs
    await turn();
    expect(syncs.running).toBe(1); // never two at once
    syncs.started[0]!.resolve();
    await turn();
    expect(told).toEqual(['a', 'b']);
    expect(syncs.running).toBe(2); // the second sync, for c
    syncs.started[1]!.resolve();
    await turn();
    expect(told).toEqual(['a', 'b', 'c']);
    expect(sync.syncs).toBe(2);
    expect(sync.durable()).toBeNull();
  });

  it('rejects the commits a failed sync was to cover, and serves later ones', async () => {
    const syncs = new HeldSyncs();
    const sync = new WalSync(wal, syncs.run);
    const first = sync.afterCommit();
    await turn();
    const second = sync.afterCommit();
    syncs.started[0]!.reject(new Error('EIO'));
    await expect(first).rejects.toThrow('EIO');
    await turn();
    syncs.started[1]!.resolve();
    await expect(second).resolves.toBeUndefined();
  });

  it('waits for nothing when every commit is durable', async () => {
    const sync = new WalSync(wal, new HeldSyncs().run);
    expect(sync.isDurable).toBe(true);
    expect(sync.durable()).toBeNull();
  });

  it('syncs the real file, and reopens it when the WAL file is replaced', async () => {
    // The descriptors this process holds on the WAL's path, by what they point at now (Linux).
    const held = (): string[] => readdirSync('/proc/self/fd').flatMap((fd) => {
      try {
        const target = readlinkSync(`/proc/self/fd/${fd}`);
        return target.startsWith(wal) ? [target] : [];
      } catch {
        return []; // closed meanwhile (the directory's own descriptor)
      }
    });
    const sync = new WalSync(wal);
    await sync.afterCommit();
    expect(held()).toEqual([wal]);
    unlinkSync(wal);
    writeFileSync(wal, 'a new file');
    expect(held()).toEqual([`${wal} (deleted)`]);
    await sync.afterCommit();
    expect(sync.syncs).toBe(2);
    // The second sync flushed the new file: the old one's descriptor is closed.
    expect(held()).toEqual([wal]);
    await sync.close();
    expect(held()).toEqual([]);
  });

  it('never acknowledges a commit before a sync that began after it succeeded (any interleaving)', async () => {
    type Step = { kind: 'commit' } | { kind: 'finish'; ok: boolean } | { kind: 'turn' };
    const step = fc.oneof(
      fc.constant<Step>({ kind: 'commit' }),
      fc.boolean().map<Step>((ok) => ({ kind: 'finish', ok })),
      fc.constant<Step>({ kind: 'turn' }),
    );
    await fc.assert(fc.asyncProperty(fc.array(step, { maxLength: 40 }), async (steps) => {
      const syncs = new HeldSyncs();
      const startedAt: number[] = []; // the clock value at which each sync started
      let clock = 0;
      const sync = new WalSync(wal, () => {
        startedAt.push(clock++);
        return syncs.run();
      });
      const commits: { at: number; outcome: 'waiting' | 'ok' | 'failed'; coveredBy: number | null }[] = [];
      let finished = 0;
      const outcomes: boolean[] = [];
      for (const s of [...steps, ...Array.from({ length: 200 }, () => ({ kind: 'finish', ok: true }) as Step)]) {
        if (s.kind === 'commit') {
          const c = { at: clock++, outcome: 'waiting' as 'waiting' | 'ok' | 'failed', coveredBy: null as number | null };
          commits.push(c);
          sync.afterCommit().then(() => { c.outcome = 'ok'; c.coveredBy = finished - 1; }, () => { c.outcome = 'failed'; });
        } else if (s.kind === 'finish' && finished < syncs.started.length) {
          outcomes.push(s.ok);
          const held = syncs.started[finished++]!;
          if (s.ok) held.resolve();
          else held.reject(new Error('EIO'));
        }
        await turn();
        expect(syncs.started.length - finished).toBeLessThanOrEqual(1);
      }
      for (const c of commits) {
        expect(c.outcome).not.toBe('waiting');
        if (c.outcome === 'ok') {
          // The sync that told it succeeded and started after the commit.
          expect(outcomes[c.coveredBy!]).toBe(true);
          expect(startedAt[c.coveredBy!]).toBeGreaterThan(c.at);
        }
      }
    }), { numRuns: 150 });
  });
});
