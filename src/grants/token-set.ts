// Builds the tokens one grant step issues, and the response that carries them (RFC 6749 §5.1, OIDC Core §3.1.3.3).
import type { Provider } from '../provider/provider.js';
import type { IssuedTokens } from '../store/types.js';
import { mintAccessToken, mintRefreshToken, type TokenSubject } from '../tokens/access-token.js';
import { signIdToken } from '../tokens/id-token.js';
import type { TokenResponse } from './types.js';

export interface TokenSetRequest {
  subject: TokenSubject;
  now: number;
  authTime: number;
  nonce: string | undefined;
  /** Issue a refresh token whose family ends at this time; undefined for none. */
  refreshExpiresAt: number | undefined;
  /** Scope the refresh token carries (the grant's full scope); defaults to the access token's. */
  refreshScope?: string[];
}

export interface TokenSet {
  stored: IssuedTokens;
  /** Signs the ID token (after the store step succeeded) and builds the response. */
  respond(): Promise<TokenResponse>;
}

export function buildTokenSet(provider: Provider, req: TokenSetRequest): TokenSet {
  const { lifetimes } = provider.settings;
  const access = mintAccessToken(req.subject, req.now, lifetimes.accessToken);
  const refresh =
    req.refreshExpiresAt === undefined
      ? undefined
      : mintRefreshToken(
          { ...req.subject, scope: req.refreshScope ?? req.subject.scope },
          {
            now: req.now,
            authTime: req.authTime,
            expiresAt: req.refreshExpiresAt,
            idleTtl: lifetimes.refreshTokenIdle,
          },
        );
  return {
    stored: { accessToken: access.record, refreshToken: refresh?.record },
    async respond() {
      const response: TokenResponse = {
        access_token: access.value,
        token_type: 'Bearer',
        expires_in: lifetimes.accessToken,
        scope: req.subject.scope.join(' '),
      };
      if (refresh) response.refresh_token = refresh.value;
      if (req.subject.scope.includes('openid')) {
        response.id_token = await signIdToken(provider, {
          clientId: req.subject.clientId,
          userId: req.subject.userId,
          authTime: req.authTime,
          nonce: req.nonce,
          accessToken: access.value,
          now: req.now,
        });
      }
      return response;
    },
  };
}
