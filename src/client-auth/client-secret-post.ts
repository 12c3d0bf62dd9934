// client_secret_post: client_id and client_secret in the form body (RFC 6749 §2.3.1).

import { verifyClientSecret } from './secret.js';
import type { ClientAuthenticator } from './types.js';

const method = 'client_secret_post';

export const clientSecretPost: ClientAuthenticator = {
  method,
  extract({ form }) {
    const secret = form.get('client_secret');
    if (secret === undefined) return undefined;
    return { method, clientId: form.get('client_id') ?? '', secret };
  },
  verify: verifyClientSecret,
};
