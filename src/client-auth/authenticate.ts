// Client authentication step of the token-side endpoints: one method per request, the one the client registered.
import { invalidRequest } from '../errors/oauth-error.js';
import type { Client } from '../provider/client.js';
import type { Provider } from '../provider/provider.js';
import { clientSecretBasic } from './client-secret-basic.js';
import { clientSecretPost } from './client-secret-post.js';
import { clientAuthFailed } from './errors.js';
import { noneAuth } from './none.js';
import type { AuthInput, ClientAuthenticator, PresentedCredentials } from './types.js';

/** Methods that carry a credential; `none` applies only when none of them is present. */
const credentialMethods: readonly ClientAuthenticator[] = [clientSecretBasic, clientSecretPost];
const byMethod = new Map<string, ClientAuthenticator>(
  [...credentialMethods, noneAuth].map((a) => [a.method, a]),
);

/** Names of the methods that work, for discovery. */
export const supportedAuthMethods = [...byMethod.keys()];

function presentedCredentials(input: AuthInput): PresentedCredentials {
  const found = credentialMethods
    .map((a) => a.extract(input))
    .filter((c): c is PresentedCredentials => c !== undefined);
  // RFC 6749 §2.3: "The client MUST NOT use more than one authentication method in each request."
  if (found.length > 1) throw invalidRequest('More than one client authentication method was used');
  const credentials = found[0] ?? noneAuth.extract(input);
  if (credentials === undefined) throw clientAuthFailed('none', 'no client authentication');
  const bodyClientId = input.form.get('client_id');
  if (
    credentials.method === 'client_secret_basic' &&
    bodyClientId !== undefined &&
    bodyClientId !== credentials.clientId
  )
    throw invalidRequest('client_id does not match the authenticated client');
  return credentials;
}

export function authenticateClient(provider: Provider, input: AuthInput): Client {
  const credentials = presentedCredentials(input);
  const client = provider.getClient(credentials.clientId);
  if (!client) throw clientAuthFailed(credentials.method, `unknown client ${credentials.clientId}`);
  if (client.authMethod !== credentials.method) {
    throw clientAuthFailed(
      credentials.method,
      `client ${client.id} is registered for ${client.authMethod}, used ${credentials.method}`,
    );
  }
  byMethod.get(credentials.method)?.verify(provider, client, credentials);
  return client;
}
