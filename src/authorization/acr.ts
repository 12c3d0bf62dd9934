// Which `acr` an authorization satisfies, from acr_values and the claims parameter (OIDC Core §2, §3.1.2.1, §5.5.1.1).
import type { AuthorizationRequest, ClaimsRequest } from '../store/types.js';
import { claimRequest } from './claims-request.js';

/** The `acr` claim request of either member, if any (OIDC Core §5.5.1.1). */
function acrClaim(claims: ClaimsRequest | undefined) {
  return claimRequest(claims, 'id_token', 'acr') ?? claimRequest(claims, 'userinfo', 'acr') ?? undefined;
}

/** The values an `acr` claim request names (`values`, or `value`), empty when it names none. */
function acrClaimValues(claims: ClaimsRequest | undefined): unknown[] {
  const spec = acrClaim(claims);
  if (spec?.values !== undefined) return spec.values;
  return spec?.value !== undefined ? [spec.value] : [];
}

/**
 * OIDC Core §5.5.1.1: an essential `acr` with values the provider cannot satisfy "MUST be treated as a failed
 * authentication attempt". Every login here is a password login, which satisfies each of `acrValues` (the
 * operator lists what its logins meet), so the request is refused before any page is shown when none of the
 * values is one of them. Answers the reason, or undefined when the request can be met.
 */
export function unmetAcr(
  acrValues: readonly string[],
  claims: ClaimsRequest | undefined,
): string | undefined {
  const wanted = acrClaimValues(claims);
  if (!acrClaim(claims)?.essential || wanted.length === 0) return undefined;
  if (wanted.some((v) => typeof v === 'string' && acrValues.includes(v))) return undefined;
  return 'The requested authentication context (essential acr) cannot be satisfied';
}

/**
 * The `acr` to put in tokens: the first value of an `acr` claim request the provider supports, else the first
 * requested `acr_values` entry it supports (a voluntary request, §3.1.2.1), else the provider's default (the
 * first of `acrValues`).
 */
export function satisfiedAcr(acrValues: readonly string[], request: AuthorizationRequest): string {
  const supported = (v: unknown): v is string => typeof v === 'string' && acrValues.includes(v);
  const candidates = [...acrClaimValues(request.claims), ...(request.acrValues ?? [])];
  return candidates.find(supported) ?? (acrValues[0] as string);
}
