import { fail, invalid, notFound, ok, type FieldError, type Outcome } from '../core/errors.ts';
import { isWebhookEventType } from '../core/webhook-event-types.ts';
import type { Metadata, WebhookEndpointRecord } from '../store/records.ts';
import type { Engine } from './context.ts';
import { FieldCheck } from './input.ts';
import { newWebhookSecret, type SecretBox } from './secret-box.ts';

/** After a rotation the old secret keeps signing, alongside the new one, for this long. */
export const previousSecretOverlapMs = 24 * 60 * 60 * 1000;
export const webhookUrlLengthMax = 2048;
export const webhookEventTypesMax = 50;

/** What endpoint management needs from outside the engine: sealing secrets, and the URL safety check (DNS). */
export interface WebhookEndpointDeps {
  box: SecretBox;
  /** A field error when the URL is not allowed (scheme, private address, unresolvable host). */
  checkUrl(field: string, url: string): Promise<FieldError | null>;
}

export interface CreateWebhookEndpointInput {
  url: string;
  event_types?: string[] | undefined;
  description?: string | undefined;
  metadata?: Metadata | undefined;
}

export interface UpdateWebhookEndpointInput {
  url?: string | undefined;
  event_types?: string[] | undefined;
  description?: string | null | undefined;
  disabled?: boolean | undefined;
  metadata?: Metadata | undefined;
}

function checkEventTypes(check: FieldCheck, types: readonly string[]): void {
  if (types.length === 0) check.add('event_types', 'invalid_event_types', 'event_types must list at least one type, or ["*"] for all.');
  types.forEach((type, i) => {
    if (type !== '*' && !isWebhookEventType(type)) check.add(`event_types[${i}]`, 'unknown_event_type', `${JSON.stringify(type)} is not a webhook event type.`);
  });
  if (types.includes('*') && types.length > 1) check.add('event_types', 'invalid_event_types', '"*" stands alone: it already means every type.');
}

/** Creates an endpoint; the signing secret is in the reply and nowhere else in plaintext. */
export async function createWebhookEndpoint(engine: Engine, deps: WebhookEndpointDeps, input: CreateWebhookEndpointInput): Promise<Outcome<{ endpoint: WebhookEndpointRecord; secret: string }>> {
  const check = new FieldCheck();
  const eventTypes = [...new Set(input.event_types ?? ['*'])];
  checkEventTypes(check, eventTypes);
  const metadata = check.metadata('metadata', input.metadata);
  const urlError = await deps.checkUrl('url', input.url);
  if (urlError) check.errors.push(urlError);
  if (check.errors.length) return invalid(check.errors);
  const secret = newWebhookSecret();
  const nowMs = engine.clock.now();
  const endpoint: WebhookEndpointRecord = {
    id: engine.ids.next('whk'),
    url: input.url,
    description: input.description ?? null,
    eventTypes,
    metadata,
    disabled: false,
    disabledReason: null,
    secretSealed: deps.box.seal(secret),
    previousSecretSealed: null,
    previousSecretUntilMs: null,
    failingSinceMs: null,
    createdAtMs: nowMs,
    updatedAtMs: nowMs,
  };
  await engine.store.transaction((tx) => tx.webhooks.insertEndpoint(endpoint));
  return ok({ endpoint, secret });
}

export async function updateWebhookEndpoint(engine: Engine, deps: WebhookEndpointDeps, id: string, input: UpdateWebhookEndpointInput): Promise<Outcome<WebhookEndpointRecord>> {
  const check = new FieldCheck();
  const eventTypes = input.event_types === undefined ? undefined : [...new Set(input.event_types)];
  if (eventTypes) checkEventTypes(check, eventTypes);
  const metadata = input.metadata === undefined ? undefined : check.metadata('metadata', input.metadata);
  if (input.url !== undefined) {
    const urlError = await deps.checkUrl('url', input.url);
    if (urlError) check.errors.push(urlError);
  }
  if (check.errors.length) return invalid(check.errors);
  return engine.store.transaction(async (tx) => {
    const endpoint = await tx.webhooks.endpointForUpdate(id);
    if (!endpoint) return notFound('webhook_endpoint', id);
    if (input.url !== undefined) endpoint.url = input.url;
    if (eventTypes) endpoint.eventTypes = eventTypes;
    if (input.description !== undefined) endpoint.description = input.description;
    if (metadata) endpoint.metadata = metadata;
    if (input.disabled !== undefined && input.disabled !== endpoint.disabled) {
      endpoint.disabled = input.disabled;
      endpoint.disabledReason = input.disabled ? 'disabled_by_user' : null;
      // Enabling again starts a fresh health record: the 5 days of failure count from now on.
      if (!input.disabled) endpoint.failingSinceMs = null;
    }
    endpoint.updatedAtMs = engine.clock.now();
    await tx.webhooks.updateEndpoint(endpoint);
    return ok(endpoint);
  });
}

/** A new secret; the old one keeps signing alongside it for 24 hours (two signatures per message). */
export async function rotateWebhookSecret(engine: Engine, deps: WebhookEndpointDeps, id: string): Promise<Outcome<{ endpoint: WebhookEndpointRecord; secret: string }>> {
  return engine.store.transaction(async (tx) => {
    const endpoint = await tx.webhooks.endpointForUpdate(id);
    if (!endpoint) return notFound('webhook_endpoint', id);
    const secret = newWebhookSecret();
    const nowMs = engine.clock.now();
    endpoint.previousSecretSealed = endpoint.secretSealed;
    endpoint.previousSecretUntilMs = nowMs + previousSecretOverlapMs;
    endpoint.secretSealed = deps.box.seal(secret);
    endpoint.updatedAtMs = nowMs;
    await tx.webhooks.updateEndpoint(endpoint);
    return ok({ endpoint, secret });
  });
}

export async function deleteWebhookEndpoint(engine: Engine, id: string): Promise<Outcome<{ id: string }>> {
  return engine.store.transaction(async (tx) => {
    // The endpoint's row first, then its deliveries: the order the delivery worker takes them in
    // (`recordOutcomes`), so a delete racing a worker's outcomes on PostgreSQL waits, not deadlocks.
    if (!(await tx.webhooks.endpointForUpdate(id))) return fail('webhook_endpoint_not_found', `No webhook endpoint ${JSON.stringify(id)}.`, { details: { id } });
    const changed = await tx.webhooks.deleteEndpoint(id);
    return changed === 0 ? fail('webhook_endpoint_not_found', `No webhook endpoint ${JSON.stringify(id)}.`, { details: { id } }) : ok({ id });
  });
}
