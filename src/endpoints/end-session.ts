// RP-Initiated Logout at /end_session, GET and POST (OIDC RP-Initiated Logout 1.0 §2-§3; interface.md "Login and consent
// pages"): check the request, confirm with the user unless the RP's own ID token for this session asked, end the
// session, then return to the registered post_logout_redirect_uri or show the signed-out page.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { constantTimeEqual } from '../crypto/hash.js';
import { invalidRequest, OAuthError } from '../errors/oauth-error.js';
import { FormParams, parseQuery } from '../http/form.js';
import { clientSid } from '../logout/back-channel.js';
import type { IdTokenHint } from '../logout/id-token-hint.js';
import { endProviderSession } from '../logout/logout.js';
import {
  carriedParameters,
  type LogoutRequest,
  logoutParameters,
  type PostLogoutRedirect,
  postLogoutRedirectUrl,
  validateLogoutRequest,
} from '../logout/logout-request.js';
import type { Provider } from '../provider/provider.js';
import { clearCookie, readCookie } from '../session/cookies.js';
import { checkFormPost, formRefused } from '../session/form-guard.js';
import { type ActiveSession, currentSession } from '../session/session.js';
import { logoutConfirmPage, signedOutPage } from '../views/logout-pages.js';
import { methodNotAllowed } from './method-not-allowed.js';

function endpoint(provider: Provider): string {
  return `${provider.issuer}/end_session`;
}

/** The confirmation form's token, bound to the browser's session (interface.md: "bound to the browser session"). */
function logoutCsrf(provider: Provider, session: ActiveSession): string {
  return provider.mac(`csrf:logout:${session.record.idHash}`);
}

function sendPage(reply: FastifyReply, html: string): FastifyReply {
  return reply.code(200).type('text/html; charset=utf-8').send(html);
}

async function logOut(
  provider: Provider,
  request: FastifyRequest,
  reply: FastifyReply,
  session: ActiveSession,
): Promise<void> {
  await endProviderSession(provider, session.record.idHash, request.log);
  clearCookie(provider, reply, 'sid');
}

/**
 * After the logout: the registered URI with state (§3), or the signed-out page. A POST is always answered with a 303
 * (interface.md), the signed-out page then being what GET /end_session shows a browser without a session.
 */
function finish(
  provider: Provider,
  request: FastifyRequest,
  reply: FastifyReply,
  redirect: PostLogoutRedirect | undefined,
): FastifyReply {
  if (redirect) return reply.redirect(postLogoutRedirectUrl(redirect), 303);
  if (request.method === 'POST') return reply.redirect(endpoint(provider), 303);
  return sendPage(reply, signedOutPage());
}

function confirmation(
  provider: Provider,
  reply: FastifyReply,
  session: ActiveSession,
  logout: LogoutRequest,
) {
  const carried: Record<string, string> = {};
  if (logout.redirect && logout.client) {
    // The hint too: a registered client's redirect rests on it (logout-request.ts), and the POST checks it again.
    if (logout.hintToken !== undefined) carried.id_token_hint = logout.hintToken;
    carried.client_id = logout.client.id;
    carried.post_logout_redirect_uri = logout.redirect.uri;
    if (logout.redirect.state !== undefined) carried.state = logout.redirect.state;
  }
  return sendPage(
    reply,
    logoutConfirmPage({
      action: endpoint(provider),
      csrf: logoutCsrf(provider, session),
      username: session.user.username,
      clientName: logout.client?.name,
      carried,
    }),
  );
}

/** Whether the hint's `sid` is the one this browser session has for the hint's client (`clientSid`). */
function hintNamesSession(provider: Provider, hint: IdTokenHint, session: ActiveSession): boolean {
  return (
    hint.sid !== undefined &&
    constantTimeEqual(hint.sid, clientSid(provider, session.record.sid, hint.client.id))
  );
}

/** A logout request from an RP, by GET (query) or POST (form body). */
async function rpInitiated(
  provider: Provider,
  request: FastifyRequest,
  reply: FastifyReply,
  params: FormParams,
): Promise<FastifyReply> {
  const logout = await validateLogoutRequest(provider, params);
  const session = await currentSession(provider, request);
  if (!session) {
    // Nothing to end in this browser (never signed in, already signed out, or expired): drop a stale cookie.
    clearCookie(provider, reply, 'sid');
    return finish(provider, request, reply, logout.redirect);
  }
  // §2: the OP MUST ask unless the id_token_hint shows that the RP asking holds an ID token of this very session
  // (the sid this session has for that client); then the request itself says the user is leaving that RP.
  if (logout.hint && hintNamesSession(provider, logout.hint, session)) {
    await logOut(provider, request, reply, session);
    return finish(provider, request, reply, logout.redirect);
  }
  return confirmation(provider, reply, session, logout);
}

/** The confirmation form's POST: `logout=yes`, its CSRF token, and the carried parameters, checked again. */
async function confirmed(
  provider: Provider,
  request: FastifyRequest,
  reply: FastifyReply,
  form: FormParams,
): Promise<FastifyReply> {
  if (form.repeated.size > 0) throw invalidRequest('Repeated form fields');
  const session = await currentSession(provider, request);
  // The token is bound to a session: without one (another browser, or signed out meanwhile) it cannot match.
  if (!session) throw formRefused('logout form posted without a session');
  checkFormPost(provider, request, form, logoutCsrf(provider, session));
  if (form.get('logout') !== 'yes') throw invalidRequest('Unknown answer to the sign-out question');
  // §2: "If the End-User says 'yes', then the OP MUST log out the End-User" - before anything else can fail.
  await logOut(provider, request, reply, session);
  let redirect: PostLogoutRedirect | undefined;
  try {
    redirect = (await validateLogoutRequest(provider, form.pick(carriedParameters))).redirect;
  } catch (err) {
    // The client went away since the page was shown: signed out all the same, without a redirect.
    if (!(err instanceof OAuthError)) throw err;
    request.oauthError = err;
  }
  return finish(provider, request, reply, redirect);
}

/**
 * A logout request an RP's page POSTed here arrives without the SameSite=Lax session cookie (a cross-site POST), so
 * this browser's session cannot be seen. The checked request goes on as a GET, a top-level navigation that carries it.
 */
async function asGet(provider: Provider, reply: FastifyReply, form: FormParams): Promise<FastifyReply> {
  await validateLogoutRequest(provider, form);
  const url = new URL(endpoint(provider));
  for (const name of logoutParameters) {
    const value = form.present(name);
    if (value !== undefined) url.searchParams.set(name, value);
  }
  return reply.redirect(url.href, 303);
}

async function post(provider: Provider, request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
  // An RP may POST with no parameters at all, so no body is an empty form; another content type never gets here (415).
  const body = request.body === undefined ? new FormParams(new Map(), new Set()) : request.body;
  if (!(body instanceof FormParams))
    throw invalidRequest('The request body must be application/x-www-form-urlencoded');
  if (body.has('logout')) return confirmed(provider, request, reply, body);
  if (readCookie(provider, request, 'sid') === undefined) return asGet(provider, reply, body);
  return rpInitiated(provider, request, reply, body);
}

export function registerEndSession(app: FastifyInstance, provider: Provider): void {
  const url = `${provider.basePath}/end_session`;
  const config = { kind: 'page' as const };
  // No automatic HEAD: a GET here may end the session, which a HEAD must not do.
  app.get(url, { config, exposeHeadRoute: false }, (request, reply) =>
    rpInitiated(provider, request, reply, parseQuery(request.url)),
  );
  app.post(url, { config }, (request, reply) => post(provider, request, reply));
  methodNotAllowed(app, url, ['GET', 'POST'], 'page', false);
}
