// ID Token (OIDC Core §2, §3.1.3.6, §12.2): signed JWT with iss, sub, aud, exp, iat, auth_time, nonce, at_hash, azp.
import type { Provider } from '../provider/provider.js';

export interface IdTokenInput {
  clientId: string;
  userId: string;
  authTime: number;
  nonce: string | undefined;
  accessToken: string;
  now: number;
  ttl: number;
}

export function signIdToken(provider: Provider, input: IdTokenInput): Promise<string> {
  const payload: Record<string, unknown> = {
    iss: provider.issuer,
    sub: input.userId,
    aud: input.clientId,
    exp: input.now + input.ttl,
    iat: input.now,
    auth_time: input.authTime,
    at_hash: provider.keys.halfHash(input.accessToken),
    // OIDC Core §2: azp names the party the token was issued to; with one audience it equals aud.
    azp: input.clientId,
  };
  if (input.nonce !== undefined) payload.nonce = input.nonce;
  return provider.keys.sign(payload, 'JWT');
}
