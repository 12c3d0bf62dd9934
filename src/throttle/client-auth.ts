// Client authentication throttling at token, introspection and revocation (issue 8 point 2; checklist C3; RFC 6819 §5.1.4.2.3).
import { presentedCredentials } from '../client-auth/credentials.js';
import type { AuthInput } from '../client-auth/types.js';
import { OAuthError, tooManyRequests } from '../errors/oauth-error.js';
import { clientAuthCounters, type ThrottleDeps } from './counters.js';

/** The client the request names, if it names one readably; authentication proper reports what is wrong. */
function namedClient(input: AuthInput): string | undefined {
  try {
    return presentedCredentials(input).clientId;
  } catch {
    return undefined;
  }
}

/**
 * Runs `authenticate` under the throttle. On the hot path of every token request, so a success writes nothing: one
 * read of the counters first (blocked: 429, even for the right credentials), and only an invalid_client, whatever
 * the method, is counted.
 */
export async function throttledClientAuth<T>(
  deps: ThrottleDeps,
  input: AuthInput,
  ip: string,
  authenticate: () => Promise<T>,
): Promise<T> {
  const counters = clientAuthCounters(deps, namedClient(input), ip);
  const now = deps.clock.now();
  const state = await deps.store.throttleState(deps.name, counters, now);
  if (state.blocked) {
    throw tooManyRequests(
      `Too many failed client authentications; retry after ${state.retryAfter} seconds`,
      state.retryAfter,
      'client authentication throttled',
    );
  }
  try {
    return await authenticate();
  } catch (err) {
    if (err instanceof OAuthError && err.code === 'invalid_client')
      await deps.store.recordFailure(deps.name, counters, now);
    throw err;
  }
}
