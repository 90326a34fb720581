import type { components, operations } from './openapi.ts';
import { operationTable } from './operations.ts';
import { TallyError, TallyNetworkError } from './errors.ts';

export type OperationId = keyof typeof operationTable & keyof operations;
type Op<K extends OperationId> = operations[K];

type PathOf<K extends OperationId> = Op<K>['parameters'] extends { path: infer P } ? (P extends Record<string, unknown> ? P : {}) : {};
type QueryOf<K extends OperationId> = Op<K>['parameters'] extends { query?: infer Q } ? ([Q] extends [never | undefined] ? {} : { query?: Q }) : {};
type BodyOf<K extends OperationId> = Op<K> extends { requestBody: { content: { 'application/json': infer B } } }
  ? { body: B }
  : Op<K> extends { requestBody?: { content: { 'application/json': infer B } } } ? { body?: B } : {};

/** What a method takes: the path parameters by name, `query` and `body` where the operation has them. */
export type Input<K extends OperationId> = PathOf<K> & QueryOf<K> & BodyOf<K>;

type JsonOf<R> = R extends { content: { 'application/json': infer J } } ? J : never;
/** What a method resolves to: the success reply (200 or 201) of the operation. */
export type Reply<K extends OperationId> = Op<K>['responses'] extends infer R
  ? (R extends { 201: infer C } ? JsonOf<C> : R extends { 200: infer O } ? JsonOf<O> : never)
  : never;

export interface CallOptions {
  /** The Idempotency-Key of a POST; a fresh one is made for each call otherwise and kept across its retries. */
  idempotencyKey?: string;
  signal?: AbortSignal;
}

type RequiredKeys<T> = { [P in keyof T]-?: {} extends Pick<T, P> ? never : P }[keyof T];
type Method<K extends OperationId> = RequiredKeys<Input<K>> extends never
  ? (input?: Input<K>, options?: CallOptions) => Promise<Reply<K>>
  : (input: Input<K>, options?: CallOptions) => Promise<Reply<K>>;

/** One method per operation of the API, named by its operationId. */
export type Methods = { [K in OperationId]: Method<K> };

type ListId = { [K in OperationId]: (typeof operationTable)[K]['list'] extends true ? K : never }[OperationId];
type ItemOf<K extends OperationId> = Reply<K> extends { data: (infer T)[] } ? T : never;

export interface TallyOptions {
  /** Where the API is, e.g. `http://127.0.0.1:8080` (no trailing /v1). */
  baseUrl: string;
  /** An API key, or a customer portal token. */
  apiKey: string;
  /**
   * Retries after a network error, a 5xx, or a `409 idempotency_key_in_use` (the same POST still
   * running on the server) (default 2). POSTs are retried with the same Idempotency-Key.
   */
  maxRetries?: number;
  /** First retry delay in ms, doubled each time (default 250). */
  retryDelayMs?: number;
  /** A fetch to use instead of the global one. */
  fetch?: typeof fetch;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function newIdempotencyKey(): string {
  return globalThis.crypto.randomUUID();
}

/**
 * The Tally client: `tally.getBalance({ id: 'acme' })`, `tally.createGrant({ body: {…} })`,
 * `for await (const c of tally.paginate('listCustomers', { query: { limit: '100' } }))`.
 * Runs on Node ≥ 20 and in browsers (fetch and WebCrypto only).
 */
export class TallyClient {
  readonly baseUrl: string;
  private readonly apiKey: string;
  private readonly maxRetries: number;
  private readonly retryDelayMs: number;
  private readonly fetchImpl: typeof fetch;

  constructor(options: TallyOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.apiKey = options.apiKey;
    this.maxRetries = options.maxRetries ?? 2;
    this.retryDelayMs = options.retryDelayMs ?? 250;
    this.fetchImpl = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
    for (const id of Object.keys(operationTable) as OperationId[]) {
      (this as unknown as Record<string, unknown>)[id] = (input?: Record<string, unknown>, options?: CallOptions) => this.call(id, input ?? {}, options);
    }
  }

  /** Calls one operation by its operationId (every method does this). */
  async call<K extends OperationId>(id: K, input: Input<K> | Record<string, unknown>, options: CallOptions = {}): Promise<Reply<K>> {
    const { method, path } = operationTable[id];
    const { query, body, ...params } = input as { query?: Record<string, unknown>; body?: unknown } & Record<string, unknown>;
    const url = this.baseUrl + path.replace(/\{(\w+)\}/g, (_, name: string) => {
      const value = params[name];
      if (value === undefined || value === null) throw new TypeError(`${id}: the path parameter ${name} is missing.`);
      return encodeURIComponent(String(value));
    }) + queryString(query);
    const headers: Record<string, string> = { authorization: `Bearer ${this.apiKey}`, accept: 'application/json' };
    if (method === 'POST') {
      headers['content-type'] = 'application/json';
      headers['idempotency-key'] = options.idempotencyKey ?? newIdempotencyKey();
    }
    const init: RequestInit = { method, headers, ...(method === 'POST' ? { body: JSON.stringify(body ?? {}) } : {}), ...(options.signal ? { signal: options.signal } : {}) };
    return this.send(url, init, options.signal) as Promise<Reply<K>>;
  }

  /** Every item of a list operation, page after page (`starting_after` the last page's cursor). */
  async *paginate<K extends ListId>(id: K, input: Input<K> | Record<string, unknown> = {}): AsyncGenerator<ItemOf<K>, void, undefined> {
    const base = input as { query?: Record<string, unknown> };
    let cursor: string | null | undefined = base.query?.starting_after as string | undefined;
    for (;;) {
      const query = { ...base.query, ...(cursor ? { starting_after: cursor } : {}) };
      const page = (await this.call(id, { ...input, query })) as { data: ItemOf<K>[]; has_more: boolean; next_cursor: string | null };
      yield* page.data;
      if (!page.has_more || !page.next_cursor) return;
      cursor = page.next_cursor;
    }
  }

  /** A report as CSV text (`Accept: text/csv`), for download. */
  async reportCsv(report: string, query: Record<string, string | undefined> = {}): Promise<string> {
    const url = `${this.baseUrl}/v1/reports/${encodeURIComponent(report)}${queryString(query)}`;
    return this.send(url, { method: 'GET', headers: { authorization: `Bearer ${this.apiKey}`, accept: 'text/csv' } }, undefined, 'text') as Promise<string>;
  }

  private async send(url: string, init: RequestInit, signal: AbortSignal | undefined, as: 'json' | 'text' = 'json'): Promise<unknown> {
    for (let attempt = 0; ; attempt += 1) {
      let response: Response;
      try {
        response = await this.fetchImpl(url, init);
      } catch (cause) {
        if (signal?.aborted || attempt >= this.maxRetries) throw new TallyNetworkError(`${init.method} ${url} failed: ${String(cause)}`, { cause });
        await sleep(this.retryDelayMs * 2 ** attempt);
        continue;
      }
      if (response.status >= 500 && attempt < this.maxRetries) {
        await response.body?.cancel();
        await sleep(this.retryDelayMs * 2 ** attempt);
        continue;
      }
      const text = await response.text();
      if (!response.ok) {
        const error = TallyError.from(response.status, text, response.headers.get('x-request-id'));
        // A retry that finds its first attempt still running (lost on the way back while the server
        // works on it) waits for it, then gets its reply: the request is not failed for being slow.
        if (error.code === 'idempotency_key_in_use' && attempt < this.maxRetries) {
          await sleep(this.retryDelayMs * 2 ** attempt);
          continue;
        }
        throw error;
      }
      if (as === 'text') return text;
      return text ? JSON.parse(text) : null;
    }
  }
}

function queryString(query: Record<string, unknown> | undefined): string {
  if (!query) return '';
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) if (value !== undefined && value !== null) params.set(key, String(value));
  const text = params.toString();
  return text ? `?${text}` : '';
}

/** The client type: TallyClient with one method per operation. */
export type Tally = TallyClient & Methods;

export function createTally(options: TallyOptions): Tally {
  return new TallyClient(options) as Tally;
}

export type Schemas = components['schemas'];
