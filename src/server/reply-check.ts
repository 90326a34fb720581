import type { FastifyInstance } from 'fastify';
import { Ajv, type ValidateFunction } from 'ajv';
import type { TSchema } from '@sinclair/typebox';

/**
 * Checks every JSON reply against the response schema of its route and status before it is
 * serialized. Fastify's serializer silently drops properties a schema does not name and the
 * document would then lie about what is sent; with this check on (the test servers turn it on) a
 * view that drifts from its schema fails the request with a 500 and the test that made it.
 */
export function registerReplyCheck(app: FastifyInstance, shared: readonly TSchema[]): void {
  const ajv = new Ajv({ allErrors: true, strict: false, validateFormats: false });
  for (const schema of shared) ajv.addSchema(schema);
  const compiled = new WeakMap<object, ValidateFunction>();

  app.addHook('preSerialization', async (request, reply, payload) => {
    const responses = request.routeOptions.schema?.response as Record<string, object> | undefined;
    if (!responses || payload === null || typeof payload !== 'object') return payload;
    const status = reply.statusCode;
    const declared = responses[String(status)] ?? responses[`${String(status)[0]}xx`] ?? responses.default;
    // A response declared per media type (JSON and CSV) checks its JSON form.
    const schema = declared && 'content' in declared
      ? (declared as { content: Record<string, { schema: object }> }).content['application/json']?.schema
      : declared;
    if (!schema) throw new ReplyDriftError(`${request.method} ${request.routeOptions.url}: no response schema for status ${status}.`);
    let validate = compiled.get(schema);
    if (!validate) {
      validate = ajv.compile(schema);
      compiled.set(schema, validate);
    }
    if (!validate(payload)) {
      throw new ReplyDriftError(`${request.method} ${request.routeOptions.url} ${status}: the reply does not match its schema: ${ajv.errorsText(validate.errors)}`);
    }
    return payload;
  });
}

export class ReplyDriftError extends Error {
  override readonly name = 'ReplyDriftError';
}
