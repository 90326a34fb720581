import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import { isPrivateAddress } from './url-safety.ts';

/** The first bytes of a response kept with its attempt. */
export const responseBodyKeptBytes = 1024;
/** Connections kept open per endpoint host: attempts reuse them (one in flight per endpoint). */
const socketsPerHostMax = 4;

const agents = {
  'http:': new http.Agent({ keepAlive: true, maxSockets: socketsPerHostMax }),
  'https:': new https.Agent({ keepAlive: true, maxSockets: socketsPerHostMax }),
};

export interface SendResult {
  statusCode: number | null;
  error: string | null;
  responseBody: string | null;
  durationMs: number;
}

/**
 * Resolves a host for a connection and refuses it when any address is loopback or private. The
 * worker checks an endpoint's URL before sending, but node:http resolves the host again to
 * connect: a name that answered a public address to the check and a private one a moment later
 * (DNS rebinding) would otherwise reach the server's own network.
 */
export const publicOnlyLookup: LookupFunction = (hostname, options, callback) => {
  dnsLookup(hostname, { ...options, all: true }, (error, addresses: LookupAddress[]) => {
    if (error) return callback(error, '', 0);
    const refused = addresses.find((a) => isPrivateAddress(a.address));
    if (refused !== undefined || addresses.length === 0) {
      const problem = Object.assign(new Error(`${hostname} resolves to ${refused?.address ?? 'nothing'}, a loopback or private address`), { code: 'PRIVATE_ADDRESS' });
      return callback(problem, '', 0);
    }
    if (options.all) return callback(null, addresses);
    return callback(null, addresses[0]!.address, addresses[0]!.family);
  });
};

/**
 * One POST, bounded by `timeoutMs` (connecting, waiting and reading the answer all count) and
 * by `stop` (the server shutting down). Redirects are not followed: a redirect is an answer that
 * is not 2xx, so it cannot lead a webhook to an address the URL check never saw. Only the first
 * `responseBodyKeptBytes` of the answer are read. Unless private addresses are allowed, the host is
 * resolved by `publicOnlyLookup` to connect. node:http with keep-alive agents: several
 * times faster than fetch for many small requests to one host.
 */
export function postWebhook(
  url: string, headers: Record<string, string>, body: string, timeoutMs: number, stop: AbortSignal, options: { allowPrivate: boolean },
): Promise<SendResult> {
  return new Promise((resolve) => {
    const started = performance.now();
    let settled = false;
    let request: http.ClientRequest | null = null;
    const finish = (result: Omit<SendResult, 'durationMs'>): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      stop.removeEventListener('abort', onStop);
      resolve({ ...result, durationMs: Math.round(performance.now() - started) });
    };
    const failed = (error: string) => finish({ statusCode: null, error, responseBody: null });
    const onStop = () => {
      failed('aborted: the server is stopping');
      request?.destroy();
    };
    const timer = setTimeout(() => {
      failed('timeout');
      request?.destroy();
    }, timeoutMs);
    if (stop.aborted) return onStop();
    stop.addEventListener('abort', onStop, { once: true });

    const target = new URL(url);
    const payload = Buffer.from(body, 'utf8');
    const transport = target.protocol === 'https:' ? https : http;
    request = transport.request(target, {
      method: 'POST',
      agent: agents[target.protocol as 'http:' | 'https:'],
      ...(options.allowPrivate ? {} : { lookup: publicOnlyLookup }),
      headers: { ...headers, 'content-type': 'application/json', 'content-length': payload.length, 'user-agent': 'Tally-Webhooks/1' },
    }, (response) => {
      const chunks: Buffer[] = [];
      let length = 0;
      const done = () => finish({
        statusCode: response.statusCode ?? null, error: null,
        responseBody: Buffer.concat(chunks).subarray(0, responseBodyKeptBytes).toString('utf8'),
      });
      response.on('data', (chunk: Buffer) => {
        chunks.push(chunk);
        length += chunk.length;
        if (length >= responseBodyKeptBytes) {
          done();
          response.destroy();
        }
      });
      response.on('end', done);
      response.on('error', () => done());
    });
    request.on('error', (error: NodeJS.ErrnoException) => {
      failed(error.code === 'ECONNREFUSED' ? 'connection_refused' : error.code ? error.code.toLowerCase() : error.message.slice(0, 200));
    });
    request.end(payload);
  });
}
