import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { findNulCharacter } from '../core/json.ts';
import { limits } from '../engine/limits.ts';
import { errorBody, type ErrorBody } from './errors.ts';
import { NoQuery } from './schemas.ts';

/**
 * The request-parsing layer's own refusals, all in the API's error shape (PRODUCT §12, §16):
 * only UTF-8 JSON bodies, no NUL character in any body, path or query string, no query parameter
 * a /v1 route does not take, bad URLs, paths too long, and the HTTP parser's own errors (headers
 * too large, malformed requests), each with a stable code. Every reply carries `X-Request-Id`.
 */

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The body's items are checked one by one by the engine (ingestion), not refused whole here. */
    checksItemsItself?: boolean;
    /** A caller this API does not speak for sends to it (Stripe): a query parameter is ignored, not refused. */
    ignoresQuery?: boolean;
  }
}

/** An error raised while parsing a request, carried to the error handler with its reply. */
export class RequestRefused extends Error {
  constructor(readonly statusCode: number, readonly body: ErrorBody) {
    super(body.error.message);
  }
}

const refusal = (statusCode: number, code: string, message: string): RequestRefused =>
  new RequestRefused(statusCode, { error: { code, message } });

/** `X-Request-Id` as given by the caller, when it is a plain token of a sane length. */
const requestIdPattern = /^[A-Za-z0-9._:@/+=-]{1,128}$/;

/** Random bytes per request id: 16 base64url characters. */
const requestIdRandomBytes = 12;
/** Ids drawn from each call to `randomBytes`: one call of about 4 KiB serves 341 requests. */
const requestIdsPerDraw = 341;
let randomPool = Buffer.alloc(0);
let randomPoolOffset = 0;

/**
 * A fresh request id, `req_` and 16 base64url characters of randomness. The bytes come from a pool
 * refilled 4 KiB at a time (as `src/engine/ids.ts` does for record ids): one `randomBytes` call per
 * request cost more than the rest of the id and its header together.
 */
export function newRequestId(): string {
  if (randomPoolOffset + requestIdRandomBytes > randomPool.length) {
    randomPool = randomBytes(requestIdRandomBytes * requestIdsPerDraw);
    randomPoolOffset = 0;
  }
  const start = randomPoolOffset;
  randomPoolOffset += requestIdRandomBytes;
  return `req_${randomPool.toString('base64url', start, randomPoolOffset)}`;
}

/** Fastify's `genReqId`: the caller's X-Request-Id when it is well formed, else a fresh one. */
export function requestIdFor(request: { headers: Record<string, string | string[] | undefined> }): string {
  const given = request.headers['x-request-id'];
  return typeof given === 'string' && requestIdPattern.test(given) ? given : newRequestId();
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

/** The charset parameter of a Content-Type, lower-cased, or null when none is given. */
function charsetOf(contentType: string | undefined): string | null {
  const match = /;\s*charset\s*=\s*"?([^";\s]+)"?/i.exec(contentType ?? '');
  return match ? match[1]!.toLowerCase() : null;
}

/** A Content-Encoding other than `identity`, lower-cased, or null when the body is sent as it is. */
function contentCodingOf(header: string | string[] | undefined): string | null {
  const value = (Array.isArray(header) ? header.join(',') : header ?? '').trim().toLowerCase();
  return value === '' || value === 'identity' ? null : value;
}

/**
 * Replaces the JSON body parser: refuses a compressed body and a declared charset other than UTF-8 (415), bytes that
 * are not UTF-8 (400 invalid_encoding), then parses with Fastify's own safe parser (prototype
 * poisoning refused). JSON.parse itself does not recurse, so depth is bounded later, per field.
 */
export function registerJsonParser(app: FastifyInstance): void {
  const parseJson = app.getDefaultJsonParser('error', 'error');
  // JSON only: Fastify's built-in text/plain parser would hand a string to the routes' schemas.
  app.removeContentTypeParser(['application/json', 'text/plain']);
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, body, done) => {
    // A compressed body is not decoded (nor is it needed: request bodies are small); read as it
    // stands it would be refused for its bytes, with a reason that names the wrong cause.
    const coding = contentCodingOf(request.headers['content-encoding']);
    if (coding !== null) {
      done(refusal(415, 'unsupported_content_encoding', `Send the body uncompressed; Content-Encoding ${JSON.stringify(coding)} is not accepted.`), undefined);
      return;
    }
    const charset = charsetOf(request.headers['content-type']);
    if (charset !== null && charset !== 'utf-8' && charset !== 'utf8') {
      done(refusal(415, 'unsupported_charset', `Only UTF-8 JSON is accepted; this body declares charset ${JSON.stringify(charset)}.`), undefined);
      return;
    }
    let text: string;
    try {
      text = utf8.decode(body as Buffer);
    } catch {
      done(refusal(400, 'invalid_encoding', 'The request body is not valid UTF-8.'), undefined);
      return;
    }
    // No bytes at all is no body, as when no Content-Type is sent: `curl -X POST -H 'content-type:
    // application/json' …/retry` was refused as invalid JSON. A route that needs a body still
    // refuses its absence (`validation_failed`, field `body`).
    if (text === '') {
      done(null, undefined);
      return;
    }
    parseJson(request, text, done);
  });
}

/**
 * Refuses a NUL character anywhere in a path parameter, a query parameter or the body, with 400
 * and the field at fault. PostgreSQL cannot store NUL in text and SQLite can: refusing it here
 * makes both databases behave alike. Ingestion checks each event itself (one bad event never
 * sinks its batch), so routes marked `checksItemsItself` skip the body check, as do raw bodies
 * (bytes, such as the signed Stripe webhook's), which no string column stores.
 */
export function registerNulGuard(app: FastifyInstance): void {
  // Callback form: no promise per request (see app.ts); a refusal answers and does not call `done`.
  app.addHook('preValidation', (request: FastifyRequest, reply: FastifyReply, done: () => void) => {
    const field = findNulCharacter(request.params, '')
      ?? findNulCharacter(request.query, '')
      ?? (request.routeOptions.config?.checksItemsItself || request.body instanceof Uint8Array ? null : findNulCharacter(request.body, ''));
    if (field === null) return done();
    const name = field || 'body';
    void reply.code(400).send(errorBody({
      code: 'validation_failed',
      message: `${name}: must not contain a NUL character`,
      fields: [{ field: name, code: 'nul_character', message: 'must not contain a NUL character' }],
    }));
  });
}

/**
 * Gives every /v1 route that declares no query parameters a query schema that allows none, so an
 * unknown parameter (`GET /v1/customers/{id}?expand=x`, a typo of a list's parameter sent to a
 * read) is refused as the lists refuse one: 400 `validation_failed`, the parameter as `field`,
 * code `unknown_field`, before any hook claims an Idempotency-Key or anything runs. The schema has
 * no properties, so the OpenAPI document lists no parameter for it. Registered before the routes
 * (it sees each as it is added); routes outside /v1 (the health check, the document, the
 * dashboard's files) are left as they are, and so is a route marked `ignoresQuery`. A POST route
 * without a body schema gets `refuseBodyFields` the same way.
 */
export function refuseUnknownQueries(app: FastifyInstance): void {
  app.addHook('onRoute', (route) => {
    if (!route.url.startsWith('/v1/') || route.config?.ignoresQuery) return;
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    if (methods.includes('POST') && route.schema?.body === undefined) {
      const own = route.preValidation === undefined ? [] : Array.isArray(route.preValidation) ? route.preValidation : [route.preValidation];
      route.preValidation = [refuseBodyFields, ...own] as typeof route.preValidation;
    }
    if (route.schema?.querystring !== undefined) return;
    route.schema = { ...route.schema, querystring: NoQuery };
  });
}

/**
 * A POST /v1 route that takes no body (an action: revoke, void, retry, rotate_secret,
 * deactivate, release, apply_balance) refuses a body with fields, as the routes that take a body
 * refuse a field they do not know: 400 `validation_failed`, each field with `unknown_field`,
 * before an Idempotency-Key is claimed or anything runs. Ignoring them answered `POST
 * /v1/api_keys/{id}/revoke {"reason": …}` or `…/rotate_secret {"expires_in": 0}` as done, the
 * field dropped unseen. No body, or `{}` (what the SDK sends), passes; the OpenAPI document
 * lists no request body for these routes.
 */
function refuseBodyFields(request: FastifyRequest, reply: FastifyReply, done: () => void): void {
  const body: unknown = request.body;
  if (body === undefined) return done();
  const isObject = typeof body === 'object' && body !== null && !Array.isArray(body) && !(body instanceof Uint8Array);
  if (isObject && Object.keys(body).length === 0) return done();
  const message = isObject ? 'must NOT have additional properties' : 'must be empty: this operation takes no body';
  const fields = isObject
    ? Object.keys(body).map((field) => ({ field, code: 'unknown_field', message }))
    : [{ field: 'body', code: 'invalid_type', message }];
  void reply.code(400).send(errorBody({ code: 'validation_failed', message: `${fields[0]!.field}: ${message}`, fields }));
}

/** Errors Fastify raises before a route runs (bad URL encoding, a path parameter too long). */
export function frameworkErrors(error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  reply.header('x-request-id', request.id);
  if (error.code === 'FST_ERR_MAX_PARAM_LENGTH') {
    void reply.code(414).send({ error: { code: 'uri_too_long', message: `A path segment is longer than ${limits.pathSegmentLengthMax} characters.` } });
    return;
  }
  if (error.code === 'FST_ERR_BAD_URL') {
    void reply.code(400).send({ error: { code: 'invalid_url', message: 'The URL is not validly percent-encoded.' } });
    return;
  }
  void reply.code(400).send({ error: { code: 'bad_request', message: 'The request could not be routed.' } });
}

/**
 * Errors of Node's HTTP parser, before Fastify sees a request (headers or URL too large, a
 * malformed request line): answered in the API's shape, then the connection is closed.
 */
export function clientErrorHandler(error: Error & { code?: string }, socket: Socket): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  let status = 400;
  let body: ErrorBody = { error: { code: 'bad_request', message: 'The request is malformed.' } };
  if (error.code === 'HPE_HEADER_OVERFLOW') {
    status = 431;
    body = { error: { code: 'headers_too_large', message: 'The URL and headers together exceed 16 KiB.' } };
  } else if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    status = 408;
    body = { error: { code: 'request_timeout', message: 'The request took too long to arrive.' } };
  }
  const text = JSON.stringify(body);
  const reason = status === 431 ? 'Request Header Fields Too Large' : status === 408 ? 'Request Timeout' : 'Bad Request';
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(text)}\r\n` +
    `X-Request-Id: ${newRequestId()}\r\nConnection: close\r\n\r\n${text}`,
  );
}
