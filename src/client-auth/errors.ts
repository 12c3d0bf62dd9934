// invalid_client responses (RFC 6749 §5.2): 401, with a Basic challenge when the client tried HTTP Basic.
import { invalidClient, type OAuthError } from '../errors/oauth-error.js';
import type { Carrier } from './types.js';

const basicChallenge = { 'WWW-Authenticate': 'Basic realm="gatehouse", charset="UTF-8"' };

export function clientAuthFailed(carrier: Carrier, detail: string): OAuthError {
  return invalidClient('Client authentication failed', {
    detail,
    headers: carrier === 'basic' ? basicChallenge : {},
  });
}
