import type { FastifyReply, FastifyRequest } from 'fastify';
import type { DomainError, Outcome } from '../core/errors.ts';
import { errorBody, statusFor } from './errors.ts';
import { limits } from '../engine/limits.ts';
import type { PageRequest } from '../store/records.ts';
import { RequestRefused } from './request-guards.ts';

/**
 * Sends an Outcome: the view of the value with `status`, or the error with its mapped status.
 * Not async: the reply is itself a thenable, and wrapping it in one more promise cost a microtask
 * turn per request.
 */
export function send<T>(reply: FastifyReply, outcome: Outcome<T>, view: (value: T) => unknown, status = 200): FastifyReply {
  if (!outcome.ok) return sendError(reply, outcome.error);
  return reply.code(status).send(view(outcome.value));
}

export function sendError(reply: FastifyReply, error: DomainError): FastifyReply {
  return reply.code(statusFor(error.code)).send(errorBody(error));
}

/**
 * The page a list request asks for. A page size outside 1 to `limits.pageSizeMax` is refused, as
 * Stripe refuses it, where it was read as the nearest bound (`limit=0` answered one record,
 * `limit=500` a hundred): a bound is a promise, not a guess at what was meant.
 */
export function pageOf(query: { limit?: string | undefined; starting_after?: string | undefined; order?: 'asc' | 'desc' | undefined }): PageRequest {
  const limit = query.limit === undefined ? limits.pageSizeDefault : Number(query.limit);
  if (!(limit >= 1 && limit <= limits.pageSizeMax)) throw pageSizeRefusal();
  return { limit, startingAfter: query.starting_after, order: query.order };
}

/** `400 validation_failed` on `limit`, code `out_of_range`. */
export function pageSizeRefusal(): RequestRefused {
  const message = `must be a page size from 1 to ${limits.pageSizeMax}`;
  return new RequestRefused(400, errorBody({ code: 'validation_failed', message: `limit: ${message}`, fields: [{ field: 'limit', code: 'out_of_range', message }] }));
}

/**
 * Customer portal tokens see one customer only. A different customer answers as not found, so a
 * token cannot probe which customers exist.
 */
export function canSeeCustomer(request: FastifyRequest, customerId: string): boolean {
  const bound = request.caller?.customerId;
  return !bound || bound === customerId;
}

export function hiddenCustomer(ref: string): DomainError {
  return { code: 'customer_not_found', message: `No customer ${JSON.stringify(ref)}.`, details: { id: ref } };
}
