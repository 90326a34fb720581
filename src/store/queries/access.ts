import type { SqlConnection, SqlRow } from '../sql.ts';
import type { ApiKeyRecord, Page, PageRequest } from '../records.ts';
import { json, num, numOrNull, strOrNull } from '../rows.ts';
import { pageQuery } from './paging.ts';

export interface IdempotentResponse {
  requestHash: string;
  statusCode: number;
  body: string;
}

function toApiKey(r: SqlRow): ApiKeyRecord {
  return {
    id: r.id as string,
    name: strOrNull(r.name),
    keyHash: r.key_hash as string,
    scopes: json(r.scopes),
    customerId: strOrNull(r.customer_id),
    createdAtMs: num(r.created_at),
    revokedAtMs: numOrNull(r.revoked_at),
  };
}

/**
 * How long a request may hold its Idempotency-Key claim before a retry may take it over: far
 * longer than any request runs, short enough that a client retrying after a server died gets
 * through within minutes.
 */
export const idempotencyClaimLeaseMs = 5 * 60_000;

/** API keys (stored hashed) and the Idempotency-Key replay records. */
export class AccessQueries {
  constructor(private readonly c: SqlConnection) {}

  async insertKey(k: ApiKeyRecord): Promise<void> {
    await this.c.run(`INSERT INTO api_keys (id, name, key_hash, scopes, customer_id, created_at, revoked_at) VALUES (?,?,?,?,?,?,?)`,
      [k.id, k.name, k.keyHash, JSON.stringify(k.scopes), k.customerId, k.createdAtMs, k.revokedAtMs]);
  }

  async keyByHash(hash: string): Promise<ApiKeyRecord | null> {
    const rows = await this.c.query(`SELECT * FROM api_keys WHERE key_hash = ?`, [hash]);
    return rows[0] ? toApiKey(rows[0]) : null;
  }

  async revokeKey(id: string, atMs: number): Promise<number> {
    return this.c.run(`UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL`, [atMs, id]);
  }

  async listKeys(page: PageRequest): Promise<Page<ApiKeyRecord>> {
    return pageQuery(this.c, 'api_keys', '', [], page, toApiKey);
  }

  async idempotent(scope: string, key: string): Promise<IdempotentResponse | null> {
    const rows = await this.c.query(`SELECT request_hash, status_code, response FROM idempotency_keys WHERE scope = ? AND key = ?`, [scope, key]);
    const r = rows[0];
    return r ? { requestHash: r.request_hash as string, statusCode: num(r.status_code), body: r.response as string } : null;
  }

  /**
   * Claims a key before the request runs, so two concurrent requests with one key cannot both run.
   * Returns false when the key is claimed already (finished or in progress). A claim still in
   * progress after `idempotencyClaimLeaseMs` belonged to a server that died mid-request (SIGKILL,
   * crash): nothing will complete or release it, so a retry takes it over instead of being told
   * "in use" forever. A record older than `retentionMs` is expired: a new request takes it over.
   */
  async claimIdempotent(scope: string, key: string, requestHash: string, atMs: number, retentionMs: number): Promise<boolean> {
    const changed = await this.c.run(
      `INSERT INTO idempotency_keys (scope, key, request_hash, status_code, response, created_at) VALUES (?,?,?,0,'',?)
        ON CONFLICT (scope, key) DO UPDATE SET request_hash = excluded.request_hash, created_at = excluded.created_at, status_code = 0, response = ''
        WHERE (idempotency_keys.status_code = 0 AND idempotency_keys.created_at < ?) OR idempotency_keys.created_at < ?`,
      [scope, key, requestHash, atMs, atMs - idempotencyClaimLeaseMs, atMs - retentionMs],
    );
    return changed === 1;
  }

  async completeIdempotent(scope: string, key: string, statusCode: number, body: string): Promise<void> {
    await this.c.run(`UPDATE idempotency_keys SET status_code = ?, response = ? WHERE scope = ? AND key = ?`, [statusCode, body, scope, key]);
  }

  /**
   * Deletes up to `limit` records created before `beforeMs` (the retention horizon); returns how
   * many went. Small batches keep each delete short on a busy table.
   */
  async deleteIdempotentBefore(beforeMs: number, limit: number): Promise<number> {
    return this.c.run(
      `DELETE FROM idempotency_keys WHERE (scope, key) IN (SELECT scope, key FROM idempotency_keys WHERE created_at < ? ORDER BY created_at LIMIT ?)`,
      [beforeMs, limit],
    );
  }

  /** Forgets a claim whose request failed with a server error, so the caller may retry. */
  async releaseIdempotent(scope: string, key: string): Promise<void> {
    await this.c.run(`DELETE FROM idempotency_keys WHERE scope = ? AND key = ? AND status_code = 0`, [scope, key]);
  }
}
