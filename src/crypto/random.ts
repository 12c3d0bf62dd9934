// Random values for codes, tokens, ids and secrets: CSPRNG bytes, base64url (RFC 6749 §10.10).
import { randomFillSync } from 'node:crypto';

/**
 * CSPRNG bytes drawn a page at a time and handed out once each, as Node's own randomUUID does: one call into OpenSSL
 * per 4 KB instead of one per token (several run on every token request; issue 9 point 4). A byte is never handed out
 * twice: the page is refilled only when every byte of it has been used.
 */
const pool = Buffer.alloc(4096);
let used = pool.length;

function take(bytes: number): Buffer {
  // A negative or fractional count would move `used` back and hand bytes out twice.
  if (!Number.isSafeInteger(bytes) || bytes < 1)
    throw new RangeError('random byte count must be a positive integer');
  if (bytes > pool.length) return randomFillSync(Buffer.alloc(bytes));
  if (used + bytes > pool.length) {
    randomFillSync(pool);
    used = 0;
  }
  const out = pool.subarray(used, used + bytes);
  used += bytes;
  return out;
}

/** 32 bytes = 256 bits: above the 128-bit floor of RFC 6749 §10.10 and FAPI 2.0 §5.4. */
export function randomToken(bytes = 32): string {
  return take(bytes).toString('base64url');
}

/**
 * A UUID version 7 (RFC 9562 §5.7): 48 bits of Unix milliseconds, then 74 random bits. For ids kept only in the store
 * (grant ids): ids made close in time sort close together, so the index rows of a burst of grants share pages
 * instead of each dirtying a page of its own.
 */
export function timeOrderedId(now = Date.now()): string {
  const b = Buffer.from(take(16));
  b.writeUIntBE(now, 0, 6);
  b[6] = 0x70 | ((b[6] as number) & 0x0f);
  b[8] = 0x80 | ((b[8] as number) & 0x3f);
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
