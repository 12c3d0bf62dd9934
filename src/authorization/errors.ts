// Authorization errors that go back to the client's redirect URI (RFC 6749 §4.1.2.1, §4.2.2.1; RFC 9207 §2).
import type { OAuthError } from '../errors/oauth-error.js';

/** How the parameters travel back to the client (OAuth 2.0 Multiple Response Types §2.1, Form Post Response Mode §2). */
export type ResponseMode = 'query' | 'fragment' | 'form_post';

export interface RedirectTarget {
  redirectUri: string;
  state: string | undefined;
  responseMode: ResponseMode;
}

/** Thrown once client_id and redirect_uri are known good: the error is delivered to the client, not shown. */
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
