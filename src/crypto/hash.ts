// Hashes for values kept at rest (codes, tokens, session ids, client secrets) and constant-time comparison.
import * as nodeCrypto from 'node:crypto';
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

type OneShot = (algorithm: string, data: string, outputEncoding: string) => string | Buffer;
/**
 * Node's one-shot digest (Node ≥ 20.12): a fraction of createHash().update().digest(), which builds a Hash object per
 * call; several run on every token request (issue 9 point 4). Older Nodes take the long way.
 */
const oneShot = (nodeCrypto as { hash?: OneShot }).hash;

function sha256Of(value: string): Buffer {
  return oneShot
    ? (oneShot('sha256', value, 'buffer') as Buffer)
    : createHash('sha256').update(value, 'utf8').digest();
}

/** SHA-256, base64url: how codes and opaque tokens are stored (RFC 6819 §5.1.4.1.3). */
export function sha256(value: string): string {
  return oneShot
    ? (oneShot('sha256', value, 'base64url') as string)
    : createHash('sha256').update(value, 'utf8').digest('base64url');
}

/** HMAC-SHA256, base64url. Keyed, so a stolen table cannot be checked offline against guesses without the key. */
export function hmacSha256(key: string | Buffer, value: string): string {
  return createHmac('sha256', key).update(value, 'utf8').digest('base64url');
}

/** Compares two strings in time independent of where they differ. Both sides are hashed first so lengths match. */
export function constantTimeEqual(a: string, b: string): boolean {
  return timingSafeEqual(sha256Of(a), sha256Of(b));
}
