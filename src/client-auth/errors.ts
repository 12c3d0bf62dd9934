// invalid_client responses (RFC 6749 §5.2): 401, with a Basic challenge when the client tried HTTP Basic.
import { invalidClient, type OAuthError } from '../errors/oauth-error.js';

const basicChallenge = { 'WWW-Authenticate': 'Basic realm="gatehouse", charset="UTF-8"' };

export function clientAuthFailed(method: string, detail: string): OAuthError {
  return invalidClient('Client authentication failed', {
    detail,
    headers: method === 'client_secret_basic' ? basicChallenge : {},
  });
}
