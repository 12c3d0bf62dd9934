// Decides what an authorization request needs next (login, consent or a code) and issues the code (OIDC Core §3.1.2.3-5).
import { randomUUID } from 'node:crypto';
import { sha256 } from '../crypto/hash.js';
import { randomToken } from '../crypto/random.js';
import type { Provider } from '../provider/provider.js';
import type { ActiveSession } from '../session/session.js';
import type { AuthorizationRequest } from '../store/types.js';
import { successRedirect } from './response.js';

export type NextStep = 'login' | 'consent' | 'complete';

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
    // OIDC Core §3.1.2.1: max_age bounds how long ago the user actively authenticated.
    // max_age=0 therefore always means a fresh login, like prompt=login (OIDF issue 993).
    if (request.maxAge !== undefined && provider.clock.now() - session.record.authTime >= request.maxAge)
      return 'login';
  }
  if (request.prompt.includes('consent')) return 'consent';
  const granted = await provider.store.getConsent(provider.name, session.user.id, request.clientId);
  return granted && request.scope.every((s) => granted.includes(s)) ? 'complete' : 'consent';
}

/** Remembers consent for these scopes, adding to what the user allowed before. */
export async function rememberConsent(
  provider: Provider,
  userId: string,
  request: AuthorizationRequest,
): Promise<void> {
  const before = (await provider.store.getConsent(provider.name, userId, request.clientId)) ?? [];
  await provider.store.putConsent(provider.name, userId, request.clientId, [
    ...new Set([...before, ...request.scope]),
  ]);
}

/** Issues the authorization code (stored as a hash) and returns the redirect that delivers it. */
export async function issueCode(
  provider: Provider,
  request: AuthorizationRequest,
  session: ActiveSession,
): Promise<string> {
  const code = randomToken();
  const now = provider.clock.now();
  await provider.store.insertCode(provider.name, {
    codeHash: sha256(code),
    grantId: randomUUID(),
    clientId: request.clientId,
    userId: session.user.id,
    redirectUri: request.redirectUri,
    scope: request.scope,
    nonce: request.nonce,
    codeChallenge: request.codeChallenge,
    resource: request.resource,
    authTime: session.record.authTime,
    details: {},
    expiresAt: now + provider.settings.lifetimes.authorizationCode,
    consumedAt: undefined,
  });
  return successRedirect(provider, { redirectUri: request.redirectUri, state: request.state }, code);
}
