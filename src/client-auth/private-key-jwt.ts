// private_key_jwt: an assertion signed with the client's private key, checked against its jwks / jwks_uri (OIDC Core §9).
import { verifyClientAssertion } from './jwt-assertion.js';
import type { ClientAuthenticator } from './types.js';

export const privateKeyJwt: ClientAuthenticator = {
  method: 'private_key_jwt',
  carrier: 'assertion',
  async verify(provider, client, credentials, now) {
    // Only the client's registered keys: a `kid` selects among them, header keys (jwk, jku, x5u) are never used.
    const keys = provider.keySets.resolver(client.metadata);
    await verifyClientAssertion(provider, client, credentials, keys, now);
  },
};
