// Login and consent pages for a pending authorization (interface.md "Login and consent pages"; RFC 6749 §10.12; RFC 9700 §4.12).
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { issueAuthorization, nextStep, rememberConsent } from '../authorization/flow.js';
import {
  openPending,
  type PendingAuthorization,
  pendingParameter,
  pendingSpent,
  pendingUrl,
  sealPending,
  spendPending,
} from '../authorization/pending.js';
import { sendAuthorizationError, sendAuthorizationResponse, targetOf } from '../authorization/response.js';
import { constantTimeEqual, sha256 } from '../crypto/hash.js';
import { verifyPassword } from '../crypto/password.js';
import { OAuthError } from '../errors/oauth-error.js';
import { FormParams, parseQuery } from '../http/form.js';
import type { Provider } from '../provider/provider.js';
import { readCookie } from '../session/cookies.js';
import { checkFormPost, formRefused } from '../session/form-guard.js';
import { type ActiveSession, currentSession, startSession } from '../session/session.js';
import { admitLogin } from '../throttle/login.js';
import { claimsBeyondScope } from '../tokens/claims.js';
import { brandedPageCsp, type ClientBranding, clientBranding } from '../views/client-branding.js';
import { consentPage, loginPage } from '../views/pages.js';
import { methodNotAllowed } from './method-not-allowed.js';

interface Pending {
  interaction: PendingAuthorization;
  /** The sealed value this request came with, for a redirect back to the same page. */
  sealed: string;
  binding: string;
  csrf: string;
  /** The session this interaction may use: logged in during it, or brought to a consent-only request. */
  session: ActiveSession | undefined;
}

const expired = () =>
  new OAuthError(
    'invalid_request',
    'This sign-in request has expired or was already used. Return to the application and start again.',
  );

async function loadPending(provider: Provider, request: FastifyRequest): Promise<Pending> {
  const { uid } = request.params as { uid: string };
  let sealed: string | undefined;
  try {
    const query = parseQuery(request.url);
    sealed = query.repeated.has(pendingParameter) ? undefined : query.present(pendingParameter);
  } catch {
    // A mangled query is a mangled link: the same answer as any other unusable one.
  }
  const interaction = sealed === undefined ? undefined : await openPending(provider, sealed);
  if (!interaction || sealed === undefined || interaction.id !== uid) throw expired();
  const binding = readCookie(provider, request, 'bind');
  if (binding === undefined || !constantTimeEqual(sha256(binding), interaction.bindingHash))
    throw formRefused('interaction opened in another browser');
  const current = await currentSession(provider, request);
  const session = current && current.record.idHash === interaction.sessionIdHash ? current : undefined;
  return { interaction, sealed, binding, csrf: provider.mac(`csrf:${interaction.id}:${binding}`), session };
}

/** The session was logged into during this interaction (not one the browser brought to it). */
function loggedInHere(p: Pending): boolean {
  return p.session !== undefined && p.session.record.authTime >= p.interaction.createdAt;
}

async function branding(provider: Provider, clientId: string): Promise<ClientBranding> {
  const client = await provider.findClient(clientId);
  return clientBranding(client?.name ?? clientId, client?.metadata);
}

/** A login or consent page; its CSP lets the client's logo load and nothing else. */
function sendPage(reply: FastifyReply, status: number, html: string, brand: ClientBranding): FastifyReply {
  return reply
    .code(status)
    .header('Content-Security-Policy', brandedPageCsp(brand))
    .type('text/html; charset=utf-8')
    .send(html);
}

/** Shows what the interaction needs now, or finishes it when nothing is left. */
async function show(provider: Provider, request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
  const p = await loadPending(provider, request);
  const { request: authz } = p.interaction;
  const step = p.session
    ? await nextStep(provider, { request: authz, session: p.session, loggedInNow: loggedInHere(p) })
    : 'login';
  // Only a signed-in browser can have finished it; the check writes, so anonymous ones are not asked.
  if (p.session && step !== 'complete' && (await pendingSpent(provider, p.interaction))) throw expired();
  if (step === 'login' || !p.session) {
    const client = await branding(provider, authz.clientId);
    // OIDC Core §3.1.2.1: login_hint fills in the username (the page escapes it).
    return sendPage(reply, 200, loginPage({ client, csrf: p.csrf, username: authz.loginHint }), client);
  }
  if (step === 'consent') {
    const client = await branding(provider, authz.clientId);
    const page = consentPage({
      client,
      csrf: p.csrf,
      username: p.session.user.username,
      scopes: authz.scope,
      claims: claimsBeyondScope(authz.scope, authz.claims),
    });
    return sendPage(reply, 200, page, client);
  }
  return complete(provider, reply, p, p.session);
}

async function complete(provider: Provider, reply: FastifyReply, p: Pending, session: ActiveSession) {
  // Spending the id is atomic: a double submit cannot mint two codes.
  if (!(await spendPending(provider, p.interaction))) throw expired();
  const authz = p.interaction.request;
  return sendAuthorizationResponse(
    reply,
    provider,
    targetOf(authz),
    await issueAuthorization(provider, authz, session),
  );
}

async function login(
  provider: Provider,
  request: FastifyRequest,
  reply: FastifyReply,
  p: Pending,
  form: FormParams,
) {
  const username = form.get('username') ?? '';
  const password = form.get('password') ?? '';
  // Issue 8 point 1: counted before the password is checked; while throttled it is not checked at all.
  const attempt = await admitLogin(provider, username, request.ip);
  if (!attempt.admitted) {
    request.oauthError = attempt.error;
    const client = await branding(provider, p.interaction.request.clientId);
    const page = loginPage({ client, csrf: p.csrf, username, error: attempt.message });
    return sendPage(reply.header('Retry-After', String(attempt.retryAfter)), 429, page, client);
  }
  const user = username === '' ? undefined : await provider.store.findUserByUsername(provider.name, username);
  // Same work and the same answer for an unknown user and a wrong password.
  let ok: boolean;
  try {
    ok = await verifyPassword(user?.passwordHash, password);
  } catch (err) {
    // The password pool's queue is full (issue 8 point 5): nothing was checked, so nothing is counted, and the
    // user gets the login form again with 503 and Retry-After rather than an error page.
    if (!(err instanceof OAuthError) || err.code !== 'temporarily_unavailable') throw err;
    await attempt.notChecked();
    request.oauthError = err;
    const client = await branding(provider, p.interaction.request.clientId);
    const page = loginPage({
      client,
      csrf: p.csrf,
      username,
      error: 'Too many sign-ins at this moment. Try again in a few seconds.',
    });
    return sendPage(reply.headers(err.headers), 503, page, client);
  }
  if (!user || !ok) {
    request.oauthError = new OAuthError('access_denied', 'login failed', { detail: 'invalid credentials' });
    const client = await branding(provider, p.interaction.request.clientId);
    const page = loginPage({ client, csrf: p.csrf, username, error: 'Invalid username or password.' });
    return sendPage(reply, 401, page, client);
  }
  await attempt.succeeded();
  const record = await startSession(provider, request, reply, user);
  // The same authorization (same id, so still single use), now naming the session it may use.
  const sealed = await sealPending(provider, { ...p.interaction, sessionIdHash: record.idHash });
  // RFC 9700 §4.12: 303, so the browser does not resend the credentials to the next URL.
  return reply.redirect(pendingUrl(provider, p.interaction.id, sealed), 303);
}

async function decide(provider: Provider, reply: FastifyReply, p: Pending, decision: string) {
  if (!p.session) throw formRefused('consent without a session bound to this interaction');
  const authz = p.interaction.request;
  if (decision === 'allow') {
    // The consent stands; but a consent page left open must not outlive max_age: past it, the user logs in again
    // first, and the remembered consent then lets the response go without asking twice.
    await rememberConsent(provider, p.session.user.id, authz);
    const step = await nextStep(provider, {
      request: authz,
      session: p.session,
      loggedInNow: loggedInHere(p),
    });
    if (step === 'login') return reply.redirect(pendingUrl(provider, p.interaction.id, p.sealed), 303);
    return complete(provider, reply, p, p.session);
  }
  if (decision !== 'deny') throw new OAuthError('invalid_request', 'Unknown decision');
  if (!(await spendPending(provider, p.interaction))) throw expired();
  const error = new OAuthError('access_denied', 'The user denied the request');
  return sendAuthorizationError(reply, provider, targetOf(authz), error);
}

async function submit(
  provider: Provider,
  request: FastifyRequest,
  reply: FastifyReply,
): Promise<FastifyReply> {
  if (!(request.body instanceof FormParams))
    throw new OAuthError('invalid_request', 'Expected a form submission');
  const form = request.body;
  if (form.repeated.size > 0) throw new OAuthError('invalid_request', 'Repeated form fields');
  const p = await loadPending(provider, request);
  // RFC 6749 §10.12: the form must come from our page in this browser.
  checkFormPost(provider, request, form, p.csrf);
  const decision = form.get('decision');
  if (decision !== undefined) return decide(provider, reply, p, decision);
  if (form.has('username') || form.has('password')) return login(provider, request, reply, p, form);
  throw new OAuthError('invalid_request', 'Nothing to do with this form');
}

export function registerInteraction(app: FastifyInstance, provider: Provider): void {
  const url = `${provider.basePath}/interaction/:uid`;
  const config = { kind: 'page' as const };
  // No automatic HEAD: showing the page may complete the authorization, which a HEAD must not do.
  app.get(url, { config, exposeHeadRoute: false }, (request, reply) => show(provider, request, reply));
  app.post(url, { config }, (request, reply) => submit(provider, request, reply));
  methodNotAllowed(app, url, ['GET', 'POST'], 'page', false);
}
