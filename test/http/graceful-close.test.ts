import { describe, expect, it } from 'vitest';
import { connect } from 'node:net';
import { useEngine } from '../support/engine.ts';
import { buildServer } from '../../src/server/app.ts';
import type { Engine } from '../../src/engine/context.ts';

const adminKey = 'graceful-close-admin-key-0123456789';

/** Resolves with how long `app.close()` took, or with null once `limitMs` passed without it. */
async function closeWithin(close: Promise<void>, startedMs: number, limitMs: number): Promise<number | null> {
  let timer: NodeJS.Timeout | undefined;
  const done = await Promise.race([close.then(() => true), new Promise<false>((resolve) => { timer = setTimeout(() => resolve(false), limitMs); })]);
  clearTimeout(timer);
  return done ? Date.now() - startedMs : null;
}

/**
 * Closing the server (SIGTERM in `tally serve`) lets requests in flight finish, then does not wait
 * on connections their clients keep open: one kept alive after a reply that ended during the
 * close, or one that never sent a byte (a client's pool opening a connection ahead of use). Left to
 * Node, either holds the close for the keep-alive timeout (72 s) or the client's own.
 */
describe('the server closing', () => {
  const ctx = useEngine('sqlite');

  async function listening(engine: Engine) {
    const app = await buildServer(engine, { adminKey });
    const address = await app.listen({ port: 0, host: '127.0.0.1' });
    return { app, address };
  }

  it('answers a request in flight, then closes its kept-alive connection instead of waiting on it', async () => {
    // A test clock's creation held inside its transaction until the close has begun.
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let entered!: () => void;
    const inside = new Promise<void>((resolve) => (entered = resolve));
    const store = ctx.engine.store;
    const transaction = store.transaction.bind(store);
    const engine: Engine = {
      ...ctx.engine,
      store: Object.assign(Object.create(store) as typeof store, {
        transaction: (async (work: Parameters<typeof store.transaction>[0]) => {
          entered();
          await held;
          return transaction(work);
        }) as typeof store.transaction,
      }),
    };
    const { app, address } = await listening(engine);
    const reply = fetch(`${address}/v1/test_clocks`, {
      method: 'POST', headers: { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ frozen_time: '2026-01-01T00:00:00Z' }),
    });
    await inside;
    const startedMs = Date.now();
    const close = app.close();
    release();
    const answered = await reply;
    expect(answered.status).toBe(201);
    expect((await answered.json()).object).toBe('test_clock');
    // About a second (Node's keep-alive timeout, set to its least), not 72.
    expect(await closeWithin(close, startedMs, 8_000)).not.toBeNull();
  });

  it('closes a connection that never sent a byte', async () => {
    const { app, address } = await listening(ctx.engine);
    const { port } = new URL(address);
    const idle = connect(Number(port), '127.0.0.1');
    await new Promise<void>((resolve) => idle.once('connect', () => resolve()));
    const closedByServer = new Promise<void>((resolve) => idle.once('close', () => resolve()));
    idle.on('error', () => undefined);
    const startedMs = Date.now();
    expect(await closeWithin(app.close(), startedMs, 8_000)).not.toBeNull();
    await closedByServer;
  });
});
