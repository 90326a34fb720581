/**
 * The HTTP load generator, run as a child process of bench/run.ts so that it has its own core
 * (the machine has two: the server gets one, this process the other). It receives one job at a
 * time over IPC, runs it against the server and reports counts, latencies and its own CPU time.
 *
 * It speaks HTTP/1.1 through `RawHttpPool` below, a minimal keep-alive client on bare sockets,
 * one socket per concurrent client: on a two-core machine the client shares the cores with the
 * server it measures, and this client costs a fraction of node:http's CPU per request, so less
 * of the server's throughput goes to the load generator (bench/client-ab.ts measures both
 * sides). `BENCH_CLIENT=http` sends through node:http with a keep-alive agent instead, and
 * `BENCH_CLIENT=fetch` through fetch (undici) with its default keep-alive pool.
 */
import http from 'node:http';
import net from 'node:net';
import { EventSource } from './events.ts';
import { percentile } from './stats.ts';

export type LoadJob =
  | { kind: 'events'; label: string; baseUrl: string; apiKey: string; customerIds: string[]; eventsPerRequest: number; clients: number; requestsMax: number; timeLimitMs: number; seed: number }
  | { kind: 'authorize'; baseUrl: string; apiKey: string; customerIds: string[]; ratePerSecond: number; durationMs: number; sockets: number; seed: number };

export interface LoadReport {
  requests: number;
  events: number;
  statuses: Record<string, number>;
  httpErrors: number;
  elapsedMs: number;
  latencyMs: { p50: number; p90: number; p99: number; max: number };
  clientCpuMs: number;
  /** Requests that could not be sent on time because every socket was busy (authorize only). */
  late?: number;
}

interface Reply {
  status: number;
  body: string;
}

/** `BENCH_CLIENT=fetch` sends through the global fetch (undici) instead of node:http. */
const useFetch = process.env.BENCH_CLIENT === 'fetch';

async function postWithFetch(url: URL, path: string, apiKey: string, body: string): Promise<Reply> {
  // undici keeps connections alive and pools them per origin by default.
  const response = await fetch(new URL(path, url), { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${apiKey}` }, body });
  return { status: response.status, body: await response.text() };
}

function post(agent: http.Agent, url: URL, path: string, apiKey: string, body: string): Promise<Reply> {
  if (useFetch) return postWithFetch(url, path, apiKey, body);
  return new Promise((resolve, reject) => {
    const request = http.request({
      agent, host: url.hostname, port: url.port, path, method: 'POST',
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), authorization: `Bearer ${apiKey}` },
    }, (response) => {
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => { text += chunk; });
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body: text }));
      response.on('error', reject);
    });
    request.on('error', reject);
    request.end(body);
  });
}

/** The bare-socket client unless `BENCH_CLIENT=http` (node:http) or `fetch` is asked for. */
const useRaw = process.env.BENCH_CLIENT !== 'http' && !useFetch;

interface Pending {
  request: string;
  resolve(reply: Reply): void;
  reject(error: Error): void;
}

/**
 * Keep-alive HTTP/1.1 on up to `socketsMax` sockets, one request in flight per socket and the
 * rest queued, as node:http's agent does with `maxSockets`; the same request headers as node:http
 * sends (Host, Connection: keep-alive, the content type and length, the key). Each request is one
 * string written at once; a reply is read by its Content-Length (the server always sends one; a
 * reply without it fails the request). Built for the benchmark's own server, not for the web.
 */
class RawHttpPool {
  private readonly idle: RawConnection[] = [];
  private readonly queue: Pending[] = [];
  private readonly all: RawConnection[] = [];

  constructor(private readonly url: URL, private readonly socketsMax: number) {}

  post(path: string, apiKey: string, body: string): Promise<Reply> {
    const request = `POST ${path} HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n`
      + `Authorization: Bearer ${apiKey}\r\nHost: ${this.url.host}\r\nConnection: keep-alive\r\n\r\n${body}`;
    return new Promise<Reply>((resolve, reject) => {
      this.queue.push({ request, resolve, reject });
      this.dispatch();
    });
  }

  destroy(): void {
    for (const connection of this.all) connection.socket.destroy();
  }

  private dispatch(): void {
    while (this.queue.length > 0) {
      let connection = this.idle.pop();
      if (connection === undefined) {
        if (this.all.length >= this.socketsMax) return;
        connection = new RawConnection(this.url, (done) => {
          this.idle.push(done);
          this.dispatch();
        }, (lost) => {
          this.all.splice(this.all.indexOf(lost), 1);
          this.dispatch();
        });
        this.all.push(connection);
      }
      connection.send(this.queue.shift()!);
    }
  }
}

const headerEnd = Buffer.from('\r\n\r\n');

class RawConnection {
  readonly socket: net.Socket;
  private pending: Pending | null = null;
  private buffered: Buffer | null = null;

  constructor(url: URL, private readonly onIdle: (c: RawConnection) => void, private readonly onLost: (c: RawConnection) => void) {
    this.socket = net.connect({ host: url.hostname, port: Number(url.port), noDelay: true });
    this.socket.on('data', (chunk: Buffer) => this.receive(chunk));
    let lost = false;
    const fail = (error: Error): void => {
      const pending = this.pending;
      this.pending = null;
      if (!lost) this.onLost(this);
      lost = true;
      pending?.reject(error);
    };
    this.socket.on('error', fail);
    this.socket.on('close', () => { if (this.pending) fail(new Error('connection closed')); });
  }

  send(pending: Pending): void {
    this.pending = pending;
    this.socket.write(pending.request);
  }

  private receive(chunk: Buffer): void {
    const data = this.buffered === null ? chunk : Buffer.concat([this.buffered, chunk]);
    const end = data.indexOf(headerEnd);
    if (end < 0) {
      this.buffered = data;
      return;
    }
    const head = data.toString('latin1', 0, end);
    const match = /\r\ncontent-length: *(\d+)/i.exec(head);
    if (match === null) {
      this.socket.destroy(new Error(`a reply without Content-Length: ${head}`));
      return;
    }
    const bodyEnd = end + 4 + Number(match[1]);
    if (data.length < bodyEnd) {
      this.buffered = data;
      return;
    }
    this.buffered = data.length > bodyEnd ? data.subarray(bodyEnd) : null;
    const pending = this.pending!;
    this.pending = null;
    pending.resolve({ status: Number(head.slice(9, 12)), body: data.toString('utf8', end + 4, bodyEnd) });
    this.onIdle(this);
  }
}

function summarize(latencies: number[]): LoadReport['latencyMs'] {
  latencies.sort((a, b) => a - b);
  return { p50: percentile(latencies, 0.5), p90: percentile(latencies, 0.9), p99: percentile(latencies, 0.99), max: latencies[latencies.length - 1] ?? 0 };
}

/** Closed loop: each client sends its next request when the previous one is answered. */
async function runEvents(job: Extract<LoadJob, { kind: 'events' }>): Promise<LoadReport> {
  const url = new URL(job.baseUrl);
  const agent = new http.Agent({ keepAlive: true, maxSockets: job.clients });
  const pool = useRaw ? new RawHttpPool(url, job.clients) : null;
  const source = new EventSource(`${job.label}-${process.pid}-${job.seed}`, job.customerIds, job.seed);
  const statuses: Record<string, number> = {};
  const latencies: number[] = [];
  let requests = 0;
  let events = 0;
  let httpErrors = 0;
  const cpu = process.cpuUsage();
  const started = performance.now();
  const deadline = started + job.timeLimitMs;
  const client = async (): Promise<void> => {
    while (requests < job.requestsMax && performance.now() < deadline) {
      requests++;
      const body = JSON.stringify({ events: source.batch(job.eventsPerRequest) });
      const sentAt = performance.now();
      const reply = await (pool !== null ? pool.post('/v1/events', job.apiKey, body) : post(agent, url, '/v1/events', job.apiKey, body));
      latencies.push(performance.now() - sentAt);
      if (reply.status !== 200) {
        // Counted by status too, so a refusal (a 429, say) is told apart from a failure.
        httpErrors++;
        statuses[`http_${reply.status}`] = (statuses[`http_${reply.status}`] ?? 0) + 1;
        continue;
      }
      for (const result of (JSON.parse(reply.body) as { results: { status: string }[] }).results) {
        statuses[result.status] = (statuses[result.status] ?? 0) + 1;
        events++;
      }
    }
  };
  await Promise.all(Array.from({ length: job.clients }, client));
  const elapsedMs = performance.now() - started;
  const used = process.cpuUsage(cpu);
  agent.destroy();
  pool?.destroy();
  return { requests, events, statuses, httpErrors, elapsedMs, latencyMs: summarize(latencies), clientCpuMs: (used.user + used.system) / 1000 };
}

/**
 * Open loop at a fixed rate: request i is due at i / rate seconds, whether or not earlier ones
 * were answered, so a slow reply cannot slow the offered load down. Latency is measured from
 * the moment a request is written to the moment its reply is complete.
 */
async function runAuthorize(job: Extract<LoadJob, { kind: 'authorize' }>): Promise<LoadReport> {
  const url = new URL(job.baseUrl);
  const agent = new http.Agent({ keepAlive: true, maxSockets: job.sockets });
  const pool = useRaw ? new RawHttpPool(url, job.sockets) : null;
  const source = new EventSource(`authorize-${process.pid}`, job.customerIds, job.seed);
  const statuses: Record<string, number> = {};
  const latencies: number[] = [];
  const total = Math.floor((job.ratePerSecond * job.durationMs) / 1000);
  let sent = 0;
  let answered = 0;
  let httpErrors = 0;
  let inFlight = 0;
  let late = 0;
  const cpu = process.cpuUsage();
  const started = performance.now();
  await new Promise<void>((resolve) => {
    const send = (): void => {
      const e = source.event();
      const body = JSON.stringify({ event: { type: e.type, properties: e.properties } });
      if (inFlight >= job.sockets) late++;
      inFlight++;
      const sentAt = performance.now();
      const path = `/v1/customers/${e.customer}/authorize`;
      (pool !== null ? pool.post(path, job.apiKey, body) : post(agent, url, path, job.apiKey, body)).then((reply) => {
        latencies.push(performance.now() - sentAt);
        if (reply.status === 200) {
          const allowed = (JSON.parse(reply.body) as { allowed: boolean }).allowed;
          statuses[allowed ? 'allowed' : 'denied'] = (statuses[allowed ? 'allowed' : 'denied'] ?? 0) + 1;
        } else {
          httpErrors++;
          statuses[`http_${reply.status}`] = (statuses[`http_${reply.status}`] ?? 0) + 1;
        }
      }, () => { httpErrors++; }).finally(() => {
        inFlight--;
        answered++;
        if (answered === total) resolve();
      });
    };
    const tick = (): void => {
      const due = Math.min(total, Math.floor(((performance.now() - started) * job.ratePerSecond) / 1000) + 1);
      while (sent < due) {
        sent++;
        send();
      }
      // A hard stop well past the schedule bounds the phase even if the server stops answering.
      if (sent < total && performance.now() - started < job.durationMs * 3) setTimeout(tick, 1);
      else if (sent < total) resolve();
    };
    tick();
  });
  const elapsedMs = performance.now() - started;
  const used = process.cpuUsage(cpu);
  agent.destroy();
  pool?.destroy();
  return { requests: answered, events: 0, statuses, httpErrors, elapsedMs, latencyMs: summarize(latencies), clientCpuMs: (used.user + used.system) / 1000, late };
}

process.on('message', (job: LoadJob) => {
  const run = job.kind === 'events' ? runEvents(job) : runAuthorize(job);
  run.then((report) => process.send!({ ok: true, report }), (error: Error) => process.send!({ ok: false, error: String(error.stack ?? error) }));
});
process.on('disconnect', () => process.exit(0));
