import { createHash } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Engine } from '../engine/context.ts';
import { canonicalJson } from '../core/json.ts';
import { limits } from '../engine/limits.ts';
import type { SecretBox } from '../engine/secret-box.ts';

declare module 'fastify' {
  interface FastifyRequest {
    idempotency: { scope: string; key: string } | null;
  }
  interface FastifyContextConfig {
    /** The reply carries a secret shown once (a signing secret, an API key): its replay record is stored sealed. */
    secretInReply?: boolean;
  }
}

/** Marks a replay record stored sealed with the server's SecretBox. */
const sealedPrefix = 'sealed:';

const keyLengthMax = 255;

/**
 * `Idempotency-Key` on every POST: the first response for a key is stored and replayed for any
 * retry with the same body; the same key with another body is `409 idempotency_key_reused`; a key
 * whose first request is still running is `409 idempotency_key_in_use`. Server errors are not kept,
 * so a retry after one runs again. Records are kept `idempotencyRetentionMs` (7 days; the scheduler
 * deletes older ones). A reply that carries a secret (route config `secretInReply`) is stored
 * sealed (AES-256-GCM), so secrets never rest in plaintext in the replay records.
 */
export function registerIdempotency(app: FastifyInstance, engine: Engine, box: SecretBox): void {
  app.decorateRequest('idempotency', null);

  // Both hooks take Fastify's callback form, so a request without a key (most of them) costs no
  // promise; one with a key returns the promise of its claim or of its record.
  app.addHook('preHandler', (request: FastifyRequest, reply: FastifyReply, done: () => void) => {
    const key = request.headers['idempotency-key'];
    if (request.method !== 'POST' || typeof key !== 'string' || key === '') return done();
    return claim(request, reply, key);
  });

  async function claim(request: FastifyRequest, reply: FastifyReply, key: string): Promise<FastifyReply | undefined> {
    if (key.length > keyLengthMax) {
      await reply.code(400).send({ error: { code: 'invalid_idempotency_key', message: `Idempotency-Key may be at most ${keyLengthMax} characters.` } });
      return reply;
    }
    const scope = request.caller?.keyId ?? 'anonymous';
    // No body and an empty object are one request (an empty JSON body is no body, and a route
    // that takes none accepts `{}`), so they fingerprint alike: as `{}`. A record claimed with no
    // body before they did (fingerprinted as `null`) still matches either.
    const empty = isEmptyBody(request.body);
    const hash = requestHash(request, empty ? {} : request.body);
    const store = engine.store.read.access;
    if (await store.claimIdempotent(scope, key, hash, engine.clock.now(), limits.idempotencyRetentionMs)) {
      request.idempotency = { scope, key };
      return;
    }
    const previous = await store.idempotent(scope, key);
    if (previous && previous.requestHash !== hash && !(empty && previous.requestHash === requestHash(request, null))) {
      await reply.code(409).send({ error: { code: 'idempotency_key_reused', message: 'This Idempotency-Key was used with a different request.' } });
    } else if (!previous || previous.statusCode === 0) {
      await reply.code(409).send({ error: { code: 'idempotency_key_in_use', message: 'A request with this Idempotency-Key is still running.' } });
    } else {
      const body = previous.body.startsWith(sealedPrefix) ? box.open(previous.body.slice(sealedPrefix.length)) : previous.body;
      if (body === null) {
        await reply.code(409).send({ error: { code: 'idempotency_key_reused', message: 'The first response to this Idempotency-Key can no longer be read (the secret key changed).' } });
        return reply;
      }
      await reply.code(previous.statusCode).header('idempotent-replayed', 'true').type('application/json').send(body);
    }
    return reply;
  }

  app.addHook('onSend', (request, reply, payload, done) => {
    const claimed = request.idempotency;
    if (!claimed) return done(null, payload);
    request.idempotency = null;
    return complete(request, reply, payload, claimed);
  });

  async function complete(request: FastifyRequest, reply: FastifyReply, payload: unknown, claim: { scope: string; key: string }): Promise<unknown> {
    const store = engine.store.read.access;
    if (reply.statusCode >= 500) await store.releaseIdempotent(claim.scope, claim.key);
    else {
      const body = typeof payload === 'string' ? payload : JSON.stringify(payload);
      const stored = request.routeOptions.config?.secretInReply ? sealedPrefix + box.seal(body) : body;
      await store.completeIdempotent(claim.scope, claim.key, reply.statusCode, stored);
    }
    return payload;
  }
}


/** The fingerprint of a request: its method, its URL and its body in canonical JSON. */
function requestHash(request: FastifyRequest, body: unknown): string {
  return createHash('sha256').update(`${request.method} ${request.url}\u0000${canonicalJson(body)}`).digest('hex');
}

/** No body, or an empty JSON object. */
function isEmptyBody(body: unknown): boolean {
  if (body === undefined || body === null) return true;
  return typeof body === 'object' && !Array.isArray(body) && !(body instanceof Uint8Array) && Object.keys(body).length === 0;
}
