// refresh_token grant (RFC 6749 §6, OIDC Core §12) with rotation and reuse detection (RFC 9700 §4.14.2).
import { sha256 } from '../crypto/hash.js';
import { invalidGrant, invalidRequest, invalidScope } from '../errors/oauth-error.js';
import type { RefreshTokenRecord } from '../store/types.js';
import { requestedAudience } from './resource.js';
import { buildTokenSet } from './token-set.js';
import type { Grant, GrantContext, TokenResponse } from './types.js';

const invalid = (detail: string) =>
  invalidGrant('The refresh token is invalid, expired or revoked', { detail });

async function validateRefreshToken(ctx: GrantContext): Promise<RefreshTokenRecord> {
  const { provider, client, params, now } = ctx;
  const value = params.present('refresh_token');
  if (value === undefined) throw invalidRequest('refresh_token is required');
  const token = await provider.store.findRefreshToken(provider.name, sha256(value));
  if (!token) throw invalid('unknown refresh token');
  // RFC 6749 §6 / §10.4: bound to the client it was issued to.
  if (token.clientId !== client.id) throw invalid('refresh token of another client');
  if (token.revokedAt !== undefined) {
    // A revoked token that is still live in its family was replaced after a retry: whoever holds it
    // intercepted the lost response, so the grant ends (a no-op when the grant was revoked anyway).
    await provider.store.revokeGrant(provider.name, token.grantId, now);
    throw invalid('revoked refresh token presented; grant revoked');
  }
  // Past the family's absolute end every member is dead: there is nothing left to revoke.
  if (token.expiresAt <= now) throw invalid('refresh token expired');
  if (token.idleExpiresAt <= now) {
    // RFC 9700 §4.14.2: a rotated-out token coming back is theft whenever it comes, so its idle expiry does not
    // turn reuse into a plain "expired": the family it was replaced in ends (rows stay until the absolute end).
    if (token.consumedAt !== undefined) {
      await provider.store.revokeGrant(provider.name, token.grantId, now);
      throw invalid('rotated refresh token reused after its idle expiry; grant revoked');
    }
    throw invalid('refresh token expired');
  }
  // A consumed token goes on to the store's rotation step, which tells a retry in the grace period from reuse.
  return token;
}

/** RFC 6749 §6: the requested scope MUST NOT include any scope not originally granted. */
function narrowedScope(ctx: GrantContext, granted: string[]): string[] {
  const requested = ctx.params.present('scope');
  if (requested === undefined) return granted;
  const asked = [...new Set(requested.split(' ').filter((s) => s !== ''))];
  const extra = asked.filter((s) => !granted.includes(s));
  if (extra.length > 0) throw invalidScope(`Scope not granted originally: ${extra.join(' ')}`);
  if (asked.length === 0) throw invalidScope('scope is empty');
  return asked;
}

async function handle(ctx: GrantContext): Promise<TokenResponse> {
  const token = await validateRefreshToken(ctx);
  const { provider, client, now } = ctx;
  const scope = narrowedScope(ctx, token.scope);
  const audience = requestedAudience(ctx.params, client, token.audience);
  const user = await provider.store.getUser(provider.name, token.userId);
  if (!user) throw invalid('user no longer exists');
  const rotate = client.rotateRefreshTokens;
  if (!rotate && token.consumedAt !== undefined) throw invalid('refresh token already rotated');

  const tokens = await buildTokenSet(provider, {
    client,
    subject: { grantId: token.grantId, clientId: client.id, userId: user.id, scope, audience },
    user,
    now,
    authTime: token.authTime,
    details: token.details,
    // OIDC Core §12.2: no nonce in an ID token from a refresh.
    nonce: undefined,
    idToken: true,
    // The successor keeps the family's absolute end, full scope and resources (RFC 6749 §6).
    refresh: rotate
      ? {
          expiresAt: token.expiresAt,
          scope: token.scope,
          audience: token.audience,
          parentHash: token.tokenHash,
        }
      : undefined,
  });
  if (rotate) {
    const grace = provider.settings.refreshTokenGracePeriod;
    const result = await provider.store.rotateRefreshToken(
      provider.name,
      token.tokenHash,
      now,
      tokens.stored,
      grace,
    );
    if (result !== 'rotated')
      throw invalid(result === 'reused' ? 'rotated refresh token reused; grant revoked' : result);
  } else {
    const idle = Math.min(now + client.lifetimes.refreshTokenIdle, token.expiresAt);
    if (!(await provider.store.refreshInPlace(provider.name, token.tokenHash, idle, tokens.stored)))
      throw invalid('refresh token no longer live');
  }
  // Without rotation the response has no refresh_token: the client keeps the one it has (RFC 6749 §6).
  return tokens.respond();
}

export const refreshTokenGrant: Grant = {
  grantType: 'refresh_token',
  parameters: new Set(['refresh_token', 'scope', 'resource']),
  handle,
};
