// The user claims released, per scope and per `claims` request, in ID tokens and at UserInfo (OIDC Core §5.1, §5.4, §5.5).
import type { ClaimsRequest, UserRecord } from '../store/types.js';

export const claimsByScope: Readonly<Record<string, readonly string[]>> = {
  profile: [
    'name',
    'family_name',
    'given_name',
    'middle_name',
    'nickname',
    'preferred_username',
    'profile',
    'picture',
    'website',
    'gender',
    'birthdate',
    'zoneinfo',
    'locale',
    'updated_at',
  ],
  email: ['email', 'email_verified'],
  address: ['address'],
  phone: ['phone_number', 'phone_number_verified'],
};

/** Claims about the user that this provider releases (from the user's record); no other name ever leaves it. */
const userClaimNames: ReadonlySet<string> = new Set(Object.values(claimsByScope).flat());

/** Every claim the provider may put in an ID token or a UserInfo response (Discovery §3 `claims_supported`). */
export const supportedClaims = [
  'sub',
  'iss',
  'aud',
  'exp',
  'iat',
  'auth_time',
  'nonce',
  'acr',
  'azp',
  'sid',
  ...userClaimNames,
];

export function claimsForScope(user: UserRecord, scope: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = { sub: user.id };
  for (const s of scope) {
    // Own properties only: a scope named `constructor` must not reach Object.prototype.
    for (const name of (Object.hasOwn(claimsByScope, s) ? claimsByScope[s] : undefined) ?? []) {
      if (user.claims[name] !== undefined) out[name] = user.claims[name];
    }
  }
  return out;
}

export interface IdTokenClaimsInput {
  user: UserRecord;
  scope: readonly string[];
  claims: ClaimsRequest | undefined;
  /** An access token leaves in the same response, so UserInfo can answer for the scope's claims. */
  accessTokenIssued: boolean;
}

/**
 * Claims asked for by name in one member of the `claims` parameter (OIDC Core §5.5) that the user has. Only the
 * user claims this provider releases at all; `value`/`values` do not filter them (§5.5.1: they say what the RP
 * would like, and the user's claim is what it is); a missing essential claim is simply absent (§5.5.1).
 */
function requestedClaims(
  user: UserRecord,
  claims: ClaimsRequest | undefined,
  member: keyof ClaimsRequest,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const listed = claims?.[member];
  if (!listed) return out;
  for (const name of Object.keys(listed)) {
    if (userClaimNames.has(name) && Object.hasOwn(user.claims, name) && user.claims[name] !== undefined)
      out[name] = user.claims[name];
  }
  return out;
}

/**
 * The user claims an ID token carries beyond `sub` (OIDC Core §5.4): the scope's claims when no access token is
 * issued (response_type=id_token), otherwise as the provider's scopeClaimsInIdToken setting says; plus the claims
 * the `claims` parameter's `id_token` member asks for (§5.5).
 */
export function idTokenClaims(
  settings: { scopeClaimsInIdToken: boolean },
  input: IdTokenClaimsInput,
): Record<string, unknown> {
  const { sub: _sub, ...claims } =
    !input.accessTokenIssued || settings.scopeClaimsInIdToken ? claimsForScope(input.user, input.scope) : {};
  return { ...claims, ...requestedClaims(input.user, input.claims, 'id_token') };
}

/** The UserInfo response's claims (OIDC Core §5.3.2): `sub`, the scope's claims and the `userinfo` member's (§5.5). */
export function userinfoClaims(
  user: UserRecord,
  scope: readonly string[],
  claims: ClaimsRequest | undefined,
): Record<string, unknown> {
  return { ...requestedClaims(user, claims, 'userinfo'), ...claimsForScope(user, scope) };
}

/**
 * Claims asked for by name that the scope does not already cover: the consent page names them, since the user
 * consented to scopes and these would leave without one (OIDC Core §5.5).
 */
export function claimsBeyondScope(scope: readonly string[], claims: ClaimsRequest | undefined): string[] {
  const covered = new Set(
    scope.flatMap((s) => (Object.hasOwn(claimsByScope, s) ? (claimsByScope[s] ?? []) : [])),
  );
  const names = [...Object.keys(claims?.userinfo ?? {}), ...Object.keys(claims?.id_token ?? {})];
  return [...new Set(names)].filter((n) => userClaimNames.has(n) && !covered.has(n)).sort();
}
