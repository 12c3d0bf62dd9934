// none: a public client identifies itself with client_id alone (RFC 6749 §2.1, §3.2.1; OIDC Core §9).
import type { ClientAuthenticator } from './types.js';

export const noneAuth: ClientAuthenticator = {
  method: 'none',
  carrier: 'client_id',
  // Nothing to check: what makes a public client's request safe is PKCE, enforced by the grant.
  async verify() {},
};
