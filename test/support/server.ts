import { afterAll, beforeAll } from 'vitest';
import type { FastifyInstance } from 'fastify';
import type { Dialect } from '../../src/store/sql.ts';
import type { Engine } from '../../src/engine/context.ts';
import { createEngine } from '../../src/engine/create-engine.ts';
import type { EngineSettings } from '../../src/engine/context.ts';
import type { Clock } from '../../src/engine/clock.ts';
import { buildServer, type ServerOptions } from '../../src/server/app.ts';
import { freshDatabase, type FreshDatabase } from './databases.ts';

export const adminKey = 'test-admin-key';

export interface ApiResponse<T = any> {
  status: number;
  body: T;
  headers: Headers;
}

/** A client for the real server on a loopback port, speaking HTTP through fetch. */
export class Api {
  constructor(readonly baseUrl: string, private readonly key: string | null = adminKey) {}

  as(key: string | null): Api {
    return new Api(this.baseUrl, key);
  }

  async request<T = any>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<ApiResponse<T>> {
    const h: Record<string, string> = { ...headers };
    if (this.key) h.authorization = `Bearer ${this.key}`;
    let payload: string | undefined;
    if (body !== undefined) {
      h['content-type'] ??= 'application/json';
      payload = typeof body === 'string' ? body : JSON.stringify(body);
    }
    const response = await fetch(`${this.baseUrl}${path}`, { method, headers: h, ...(payload !== undefined ? { body: payload } : {}) });
    const text = await response.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      // Non-JSON bodies (CSV, metrics) stay text.
    }
    return { status: response.status, body: parsed as T, headers: response.headers };
  }

  get<T = any>(path: string) {
    return this.request<T>('GET', path);
  }

  post<T = any>(path: string, body?: unknown, headers?: Record<string, string>) {
    return this.request<T>('POST', path, body ?? {}, headers);
  }
}

/**
 * Starts the real HTTP server on 127.0.0.1 with a fresh database of the dialect for a describe
 * block, and stops it afterwards.
 */
export function useServer(dialect: Dialect, options: ServerOptions & { settings?: Partial<EngineSettings>; clock?: Clock } = {}): { readonly api: Api; readonly engine: Engine; readonly database: FreshDatabase; readonly app: FastifyInstance } {
  const holder: { api?: Api; engine?: Engine; database?: FreshDatabase; app?: FastifyInstance } = {};
  beforeAll(async () => {
    holder.database = await freshDatabase(dialect);
    const { settings, clock, ...serverOptions } = options;
    holder.engine = await createEngine(holder.database.db, { ...(settings ? { settings } : {}), ...(clock ? { clock } : {}) });
    holder.app = await buildServer(holder.engine, { adminKey, checkReplies: true, ...serverOptions });
    const address = await holder.app.listen({ port: 0, host: '127.0.0.1' });
    holder.api = new Api(address);
  });
  afterAll(async () => {
    await holder.app?.close();
    await holder.database?.drop();
  });
  return {
    get api() { return holder.api!; },
    get engine() { return holder.engine!; },
    get database() { return holder.database!; },
    get app() { return holder.app!; },
  };
}

/**
 * The real clock, which a test can hold still: while held, `now()` returns the instant it was
 * held at, so nothing scheduled after that instant (a webhook retry 5 s later) becomes due however
 * slowly a loaded machine runs the test. Released, it reads the real time again.
 */
export class HoldableClock implements Clock {
  private heldAt: number | null = null;
  now(): number {
    return this.heldAt ?? Date.now();
  }
  hold(): void {
    this.heldAt = Date.now();
  }
  release(): void {
    this.heldAt = null;
  }
}

/** A unique suffix so tests sharing one database do not collide on codes and ids. */
let counter = 0;
export function unique(prefix: string): string {
  counter += 1;
  return `${prefix}_${process.pid}_${counter}_${Math.floor(Math.random() * 1e6)}`;
}
