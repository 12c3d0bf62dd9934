// Verifies JWT assertions: client authentication (RFC 7523 §2.2, §3; OIDC Core §9) and the JWT bearer grant (RFC 7523 §2.1).
import { type JWTPayload, type JWTVerifyGetKey, jwtVerify } from 'jose';

export interface AssertionRules {
  /** Key (HMAC secret) or key resolver (public key set). */
  key: Uint8Array | JWTVerifyGetKey;
  /** Allowed JWS algorithms; jose refuses any other, `none` included. */
  algorithms: readonly string[];
  /** Expected `iss`; undefined accepts any (the caller checks it against its own list). */
  issuer: string | undefined;
  /** Expected `sub`; undefined when the caller reads it. */
  subject: string | undefined;
  /** Accepted `aud` values. */
  audiences: readonly string[];
  /** Client assertions: `aud` must be one string, not an array (draft-ietf-oauth-rfc7523bis §4). */
  audienceMustBeString: boolean;
  now: number;
  maxLifetime: number;
}

export class AssertionError extends Error {
  override name = 'AssertionError';
}

/** `typ` values of JWTs with another job (RFC 9068, OIDC Back-Channel Logout, RFC 8417, RFC 9449). */
const foreignTypes = new Set(['at+jwt', 'logout+jwt', 'secevent+jwt', 'dpop+jwt']);

/** Time a clock may be ahead of ours, seconds (security checklist C6). */
const skew = 60;

export interface VerifiedAssertion extends JWTPayload {
  jti: string;
  exp: number;
  /** Until when the jti must be remembered: exp plus the tolerated skew, the last moment it would still pass. */
  replayUntil: number;
}

export async function verifyAssertion(jwt: string, rules: AssertionRules): Promise<VerifiedAssertion> {
  let payload: JWTPayload;
  try {
    // jose refuses unknown `crit` extensions (RFC 7515 §4.1.11) and ignores jku/x5u/jwk: keys come from `key` only.
    const result = await jwtVerify(jwt, rules.key as JWTVerifyGetKey, {
      algorithms: [...rules.algorithms],
      ...(rules.issuer !== undefined ? { issuer: rules.issuer } : {}),
      ...(rules.subject !== undefined ? { subject: rules.subject } : {}),
      currentDate: new Date(rules.now * 1000),
      clockTolerance: skew,
      requiredClaims: ['exp', 'jti', 'iss', 'sub', 'aud'],
    });
    payload = result.payload;
    // RFC 8725 §3.11: a JWT made for another purpose (an access token, a logout or event token) is not an assertion.
    const typ = result.protectedHeader.typ?.toLowerCase().replace(/^application\//, '');
    if (typ !== undefined && foreignTypes.has(typ))
      throw new AssertionError(`typ ${typ} is not an assertion`);
  } catch (err) {
    throw new AssertionError((err as Error).message);
  }
  const { aud, exp, iat, nbf, jti } = payload;
  if (rules.audienceMustBeString && typeof aud !== 'string')
    throw new AssertionError('aud must be a single string');
  const auds = Array.isArray(aud) ? aud : [aud];
  if (!auds.some((a) => typeof a === 'string' && rules.audiences.includes(a)))
    throw new AssertionError('wrong aud');
  if (typeof exp !== 'number' || exp - rules.now > rules.maxLifetime)
    throw new AssertionError('exp too far ahead');
  if (typeof iat === 'number' && iat > rules.now + skew) throw new AssertionError('iat in the future');
  if (typeof nbf === 'number' && nbf > rules.now + skew) throw new AssertionError('nbf in the future');
  if (typeof jti !== 'string' || jti.length === 0 || jti.length > 255) throw new AssertionError('bad jti');
  return { ...payload, jti, exp, replayUntil: exp + skew };
}
