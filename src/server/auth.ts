import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Engine } from '../engine/context.ts';
import { adminKeyMatcher, findApiKey, type Scope } from '../engine/api-keys.ts';

/**
 * Who is calling. `scopes` come from the API key; `customerId` is set for customer portal tokens,
 * which may read one customer only. The bootstrap admin key from the environment is accepted as
 * given; other keys are looked up by hash, cached for `authCacheTtlMs` only: a key revoked on any
 * instance is refused by every instance within that time (PRODUCT §12: within 1 s).
 */
export interface Caller {
  keyId: string;
  scopes: readonly Scope[];
  customerId: string | null;
}

declare module 'fastify' {
  interface FastifyRequest {
    caller: Caller | null;
  }
  interface FastifyContextConfig {
    scope?: Scope | 'public';
  }
}

/** How long a looked-up key is trusted without reading the database again; bounds revocation delay. */
export const authCacheTtlMs = 500;
const cacheTtlMs = authCacheTtlMs;
const cacheEntriesMax = 10_000;
const adminCaller: Caller = { keyId: 'admin', scopes: ['admin'], customerId: null };

export function createAuthenticator(engine: Engine, adminKey: string | undefined) {
  const cache = new Map<string, { caller: Caller | null; atMs: number }>();
  const isAdminKey = adminKeyMatcher(adminKey);

  /**
   * The caller a secret names: at once from the cache, or a promise when the key is looked up.
   * The cache comes first: it never holds the admin key, so a hit skips the admin key's SHA-256
   * and says nothing about that key's value.
   */
  function identify(secret: string): Caller | null | Promise<Caller | null> {
    const hit = cache.get(secret);
    const nowMs = engine.clock.now();
    if (hit && nowMs - hit.atMs < cacheTtlMs) return hit.caller;
    if (isAdminKey(secret)) return adminCaller;
    return lookUp(secret, nowMs);
  }

  async function lookUp(secret: string, nowMs: number): Promise<Caller | null> {
    const key = await findApiKey(engine, secret);
    const caller = key ? { keyId: key.id, scopes: key.scopes as Scope[], customerId: key.customerId } : null;
    if (cache.size >= cacheEntriesMax) cache.delete(cache.keys().next().value!);
    cache.set(secret, { caller, atMs: nowMs });
    return caller;
  }

  /** Refuses the request, or sets `request.caller` and returns true. */
  function admit(request: FastifyRequest, reply: FastifyReply, caller: Caller | null, needed: Scope): boolean {
    if (!caller) {
      void reply.code(401).send({ error: { code: 'invalid_api_key', message: 'The API key is not valid.' } });
      return false;
    }
    if (!allows(caller.scopes, needed)) {
      void reply.code(403).send({ error: { code: 'insufficient_scope', message: `This request needs the ${needed} scope.`, details: { needed, scopes: caller.scopes } } });
      return false;
    }
    request.caller = caller;
    return true;
  }

  /**
   * An `onRequest` hook in callback form: a cached key (every request but the first few of a key)
   * is admitted without a promise; only a database lookup waits. A refusal sends its reply and
   * does not call `done`, as Fastify expects of a hook that answers.
   */
  return function authenticate(request: FastifyRequest, reply: FastifyReply, done: (error?: Error) => void): void {
    request.caller = null;
    const needed = request.routeOptions.config?.scope ?? 'admin';
    if (needed === 'public') return done();
    const header = request.headers.authorization;
    const secret = header?.startsWith('Bearer ') ? header.slice(7).trim() : (request.headers['x-api-key'] as string | undefined);
    if (!secret) {
      void reply.code(401).send({ error: { code: 'missing_api_key', message: 'Send an API key as "Authorization: Bearer <key>".' } });
      return;
    }
    const caller = identify(secret);
    if (!(caller instanceof Promise)) {
      if (admit(request, reply, caller, needed)) done();
      return;
    }
    caller.then((found) => {
      if (admit(request, reply, found, needed)) done();
    }, done);
  };
}

/** admin covers everything; ingest covers read of what it writes; read is GET only. */
export function allows(scopes: readonly Scope[], needed: Scope): boolean {
  if (scopes.includes('admin')) return true;
  if (needed === 'read') return scopes.includes('read') || scopes.includes('ingest');
  return scopes.includes(needed);
}
