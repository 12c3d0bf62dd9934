// Issuing for grants that answer with an access token alone (client_credentials, JWT bearer): no refresh, no ID token.
import { timeOrderedId } from '../crypto/random.js';
import { requestedAudience } from './resource.js';
import { buildTokenSet } from './token-set.js';
import type { GrantContext, TokenResponse } from './types.js';

/** One new grant per request, its audience from `resource`, stored in one insert. */
export async function issueAccessOnly(
  ctx: GrantContext,
  userId: string | undefined,
  scope: string[],
): Promise<TokenResponse> {
  const { provider, client, now } = ctx;
  const audience = requestedAudience(ctx.params, client, []);
  const tokens = await buildTokenSet(provider, {
    client,
    subject: { grantId: timeOrderedId(), clientId: client.id, userId, scope, audience },
    user: undefined,
    now,
    authTime: undefined,
    details: {},
    nonce: undefined,
    idToken: false,
    refresh: undefined,
  });
  await provider.store.insertTokens(provider.name, tokens.stored);
  return tokens.respond();
}
