// Client authentication step of the token-side endpoints: one method per request, the one the client registered.
import type { Client } from '../provider/client.js';
import type { Provider } from '../provider/provider.js';
import { clientSecretBasic } from './client-secret-basic.js';
import { clientSecretJwt } from './client-secret-jwt.js';
import { clientSecretPost } from './client-secret-post.js';
import { presentedCredentials } from './credentials.js';
import { clientAuthFailed } from './errors.js';
import { noneAuth } from './none.js';
import { privateKeyJwt } from './private-key-jwt.js';
import type { AuthInput, ClientAuthenticator } from './types.js';

const authenticators: readonly ClientAuthenticator[] = [
  clientSecretBasic,
  clientSecretPost,
  clientSecretJwt,
  privateKeyJwt,
  noneAuth,
];
const byMethod = new Map(authenticators.map((a) => [a.method, a]));

/** Names of the methods that work, for discovery. */
export const supportedAuthMethods = authenticators.map((a) => a.method);

export async function authenticateClient(provider: Provider, input: AuthInput, now: number): Promise<Client> {
  const credentials = presentedCredentials(input);
  const client = await provider.findClient(credentials.clientId);
  if (!client)
    throw clientAuthFailed(credentials.carrier, `unknown client ${credentials.clientId.slice(0, 100)}`);
  // A client uses only a method it registered (OIDC Core §9; security checklist C1). Saying which one is no secret
  // (discovery and registration publish it) and saves the developer a trip to the server log (issue 6 point 8).
  const authenticator = [...client.authMethods]
    .map((m) => byMethod.get(m))
    .find((a) => a !== undefined && a.carrier === credentials.carrier);
  if (!authenticator) {
    const allowed = [...client.authMethods].join(' or ');
    throw clientAuthFailed(
      credentials.carrier,
      `client ${client.id} is registered for ${allowed}, sent ${credentials.carrier} credentials`,
      `Client authentication failed: this client must authenticate with ${allowed}`,
    );
  }
  await authenticator.verify(provider, client, credentials, now);
  return client;
}
