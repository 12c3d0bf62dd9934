// Access and refresh tokens: opaque random values or RFC 9068 JWTs handed out, SHA-256 hashes stored (RFC 6819 §5.1.4.1.3).
import { sha256 } from '../crypto/hash.js';
import { randomToken } from '../crypto/random.js';
import type { Client } from '../provider/client.js';
import type { Provider } from '../provider/provider.js';
import type { AccessTokenRecord, GrantDetails, RefreshTokenRecord } from '../store/types.js';
import { subjectFor } from '../subjects/subject.js';

export interface Minted<T> {
  /** The value handed to the client; never stored, never logged. */
  value: string;
  record: T;
}

export interface TokenSubject {
  grantId: string;
  clientId: string;
  /** Undefined when the client acts for itself (client_credentials). */
  userId: string | undefined;
  scope: string[];
  /** RFC 8707 resources; empty means the provider's own default audience. */
  audience: string[];
}

export interface AccessTokenInput {
  subject: TokenSubject;
  now: number;
  authTime: number | undefined;
  /** Hash of the refresh token issued in the same response, if any. */
  refreshHash: string | undefined;
  /** The grant's details (claims request, acr, sid), kept with the token for UserInfo. */
  details: GrantDetails;
}

/** RFC 9068 §2.2 claims of a JWT access token. */
function jwtClaims(
  provider: Provider,
  client: Client,
  input: AccessTokenInput,
  ttl: number,
): Record<string, unknown> {
  const { subject, now, authTime } = input;
  const aud = subject.audience.length === 0 ? provider.issuer : subject.audience;
  return {
    iss: provider.issuer,
    // RFC 9068 §2.2: without a resource owner, sub is the client; with one, the sub this client knows it by.
    sub: subject.userId === undefined ? subject.clientId : subjectFor(provider, client, subject.userId),
    aud: Array.isArray(aud) && aud.length === 1 ? aud[0] : aud,
    client_id: subject.clientId,
    scope: subject.scope.join(' '),
    jti: randomToken(16),
    iat: now,
    exp: now + ttl,
    ...(authTime !== undefined ? { auth_time: authTime } : {}),
  };
}

export async function mintAccessToken(
  provider: Provider,
  client: Client,
  input: AccessTokenInput,
): Promise<Minted<AccessTokenRecord>> {
  const ttl = client.lifetimes.accessToken;
  const value =
    client.accessTokenFormat === 'jwt'
      ? await provider.keys.sign(jwtClaims(provider, client, input, ttl), 'at+jwt')
      : randomToken();
  return {
    value,
    record: {
      ...input.subject,
      refreshHash: input.refreshHash,
      details: input.details,
      tokenHash: sha256(value),
      issuedAt: input.now,
      expiresAt: input.now + ttl,
      revokedAt: undefined,
    },
  };
}

export interface RefreshTokenTimes {
  now: number;
  authTime: number;
  details: GrantDetails;
  /** Absolute end of the family. */
  expiresAt: number;
  idleTtl: number;
  parentHash: string | undefined;
}

export function mintRefreshToken(
  subject: TokenSubject & { userId: string },
  t: RefreshTokenTimes,
): Minted<RefreshTokenRecord> {
  const value = randomToken();
  return {
    value,
    record: {
      ...subject,
      tokenHash: sha256(value),
      authTime: t.authTime,
      details: t.details,
      issuedAt: t.now,
      parentHash: t.parentHash,
      expiresAt: t.expiresAt,
      idleExpiresAt: Math.min(t.now + t.idleTtl, t.expiresAt),
      consumedAt: undefined,
      revokedAt: undefined,
    },
  };
}
