// A minimal browser for tests: a cookie jar, manual redirects, and the login and consent forms of interface.md.
import { createHash, randomBytes } from 'node:crypto';

export interface Page {
  status: number;
  url: string;
  headers: Headers;
  body: string;
}

/** Hidden inputs of the first form on a page (the CSRF token among them). */
export function hiddenInputs(html: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of html.matchAll(/<input[^>]*type="hidden"[^>]*>/g)) {
    const name = /name="([^"]*)"/.exec(m[0])?.[1];
    const value = /value="([^"]*)"/.exec(m[0])?.[1];
    if (name !== undefined)
      out[name] = (value ?? '').replace(/&#(\d+);/g, (_s, c: string) => String.fromCharCode(Number(c)));
  }
  return out;
}

export class UserAgent {
  /** name → value, for the one host the tests talk to. */
  readonly cookies = new Map<string, string>();

  private store(headers: Headers): void {
    for (const line of headers.getSetCookie()) {
      const [pair = '', ...attrs] = line.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      const expired = attrs.some(
        (a) => /^\s*max-age=0\s*$/i.test(a) || /^\s*expires=Thu, 01 Jan 1970/i.test(a),
      );
      if (expired || value === '') this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }

  cookieHeader(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  async request(url: string, init: RequestInit = {}): Promise<Page> {
    const headers = new Headers(init.headers);
    if (this.cookies.size > 0) headers.set('cookie', this.cookieHeader());
    const res = await fetch(url, { ...init, headers, redirect: 'manual' });
    this.store(res.headers);
    return { status: res.status, url, headers: res.headers, body: await res.text() };
  }

  get(url: string): Promise<Page> {
    return this.request(url);
  }

  post(url: string, form: Record<string, string>, headers: Record<string, string> = {}): Promise<Page> {
    return this.request(url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
      body: new URLSearchParams(form).toString(),
    });
  }

  /** Follows redirects that stay on the provider; stops at the first page or at a redirect elsewhere. */
  async follow(url: string, providerOrigin: string): Promise<Page> {
    let page = await this.get(url);
    for (let i = 0; i < 10; i++) {
      const location = page.headers.get('location');
      if (page.status < 300 || page.status >= 400 || !location) return page;
      const next = new URL(location, page.url).href;
      if (!next.startsWith(providerOrigin)) return page;
      page = await this.get(next);
    }
    throw new Error('too many redirects');
  }

  /** Submits the form on `page` with extra fields, keeping its hidden inputs. */
  submit(page: Page, fields: Record<string, string>, headers: Record<string, string> = {}): Promise<Page> {
    return this.post(page.url, { ...hiddenInputs(page.body), ...fields }, headers);
  }
}

export interface SignInOptions {
  username?: string;
  password?: string;
  decision?: 'allow' | 'deny';
}

/** The response a client gets: a redirect (query or fragment) or a form_post page's fields. */
export type ClientResponse =
  | { kind: 'redirect'; location: URL }
  | { kind: 'form_post'; action: string; fields: Record<string, string>; page: Page };

/** A form_post response page: its form's target and hidden fields (OAuth 2.0 Form Post Response Mode §2). */
export function formPostOf(page: Page): { action: string; fields: Record<string, string> } | undefined {
  if (page.status !== 200) return undefined;
  const action = /<form method="post" action="([^"]+)"/.exec(page.body)?.[1];
  if (action === undefined) return undefined;
  return {
    action: action.replace(/&#(\d+);/g, (_s, c: string) => String.fromCharCode(Number(c))),
    fields: hiddenInputs(page.body),
  };
}

/**
 * Runs the browser side of an authorization request: login (if shown) and consent (if shown), returning the
 * URL the provider finally redirects to (the client's redirect URI with code or error).
 */
export async function signIn(
  ua: UserAgent,
  authorizationUrl: string,
  options: SignInOptions = {},
): Promise<URL> {
  const response = await authorize(ua, authorizationUrl, options);
  if (response.kind !== 'redirect')
    throw new Error(`expected a redirect, got a form_post to ${response.action}`);
  return response.location;
}

/** Like signIn, for any response mode: the redirect, or the auto-submitting form_post page. */
export async function authorize(
  ua: UserAgent,
  authorizationUrl: string,
  options: SignInOptions = {},
): Promise<ClientResponse> {
  const origin = new URL(authorizationUrl).origin;
  let page = await ua.follow(authorizationUrl, origin);
  for (let i = 0; i < 4; i++) {
    if (page.status === 303 || page.status === 302) {
      const location = new URL(page.headers.get('location') ?? '', page.url);
      if (!location.href.startsWith(origin)) return { kind: 'redirect', location };
      page = await ua.follow(location.href, origin);
      continue;
    }
    const form = formPostOf(page);
    if (form) return { kind: 'form_post', ...form, page };
    if (page.status !== 200 && page.status !== 401)
      throw new Error(`unexpected ${page.status}: ${page.body.slice(0, 300)}`);
    if (page.body.includes('name="password"')) {
      page = await ua.submit(page, {
        username: options.username ?? 'alice',
        password: options.password ?? 'alice-password',
      });
      if (page.status === 401) throw new Error('login failed');
    } else if (page.body.includes('name="decision"')) {
      page = await ua.submit(page, { decision: options.decision ?? 'allow' });
    } else {
      throw new Error(`unexpected page: ${page.body.slice(0, 300)}`);
    }
  }
  throw new Error('sign-in did not finish');
}

export interface CodeRequest {
  clientId: string;
  redirectUri: string;
  scope: string;
  /** S256 challenge; omitted for a request without PKCE. */
  challenge?: string;
  state?: string;
  nonce?: string;
  /** RFC 8707 resources, one `resource` parameter each. */
  resource?: string[];
  /** The browser to use (its session and consent carry over); a fresh one by default. */
  ua?: UserAgent;
  signIn?: SignInOptions;
}

/** Runs login and consent for an authorization request and returns the code; fails the test without one. */
export async function obtainCode(issuer: string, req: CodeRequest): Promise<string> {
  const url = new URL(
    authorizeUrl(issuer, {
      response_type: 'code',
      client_id: req.clientId,
      redirect_uri: req.redirectUri,
      scope: req.scope,
      state: req.state ?? 'st',
      ...(req.nonce ? { nonce: req.nonce } : {}),
      ...(req.challenge ? { code_challenge: req.challenge, code_challenge_method: 'S256' } : {}),
    }),
  );
  for (const r of req.resource ?? []) url.searchParams.append('resource', r);
  const cb = await signIn(req.ua ?? new UserAgent(), url.href, req.signIn);
  const code = cb.searchParams.get('code');
  if (!code) throw new Error(`no code: ${cb.href}`);
  return code;
}

export function pkcePair(): { verifier: string; challenge: string } {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

export function authorizeUrl(issuer: string, params: Record<string, string>): string {
  const url = new URL(`${issuer}/authorize`);
  for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
  return url.href;
}

export function basic(clientId: string, secret: string): string {
  const enc = (s: string) => encodeURIComponent(s).replace(/%20/g, '+');
  return `Basic ${Buffer.from(`${enc(clientId)}:${enc(secret)}`).toString('base64')}`;
}

/** A form POST; URLSearchParams lets a parameter repeat (RFC 8707 `resource`). */
export async function postForm(
  url: string,
  form: Record<string, string> | URLSearchParams,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: Headers; json: Record<string, unknown> }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(form).toString(),
  });
  const text = await res.text();
  let json: Record<string, unknown> = {};
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    json = { raw: text };
  }
  return { status: res.status, headers: res.headers, json };
}
