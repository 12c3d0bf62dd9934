// Shared secret check for client_secret_basic and client_secret_post: keyed hash, constant-time compare (OIDC Core §16.12).
import { constantTimeEqual } from '../crypto/hash.js';
import type { Client } from '../provider/client.js';
import type { Provider } from '../provider/provider.js';
import { clientAuthFailed } from './errors.js';
import type { PresentedCredentials } from './types.js';

export async function verifyClientSecret(
  provider: Provider,
  client: Client,
  credentials: PresentedCredentials,
): Promise<void> {
  const presented = provider.hashClientSecret(credentials.secret ?? '');
  if (client.secretHash === undefined || !constantTimeEqual(presented, client.secretHash)) {
    throw clientAuthFailed(credentials.carrier, `wrong secret for client ${client.id}`);
  }
}
