// The `claims` authorization request parameter: parsed and checked into a ClaimsRequest (OIDC Core §5.5, §5.5.1).
import type { AuthorizationRequest, ClaimRequest, ClaimsRequest } from '../store/types.js';
import { claimsBeyondScope } from '../tokens/claims.js';

/** Caps so one request cannot fill the interaction store: characters of the JSON, and claims per member. */
export const claimsParamMaxLength = 4096;
const maxClaimsPerMember = 64;
const maxClaimNameLength = 255;
const maxValues = 32;

export class ClaimsRequestError extends Error {
  override name = 'ClaimsRequestError';
}

const members = ['userinfo', 'id_token'] as const;

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** OIDC Core §5.5.1: null, or an object with `essential`, `value`, `values`; other members are ignored. */
function parseClaim(name: string, spec: unknown): ClaimRequest | null {
  if (spec === null) return null;
  if (!isPlainObject(spec)) throw new ClaimsRequestError(`claims: ${name} must be null or an object`);
  const out: ClaimRequest = {};
  if (spec.essential !== undefined) {
    if (typeof spec.essential !== 'boolean')
      throw new ClaimsRequestError(`claims: ${name}.essential must be a boolean`);
    out.essential = spec.essential;
  }
  if (spec.value !== undefined) out.value = spec.value;
  if (spec.values !== undefined) {
    if (!Array.isArray(spec.values) || spec.values.length > maxValues)
      throw new ClaimsRequestError(`claims: ${name}.values must be an array (at most ${maxValues})`);
    out.values = spec.values;
  }
  return out;
}

/**
 * Parses the parameter: a JSON object whose `userinfo` and `id_token` members map claim names to null or a
 * claim request. Members and claim-request fields this provider does not understand are ignored (OIDC Core
 * §5.5: "MUST be ignored"); a wrong type is an error. A request object's `claims` (a JSON object there) arrives
 * here as its JSON text, like the query's.
 */
export function parseClaimsParameter(raw: string): ClaimsRequest {
  if (raw.length > claimsParamMaxLength) throw new ClaimsRequestError('claims is too long');
  let doc: unknown;
  try {
    doc = JSON.parse(raw);
  } catch {
    throw new ClaimsRequestError('claims is not valid JSON');
  }
  if (!isPlainObject(doc)) throw new ClaimsRequestError('claims must be a JSON object');
  const out: ClaimsRequest = {};
  for (const member of members) {
    const listed = doc[member];
    if (listed === undefined || listed === null) continue;
    if (!isPlainObject(listed)) throw new ClaimsRequestError(`claims: ${member} must be an object`);
    const names = Object.keys(listed);
    if (names.length > maxClaimsPerMember) throw new ClaimsRequestError(`claims: too many in ${member}`);
    const entries: [string, ClaimRequest | null][] = [];
    for (const name of names) {
      if (name.length === 0 || name.length > maxClaimNameLength)
        throw new ClaimsRequestError(`claims: bad claim name in ${member}`);
      entries.push([name, parseClaim(name, listed[name])]);
    }
    // fromEntries defines own properties, so a claim named `__proto__` stays a plain key.
    out[member] = Object.fromEntries(entries);
  }
  return out;
}

/** One claim's request in a member, if asked for (null when asked for without conditions). */
export function claimRequest(
  claims: ClaimsRequest | undefined,
  member: keyof ClaimsRequest,
  name: string,
): ClaimRequest | null | undefined {
  const listed = claims?.[member];
  return listed && Object.hasOwn(listed, name) ? listed[name] : undefined;
}

/** The claim names of a request's consent, marked so that no scope token can equal one (RFC 6749 §3.3 excludes `\`). */
const claimConsentPrefix = '\\claim:';

/**
 * What the user's consent covers (OIDC Core §5.5): the scopes, and each releasable claim asked for by name that
 * no requested scope covers. Remembered together, so a later request for one more claim asks again.
 */
export function consentItems(request: Pick<AuthorizationRequest, 'scope' | 'claims'>): string[] {
  return [
    ...request.scope,
    ...claimsBeyondScope(request.scope, request.claims).map((c) => claimConsentPrefix + c),
  ];
}
