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

export function createAuthenticator(engine: Engine, adminKey: string | undefined) {
  const cache = new Map<string, { caller: Caller | null; atMs: number }>();
  const isAdminKey = adminKeyMatcher(adminKey);

  async function identify(secret: string): Promise<Caller | null> {
    if (isAdminKey(secret)) return { keyId: 'admin', scopes: ['admin'], customerId: null };
    const hit = cache.get(secret);
    const nowMs = engine.clock.now();
    if (hit && nowMs - hit.atMs < cacheTtlMs) return hit.caller;
    const key = await findApiKey(engine, secret);
    const caller = key ? { keyId: key.id, scopes: key.scopes as Scope[], customerId: key.customerId } : null;
    if (cache.size >= cacheEntriesMax) cache.delete(cache.keys().next().value!);
    cache.set(secret, { caller, atMs: nowMs });
    return caller;
  }

  return async function authenticate(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    request.caller = null;
    const needed = request.routeOptions.config?.scope ?? 'admin';
    if (needed === 'public') return;
    const header = request.headers.authorization;
    const secret = header?.startsWith('Bearer ') ? header.slice(7).trim() : (request.headers['x-api-key'] as string | undefined);
    if (!secret) {
      await reply.code(401).send({ error: { code: 'missing_api_key', message: 'Send an API key as "Authorization: Bearer <key>".' } });
      return reply;
    }
    const caller = await identify(secret);
    if (!caller) {
      await reply.code(401).send({ error: { code: 'invalid_api_key', message: 'The API key is not valid.' } });
      return reply;
    }
    if (!allows(caller.scopes, needed)) {
      await reply.code(403).send({ error: { code: 'insufficient_scope', message: `This request needs the ${needed} scope.`, details: { needed, scopes: caller.scopes } } });
      return reply;
    }
    request.caller = caller;
  };
}

/** admin covers everything; ingest covers read of what it writes; read is GET only. */
export function allows(scopes: readonly Scope[], needed: Scope): boolean {
  if (scopes.includes('admin')) return true;
  if (needed === 'read') return scopes.includes('read') || scopes.includes('ingest');
  return scopes.includes(needed);
}
