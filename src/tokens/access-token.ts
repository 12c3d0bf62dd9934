// Opaque access and refresh tokens: random values handed out, SHA-256 hashes stored (RFC 6749 §10.10, RFC 6819 §5.1.4.1.3).
import { sha256 } from '../crypto/hash.js';
import { randomToken } from '../crypto/random.js';
import type { AccessTokenRecord, RefreshTokenRecord } from '../store/types.js';

export interface Minted<T> {
  /** The value handed to the client; never stored, never logged. */
  value: string;
  record: T;
}

export interface TokenSubject {
  grantId: string;
  clientId: string;
  userId: string;
  scope: string[];
}

export function mintAccessToken(subject: TokenSubject, now: number, ttl: number): Minted<AccessTokenRecord> {
  const value = randomToken();
  return {
    value,
    record: {
      ...subject,
      tokenHash: sha256(value),
      issuedAt: now,
      expiresAt: now + ttl,
      revokedAt: undefined,
    },
  };
}

export interface RefreshTokenTimes {
  now: number;
  authTime: number;
  /** Absolute end of the family. */
  expiresAt: number;
  idleTtl: number;
}

export function mintRefreshToken(subject: TokenSubject, t: RefreshTokenTimes): Minted<RefreshTokenRecord> {
  const value = randomToken();
  return {
    value,
    record: {
      ...subject,
      tokenHash: sha256(value),
      authTime: t.authTime,
      issuedAt: t.now,
      expiresAt: t.expiresAt,
      idleExpiresAt: Math.min(t.now + t.idleTtl, t.expiresAt),
      consumedAt: undefined,
      revokedAt: undefined,
    },
  };
}
