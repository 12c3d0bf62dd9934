// client_secret_jwt: an assertion signed with HMAC keyed by the client secret (OIDC Core §9, RFC 7523 §2.2).
import { clientAuthFailed } from './errors.js';
import { verifyClientAssertion } from './jwt-assertion.js';
import type { ClientAuthenticator } from './types.js';

export const clientSecretJwt: ClientAuthenticator = {
  method: 'client_secret_jwt',
  carrier: 'assertion',
  async verify(provider, client, credentials, now) {
    if (!client.hmacKey) throw clientAuthFailed('assertion', `client ${client.id} has no usable secret`);
    await verifyClientAssertion(provider, client, credentials, client.hmacKey, now);
  },
};
