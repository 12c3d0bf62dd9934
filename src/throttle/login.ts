// Login throttling (issue 8 point 1; checklist L5; NIST SP 800-63B §5.2.2): an attempt is counted before the password is checked.
import { type OAuthError, tooManyRequests } from '../errors/oauth-error.js';
import { loginCounters, type ThrottleDeps, waitText } from './counters.js';

export type LoginAttempt =
  | {
      admitted: true;
      /** The password was right: forget the account's failures and give the address its attempt back. */
      succeeded(): Promise<void>;
      /** The password could not be checked (the password pool was full): give both counters their attempt back. */
      notChecked(): Promise<void>;
    }
  | {
      admitted: false;
      retryAfter: number;
      /** For the request's log line: no username in it. */
      error: OAuthError;
      /** For the login page: the same whatever the username. */
      message: string;
    };

/**
 * Reserves one attempt on the account+address, account and address counters in one atomic store step, so parallel guesses
 * are all counted; while either counter is blocked nothing is counted and the password must not be checked.
 */
export async function admitLogin(deps: ThrottleDeps, username: string, ip: string): Promise<LoginAttempt> {
  const { account, accountAnywhere, address } = loginCounters(deps, username, ip);
  const counters = [account, accountAnywhere, address];
  const verdict = await deps.store.admitAttempt(deps.name, counters, deps.clock.now());
  if (verdict.blocked) {
    const { retryAfter } = verdict;
    return {
      admitted: false,
      retryAfter,
      error: tooManyRequests('Too many sign-in attempts', retryAfter, 'login throttled'),
      message: `Too many sign-in attempts. Wait ${waitText(retryAfter)} and try again.`,
    };
  }
  return {
    admitted: true,
    succeeded: () => deps.store.clearAttempts(deps.name, [account.key, accountAnywhere.key], [address.key]),
    notChecked: () =>
      deps.store.clearAttempts(
        deps.name,
        [],
        counters.map((c) => c.key),
      ),
  };
}
