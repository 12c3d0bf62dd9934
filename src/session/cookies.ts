// Signed cookies for the browser session and the interaction binding (interface.md: HttpOnly, SameSite=Lax, __Host- over HTTPS).
import type { FastifyReply, FastifyRequest } from 'fastify';
import { constantTimeEqual } from '../crypto/hash.js';
import type { Provider } from '../provider/provider.js';

/** `sid`: the logged-in session. `bind`: ties a pending authorization to the browser that started it. */
export type CookieKind = 'sid' | 'bind';

function cookieName(provider: Provider, kind: CookieKind): string {
  // __Host- requires Secure, Path=/ and no Domain: the cookie cannot be set or shadowed by a sibling host.
  return `${provider.secureCookies ? '__Host-' : ''}gh-${kind}-${provider.name}`;
}

function signature(provider: Provider, kind: CookieKind, value: string): string {
  return provider.mac(`cookie:${kind}:${value}`);
}

export function readCookie(
  provider: Provider,
  request: FastifyRequest,
  kind: CookieKind,
): string | undefined {
  const raw = request.cookies[cookieName(provider, kind)];
  if (raw === undefined) return undefined;
  const dot = raw.lastIndexOf('.');
  if (dot <= 0) return undefined;
  const value = raw.slice(0, dot);
  return constantTimeEqual(raw.slice(dot + 1), signature(provider, kind, value)) ? value : undefined;
}

export function setCookie(
  provider: Provider,
  reply: FastifyReply,
  kind: CookieKind,
  value: string,
  maxAgeSeconds: number | undefined,
): void {
  reply.setCookie(cookieName(provider, kind), `${value}.${signature(provider, kind, value)}`, {
    path: '/',
    httpOnly: true,
    sameSite: 'lax',
    secure: provider.secureCookies,
    ...(maxAgeSeconds === undefined ? {} : { maxAge: maxAgeSeconds }),
  });
}

/** Tells the browser to drop the cookie (logout), with the same attributes it was set with. */
export function clearCookie(provider: Provider, reply: FastifyReply, kind: CookieKind): void {
  reply.clearCookie(cookieName(provider, kind), {
    path: '/',
    httpOnly: true,
    sameSite: 'lax',
    secure: provider.secureCookies,
  });
}
