import { createHash } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Engine } from '../engine/context.ts';
import { canonicalJson } from '../core/json.ts';
import { limits } from '../engine/limits.ts';

declare module 'fastify' {
  interface FastifyRequest {
    idempotency: { scope: string; key: string } | null;
  }
  interface FastifyContextConfig {
    /**
     * Top-level reply fields never kept in the idempotency record (secrets): they are stored, and
     * replayed, as null. The first reply is the only one that shows them.
     */
    idempotencyRedact?: readonly string[];
  }
}

const keyLengthMax = 255;

/**
 * `Idempotency-Key` on every POST: the first response for a key is stored and replayed for any
 * retry with the same body; the same key with another body is `409 idempotency_key_reused`; a key
 * whose first request is still running is `409 idempotency_key_in_use`. Server errors are not kept,
 * so a retry after one runs again. Records are kept `idempotencyRetentionMs` (7 days; the scheduler
 * deletes older ones). Secrets in a reply (`idempotencyRedact`) are never stored: a replay shows
 * them as null.
 */
export function registerIdempotency(app: FastifyInstance, engine: Engine): void {
  app.decorateRequest('idempotency', null);

  app.addHook('preHandler', async (request: FastifyRequest, reply: FastifyReply) => {
    const key = request.headers['idempotency-key'];
    if (request.method !== 'POST' || typeof key !== 'string' || key === '') return;
    if (key.length > keyLengthMax) {
      await reply.code(400).send({ error: { code: 'invalid_idempotency_key', message: `Idempotency-Key may be at most ${keyLengthMax} characters.` } });
      return reply;
    }
    const scope = request.caller?.keyId ?? 'anonymous';
    const hash = createHash('sha256').update(`${request.method} ${request.url}\u0000${canonicalJson(request.body ?? null)}`).digest('hex');
    const store = engine.store.read.access;
    if (await store.claimIdempotent(scope, key, hash, engine.clock.now(), limits.idempotencyRetentionMs)) {
      request.idempotency = { scope, key };
      return;
    }
    const previous = await store.idempotent(scope, key);
    if (previous && previous.requestHash !== hash) {
      await reply.code(409).send({ error: { code: 'idempotency_key_reused', message: 'This Idempotency-Key was used with a different request.' } });
    } else if (!previous || previous.statusCode === 0) {
      await reply.code(409).send({ error: { code: 'idempotency_key_in_use', message: 'A request with this Idempotency-Key is still running.' } });
    } else {
      await reply.code(previous.statusCode).header('idempotent-replayed', 'true').type('application/json').send(previous.body);
    }
    return reply;
  });

  app.addHook('onSend', async (request, reply, payload) => {
    const claim = request.idempotency;
    if (!claim) return payload;
    request.idempotency = null;
    const store = engine.store.read.access;
    if (reply.statusCode >= 500) await store.releaseIdempotent(claim.scope, claim.key);
    else {
      const text = typeof payload === 'string' ? payload : JSON.stringify(payload);
      await store.completeIdempotent(claim.scope, claim.key, reply.statusCode, redacted(text, request.routeOptions.config?.idempotencyRedact));
    }
    return payload;
  });
}

/** The reply text with the named top-level fields set to null (the text itself when none apply). */
function redacted(text: string, fields: readonly string[] | undefined): string {
  if (!fields || fields.length === 0) return text;
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return text;
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return text;
  const record = body as Record<string, unknown>;
  for (const field of fields) if (field in record) record[field] = null;
  return JSON.stringify(record);
}
