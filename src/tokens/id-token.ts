// ID Token (OIDC Core §2, §3.1.3.6, §3.2.2.10, §3.3.2.11, §12.2): a signed JWT about one authentication, for one client.
import { isSigningAlg } from '../crypto/keys.js';
import type { Client } from '../provider/client.js';
import type { Provider } from '../provider/provider.js';
import type { GrantDetails } from '../store/types.js';
import { subjectFor } from '../subjects/subject.js';

export interface IdTokenInput {
  client: Client;
  userId: string;
  authTime: number;
  nonce: string | undefined;
  now: number;
  /** Claims about the user beyond `sub`, already chosen for this ID token (OIDC Core §5.4, §5.5). */
  userClaims: Record<string, unknown>;
  details: GrantDetails;
  /** Issued in the same response: the ID token binds each by its left-half hash (OIDC Core §3.3.2.11). */
  accessToken?: string | undefined;
  code?: string | undefined;
  /** FAPI 1.0 Advanced §5.1: `s_hash` binds the state of a front-channel ID token. */
  state?: string | undefined;
}

export function signIdToken(provider: Provider, input: IdTokenInput): Promise<string> {
  const { client, now } = input;
  // OIDC Registration §2 id_token_signed_response_alg; default the provider's signingAlg. at_hash/c_hash follow it.
  const requested = client.metadata.id_token_signed_response_alg;
  const alg = isSigningAlg(requested) ? requested : provider.keys.alg;
  const payload: Record<string, unknown> = {
    ...input.userClaims,
    iss: provider.issuer,
    sub: subjectFor(provider, client, input.userId),
    aud: client.id,
    exp: now + client.lifetimes.idToken,
    iat: now,
    auth_time: input.authTime,
    // OIDC Core §2: azp names the party the token was issued to; with one audience it equals aud.
    azp: client.id,
  };
  if (input.nonce !== undefined) payload.nonce = input.nonce;
  // Back-Channel Logout §2.4 / Front-Channel Logout §3: the provider session the ID token was issued in.
  if (input.details.sid !== undefined) payload.sid = input.details.sid;
  // OIDC Core §2, §5.5.1.1: the authentication context the login satisfied (acr_values / an acr claim request).
  if (input.details.acr !== undefined) payload.acr = input.details.acr;
  if (input.accessToken !== undefined) payload.at_hash = provider.keys.halfHash(input.accessToken, alg);
  if (input.code !== undefined) payload.c_hash = provider.keys.halfHash(input.code, alg);
  if (input.state !== undefined) payload.s_hash = provider.keys.halfHash(input.state, alg);
  return provider.keys.sign(payload, 'JWT', alg);
}
