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
  const client = provider.getClient(credentials.clientId);
  if (!client)
    throw clientAuthFailed(credentials.carrier, `unknown client ${credentials.clientId.slice(0, 100)}`);
  const authenticator = byMethod.get(client.authMethod);
  // A client uses only the method it registered (OIDC Core §9; security checklist C1).
  if (!authenticator || authenticator.carrier !== credentials.carrier) {
    throw clientAuthFailed(
      credentials.carrier,
      `client ${client.id} is registered for ${client.authMethod}, sent ${credentials.carrier} credentials`,
    );
  }
  await authenticator.verify(provider, client, credentials, now);
  return client;
}
