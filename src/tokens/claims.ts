// Standard claims released per scope (OIDC Core §5.1, §5.4).
import type { UserRecord } from '../store/types.js';

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

export const supportedClaims = ['sub', ...Object.values(claimsByScope).flat()];

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
