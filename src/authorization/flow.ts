// Decides what an authorization request needs next (login, consent or a response) and issues the response (OIDC Core §3.1.2.3-5).
import { sha256 } from '../crypto/hash.js';
import { randomToken, timeOrderedId } from '../crypto/random.js';
import { OAuthError } from '../errors/oauth-error.js';
import type { Provider } from '../provider/provider.js';
import { type ActiveSession, joinSession } from '../session/session.js';
import type { AuthorizationRequest, GrantDetails } from '../store/types.js';
import { mintAccessToken } from '../tokens/access-token.js';
import { idTokenClaims } from '../tokens/claims.js';
import { signIdToken } from '../tokens/id-token.js';
import { satisfiedAcr } from './acr.js';
import { consentItems } from './claims-request.js';
import { hintNamesAnotherUser } from './oidc-parameters.js';

export type NextStep = 'login' | 'consent' | 'complete';

/**
 * Seconds a login made during the interaction still counts as fresh for max_age: the redirects after it and a
 * quick consent take a moment, and relying parties allow clock tolerance (openid-client: 30 s) on auth_time checks.
 */
const loginGrace = 10;

export interface StepInput {
  request: AuthorizationRequest;
  session: ActiveSession | undefined;
  /** The user logged in during this very interaction, so prompt=login is satisfied. */
  loggedInNow: boolean;
}

export async function nextStep(provider: Provider, input: StepInput): Promise<NextStep> {
  const { request, session } = input;
  if (!session) return 'login';
  if (!input.loggedInNow) {
    // The login page is where the user picks the account, so select_account asks for it too (OIDC Core §3.1.2.1).
    if (request.prompt.includes('login') || request.prompt.includes('select_account')) return 'login';
    // OIDC Core §3.1.2.1: the id_token_hint names who the client expects; someone else must log in first.
    if (await hintNamesAnotherUser(provider, request, session.user.id)) return 'login';
  } else if (await hintNamesAnotherUser(provider, request, session.user.id, { claimsOnly: true })) {
    // OIDC Core §5.5.1 is a MUST for a `sub` claimed with a value: only that user gets an answer, so a login as
    // someone else leads back to the login page.
    return 'login';
  }
  if (request.maxAge !== undefined) {
    // OIDC Core §3.1.2.1: max_age bounds how long ago the user actively authenticated, until the response is
    // issued. max_age=0 therefore means a fresh login, like prompt=login (OIDF issue 993), which a login in this
    // interaction is, for the redirects and the consent page that follow it (up to loginGrace seconds past
    // max_age); a consent page left open longer asks for the password again.
    const age = provider.clock.now() - session.record.authTime;
    if (input.loggedInNow ? age > request.maxAge + loginGrace : age >= request.maxAge) return 'login';
  }
  if (request.prompt.includes('consent')) return 'consent';
  const granted = await provider.store.getConsent(provider.name, session.user.id, request.clientId);
  return granted && consentItems(request).every((s) => granted.includes(s)) ? 'complete' : 'consent';
}

/** Remembers consent for these scopes (and claims asked for by name), adding to what the user allowed before. */
export async function rememberConsent(
  provider: Provider,
  userId: string,
  request: AuthorizationRequest,
): Promise<void> {
  // One store step: two consents given at once (two tabs, two processes) must both be remembered.
  await provider.store.mergeConsent(
    provider.name,
    userId,
    request.clientId,
    consentItems(request),
    provider.clock.now(),
  );
}

/**
 * Issues what the response type asks for (OIDC Core §3.1.2.5, §3.2.2.5, §3.3.2.5): a code (stored as a hash), an
 * access token, an ID token binding both (at_hash, c_hash, s_hash: §3.3.2.11). Returns the response parameters; the
 * caller delivers them in the request's response mode. The access token shares the code's grant, so a replayed
 * code revokes it too (RFC 6749 §4.1.2).
 */
export async function issueAuthorization(
  provider: Provider,
  request: AuthorizationRequest,
  session: ActiveSession,
): Promise<Record<string, string>> {
  const client = await provider.findClient(request.clientId);
  if (!client) throw new OAuthError('invalid_request', 'The client no longer exists');
  const types = new Set(request.responseType.split(' '));
  const now = provider.clock.now();
  const grantId = timeOrderedId();
  const details: GrantDetails = {
    ...(request.claims ? { claims: request.claims } : {}),
    acr: satisfiedAcr(provider.settings.acrValues, request),
    // Back-Channel Logout §2.3: the grant joins the session, so logging out ends it; its tokens carry the sid.
    sid: await joinSession(provider, session, grantId, request.clientId),
  };
  const params: Record<string, string> = {};

  let code: string | undefined;
  if (types.has('code')) {
    code = randomToken();
    await provider.store.insertCode(provider.name, {
      codeHash: sha256(code),
      grantId,
      clientId: request.clientId,
      userId: session.user.id,
      redirectUri: request.redirectUri,
      scope: request.scope,
      nonce: request.nonce,
      codeChallenge: request.codeChallenge,
      resource: request.resource,
      authTime: session.record.authTime,
      details,
      expiresAt: now + provider.settings.lifetimes.authorizationCode,
      consumedAt: undefined,
    });
    params.code = code;
  }

  let accessToken: string | undefined;
  if (types.has('token')) {
    const minted = await mintAccessToken(provider, client, {
      subject: {
        grantId,
        clientId: client.id,
        userId: session.user.id,
        scope: request.scope,
        audience: request.resource,
      },
      now,
      authTime: session.record.authTime,
      refreshHash: undefined,
      details,
    });
    await provider.store.insertTokens(provider.name, { accessToken: minted.record, refreshToken: undefined });
    accessToken = minted.value;
    params.access_token = minted.value;
    params.token_type = 'Bearer';
    params.expires_in = String(client.lifetimes.accessToken);
    params.scope = request.scope.join(' ');
  }

  if (types.has('id_token')) {
    params.id_token = await signIdToken(provider, {
      client,
      userId: session.user.id,
      authTime: session.record.authTime,
      nonce: request.nonce,
      now,
      userClaims: idTokenClaims(provider.settings, {
        user: session.user,
        scope: request.scope,
        claims: details.claims,
        accessTokenIssued: accessToken !== undefined,
      }),
      details,
      accessToken,
      code,
      state: request.state,
    });
  }
  return params;
}
