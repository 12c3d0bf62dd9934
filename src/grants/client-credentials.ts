// client_credentials grant (RFC 6749 §4.4): a confidential client gets an access token for itself; no refresh or ID token.
import { invalidScope, unauthorizedClient } from '../errors/oauth-error.js';
import type { Client } from '../provider/client.js';
import { issueAccessOnly } from './access-only.js';
import type { Grant, GrantContext, TokenResponse } from './types.js';

/** Scopes that only mean something with an end-user. */
const userScopes = new Set(['openid', 'offline_access', 'profile', 'email', 'address', 'phone']);

/** The requested scopes, all of which the client must be allowed; by default every non-user scope it has. */
export function clientScope(requested: string | undefined, client: Client, forUser: boolean): string[] {
  const usable = (s: string) => client.allowedScopes.has(s) && (forUser || !userScopes.has(s));
  if (requested === undefined) return [...client.allowedScopes].filter(usable);
  const asked = [...new Set(requested.split(' ').filter((s) => s !== ''))];
  const refused = asked.filter((s) => !usable(s));
  if (refused.length > 0) throw invalidScope(`Scope not available to this client: ${refused.join(' ')}`);
  return asked;
}

async function handle(ctx: GrantContext): Promise<TokenResponse> {
  const { client } = ctx;
  // RFC 6749 §4.4: "MUST only be used by confidential clients".
  if (client.isPublic) throw unauthorizedClient('client_credentials is for confidential clients');
  const scope = clientScope(ctx.params.present('scope'), client, false);
  return issueAccessOnly(ctx, undefined, scope);
}

export const clientCredentialsGrant: Grant = {
  grantType: 'client_credentials',
  parameters: new Set(['scope', 'resource']),
  handle,
};
