import { createHash, hash, randomBytes, timingSafeEqual } from 'node:crypto';
import { invalid, notFound, ok, type Outcome } from '../core/errors.ts';
import type { ApiKeyRecord } from '../store/records.ts';
import { Changes, type Engine } from './context.ts';

/**
 * API keys are shown once and stored as a SHA-256 hash. Scopes: `admin` (everything), `ingest`
 * (usage, authorize, holds), `read` (GET everything). A key bound to a customer is a portal token:
 * it reads that one customer only.
 */
export const scopes = ['admin', 'ingest', 'read'] as const;
export type Scope = (typeof scopes)[number];

export const hashKey = (secret: string): string => createHash('sha256').update(secret).digest('hex');

export interface CreateApiKeyInput {
  name?: string | undefined;
  scopes: Scope[];
  customer?: string | undefined;
}

export async function createApiKey(engine: Engine, input: CreateApiKeyInput): Promise<Outcome<{ key: ApiKeyRecord; secret: string }>> {
  if (input.scopes.length === 0) return invalid([{ field: 'scopes', code: 'required', message: 'Give at least one scope.' }]);
  // An empty customer is not "no customer": it would make an all-customers key from a typo.
  if (input.customer !== undefined && input.customer.length === 0) {
    return invalid([{ field: 'customer', code: 'too_short', message: 'customer must be a customer id or external_id.' }]);
  }
  if (input.customer !== undefined && input.scopes.some((s) => s !== 'read')) {
    return invalid([{ field: 'scopes', code: 'portal_read_only', message: 'A customer portal token may only have the read scope.' }]);
  }
  return engine.store.transaction(async (tx) => {
    let customerId: string | null = null;
    if (input.customer !== undefined) {
      const customer = await tx.customers.find(input.customer);
      if (!customer) return notFound('customer', input.customer);
      customerId = customer.id;
    }
    const secret = `tly_${randomBytes(24).toString('base64url')}`;
    const key: ApiKeyRecord = {
      id: engine.ids.next('key'),
      name: input.name ?? null,
      keyHash: hashKey(secret),
      scopes: [...new Set(input.scopes)],
      customerId,
      createdAtMs: engine.clock.now(),
      revokedAtMs: null,
    };
    await tx.access.insertKey(key);
    const changes = new Changes(engine);
    changes.event('api_key.created', customerId, { api_key: key.id, scopes: key.scopes }, key.createdAtMs);
    await changes.flush(tx);
    return ok({ key, secret });
  });
}

/**
 * Constant-time comparison with the bootstrap admin key given in the environment: the digests of
 * the two keys are compared, so the time taken says nothing about the admin key. The admin key is
 * hashed once here, and each request's key once per check.
 */
export function adminKeyMatcher(adminKey: string | undefined): (given: string) => boolean {
  if (!adminKey) return () => false;
  const expected = hash('sha256', adminKey, 'buffer');
  return (given) => timingSafeEqual(hash('sha256', given, 'buffer'), expected);
}

export async function findApiKey(engine: Engine, secret: string): Promise<ApiKeyRecord | null> {
  const key = await engine.store.read.access.keyByHash(hashKey(secret));
  return key && key.revokedAtMs === null ? key : null;
}
