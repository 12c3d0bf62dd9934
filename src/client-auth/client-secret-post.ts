// client_secret_post: client_id and client_secret in the form body (RFC 6749 §2.3.1).
import { verifyClientSecret } from './secret.js';
import type { ClientAuthenticator } from './types.js';

export const clientSecretPost: ClientAuthenticator = {
  method: 'client_secret_post',
  carrier: 'post',
  verify: verifyClientSecret,
};
