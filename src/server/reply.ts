import type { FastifyReply, FastifyRequest } from 'fastify';
import type { DomainError, Outcome } from '../core/errors.ts';
import { errorBody, statusFor } from './errors.ts';
import { limits } from '../engine/limits.ts';
import type { PageRequest } from '../store/records.ts';

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

export function pageOf(query: { limit?: string | undefined; starting_after?: string | undefined; order?: 'asc' | 'desc' | undefined }): PageRequest {
  const limit = query.limit === undefined ? limits.pageSizeDefault : Math.min(Math.max(Number(query.limit), 1), limits.pageSizeMax);
  return { limit, startingAfter: query.starting_after, order: query.order };
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
