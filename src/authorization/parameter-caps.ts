// Length caps on authorization request parameters (issue 8 point 3; RFC 6749 §3.1, RFC 7636 §4.2, RFC 8707 §2, OIDC Core §3.1.2.1, §6).
import type { FormParams } from '../http/form.js';
import { claimsParamMaxLength } from './claims-request.js';

/**
 * Characters per value, far above what real clients send. `client_id`, `redirect_uri` and `resource` match what the
 * configuration accepts for a client; `request` and `request_uri` are also checked where they are read, with the
 * RFC 9101 codes (request-object.ts).
 */
export const parameterMaxLength: Readonly<Record<string, number>> = {
  client_id: 255,
  redirect_uri: 2048,
  response_type: 64,
  response_mode: 32,
  scope: 2048,
  state: 2048,
  nonce: 512,
  // RFC 7636 §4.2: a challenge is at most 128 characters (an S256 one is exactly 43).
  code_challenge: 128,
  code_challenge_method: 16,
  prompt: 64,
  max_age: 16,
  resource: 2048,
  request: 32 * 1024,
  request_uri: 2048,
  registration: 4096,
  id_token_hint: 8192,
  login_hint: 512,
  ui_locales: 256,
  claims_locales: 256,
  acr_values: 1024,
  display: 16,
  claims: claimsParamMaxLength,
};

/** RFC 8707 `resource` values in one request. */
export const maxResources = 10;
/** Any parameter not listed above is ignored (RFC 6749 §3.1), but still capped: its name and its value. */
export const otherNameMaxLength = 128;
export const otherValueMaxLength = 2048;
/** Values in one request, repeats included. */
export const maxValues = 64;

/**
 * The validated request as JSON, bytes. It travels sealed in the interaction URL, which grows by 4/3 of this plus
 * about 400 characters; 4 KB keeps that URL near 6 KB, under nginx's default 8 KB request-line buffer. Per-parameter
 * caps alone cannot: they count characters, and one character may take up to six bytes of JSON.
 */
export const pendingRequestMaxBytes = 4096;

function capOf(name: string): number {
  return Object.hasOwn(parameterMaxLength, name) ? (parameterMaxLength[name] as number) : otherValueMaxLength;
}

/** Why these parameters are beyond a cap (an `error_description`), or undefined when none is. */
export function parameterCapExceeded(params: FormParams): string | undefined {
  let values = 0;
  for (const name of params.values.keys()) {
    if (!Object.hasOwn(parameterMaxLength, name) && name.length > otherNameMaxLength)
      return 'A parameter name is too long';
    const all = params.getAll(name);
    values += all.length;
    if (all.some((v) => v.length > capOf(name))) return `${name} is too long`;
  }
  if (params.getAll('resource').length > maxResources) return `At most ${maxResources} resource values`;
  if (values > maxValues) return 'Too many parameters';
  return undefined;
}
