// Who may register and who may manage a registration: the initial access token (RFC 7591 §3) and the registration
// access token (RFC 7592 §1.1, §2), both Bearer tokens (RFC 6750 §2.1), compared in constant time.
import { constantTimeEqual, sha256 } from '../crypto/hash.js';
import { OAuthError } from '../errors/oauth-error.js';
import type { Provider } from '../provider/provider.js';
import type { RegisteredClientRecord } from '../store/types.js';

/** RFC 6750 §2.1 b64token, within a sane length. */
const bearerSyntax = /^bearer +([A-Za-z0-9\-._~+/]{1,4096}=*) *$/i;

/** The token of an `Authorization: Bearer` header, or undefined when there is none (or it is not one). */
export function bearerToken(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  return bearerSyntax.exec(header)?.[1];
}

/**
 * RFC 7591 §3, RFC 7592 §2: 401 invalid_token with a Bearer challenge (RFC 6750 §3); the error code goes into the
 * challenge only when a token was presented (RFC 6750 §3.1). `detail` is logged, never a token.
 */
export function invalidToken(provider: Provider, presented: boolean, detail: string): OAuthError {
  const description = presented ? 'The access token is invalid' : 'A Bearer access token is required';
  const parts = [`realm="${provider.issuer}"`];
  if (presented) parts.push('error="invalid_token"', `error_description="${description}"`);
  return new OAuthError('invalid_token', description, {
    detail,
    headers: { 'WWW-Authenticate': `Bearer ${parts.join(', ')}` },
  });
}

/** RFC 7591 §3: with `registration.initialAccessToken` set, only requests bearing it may register. */
export function checkInitialAccessToken(provider: Provider, authorization: string | undefined): void {
  const expected = provider.settings.registration?.initialAccessToken;
  if (expected === undefined) return;
  const presented = bearerToken(authorization);
  if (presented === undefined)
    throw invalidToken(provider, authorization !== undefined, 'no initial access token');
  if (!constantTimeEqual(presented, expected))
    throw invalidToken(provider, true, 'wrong initial access token');
}

/**
 * RFC 7592 §2: the client's own registration access token, checked against its stored hash. An unknown client, a
 * configured one and a wrong token all get the same 401, so the endpoint tells nothing about which clients exist.
 */
export async function authorizeManagement(
  provider: Provider,
  clientId: string,
  authorization: string | undefined,
): Promise<{ record: RegisteredClientRecord; token: string }> {
  const token = bearerToken(authorization);
  if (token === undefined)
    throw invalidToken(provider, authorization !== undefined, 'no registration access token');
  const record = await provider.store.getRegisteredClient(provider.name, clientId);
  // Hashing a dummy when there is no record keeps the answer time the same.
  const stored = record?.registration.accessTokenHash ?? sha256('no such client');
  if (!constantTimeEqual(sha256(token), stored) || record === undefined)
    throw invalidToken(
      provider,
      true,
      record ? `wrong registration access token for ${clientId}` : 'no registered client with this id',
    );
  return { record, token };
}
