// The optional OpenID authorization request parameters: claims, acr_values, id_token_hint, login_hint, display,
// ui_locales, claims_locales (OIDC Core §3.1.2.1, §5.5, §5.5.1.1).
import { OAuthError } from '../errors/oauth-error.js';
import type { FormParams } from '../http/form.js';
import { verifyIdTokenHint } from '../logout/id-token-hint.js';
import type { Client } from '../provider/client.js';
import type { Provider } from '../provider/provider.js';
import type { AuthorizationRequest } from '../store/types.js';
import { isSubjectOf } from '../subjects/subject.js';
import { unmetAcr } from './acr.js';
import { ClaimsRequestError, parseClaimsParameter } from './claims-request.js';
import { parameterMaxLength } from './parameter-caps.js';

/** OIDC Core §3.1.2.1 `display` values; discovery lists the same. */
export const displayValues = ['page', 'popup', 'touch', 'wap'] as const;

/** These parameters' caps (parameter-caps.ts), checked again here, before any of them is parsed. */
const capped = [
  'login_hint',
  'ui_locales',
  'claims_locales',
  'acr_values',
  'display',
  'claims',
  'id_token_hint',
];

export type OidcParameters = Pick<
  AuthorizationRequest,
  'claims' | 'acrValues' | 'loginHint' | 'idTokenHintSub' | 'uiLocales' | 'display'
>;

const invalidRequest = (description: string, detail?: string) =>
  new OAuthError('invalid_request', description, detail === undefined ? {} : { detail });

function spaceList(value: string | undefined): string[] | undefined {
  const list = value?.split(' ').filter((v) => v !== '');
  return list && list.length > 0 ? [...new Set(list)] : undefined;
}

/**
 * Reads and checks the parameters; throws an OAuthError to deliver to the client. `claims_locales` is accepted
 * and ignored: user claims are stored in one language, so there is nothing to choose between.
 */
export async function oidcParameters(
  provider: Provider,
  client: Client,
  params: FormParams,
): Promise<OidcParameters> {
  for (const name of capped) {
    if ((params.get(name)?.length ?? 0) > (parameterMaxLength[name] as number))
      throw invalidRequest(`${name} is too long`);
  }
  const out: OidcParameters = {};

  const display = params.present('display');
  if (display !== undefined) {
    if (!(displayValues as readonly string[]).includes(display))
      throw invalidRequest('display must be page, popup, touch or wap');
    out.display = display;
  }
  out.uiLocales = spaceList(params.present('ui_locales'));
  out.loginHint = params.present('login_hint');
  // OIDC Registration §2: default_acr_values apply when the request names none.
  out.acrValues = spaceList(params.present('acr_values')) ?? client.metadata.default_acr_values;

  const claims = params.present('claims');
  if (claims !== undefined) {
    try {
      out.claims = parseClaimsParameter(claims);
    } catch (err) {
      if (err instanceof ClaimsRequestError) throw invalidRequest(err.message);
      throw err;
    }
    const unmet = unmetAcr(provider.settings.acrValues, out.claims);
    if (unmet !== undefined) throw new OAuthError('access_denied', unmet);
  }

  const hint = params.present('id_token_hint');
  if (hint !== undefined) {
    // OIDC Core §3.1.2.1: an ID token this provider issued (an expired one is fine), to this client.
    const verified = await verifyIdTokenHint(provider, hint);
    if (verified.client.id !== client.id)
      throw invalidRequest('The id_token_hint was issued to another client', 'id_token_hint aud mismatch');
    out.idTokenHintSub = verified.sub;
  }
  for (const key of Object.keys(out) as (keyof OidcParameters)[]) if (out[key] === undefined) delete out[key];
  return out;
}

/** OIDC Core §5.5.1: a `sub` claim requested with a value names the one user the response may be about. */
function claimedSubjects(request: AuthorizationRequest): string[] {
  const values = [request.claims?.id_token?.sub?.value, request.claims?.userinfo?.sub?.value];
  return values.filter((v): v is string => typeof v === 'string');
}

/**
 * OIDC Core §3.1.2.1: with an id_token_hint, the user must be the one it names for a response without login;
 * "otherwise, it SHOULD return an error, such as login_required" (prompt=none) or ask who is there (the login page).
 * §5.5.1: a `sub` requested with a value in `claims` binds the same way ("MUST only send a positive response if the
 * End-User identified by that sub value has an active session").
 */
export async function hintNamesAnotherUser(
  provider: Provider,
  request: AuthorizationRequest,
  userId: string,
  options: { claimsOnly: boolean } = { claimsOnly: false },
): Promise<boolean> {
  const subjects = [
    ...(request.idTokenHintSub === undefined || options.claimsOnly ? [] : [request.idTokenHintSub]),
    ...claimedSubjects(request),
  ];
  if (subjects.length === 0) return false;
  const client = await provider.findClient(request.clientId);
  return client === undefined || subjects.some((sub) => !isSubjectOf(provider, client, sub, userId));
}
