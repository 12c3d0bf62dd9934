// authorization_code grant (RFC 6749 §4.1.3, OIDC Core §3.1.3.2, RFC 7636 §4.5-4.6, RFC 9700 §4.8.2, RFC 8707 §2.2).
import { sha256 } from '../crypto/hash.js';
import { invalidGrant, invalidRequest } from '../errors/oauth-error.js';
import type { AuthorizationCodeRecord } from '../store/types.js';
import { verifyS256 } from './pkce.js';
import { requestedAudience } from './resource.js';
import { buildTokenSet } from './token-set.js';
import type { Grant, GrantContext, TokenResponse } from './types.js';

const unusable = (detail: string) =>
  invalidGrant('The authorization code is invalid, expired or already used', { detail });

function requireParam(ctx: GrantContext, name: string): string {
  const v = ctx.params.present(name);
  if (v === undefined) throw invalidRequest(`${name} is required`);
  return v;
}

/** Read-only checks; a code that fails them is left as it was (except a replay, which revokes its grant). */
async function validateCode(ctx: GrantContext): Promise<AuthorizationCodeRecord> {
  const { provider, client, params, now } = ctx;
  const code = await provider.store.findCode(provider.name, sha256(requireParam(ctx, 'code')));
  if (!code) throw unusable('unknown code');
  if (code.consumedAt !== undefined) {
    // RFC 6749 §4.1.2: a code used twice SHOULD revoke the tokens previously issued from it.
    await provider.store.revokeGrant(provider.name, code.grantId, now);
    throw unusable('code replayed; grant revoked');
  }
  if (code.expiresAt <= now) throw unusable('code expired');
  // RFC 6749 §4.1.3: the code was issued to this client.
  // Same answer as an unknown code: whoever holds it learns nothing about whose it is.
  if (code.clientId !== client.id) throw unusable(`code of client ${code.clientId}`);
  // RFC 6749 §4.1.3: redirect_uri identical to the authorization request's (always present in OIDC).
  if (params.get('redirect_uri') !== code.redirectUri)
    throw invalidGrant('redirect_uri does not match the authorization request');
  const verifier = params.present('code_verifier');
  if (code.codeChallenge !== undefined) {
    if (verifier === undefined) throw invalidGrant('code_verifier is required');
    if (!verifyS256(verifier, code.codeChallenge))
      throw invalidGrant('code_verifier does not match the code_challenge');
  } else if (verifier !== undefined) {
    // RFC 9700 §4.8.2: a verifier for a code issued without a challenge is a downgrade attempt.
    throw invalidGrant('code_verifier sent for an authorization request without code_challenge');
  }
  return code;
}

async function handle(ctx: GrantContext): Promise<TokenResponse> {
  const code = await validateCode(ctx);
  const { provider, client, now } = ctx;
  const audience = requestedAudience(ctx.params, client, code.resource);
  const user = await provider.store.getUser(provider.name, code.userId);
  if (!user) throw invalidGrant('The user of this authorization code no longer exists');

  const wantsRefresh = code.scope.includes('offline_access') && client.grantTypes.has('refresh_token');
  const tokens = await buildTokenSet(provider, {
    client,
    subject: { grantId: code.grantId, clientId: client.id, userId: user.id, scope: code.scope, audience },
    user,
    now,
    authTime: code.authTime,
    details: code.details,
    nonce: code.nonce,
    idToken: true,
    refresh: wantsRefresh
      ? {
          expiresAt: now + client.lifetimes.refreshToken,
          scope: code.scope,
          audience: code.resource,
          parentHash: undefined,
        }
      : undefined,
  });
  // The consume and the inserts are one transaction: of two racing redemptions exactly one wins.
  const result = await provider.store.redeemCode(provider.name, code.codeHash, now, tokens.stored);
  if (result !== 'redeemed') throw unusable(`code ${result}`);
  return tokens.respond();
}

export const authorizationCodeGrant: Grant = {
  grantType: 'authorization_code',
  parameters: new Set(['code', 'redirect_uri', 'code_verifier', 'resource']),
  handle,
};
