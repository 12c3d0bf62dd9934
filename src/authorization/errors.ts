// Authorization errors that go back to the client's redirect URI (RFC 6749 §4.1.2.1, RFC 9207 §2).
import type { OAuthError } from '../errors/oauth-error.js';

export interface RedirectTarget {
  redirectUri: string;
  state: string | undefined;
}

/** Thrown once client_id and redirect_uri are known good: the error is delivered by redirect, not shown. */
export class AuthorizationRedirectError extends Error {
  override name = 'AuthorizationRedirectError';
  readonly target: RedirectTarget;
  readonly error: OAuthError;
  constructor(target: RedirectTarget, error: OAuthError) {
    super(error.message);
    this.target = target;
    this.error = error;
  }
}
