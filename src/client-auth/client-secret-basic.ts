// client_secret_basic: the secret in an HTTP Basic header (RFC 6749 §2.3.1).
import { verifyClientSecret } from './secret.js';
import type { ClientAuthenticator } from './types.js';

export const clientSecretBasic: ClientAuthenticator = {
  method: 'client_secret_basic',
  carrier: 'basic',
  verify: verifyClientSecret,
};
