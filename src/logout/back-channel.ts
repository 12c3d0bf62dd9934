// Back-Channel Logout (OIDC Back-Channel Logout 1.0 §2.4-§2.8): a signed logout token POSTed to every client that got a
// grant in the ended session and registered a backchannel_logout_uri, in the background, never holding up the browser.
import { randomUUID } from 'node:crypto';
import type { FastifyBaseLogger } from 'fastify';
import { isSigningAlg } from '../crypto/keys.js';
import { postForm } from '../net/post-form.js';
import type { Client } from '../provider/client.js';
import type { Provider } from '../provider/provider.js';
import type { EndedSession } from '../store/types.js';
import { subjectFor } from '../subjects/subject.js';

/** §2.4: the member of `events` that makes a JWT a logout token. */
export const backChannelLogoutEvent = 'http://schemas.openid.net/event/backchannel-logout';

/** §2.4 suggests a short lifetime, such as two minutes: the token is delivered at once or not at all. */
const logoutTokenTtl = 120;
/** A receiver gets this long for the whole exchange; a dead one costs a background request, nothing more. */
const deliveryTimeoutMs = 5000;

/**
 * The `sid` one client knows a provider session by (§2.1 "session at an RP"), the only form a sid ever leaves the server
 * in: ID tokens, logout tokens, and the id_token_hint check at /end_session. A keyed hash of the session's own sid and
 * the client, so two clients (pairwise ones on different sectors above all, OIDC Core §8) cannot link the user by it,
 * while each client's value stays the same for the whole session. 22 characters: 132 bits, as long as the session's.
 */
export function clientSid(provider: Provider, sessionSid: string, clientId: string): string {
  return provider.mac(`sid:${sessionSid}:${clientId}`).slice(0, 22);
}

/**
 * §2.4: iss, aud, iat, exp, jti, events, and both `sub` and `sid` as this client knows them (so a client that
 * registered backchannel_logout_session_required gets its sid too); never a `nonce`, so it cannot pass for an ID token.
 * Explicitly typed `logout+jwt` (§2.4, RFC 8725 §3.11) and signed with the keys and algorithm of the client's ID tokens.
 */
export function signLogoutToken(
  provider: Provider,
  client: Client,
  ended: EndedSession,
  now: number,
): Promise<string> {
  const payload = {
    iss: provider.issuer,
    sub: subjectFor(provider, client, ended.userId),
    aud: client.id,
    iat: now,
    exp: now + logoutTokenTtl,
    jti: randomUUID(),
    sid: clientSid(provider, ended.sid, client.id),
    events: { [backChannelLogoutEvent]: {} },
  };
  const alg = client.metadata.id_token_signed_response_alg;
  return provider.keys.sign(payload, 'logout+jwt', isSigningAlg(alg) ? alg : undefined);
}

/** One client's notice. Never rejects: whatever fails (lookup, signing, delivery) is logged, without the token. */
async function deliver(
  provider: Provider,
  clientId: string,
  ended: EndedSession,
  log: FastifyBaseLogger,
): Promise<void> {
  try {
    const client = await provider.findClient(clientId);
    const uri = client?.metadata.backchannel_logout_uri;
    if (!client || uri === undefined) return;
    const token = await signLogoutToken(provider, client, ended, provider.clock.now());
    const status = await postForm(
      uri,
      { logout_token: token },
      { ...provider.fetchPolicy, timeoutMs: deliveryTimeoutMs, maxBytes: 16 * 1024 },
    );
    // §2.8: 200 means done; 204 is what some frameworks send instead. Anything else is a failure (no retry).
    if (status !== 200 && status !== 204) throw new Error(`status ${status}`);
    log.info({ client_id: clientId }, 'back-channel logout delivered');
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    log.warn({ client_id: clientId, reason }, 'back-channel logout failed');
  }
}

/**
 * §2.5: one POST per client that had the session (§2.3) and registered a backchannel_logout_uri, all at once.
 * Never rejects. Callers do not await it: the logout answers the browser first.
 */
export async function notifyBackChannel(
  provider: Provider,
  ended: EndedSession,
  log: FastifyBaseLogger,
): Promise<void> {
  await Promise.all(ended.clientIds.map((clientId) => deliver(provider, clientId, ended, log)));
}
