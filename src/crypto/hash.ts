// Hashes for values kept at rest (codes, tokens, session ids, client secrets) and constant-time comparison.
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

/** SHA-256, base64url: how codes and opaque tokens are stored (RFC 6819 §5.1.4.1.3). */
export function sha256(value: string): string {
  return createHash('sha256').update(value, 'utf8').digest('base64url');
}

/** HMAC-SHA256, base64url. Keyed, so a stolen table cannot be checked offline against guesses without the key. */
export function hmacSha256(key: string | Buffer, value: string): string {
  return createHmac('sha256', key).update(value, 'utf8').digest('base64url');
}

/** Compares two strings in time independent of where they differ. Both sides are hashed first so lengths match. */
export function constantTimeEqual(a: string, b: string): boolean {
  const ha = createHash('sha256').update(a, 'utf8').digest();
  const hb = createHash('sha256').update(b, 'utf8').digest();
  return timingSafeEqual(ha, hb);
}
