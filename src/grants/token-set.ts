// Builds the tokens one grant step issues, and the response that carries them (RFC 6749 §5.1, OIDC Core §3.1.3.3).
import type { Client } from '../provider/client.js';
import type { Provider } from '../provider/provider.js';
import type { GrantDetails, IssuedTokens, UserRecord } from '../store/types.js';
import { mintAccessToken, mintRefreshToken, type TokenSubject } from '../tokens/access-token.js';
import { idTokenClaims } from '../tokens/claims.js';
import { signIdToken } from '../tokens/id-token.js';
import type { TokenResponse } from './types.js';

export interface RefreshPlan {
  /** Absolute end of the family. */
  expiresAt: number;
  /** Scope and audience the refresh token carries (the grant's full ones). */
  scope: string[];
  audience: string[];
  /** The token this one replaces in rotation. */
  parentHash: string | undefined;
}

export interface TokenSetRequest {
  client: Client;
  subject: TokenSubject;
  /** The user the tokens are about (its claims may go in the ID token); undefined when the client acts for itself. */
  user: UserRecord | undefined;
  now: number;
  /** When the user authenticated; undefined when no user is involved. */
  authTime: number | undefined;
  /** What the authorization decided beyond scope (claims request, acr, sid), kept with the refresh token. */
  details: GrantDetails;
  nonce: string | undefined;
  refresh: RefreshPlan | undefined;
  /** Issue an ID token when the scope has openid (false for grants without an end-user session). */
  idToken: boolean;
}

export interface TokenSet {
  stored: IssuedTokens;
  /** Signs the ID token (after the store step succeeded) and builds the response. */
  respond(): Promise<TokenResponse>;
}

export async function buildTokenSet(provider: Provider, req: TokenSetRequest): Promise<TokenSet> {
  const { client, subject, now } = req;
  const userId = subject.userId;
  const refresh =
    req.refresh === undefined || userId === undefined
      ? undefined
      : mintRefreshToken(
          { ...subject, userId, scope: req.refresh.scope, audience: req.refresh.audience },
          {
            now,
            authTime: req.authTime ?? now,
            details: req.details,
            expiresAt: req.refresh.expiresAt,
            idleTtl: client.lifetimes.refreshTokenIdle,
            parentHash: req.refresh.parentHash,
          },
        );
  const access = await mintAccessToken(provider, client, {
    subject,
    now,
    authTime: req.authTime,
    refreshHash: refresh?.record.tokenHash,
    details: req.details,
  });
  return {
    stored: { accessToken: access.record, refreshToken: refresh?.record },
    async respond() {
      const response: TokenResponse = {
        access_token: access.value,
        token_type: 'Bearer',
        expires_in: client.lifetimes.accessToken,
        scope: subject.scope.join(' '),
      };
      if (refresh) response.refresh_token = refresh.value;
      const user = req.user;
      if (req.idToken && user !== undefined && subject.scope.includes('openid')) {
        response.id_token = await signIdToken(provider, {
          client,
          userId: user.id,
          authTime: req.authTime ?? now,
          nonce: req.nonce,
          now,
          userClaims: idTokenClaims(provider.settings, {
            user,
            scope: subject.scope,
            claims: req.details.claims,
            accessTokenIssued: true,
          }),
          details: req.details,
          accessToken: access.value,
        });
      }
      return response;
    },
  };
}
