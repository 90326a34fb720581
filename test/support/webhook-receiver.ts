import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { Webhook } from 'standardwebhooks';

/** One message as the receiver saw it, with both signature checks. */
export interface ReceivedWebhook {
  id: string;
  timestamp: string;
  signature: string;
  body: string;
  json: { type: string; timestamp: string; data: any };
  /** Verified with the `standardwebhooks` package against one of the receiver's secrets. */
  verifiedByLibrary: boolean;
  /** Verified by computing HMAC-SHA256 over `id.timestamp.body` with node:crypto. */
  verifiedByHmac: boolean;
  /** How many of the header's signatures match some secret (2 during a rotation). */
  matchingSignatures: number;
  /** What the receiver answered: a status, or `hang` (never answered). */
  answer: number | 'hang';
}

type Answer = number | 'hang';

/** HMAC-SHA256 of `${id}.${timestamp}.${body}` keyed by the base64 part of `whsec_…`, as Standard Webhooks defines it. */
export function standardSignature(secret: string, id: string, timestamp: string, body: string): string {
  const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
  return createHmac('sha256', key).update(`${id}.${timestamp}.${body}`).digest('base64');
}

/**
 * A real HTTP receiver on a loopback port for webhook tests: it verifies every message with the
 * `standardwebhooks` package and with an independent HMAC computation, and answers 2xx, an error
 * status, or never (hang), as scripted.
 */
export class WebhookReceiver {
  readonly received: ReceivedWebhook[] = [];
  secrets: string[] = [];
  /** Answers for the next messages, in order; then `defaultAnswer`. */
  readonly script: Answer[] = [];
  defaultAnswer: Answer = 200;
  /** When set, decides the answer from the message id (before the script and the default). */
  answerFor: ((id: string) => Answer | undefined) | null = null;
  private readonly hanging = new Set<ServerResponse>();
  private waiters: (() => void)[] = [];

  private constructor(private readonly server: Server, readonly url: string) {}

  static async start(): Promise<WebhookReceiver> {
    let receiver: WebhookReceiver | null = null;
    const server = createServer((req, res) => void receiver!.handle(req, res));
    server.keepAliveTimeout = 30_000;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    receiver = new WebhookReceiver(server, `http://127.0.0.1:${port}/hook`);
    return receiver;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks).toString('utf8');
    const id = String(req.headers['webhook-id'] ?? '');
    const timestamp = String(req.headers['webhook-timestamp'] ?? '');
    const signature = String(req.headers['webhook-signature'] ?? '');
    const { verifiedByLibrary, matchingSignatures } = verify(this.secrets, id, timestamp, signature, body);
    const answer = this.answerFor?.(id) ?? this.script.shift() ?? this.defaultAnswer;
    let json: ReceivedWebhook['json'];
    try {
      json = JSON.parse(body);
    } catch {
      json = { type: '', timestamp: '', data: null };
    }
    this.received.push({ id, timestamp, signature, body, json, verifiedByLibrary, verifiedByHmac: matchingSignatures > 0, matchingSignatures, answer });
    for (const wake of this.waiters.splice(0)) wake();
    if (answer === 'hang') {
      this.hanging.add(res);
      return;
    }
    res.writeHead(answer, { 'content-type': 'text/plain' }).end(answer >= 300 ? `failing with ${answer}` : 'ok');
  }

  /** Checks every message received so far again, against `secrets` (when they were learned later). */
  verifyAll(secrets: string[]): void {
    this.secrets = secrets;
    for (const m of this.received) {
      const result = verify(secrets, m.id, m.timestamp, m.signature, m.body);
      m.verifiedByLibrary = result.verifiedByLibrary;
      m.matchingSignatures = result.matchingSignatures;
      m.verifiedByHmac = result.matchingSignatures > 0;
    }
  }

  ofType(type: string): ReceivedWebhook[] {
    return this.received.filter((m) => m.json.type === type);
  }

  /** Waits until `condition` holds, re-checking on every message, or fails after `timeoutMs`. */
  async waitFor(condition: () => boolean, timeoutMs = 15_000, what = 'webhooks'): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!condition()) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what}; received: ${this.received.map((m) => `${m.json.type}(${m.answer})`).join(', ')}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 250));
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  async close(): Promise<void> {
    for (const res of this.hanging) res.destroy();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

function verify(secrets: readonly string[], id: string, timestamp: string, signature: string, body: string): { verifiedByLibrary: boolean; matchingSignatures: number } {
  const headers = { 'webhook-id': id, 'webhook-timestamp': timestamp, 'webhook-signature': signature };
  const verifiedByLibrary = secrets.some((secret) => {
    try {
      new Webhook(secret).verify(body, headers);
      return true;
    } catch {
      return false;
    }
  });
  const given = signature.split(' ').map((s) => s.replace(/^v1,/, ''));
  const matchingSignatures = given.filter((sig) => secrets.some((secret) => safeEqual(sig, standardSignature(secret, id, timestamp, body)))).length;
  return { verifiedByLibrary, matchingSignatures };
}

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** Polls `check` until it returns a value other than undefined, or fails after `timeoutMs`. */
export async function eventually<T>(check: () => Promise<T | undefined>, timeoutMs = 15_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
