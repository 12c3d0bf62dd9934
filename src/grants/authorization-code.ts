// authorization_code grant (RFC 6749 §4.1.3, OIDC Core §3.1.3.2, RFC 7636 §4.5-4.6, RFC 9700 §4.8.2).
import { sha256 } from '../crypto/hash.js';
import { invalidGrant, invalidRequest } from '../errors/oauth-error.js';
import type { AuthorizationCodeRecord } from '../store/types.js';
import { verifyS256 } from './pkce.js';
import { buildTokenSet } from './token-set.js';
import type { Grant, GrantContext, TokenResponse } from './types.js';

function requireParam(ctx: GrantContext, name: string): string {
  const v = ctx.params.present(name);
  if (v === undefined) throw invalidRequest(`${name} is required`);
  return v;
}

/** Read-only checks; a code that fails them is left as it was. */
async function validateCode(ctx: GrantContext): Promise<AuthorizationCodeRecord> {
  const { provider, client, params, now } = ctx;
  const code = await provider.store.findCode(provider.name, sha256(requireParam(ctx, 'code')));
  if (!code)
    throw invalidGrant('The authorization code is invalid, expired or already used', {
      detail: 'unknown code',
    });
  if (code.consumedAt !== undefined) {
    // RFC 6749 §4.1.2: a code used twice SHOULD revoke the tokens previously issued from it.
    await provider.store.revokeGrant(provider.name, code.grantId, now);
    throw invalidGrant('The authorization code is invalid, expired or already used', {
      detail: 'code replayed',
    });
  }
  if (code.expiresAt <= now)
    throw invalidGrant('The authorization code is invalid, expired or already used', {
      detail: 'code expired',
    });
  // RFC 6749 §4.1.3: the code was issued to this client.
  if (code.clientId !== client.id) throw invalidGrant('The authorization code was issued to another client');
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
  const user = await provider.store.getUser(provider.name, code.userId);
  if (!user) throw invalidGrant('The user of this authorization code no longer exists');

  const wantsRefresh = code.scope.includes('offline_access') && client.grantTypes.has('refresh_token');
  const tokens = buildTokenSet(provider, {
    subject: { grantId: code.grantId, clientId: client.id, userId: user.id, scope: code.scope },
    now,
    authTime: code.authTime,
    nonce: code.nonce,
    refreshExpiresAt: wantsRefresh ? now + provider.settings.lifetimes.refreshToken : undefined,
  });
  // The consume and the inserts are one transaction: of two racing redemptions exactly one wins.
  const result = await provider.store.redeemCode(provider.name, code.codeHash, now, tokens.stored);
  if (result !== 'redeemed') {
    throw invalidGrant('The authorization code is invalid, expired or already used', {
      detail: `code ${result}`,
    });
  }
  return tokens.respond();
}

export const authorizationCodeGrant: Grant = {
  grantType: 'authorization_code',
  parameters: new Set(['code', 'redirect_uri', 'code_verifier']),
  handle,
};
