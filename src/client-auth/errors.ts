// invalid_client responses (RFC 6749 §5.2): 401, with a Basic challenge when the client tried HTTP Basic.
import { invalidClient, type OAuthError } from '../errors/oauth-error.js';
import type { Carrier } from './types.js';

const basicChallenge = { 'WWW-Authenticate': 'Basic realm="gatehouse", charset="UTF-8"' };

/** `description` is public: only say what the client may know (its own registered method), never why a secret failed. */
export function clientAuthFailed(
  carrier: Carrier,
  detail: string,
  description = 'Client authentication failed',
): OAuthError {
  return invalidClient(description, {
    detail,
    headers: carrier === 'basic' ? basicChallenge : {},
  });
}
