// client_secret_basic: HTTP Basic with form-urlencoded client_id and secret (RFC 6749 §2.3.1, RFC 7617).
import { clientAuthFailed } from './errors.js';
import { verifyClientSecret } from './secret.js';
import type { ClientAuthenticator } from './types.js';

const method = 'client_secret_basic';

function formDecode(s: string): string {
  try {
    return decodeURIComponent(s.replace(/\+/g, ' '));
  } catch {
    throw clientAuthFailed(method, 'Basic credentials are not form-urlencoded UTF-8');
  }
}

export const clientSecretBasic: ClientAuthenticator = {
  method,
  extract({ authorization }) {
    if (authorization === undefined) return undefined;
    const match = /^basic +([A-Za-z0-9+/]+={0,2}) *$/i.exec(authorization);
    if (!match) {
      // Some other scheme (Bearer, DPoP ...) is not client authentication at this endpoint.
      if (!/^basic(\s|$)/i.test(authorization)) return undefined;
      throw clientAuthFailed(method, 'malformed Basic header');
    }
    const decoded = Buffer.from(match[1] as string, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 1) throw clientAuthFailed(method, 'Basic credentials without client_id:secret');
    return {
      method,
      clientId: formDecode(decoded.slice(0, colon)),
      secret: formDecode(decoded.slice(colon + 1)),
    };
  },
  verify: verifyClientSecret,
};
