// Random values for codes, tokens, ids and secrets: CSPRNG bytes, base64url (RFC 6749 §10.10).
import { randomBytes } from 'node:crypto';

/** 32 bytes = 256 bits: above the 128-bit floor of RFC 6749 §10.10 and FAPI 2.0 §5.4. */
export function randomToken(bytes = 32): string {
  return randomBytes(bytes).toString('base64url');
}
