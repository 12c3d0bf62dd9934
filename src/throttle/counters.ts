// Which counters a login or a client authentication is counted on, and under which limits (issue 8 points 1-2; checklist C3, L5).
import type { ThrottleSettings } from '../config/schema.js';
import { sha256 } from '../crypto/hash.js';
import type { ThrottleCounter, ThrottleStore } from '../store/types.js';
import type { Clock } from '../util/clock.js';
import { addressKey } from './address.js';

/** What throttling needs of a provider: its name, the store's counters, the clock, its settings and its MAC. */
export interface ThrottleDeps {
  name: string;
  store: ThrottleStore;
  clock: Clock;
  settings: { throttle: ThrottleSettings };
  /** Keyed hash (the provider's cookie key): usernames become counter keys that cannot be reversed by guessing. */
  mac(value: string): string;
}

function counter(settings: ThrottleSettings, key: string, limit: number): ThrottleCounter {
  return { key, limit, windowSeconds: settings.windowSeconds, maxBlockSeconds: settings.maxBlockSeconds };
}

export interface LoginCounters {
  /** The account (lower-cased username, as a keyed hash) from this address: cleared by a successful login. */
  account: ThrottleCounter;
  /**
   * The account from every address together (NIST SP 800-63B §5.2.2: at most 100 consecutive failures per account),
   * so many addresses (an IPv6 block, a botnet) cannot multiply the guesses at one account; cleared by a success.
   */
  accountAnywhere: ThrottleCounter;
  /** The address whatever the account: a successful login gives its attempt back. */
  address: ThrottleCounter;
}

/**
 * The same keys whether or not the username exists, so the answers cannot tell them apart (checklist L5); no
 * username is kept, only its MAC.
 */
export function loginCounters(deps: ThrottleDeps, username: string, ip: string): LoginCounters {
  const s = deps.settings.throttle;
  const address = addressKey(ip);
  const account = deps.mac(`throttle-login:${username.toLowerCase()}`);
  return {
    account: counter(s, `login:${account}@${address}`, s.login.perAccountAndAddress),
    accountAnywhere: counter(s, `login:${account}`, s.login.perAccount),
    address: counter(s, `login@${address}`, s.login.perAddress),
  };
}

/** Per client_id from this address (when the request names one) and per address (RFC 6819 §5.1.4.2.3). */
export function clientAuthCounters(
  deps: ThrottleDeps,
  clientId: string | undefined,
  ip: string,
): ThrottleCounter[] {
  const s = deps.settings.throttle;
  const address = addressKey(ip);
  const perAddress = counter(s, `client@${address}`, s.clientAuth.perAddress);
  if (clientId === undefined) return [perAddress];
  // Hashed: client_id is public, but any string a stranger sends must not make the key unbounded.
  return [counter(s, `client:${sha256(clientId)}@${address}`, s.clientAuth.perClientAndAddress), perAddress];
}

/** "5 minutes", "2 hours": how long a person is asked to wait. */
export function waitText(seconds: number): string {
  if (seconds < 60) return seconds === 1 ? '1 second' : `${seconds} seconds`;
  const minutes = Math.ceil(seconds / 60);
  if (minutes < 120) return minutes === 1 ? '1 minute' : `${minutes} minutes`;
  return `${Math.ceil(minutes / 60)} hours`;
}
