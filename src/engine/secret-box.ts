import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';

/**
 * Seals secrets that must be usable again (webhook signing secrets) so they never rest in
 * plaintext: AES-256-GCM with a random 96-bit nonce, stored as `v1.<nonce>.<tag>.<ciphertext>`
 * (base64url). The 256-bit key is derived with HKDF-SHA256 from `TALLY_SECRET_KEY`, or, when
 * that is not set (local use), from the admin key, so a database copied without the server's
 * configuration does not reveal the secrets. Changing the key makes sealed secrets unreadable:
 * rotate the endpoints' secrets afterwards.
 */
export class SecretBox {
  private readonly key: Buffer;

  constructor(keyMaterial: string) {
    if (keyMaterial === '') throw new Error('SecretBox needs key material');
    this.key = Buffer.from(hkdfSync('sha256', keyMaterial, 'tally', 'tally secret box v1', 32));
  }

  seal(plaintext: string): string {
    const nonce = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, nonce);
    const sealed = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return ['v1', nonce.toString('base64url'), cipher.getAuthTag().toString('base64url'), sealed.toString('base64url')].join('.');
  }

  /** The plaintext, or null when the value was sealed under another key or was tampered with. */
  open(sealed: string): string | null {
    const [version, nonce, tag, body] = sealed.split('.');
    if (version !== 'v1' || nonce === undefined || tag === undefined || body === undefined) return null;
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.key, Buffer.from(nonce, 'base64url'));
      decipher.setAuthTag(Buffer.from(tag, 'base64url'));
      return Buffer.concat([decipher.update(Buffer.from(body, 'base64url')), decipher.final()]).toString('utf8');
    } catch {
      return null;
    }
  }
}

/** A new Standard Webhooks signing secret: `whsec_` and 32 random bytes in base64. */
export function newWebhookSecret(): string {
  return `whsec_${randomBytes(32).toString('base64')}`;
}
