import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postWebhook } from './send.ts';

/**
 * The connection itself refuses a private address: the worker's URL check resolves the host
 * once, and node:http resolved it again to connect, so a name rebound to a loopback address in
 * between (DNS rebinding) reached it.
 */
describe('postWebhook', () => {
  let server: Server;
  let port = 0;
  const received: string[] = [];

  beforeAll(async () => {
    server = createServer((request, response) => {
      received.push(request.url ?? '');
      request.resume();
      request.on('end', () => response.end('ok'));
    });
    await new Promise<void>((resolve) => server.listen(0, resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  it('does not connect to a host name that resolves to a loopback address unless private addresses are allowed', async () => {
    const stop = new AbortController().signal;
    const refused = await postWebhook(`http://localhost:${port}/refused`, {}, '{}', 5_000, stop, { allowPrivate: false });
    expect([refused.statusCode, refused.error]).toEqual([null, 'private_address']);
    expect(received).toEqual([]);

    const allowed = await postWebhook(`http://localhost:${port}/allowed`, {}, '{}', 5_000, stop, { allowPrivate: true });
    expect([allowed.statusCode, allowed.error, allowed.responseBody]).toEqual([200, null, 'ok']);
    expect(received).toEqual(['/allowed']);
  });
});
