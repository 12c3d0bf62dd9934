// The scenarios of the side-by-side bench (issue 9 point 1): the request each sends under load, and the check its
// response must pass once before load (status, JSON members, an ID token verified against the server's JWKS).
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { basicAuth, benchClient, benchUser } from './fixtures.js';
import type { Alg, MintKind, Target } from './target.js';

export interface LoadRequest {
  method: 'GET' | 'POST';
  /** Absolute URL of the endpoint. */
  url: string;
  headers: Record<string, string>;
  /** `{token}` stands for the minted code or token, here or in a header. */
  body: string | undefined;
}

export interface Scenario {
  id: string;
  title: string;
  alg: Alg;
  /** What each request needs minted beforehand; undefined: nothing (client_credentials) or a browser flow. */
  mint: MintKind | undefined;
  /** Single-use values (codes, rotating refresh tokens) are never sent twice; bearer tokens go round a pool. */
  reuse: boolean;
  /** The browser flow is driven by bench/browser-flow.ts instead of autocannon. */
  browser: boolean;
  request(t: Target): LoadRequest;
  verify(t: Target, status: number, body: unknown, presented: string | undefined): Promise<void>;
}

const form = { 'content-type': 'application/x-www-form-urlencoded', authorization: basicAuth };
const redirect = encodeURIComponent(benchClient.redirectUri);

function fail(message: string): never {
  throw new Error(message);
}

function object(body: unknown): Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    fail('the response is not a JSON object');
  return body as Record<string, unknown>;
}

function isJwt(value: unknown): boolean {
  return typeof value === 'string' && value.split('.').length === 3;
}

/** Verifies an ID token against the target's published JWKS: signature, algorithm, issuer, audience, subject. */
export async function verifyIdToken(
  t: Target,
  alg: Alg,
  idToken: unknown,
  nonce: string | undefined,
): Promise<void> {
  if (typeof idToken !== 'string') fail('no id_token');
  const header = decodeProtectedHeader(idToken);
  if (header.alg !== alg) fail(`id_token signed with ${header.alg}, expected ${alg}`);
  const { payload } = await jwtVerify(idToken, createRemoteJWKSet(new URL(t.endpoints.jwks)), {
    issuer: t.issuer,
    audience: benchClient.id,
    algorithms: [alg],
  });
  if (payload.sub !== benchUser.sub) fail(`id_token sub ${payload.sub}`);
  if (nonce !== undefined && payload.nonce !== nonce) fail('id_token nonce differs');
}

/** A successful token response (RFC 6749 §5.1) with an opaque access token. */
export async function verifyTokenResponse(
  t: Target,
  alg: Alg,
  status: number,
  body: unknown,
  expect: { idToken: boolean; nonce?: string; refreshedFrom?: string },
): Promise<void> {
  if (status !== 200) fail(`status ${status}: ${JSON.stringify(body)}`);
  const b = object(body);
  if (typeof b.access_token !== 'string' || isJwt(b.access_token)) fail('no opaque access_token');
  if (String(b.token_type).toLowerCase() !== 'bearer') fail(`token_type ${b.token_type}`);
  if (typeof b.expires_in !== 'number') fail('no expires_in');
  if (expect.idToken) await verifyIdToken(t, alg, b.id_token, expect.nonce);
  if (expect.refreshedFrom !== undefined) {
    if (typeof b.refresh_token !== 'string') fail('no refresh_token');
    if (b.refresh_token === expect.refreshedFrom) fail('the refresh token was not rotated');
  }
}

function codeExchange(alg: Alg): Scenario {
  return {
    id: `code-${alg.toLowerCase()}`,
    title: `authorization-code exchange, ${alg} ID token`,
    alg,
    mint: 'code',
    reuse: false,
    browser: false,
    request: (t) => ({
      method: 'POST',
      url: t.endpoints.token,
      headers: form,
      body: `grant_type=authorization_code&code={token}&redirect_uri=${redirect}`,
    }),
    verify: (t, status, body) => verifyTokenResponse(t, alg, status, body, { idToken: true, nonce: 'n' }),
  };
}

export const scenarios: Scenario[] = [
  codeExchange('RS256'),
  codeExchange('ES256'),
  {
    id: 'refresh',
    title: 'refresh with rotation, RS256 ID token',
    alg: 'RS256',
    mint: 'refresh',
    reuse: false,
    browser: false,
    request: (t) => ({
      method: 'POST',
      url: t.endpoints.token,
      headers: form,
      body: 'grant_type=refresh_token&refresh_token={token}',
    }),
    verify: (t, status, body, presented) =>
      verifyTokenResponse(t, 'RS256', status, body, {
        idToken: true,
        ...(presented !== undefined ? { refreshedFrom: presented } : {}),
      }),
  },
  {
    id: 'client-credentials',
    title: 'client_credentials, opaque access token',
    alg: 'RS256',
    mint: undefined,
    reuse: true,
    browser: false,
    request: (t) => ({
      method: 'POST',
      url: t.endpoints.token,
      headers: form,
      body: 'grant_type=client_credentials',
    }),
    verify: (t, status, body) => verifyTokenResponse(t, 'RS256', status, body, { idToken: false }),
  },
  {
    id: 'userinfo',
    title: 'UserInfo (GET, Bearer)',
    alg: 'RS256',
    mint: 'access',
    reuse: true,
    browser: false,
    request: (t) => ({
      method: 'GET',
      url: t.endpoints.userinfo,
      headers: { authorization: 'Bearer {token}' },
      body: undefined,
    }),
    async verify(_t, status, body) {
      if (status !== 200) fail(`status ${status}: ${JSON.stringify(body)}`);
      const b = object(body);
      if (b.sub !== benchUser.sub) fail(`sub ${b.sub}`);
      if (b.email !== benchUser.claims.email) fail('no email claim');
    },
  },
  {
    id: 'introspection',
    title: 'introspection of an access token',
    alg: 'RS256',
    mint: 'access',
    reuse: true,
    browser: false,
    request: (t) => ({
      method: 'POST',
      url: t.endpoints.introspection,
      headers: form,
      body: 'token={token}',
    }),
    async verify(_t, status, body) {
      if (status !== 200) fail(`status ${status}: ${JSON.stringify(body)}`);
      const b = object(body);
      if (b.active !== true) fail('not active');
      if (b.client_id !== benchClient.id) fail(`client_id ${b.client_id}`);
      if (b.sub !== benchUser.sub) fail(`sub ${b.sub}`);
    },
  },
  {
    id: 'browser-flow',
    title: 'browser flow: authorize, login, consent, token (flows/s)',
    alg: 'RS256',
    mint: undefined,
    reuse: true,
    browser: true,
    // Driven by bench/browser-flow.ts; the token response it ends with is checked like a code exchange's.
    request: (t) => ({ method: 'GET', url: t.endpoints.authorization, headers: {}, body: undefined }),
    verify: (t, status, body) => verifyTokenResponse(t, 'RS256', status, body, { idToken: true }),
  },
];
