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
 * Runs `authenticate` under the throttle. On the hot path of every token request, so a success writes nothing. The
 * verdict is taken after the credentials are checked, so a burst of guesses sent at once cannot all slip in before
 * the first failure is counted: a failure is counted in one atomic step that also says whether the counters were
 * already at their limit (then the answer is 429, not 401, so a guess past the limit tells nothing); a success reads
 * the counters that the failures before it have written (blocked: 429, even for the right credentials).
 */
export async function throttledClientAuth<T>(
  deps: ThrottleDeps,
  input: AuthInput,
  ip: string,
  authenticate: () => Promise<T>,
): Promise<T> {
  const counters = clientAuthCounters(deps, namedClient(input), ip);
  const now = deps.clock.now();
  const throttled = (retryAfter: number) =>
    tooManyRequests(
      `Too many failed client authentications; retry after ${retryAfter} seconds`,
      retryAfter,
      'client authentication throttled',
    );
  let client: T;
  try {
    client = await authenticate();
  } catch (err) {
    if (err instanceof OAuthError && err.code === 'invalid_client') {
      const verdict = await deps.store.admitAttempt(deps.name, counters, now);
      if (verdict.blocked) throw throttled(verdict.retryAfter);
    }
    throw err;
  }
  const state = await deps.store.throttleState(deps.name, counters, now);
  if (state.blocked) throw throttled(state.retryAfter);
  return client;
}
