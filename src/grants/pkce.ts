// PKCE verification (RFC 7636 §4.1, §4.6) with S256 only (RFC 9700 §2.1.1).
import { createHash } from 'node:crypto';
import { constantTimeEqual } from '../crypto/hash.js';

/** RFC 7636 §4.1: 43 to 128 characters of [A-Z] / [a-z] / [0-9] / "-" / "." / "_" / "~". */
export const verifierSyntax = /^[A-Za-z0-9\-._~]{43,128}$/;

/** An S256 challenge is a base64url SHA-256: exactly 43 characters. */
export const s256ChallengeSyntax = /^[A-Za-z0-9_-]{43}$/;

export function verifyS256(verifier: string, challenge: string): boolean {
  if (!verifierSyntax.test(verifier)) return false;
  const computed = createHash('sha256').update(verifier, 'ascii').digest('base64url');
  return constantTimeEqual(computed, challenge);
}
