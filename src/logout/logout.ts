// Ends a provider session (OIDC RP-Initiated Logout 1.0 §2; Back-Channel Logout 1.0 §2.3; security checklist O3):
// the session, the tokens of every grant made in it, then the back-channel notices.
import type { FastifyBaseLogger } from 'fastify';
import type { Provider } from '../provider/provider.js';
import type { EndedSession } from '../store/types.js';
import { notifyBackChannel } from './back-channel.js';

/**
 * One store step ends the session and revokes what was issued in it (refresh tokens answer invalid_grant from then
 * on); the clients that had it are then told over the back channel, in the background: the caller answers the
 * browser without waiting for any receiver. Undefined when the session was already gone.
 */
export async function endProviderSession(
  provider: Provider,
  sessionIdHash: string,
  log: FastifyBaseLogger,
): Promise<EndedSession | undefined> {
  const ended = await provider.store.endSession(provider.name, sessionIdHash, provider.clock.now());
  if (ended && ended.clientIds.length > 0) void notifyBackChannel(provider, ended, log);
  return ended;
}
