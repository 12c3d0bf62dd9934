// OAuthError: the one error type every endpoint throws (RFC 6749 §4.1.2.1, §5.2; RFC 6750 §3.1; OIDC Core §3.1.2.6).

/** Every error code Gatehouse can put on the wire. A switch over this union is checked for completeness. */
export type OAuthErrorCode =
  | 'invalid_request'
  | 'invalid_client'
  | 'invalid_grant'
  | 'unauthorized_client'
  | 'unsupported_grant_type'
  | 'invalid_scope'
  | 'access_denied'
  | 'unsupported_response_type'
  | 'server_error'
  | 'temporarily_unavailable'
  | 'invalid_token'
  | 'insufficient_scope'
  | 'login_required'
  | 'consent_required'
  | 'interaction_required'
  | 'request_not_supported'
  | 'request_uri_not_supported'
  | 'invalid_request_object'
  | 'invalid_request_uri'
  | 'registration_not_supported'
  | 'invalid_client_metadata'
  | 'invalid_redirect_uri'
  | 'method_not_allowed'
  | 'not_found'
  | 'invalid_target';

const defaultStatus: Record<OAuthErrorCode, number> = {
  invalid_request: 400,
  invalid_client: 401,
  invalid_grant: 400,
  unauthorized_client: 400,
  unsupported_grant_type: 400,
  invalid_scope: 400,
  access_denied: 403,
  unsupported_response_type: 400,
  server_error: 500,
  temporarily_unavailable: 503,
  invalid_token: 401,
  insufficient_scope: 403,
  login_required: 400,
  consent_required: 400,
  interaction_required: 400,
  request_not_supported: 400,
  request_uri_not_supported: 400,
  invalid_request_object: 400,
  invalid_request_uri: 400,
  registration_not_supported: 400,
  invalid_client_metadata: 400,
  invalid_redirect_uri: 400,
  method_not_allowed: 405,
  not_found: 404,
  invalid_target: 400,
};

/**
 * RFC 6749 §4.1.2.1, §5.2: error_description is %x20-21 / %x23-5B / %x5D-7E. Descriptions may quote request input
 * (a parameter name, a scope), so anything else becomes '?' and the text is capped.
 */
function publicText(s: string): string {
  const clean = s.replace(/[^\x20-\x21\x23-\x5B\x5D-\x7E]/g, '?');
  return clean.length > 300 ? `${clean.slice(0, 300)}...` : clean;
}

export interface OAuthErrorOptions {
  /** HTTP status, when it differs from the code's usual one. */
  status?: number;
  /** Logged, never sent: what exactly went wrong, for the operator. */
  detail?: string;
  /** Extra response headers (WWW-Authenticate, Allow, Retry-After). */
  headers?: Record<string, string>;
}

export class OAuthError extends Error {
  readonly code: OAuthErrorCode;
  readonly status: number;
  /** Public text, safe to send to the client. */
  readonly description: string;
  /** Private text, only logged. */
  readonly detail: string | undefined;
  readonly headers: Record<string, string>;

  constructor(code: OAuthErrorCode, description: string, options: OAuthErrorOptions = {}) {
    const safe = publicText(description);
    super(`${code}: ${safe}`);
    this.name = 'OAuthError';
    this.code = code;
    this.description = safe;
    this.status = options.status ?? defaultStatus[code];
    this.detail = options.detail;
    this.headers = options.headers ?? {};
  }

  toJSON(): { error: OAuthErrorCode; error_description: string } {
    return { error: this.code, error_description: this.description };
  }
}

/** Factories, so call sites read like the spec: `throw invalidGrant('code expired')`. */
export const invalidRequest = (d: string, o?: OAuthErrorOptions) => new OAuthError('invalid_request', d, o);
export const invalidClient = (d: string, o?: OAuthErrorOptions) => new OAuthError('invalid_client', d, o);
export const invalidGrant = (d: string, o?: OAuthErrorOptions) => new OAuthError('invalid_grant', d, o);
export const unauthorizedClient = (d: string, o?: OAuthErrorOptions) =>
  new OAuthError('unauthorized_client', d, o);
export const unsupportedGrantType = (d: string, o?: OAuthErrorOptions) =>
  new OAuthError('unsupported_grant_type', d, o);
export const invalidScope = (d: string, o?: OAuthErrorOptions) => new OAuthError('invalid_scope', d, o);
export const invalidToken = (d: string, o?: OAuthErrorOptions) => new OAuthError('invalid_token', d, o);
export const serverError = (detail: string) =>
  new OAuthError('server_error', 'The server encountered an unexpected condition', { detail });
/**
 * Throttled (interface.md "Throttled requests"; RFC 6585 §4): 429 with Retry-After in whole seconds. RFC 6749
 * registers no code for it; temporarily_unavailable is what a client already retries later.
 */
export const tooManyRequests = (description: string, retryAfterSeconds: number, detail: string) =>
  new OAuthError('temporarily_unavailable', description, {
    status: 429,
    detail,
    headers: { 'Retry-After': String(Math.max(1, Math.ceil(retryAfterSeconds))) },
  });
