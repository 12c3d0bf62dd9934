// The UserInfo response body (OIDC Core §5.3.2): JSON, or a JWT signed with the client's
// userinfo_signed_response_alg (OIDC Registration §2), with the `sub` the client knows the user by (§8).
import { isSigningAlg } from '../crypto/keys.js';
import type { Client } from '../provider/client.js';
import type { Provider } from '../provider/provider.js';
import { subjectFor } from '../subjects/subject.js';

export interface UserinfoBody {
  contentType: 'application/json' | 'application/jwt';
  body: string;
}

export interface UserinfoInput {
  userId: string;
  /** The claims released to this token, already chosen (scope, claims request); `sub` is set here. */
  claims: Record<string, unknown>;
  now: number;
  /** When the access token expires: a signed answer says no more than the token allowed. */
  expiresAt: number;
}

export async function userinfoResponse(
  provider: Provider,
  client: Client,
  input: UserinfoInput,
): Promise<UserinfoBody> {
  const claims = { ...input.claims, sub: subjectFor(provider, client, input.userId) };
  const alg = client.metadata.userinfo_signed_response_alg;
  if (!isSigningAlg(alg)) return { contentType: 'application/json', body: JSON.stringify(claims) };
  // §5.3.2: a signed response SHOULD carry iss and aud; iat and exp let the client judge its age. No nonce.
  const jwt = await provider.keys.sign(
    { ...claims, iss: provider.issuer, aud: client.id, iat: input.now, exp: input.expiresAt },
    'JWT',
    alg,
  );
  return { contentType: 'application/jwt', body: jwt };
}
