// Reads the client credentials a request carries: HTTP Basic, form secret, client assertion, or client_id alone.
import { decodeJwt } from 'jose';
import { invalidRequest } from '../errors/oauth-error.js';
import { clientAuthFailed } from './errors.js';
import type { AuthInput, PresentedCredentials } from './types.js';

/** RFC 7523 §2.2. */
export const assertionType = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

function formDecode(s: string): string {
  try {
    return decodeURIComponent(s.replace(/\+/g, ' '));
  } catch {
    throw clientAuthFailed('basic', 'Basic credentials are not form-urlencoded UTF-8');
  }
}

/** RFC 6749 §2.3.1 / RFC 7617: `Basic base64(urlencode(id):urlencode(secret))`. */
function fromBasic(authorization: string | undefined): PresentedCredentials | undefined {
  if (authorization === undefined) return undefined;
  // Another scheme (Bearer, DPoP ...) is not client authentication here.
  if (!/^basic(\s|$)/i.test(authorization)) return undefined;
  const match = /^basic +([A-Za-z0-9+/]+={0,2}) *$/i.exec(authorization);
  if (!match) throw clientAuthFailed('basic', 'malformed Basic header');
  const decoded = Buffer.from(match[1] as string, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 1) throw clientAuthFailed('basic', 'Basic credentials without client_id:secret');
  return {
    carrier: 'basic',
    clientId: formDecode(decoded.slice(0, colon)),
    secret: formDecode(decoded.slice(colon + 1)),
  };
}

function fromPost({ form }: AuthInput): PresentedCredentials | undefined {
  const secret = form.present('client_secret');
  if (secret === undefined) return undefined;
  return { carrier: 'post', clientId: form.present('client_id') ?? '', secret };
}

function fromAssertion({ form }: AuthInput): PresentedCredentials | undefined {
  const assertion = form.present('client_assertion');
  const type = form.present('client_assertion_type');
  if (assertion === undefined && type === undefined) return undefined;
  if (type !== assertionType)
    throw clientAuthFailed('assertion', 'client_assertion_type is missing or unknown');
  if (!assertion) throw clientAuthFailed('assertion', 'client_assertion is missing');
  // The client is named by `sub` (RFC 7523 §3); it is verified, with the signature, once the client is known.
  let sub: unknown;
  try {
    sub = decodeJwt(assertion).sub;
  } catch {
    throw clientAuthFailed('assertion', 'client_assertion is not a JWT');
  }
  if (typeof sub !== 'string' || sub === '')
    throw clientAuthFailed('assertion', 'client_assertion without sub');
  return { carrier: 'assertion', clientId: sub, assertion };
}

/** RFC 6749 §2.3: "The client MUST NOT use more than one authentication method in each request." */
export function presentedCredentials(input: AuthInput): PresentedCredentials {
  const found = [fromBasic(input.authorization), fromPost(input), fromAssertion(input)].filter(
    (c): c is PresentedCredentials => c !== undefined,
  );
  if (found.length > 1) throw invalidRequest('More than one client authentication method was used');
  // RFC 6749 §3.1: an empty parameter counts as absent.
  const bodyClientId = input.form.present('client_id');
  const credentials =
    found[0] ?? (bodyClientId === undefined ? undefined : { carrier: 'client_id', clientId: bodyClientId });
  if (credentials === undefined) throw clientAuthFailed('client_id', 'no client authentication');
  if (bodyClientId !== undefined && bodyClientId !== credentials.clientId) {
    // An assertion about another client than the one named is a failed authentication, not a malformed request.
    if (credentials.carrier === 'assertion')
      throw clientAuthFailed('assertion', 'client_id differs from assertion sub');
    throw invalidRequest('client_id does not match the authenticated client');
  }
  return credentials as PresentedCredentials;
}
