import { hash } from 'node:crypto';
import { parseTimestamp } from '../core/time.ts';
import { limits } from './limits.ts';
import { canonicalJson, findNulCharacter, isPlainObject, jsonDepthExceeds } from '../core/json.ts';

/** A usage event that passed the shape checks and waits to be rated inside a transaction. */
export interface UsageCandidate {
  index: number;
  id: string;
  customerRef: string;
  type: string;
  timestampMs: number | null;
  properties: Record<string, unknown>;
  propertiesJson: string;
  bodyHash: string;
}

export interface Rejection {
  code: string;
  message: string;
  field?: string;
}

const eventFields: ReadonlySet<string> = new Set(['id', 'customer', 'type', 'timestamp', 'properties']);

/**
 * True when `canonicalJson(value)` and `JSON.stringify(value)` are the same text: the keys are
 * already in sorted order and every value is a string, a finite number, a boolean or null. Then
 * the JSON already made for storage serves for the hash too, and the canonical form is not built.
 */
function isFlatSorted(value: Record<string, unknown>): boolean {
  let previous: string | undefined;
  for (const key in value) {
    if (!Object.hasOwn(value, key)) return false;
    if (previous !== undefined && !(previous < key)) return false;
    previous = key;
    const v = value[key];
    const kind = typeof v;
    if (!(kind === 'string' || kind === 'boolean' || v === null || (kind === 'number' && Number.isFinite(v)))) return false;
  }
  return true;
}

/** A scalar with no NUL in it; an object or array is left to `findNulCharacter`'s walk. */
const nulFree = (v: unknown): boolean => (typeof v === 'string' ? !v.includes('\u0000') : typeof v !== 'object' || v === null);

/**
 * True when none of an event's strings holds a NUL and its properties are one flat object, so
 * `findNulCharacter` would find nothing; false sends the event through that walk, which also
 * names the field.
 */
function surelyNulFree(id: unknown, customer: unknown, type: unknown, timestamp: unknown, properties: unknown): boolean {
  if (!nulFree(id) || !nulFree(customer) || !nulFree(type) || !nulFree(timestamp)) return false;
  if (properties === undefined) return true;
  if (!isPlainObject(properties)) return false;
  for (const key in properties) {
    if (key.includes('\u0000') || !nulFree(properties[key])) return false;
  }
  return true;
}

/**
 * Checks one event's shape. The body hash covers what the caller sent (customer, type, timestamp,
 * properties), so a retry of the same event is recognized and a reused id with another body is not.
 */
export function validateUsageEvent(raw: unknown, index: number, customerOverride?: string): UsageCandidate | Rejection {
  return checkUsageEvent(raw, index, customerOverride, true);
}

/**
 * The same checks for an event that is priced but never stored (an authorization): no body hash,
 * which only recognizes retries of stored events and cost a canonical form and a SHA-256 each time.
 */
export function validateUnstoredUsageEvent(raw: unknown, customerId: string): Omit<UsageCandidate, 'bodyHash'> | Rejection {
  return checkUsageEvent(raw, 0, customerId, false);
}

function checkUsageEvent(raw: unknown, index: number, customerOverride: string | undefined, hashBody: boolean): UsageCandidate | Rejection {
  if (!isPlainObject(raw)) return { code: 'invalid_event', message: 'Each event must be a JSON object.' };
  const { id, customer, type, timestamp, properties } = raw;
  for (const key in raw) {
    if (!Object.hasOwn(raw, key) || eventFields.has(key)) continue;
    return { code: 'unknown_field', message: `Unknown field ${JSON.stringify(key)}.`, field: key };
  }
  // NUL is refused in every string of an event (both databases alike: PostgreSQL cannot store it).
  const customerField = customerOverride === undefined ? customer : undefined;
  const nulAt = surelyNulFree(id, customerField, type, timestamp, properties)
    ? null
    : findNulCharacter({ id, customer: customerField, type, timestamp, properties }, '');
  if (nulAt !== null) return { code: 'nul_character', message: `${nulAt} contains a NUL character.`, field: nulAt };
  if (typeof id !== 'string' || id.length === 0 || id.length > limits.eventIdLengthMax) {
    return { code: 'invalid_id', message: `id must be a string of 1 to ${limits.eventIdLengthMax} characters.`, field: 'id' };
  }
  const customerRef = customerOverride ?? customer;
  if (typeof customerRef !== 'string' || customerRef.length === 0 || customerRef.length > limits.customerRefLengthMax) {
    return { code: 'invalid_customer', message: 'customer must be a customer id or external_id.', field: 'customer' };
  }
  if (typeof type !== 'string' || type.length === 0 || type.length > limits.eventTypeLengthMax) {
    return { code: 'invalid_type', message: `type must be a string of 1 to ${limits.eventTypeLengthMax} characters.`, field: 'type' };
  }
  let timestampMs: number | null = null;
  if (timestamp !== undefined) {
    const parsed = parseTimestamp(timestamp);
    if (!parsed.ok) return { code: 'invalid_timestamp', message: 'timestamp must be an RFC 3339 date-time.', field: 'timestamp' };
    timestampMs = parsed.value;
  }
  const props = properties === undefined ? {} : properties;
  if (!isPlainObject(props)) return { code: 'invalid_properties', message: 'properties must be an object.', field: 'properties' };
  // Checked before anything serializes the properties: no walk over deeper input ever runs.
  if (jsonDepthExceeds(props, limits.jsonDepthMax)) {
    return { code: 'too_deep', message: `properties may nest at most ${limits.jsonDepthMax} levels (the properties object is level 1).`, field: 'properties' };
  }
  if (Object.keys(props).length > limits.propertiesCountMax) {
    return { code: 'invalid_properties', message: `properties may hold at most ${limits.propertiesCountMax} keys.`, field: 'properties' };
  }
  const propertiesJson = JSON.stringify(props);
  if (propertiesJson.length > limits.propertiesBytesMax) {
    return { code: 'invalid_properties', message: `properties may take at most ${limits.propertiesBytesMax} bytes.`, field: 'properties' };
  }
  let bodyHash = '';
  if (hashBody) {
    const canonical = isFlatSorted(props) ? propertiesJson : canonicalJson(props);
    bodyHash = hash('sha256', `${customerRef}\u0000${type}\u0000${timestamp === undefined ? '' : String(timestamp)}\u0000${canonical}`, 'base64url');
  }
  return { index, id, customerRef, type, timestampMs, properties: props, propertiesJson, bodyHash };
}

export function isRejection<T extends object>(v: T | Rejection): v is Rejection {
  return 'code' in v;
}

/** JSON with object keys sorted (stack-safe); kept here for the callers that hash input. */
export { canonicalJson };

/**
 * Why ingestion refuses an event stamped `atMs` when its customer's clock reads `nowMs` (more than
 * `futureToleranceMs` ahead, more than `pastToleranceMs` old), with the code and message it
 * answers; null inside the window. Authorization refuses such an event alike, so it never allows
 * one that ingestion would not charge.
 */
export function outsideWindow(
  settings: { futureToleranceMs: number; pastToleranceMs: number }, atMs: number, nowMs: number,
): { code: 'timestamp_in_future' | 'timestamp_too_old'; message: string } | null {
  if (atMs > nowMs + settings.futureToleranceMs) return { code: 'timestamp_in_future', message: 'timestamp is more than 5 minutes ahead of the customer clock.' };
  if (atMs < nowMs - settings.pastToleranceMs) return { code: 'timestamp_too_old', message: 'timestamp is more than 35 days in the past.' };
  return null;
}
