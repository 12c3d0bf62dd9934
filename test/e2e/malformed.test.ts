// Malformed requests at every endpoint: never a 5xx, JSON errors where the endpoint speaks JSON, the service stays up,
// and nothing secret reaches the log (interface.md "Errors"; RFC 6749 §3.1, §3.2, §5.2; checklist T8, D1, J1, O2).
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import {
  alice,
  demoClient,
  postClient,
  publicClient,
  startTestServer,
  type TestServer,
} from '../helpers/server.js';
import {
  authorizeUrl,
  basic,
  hiddenInputs,
  type Page,
  pkcePair,
  signIn,
  UserAgent,
} from '../helpers/user-agent.js';

// ---------------------------------------------------------------------------------------------------------------
// A raw HTTP/1.1 client: fetch refuses some of these requests (GET with a body, raw bytes in the URL).

interface RawRequest {
  method: string;
  /** Request target, sent byte for byte (latin1). */
  target: string;
  headers?: Record<string, string>;
  body?: Buffer;
}

interface RawResponse {
  status: number;
  headers: Map<string, string>;
  body: string;
}

function dechunk(data: Buffer): Buffer {
  const parts: Buffer[] = [];
  let at = 0;
  for (;;) {
    const eol = data.indexOf('\r\n', at);
    if (eol === -1) break;
    const size = Number.parseInt(data.subarray(at, eol).toString('latin1'), 16);
    if (!Number.isFinite(size) || size === 0) break;
    parts.push(data.subarray(eol + 2, eol + 2 + size));
    at = eol + 2 + size + 2;
  }
  return Buffer.concat(parts);
}

function parseResponse(raw: Buffer): RawResponse {
  const sep = raw.indexOf('\r\n\r\n');
  assert.ok(sep > 0, `no HTTP response head in ${JSON.stringify(raw.subarray(0, 200).toString('latin1'))}`);
  const [statusLine = '', ...lines] = raw.subarray(0, sep).toString('latin1').split('\r\n');
  const headers = new Map<string, string>();
  for (const line of lines) {
    const colon = line.indexOf(':');
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    headers.set(name, headers.has(name) ? `${headers.get(name)}, ${value}` : value);
  }
  let body = raw.subarray(sep + 4);
  if ((headers.get('transfer-encoding') ?? '').includes('chunked')) body = dechunk(body);
  else if (headers.has('content-length')) body = body.subarray(0, Number(headers.get('content-length')));
  return { status: Number(statusLine.split(' ')[1]), headers, body: body.toString('utf8') };
}

let t: TestServer;

function send(req: RawRequest): Promise<RawResponse> {
  const { hostname, port, host } = new URL(t.baseUrl);
  const headers: Record<string, string> = { host, connection: 'close', ...req.headers };
  // A chunked request carries no Content-Length (RFC 9112 §6.1); every other body gets one.
  if (req.body !== undefined && headers['transfer-encoding'] === undefined)
    headers['content-length'] = String(req.body.length);
  const head = `${req.method} ${req.target} HTTP/1.1\r\n${Object.entries(headers)
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('')}\r\n`;
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let failure: Error | undefined;
    const socket = connect({ host: hostname, port: Number(port) });
    socket.setTimeout(15_000, () => socket.destroy(new Error('timed out')));
    socket.on('data', (c: Buffer) => chunks.push(c));
    // The server may answer (413, 400) and close before it has read a large body: keep what arrived.
    socket.on('error', (err) => {
      failure = err;
    });
    socket.on('close', () => {
      if (chunks.length === 0) reject(failure ?? new Error('connection closed without a response'));
      else {
        try {
          resolve(parseResponse(Buffer.concat(chunks)));
        } catch (err) {
          reject(err);
        }
      }
    });
    socket.on('connect', () => {
      socket.write(Buffer.from(head, 'latin1'));
      if (req.body !== undefined) socket.write(req.body);
    });
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Values that must never be logged (checklist O2).

const secrets = new Set<string>([demoClient.client_secret, postClient.client_secret, alice.password]);
const wrongPassword = 'n0t-the-passw0rd-51c3a9';
secrets.add(wrongPassword);

function keep<T extends string | undefined>(value: T): T {
  if (value) secrets.add(value);
  return value;
}

// ---------------------------------------------------------------------------------------------------------------
// Endpoints and their well-formed base requests. Each variant breaks one thing in the base.

type Kind = 'json' | 'page' | 'public';

interface Endpoint {
  name: string;
  method: 'GET' | 'POST';
  kind: Kind;
  path: string;
  headers: Record<string, string>;
  /** Parameters of the base request (query for GET, form body for POST), form-encoded as usual. */
  fields: Record<string, string>;
  /** The parameter whose value the encoding variants replace with raw bytes. */
  target: string;
  /** For /authorize: the registered redirect URI an error may be sent to by 303. */
  redirectUri?: string;
}

const enc = (s: string) => encodeURIComponent(s);

function encodeFields(fields: Record<string, string>): string {
  return Object.entries(fields)
    .map(([k, v]) => `${enc(k)}=${enc(v)}`)
    .join('&');
}

/** The base parameters with the target's value replaced by raw (already encoded, or raw byte) data. */
function withRawTarget(e: Endpoint, raw: Buffer | string): Buffer {
  const { [e.target]: _omit, ...rest } = e.fields;
  const prefix = `${encodeFields(rest)}${Object.keys(rest).length > 0 ? '&' : ''}${enc(e.target)}=`;
  return Buffer.concat([
    Buffer.from(prefix, 'latin1'),
    typeof raw === 'string' ? Buffer.from(raw, 'latin1') : raw,
  ]);
}

const mib = 1024 * 1024;
const form = 'application/x-www-form-urlencoded';
const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');

interface Variant {
  name: string;
  /** An Authorization scheme other than Basic: at the token endpoint that is not client authentication at all. */
  otherScheme?: boolean;
  build(e: Endpoint): RawRequest;
  /** Answered by the HTTP parser before any route: only the status is checked. */
  transport?: boolean;
}

/** Encoding and size variants, applied to the parameters (body for POST, query for GET). */
const parameterVariants: [string, (e: Endpoint) => Buffer][] = [
  ['truncated percent-encoding (%E2%8)', (e) => withRawTarget(e, '%E2%8')],
  ['truncated percent-encoding at the end (%)', (e) => withRawTarget(e, 'abc%')],
  ['bad hex in percent-encoding (%ZZ)', (e) => withRawTarget(e, '%ZZ')],
  ['percent-encoded non-UTF-8 (%FF)', (e) => withRawTarget(e, '%FF')],
  ['percent-encoded overlong UTF-8 (%C0%AF)', (e) => withRawTarget(e, '%C0%AF')],
  ['percent-encoded lone surrogate (%ED%A0%80)', (e) => withRawTarget(e, '%ED%A0%80')],
  ['percent-encoded NUL (%00)', (e) => withRawTarget(e, 'a%00b')],
  ['percent-encoded control character (%1B)', (e) => withRawTarget(e, 'a%1Bb')],
  [
    'repeated parameter',
    (e) =>
      Buffer.from(`${encodeFields(e.fields)}&${enc(e.target)}=${enc(e.fields[e.target] ?? 'x')}`, 'latin1'),
  ],
];

function postVariants(): Variant[] {
  const v: Variant[] = [];
  const post = (e: Endpoint, body: Buffer | undefined, headers: Record<string, string> = {}): RawRequest => ({
    method: 'POST',
    target: e.path,
    headers: { ...e.headers, ...headers },
    ...(body === undefined ? {} : { body }),
  });
  v.push({ name: 'empty body', build: (e) => post(e, Buffer.alloc(0), { 'content-type': form }) });
  v.push({ name: 'no body and no content type', build: (e) => post(e, undefined) });
  for (const [name, body] of parameterVariants)
    v.push({ name, build: (e) => post(e, body(e), { 'content-type': form }) });
  v.push({
    name: 'invalid UTF-8 bytes in the raw body (0xff 0xfe)',
    build: (e) => post(e, withRawTarget(e, Buffer.from([0xff, 0xfe])), { 'content-type': form }),
  });
  v.push({
    name: 'raw NUL byte in the body',
    build: (e) => post(e, withRawTarget(e, Buffer.from([0x61, 0x00, 0x62])), { 'content-type': form }),
  });
  v.push({
    name: 'latin1 byte with charset=iso-8859-1',
    build: (e) =>
      post(e, withRawTarget(e, Buffer.from([0x63, 0xe9])), { 'content-type': `${form}; charset=iso-8859-1` }),
  });
  v.push({
    name: '1 MiB body',
    build: (e) => post(e, withRawTarget(e, 'A'.repeat(mib)), { 'content-type': form }),
  });
  v.push({
    name: '1 MiB body in chunks, no Content-Length',
    build: (e) => {
      const data = withRawTarget(e, 'A'.repeat(mib));
      const chunked = Buffer.concat([
        Buffer.from(`${data.length.toString(16)}\r\n`),
        data,
        Buffer.from('\r\n0\r\n\r\n'),
      ]);
      return {
        method: 'POST',
        target: e.path,
        headers: { ...e.headers, 'content-type': form, 'transfer-encoding': 'chunked' },
        body: chunked,
      };
    },
  });
  v.push({
    name: 'application/json body',
    build: (e) => post(e, Buffer.from(JSON.stringify(e.fields)), { 'content-type': 'application/json' }),
  });
  v.push({
    name: 'text/plain body',
    build: (e) => post(e, Buffer.from(encodeFields(e.fields)), { 'content-type': 'text/plain' }),
  });
  v.push({
    name: 'multipart/form-data body',
    build: (e) => {
      const boundary = 'XyZb0undary';
      const parts = Object.entries(e.fields)
        .map(([k, val]) => `--${boundary}\r\nContent-Disposition: form-data; name="${k}"\r\n\r\n${val}\r\n`)
        .join('');
      return post(e, Buffer.from(`${parts}--${boundary}--\r\n`), {
        'content-type': `multipart/form-data; boundary=${boundary}`,
      });
    },
  });
  v.push({
    name: 'form body without a content type',
    build: (e) => post(e, Buffer.from(encodeFields(e.fields))),
  });
  v.push({
    name: 'garbage content type',
    build: (e) => post(e, Buffer.from(encodeFields(e.fields)), { 'content-type': ';;;/==' }),
  });
  for (const [name, query] of [
    ['query with truncated percent-encoding', '?code=%E2%8'],
    ['query with %FF', '?x=%FF'],
    ['query with %00', '?a=%00'],
  ] as const) {
    v.push({
      name,
      build: (e) => ({
        ...post(e, Buffer.from(encodeFields(e.fields)), { 'content-type': form }),
        target: `${e.path}${query}`,
      }),
    });
  }
  for (const [name, value, otherScheme] of authorizationVariants)
    v.push({
      name,
      otherScheme: otherScheme === true,
      build: (e) =>
        post(e, Buffer.from(encodeFields(e.fields)), { 'content-type': form, authorization: value }),
    });
  return v;
}

const authorizationVariants: [string, string, boolean?][] = [
  ['Authorization: Basic (no credentials)', 'Basic'],
  ['Authorization: Basic !!!', 'Basic !!!'],
  ['Authorization: Basic base64("nocolon")', `Basic ${b64('nocolon')}`],
  ['Authorization: Basic base64(":secret")', `Basic ${b64(':secret')}`],
  ['Authorization: Basic with bad percent-encoding inside', `Basic ${b64('web:%E2%8')}`],
  ['Authorization: Bearer (empty)', 'Bearer ', true],
  ['Authorization: Basic of 10 KB', `Basic ${'QUFB'.repeat(2560)}`],
  ['Authorization: Bearer of 10 KB', `Bearer ${'A'.repeat(10 * 1024)}`, true],
  ['Authorization: unknown scheme', 'Negotiate abc', true],
];

function getVariants(): Variant[] {
  const v: Variant[] = [];
  const get = (e: Endpoint, query: Buffer | string, headers: Record<string, string> = {}): RawRequest => {
    const q = typeof query === 'string' ? query : query.toString('latin1');
    return {
      method: 'GET',
      target: q === '' ? e.path : `${e.path}?${q}`,
      headers: { ...e.headers, ...headers },
    };
  };
  v.push({ name: 'no query', build: (e) => get(e, '') });
  v.push({ name: 'empty query (?)', build: (e) => ({ ...get(e, ''), target: `${e.path}?` }) });
  for (const [name, query] of parameterVariants) v.push({ name, build: (e) => get(e, query(e)) });
  v.push({
    name: 'raw non-ASCII byte (0xff) in the query',
    build: (e) => get(e, withRawTarget(e, Buffer.from([0xff, 0xfe]))),
    transport: true,
  });
  v.push({ name: '8 KB query', build: (e) => get(e, withRawTarget(e, 'A'.repeat(8 * 1024))) });
  v.push({
    name: '20 KB query (beyond the HTTP header limit)',
    build: (e) => get(e, withRawTarget(e, 'A'.repeat(20 * 1024))),
    transport: true,
  });
  v.push({
    name: 'GET with a 1 MiB form body',
    build: (e) => ({
      ...get(e, encodeFields(e.fields)),
      headers: { ...e.headers, 'content-type': form },
      body: Buffer.from(`a=${'A'.repeat(mib)}`),
    }),
  });
  for (const [name, value, otherScheme] of authorizationVariants)
    v.push({
      name,
      otherScheme: otherScheme === true,
      build: (e) => get(e, encodeFields(e.fields), { authorization: value }),
    });
  return v;
}

// ---------------------------------------------------------------------------------------------------------------
// What every answer must look like.

function assertJsonError(res: RawResponse, label: string): void {
  assert.match(res.headers.get('content-type') ?? '', /^application\/json/, `${label}: content type`);
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(res.body) as Record<string, unknown>;
  } catch {
    assert.fail(`${label}: body is not JSON: ${res.body.slice(0, 200)}`);
  }
  assert.equal(typeof json.error, 'string', `${label}: error in ${res.body.slice(0, 300)}`);
  assert.equal(
    typeof json.error_description,
    'string',
    `${label}: error_description in ${res.body.slice(0, 300)}`,
  );
}

function assertAnswer(e: Endpoint, variant: Variant, res: RawResponse): void {
  const label = `${e.method} ${e.name}, ${variant.name}: ${res.status} ${res.body.slice(0, 200)}`;
  assert.ok(Number.isInteger(res.status) && res.status > 0, label);
  assert.ok(res.status < 500, `5xx: ${label}`);
  if (variant.transport) {
    assert.ok(res.status >= 400, label);
    return;
  }
  if (e.kind === 'public' && e.method === 'GET' && res.status === 200) return;
  if (e.kind === 'page' && e.redirectUri !== undefined && res.status === 303) {
    // An authorization error may go back to the (registered, exactly matching) redirect URI.
    const location = new URL(res.headers.get('location') ?? '');
    assert.equal(`${location.origin}${location.pathname}`, e.redirectUri, label);
    assert.ok(location.searchParams.get('error'), label);
    assert.equal(location.searchParams.get('code'), null, label);
    return;
  }
  assert.ok(res.status >= 400 && res.status < 500, `expected 4xx: ${label}`);
  if (e.kind === 'page') {
    assert.equal(res.headers.get('location'), undefined, label);
    return;
  }
  assertJsonError(res, label);
}

// ---------------------------------------------------------------------------------------------------------------

let endpoints: Endpoint[] = [];

async function freshCode(ua: UserAgent, client: 'web' | 'poster'): Promise<string> {
  const redirectUri = client === 'web' ? demoClient.redirect_uris[0] : postClient.redirect_uris[0];
  const callback = await signIn(
    ua,
    authorizeUrl(t.issuer, {
      response_type: 'code',
      client_id: client,
      redirect_uri: redirectUri as string,
      scope: 'openid email',
      state: 's',
    }),
  );
  return keep(callback.searchParams.get('code') ?? '');
}

before(async () => {
  t = await startTestServer();
  const issuer = t.issuer;
  const path = (p: string) => `${new URL(issuer).pathname}${p}`;

  // A real sign-in: codes and tokens that the log check looks for, and a live access token for /userinfo.
  const webUa = new UserAgent();
  const posterUa = new UserAgent();
  const webCode = await freshCode(webUa, 'web');
  const tokenRes = await fetch(`${issuer}/token`, {
    method: 'POST',
    headers: { 'content-type': form, authorization: basic('web', demoClient.client_secret) },
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      code: webCode,
      redirect_uri: 'https://rp.example/cb',
    }),
  });
  const tokens = (await tokenRes.json()) as Record<string, string>;
  assert.equal(tokenRes.status, 200);
  const accessToken = keep(tokens.access_token) as string;
  keep(tokens.id_token);
  // A second live code for each client, used in the bodies of the malformed token requests.
  const liveWebCode = await freshCode(webUa, 'web');
  const livePosterCode = await freshCode(posterUa, 'poster');

  // A pending interaction with its binding cookie and CSRF token, for the login form endpoint.
  const ua = new UserAgent();
  const pkce = pkcePair();
  const login: Page = await ua.follow(
    authorizeUrl(issuer, {
      response_type: 'code',
      client_id: 'spa',
      redirect_uri: publicClient.redirect_uris[0] as string,
      scope: 'openid',
      code_challenge: pkce.challenge,
      code_challenge_method: 'S256',
    }),
    new URL(issuer).origin,
  );
  assert.equal(login.status, 200);
  const csrf = hiddenInputs(login.body).csrf ?? '';
  const interactionPath = new URL(login.url).pathname;

  const authorizeFields = {
    response_type: 'token',
    client_id: 'web',
    redirect_uri: 'https://rp.example/cb',
    scope: 'openid',
    state: 'st',
  };
  endpoints = [
    {
      name: '/authorize',
      method: 'GET',
      kind: 'page',
      path: path('/authorize'),
      headers: {},
      fields: authorizeFields,
      target: 'state',
      redirectUri: 'https://rp.example/cb',
    },
    {
      name: '/authorize',
      method: 'POST',
      kind: 'page',
      path: path('/authorize'),
      headers: {},
      fields: authorizeFields,
      target: 'state',
      redirectUri: 'https://rp.example/cb',
    },
    {
      name: '/interaction/:uid',
      method: 'POST',
      kind: 'page',
      path: interactionPath,
      headers: { cookie: ua.cookieHeader() },
      fields: { csrf, username: 'alice', password: wrongPassword },
      target: 'username',
    },
    {
      name: '/token (client_secret_basic)',
      method: 'POST',
      kind: 'json',
      path: path('/token'),
      headers: { authorization: basic('web', demoClient.client_secret) },
      fields: { grant_type: 'authorization_code', code: liveWebCode, redirect_uri: 'https://rp.example/cb' },
      target: 'code',
    },
    {
      name: '/token (client_secret_post)',
      method: 'POST',
      kind: 'json',
      path: path('/token'),
      headers: {},
      fields: {
        grant_type: 'authorization_code',
        code: livePosterCode,
        redirect_uri: 'https://poster.example/cb',
        client_id: 'poster',
        client_secret: postClient.client_secret,
      },
      target: 'code',
    },
    {
      name: '/userinfo',
      method: 'GET',
      kind: 'json',
      path: path('/userinfo'),
      headers: { authorization: 'Bearer not-a-valid-access-token' },
      fields: { x: '1' },
      target: 'x',
    },
    {
      name: '/userinfo',
      method: 'POST',
      kind: 'json',
      path: path('/userinfo'),
      headers: {},
      fields: { access_token: accessToken },
      target: 'access_token',
    },
    {
      name: '/.well-known/openid-configuration',
      method: 'GET',
      kind: 'public',
      path: path('/.well-known/openid-configuration'),
      headers: {},
      fields: { x: '1' },
      target: 'x',
    },
    {
      name: '/.well-known/openid-configuration',
      method: 'POST',
      kind: 'public',
      path: path('/.well-known/openid-configuration'),
      headers: {},
      fields: { x: '1' },
      target: 'x',
    },
    {
      name: '/jwk',
      method: 'GET',
      kind: 'public',
      path: path('/jwk'),
      headers: {},
      fields: { x: '1' },
      target: 'x',
    },
    {
      name: '/jwk',
      method: 'POST',
      kind: 'public',
      path: path('/jwk'),
      headers: {},
      fields: { x: '1' },
      target: 'x',
    },
    {
      name: 'unknown path under the provider',
      method: 'GET',
      kind: 'json',
      path: path('/nope'),
      headers: {},
      fields: { x: '1' },
      target: 'x',
    },
    {
      name: 'unknown path under the provider',
      method: 'POST',
      kind: 'json',
      path: path('/nope'),
      headers: {},
      fields: { x: '1' },
      target: 'x',
    },
    {
      name: 'token endpoint of an unknown provider',
      method: 'POST',
      kind: 'json',
      path: '/oidc/endpoint/ghost/token',
      headers: {},
      fields: { grant_type: 'authorization_code', code: 'x' },
      target: 'code',
    },
    {
      name: 'unknown top-level path',
      method: 'GET',
      kind: 'json',
      path: '/nope',
      headers: {},
      fields: { x: '1' },
      target: 'x',
    },
  ];
});
after(() => t.close());

describe('malformed requests never get a 5xx', () => {
  // The endpoint list is built in `before` (it needs live codes); the variants are fixed, so the tests are
  // declared per endpoint shape and look their endpoint up by index when they run.
  // The last column marks the token endpoint, where the Authorization header is client authentication: an
  // unknown scheme there is no credential at all, so the body's own client authentication may legitimately succeed.
  const shapes: [number, string, 'GET' | 'POST', boolean][] = [
    [0, '/authorize', 'GET', false],
    [1, '/authorize', 'POST', false],
    [2, '/interaction/:uid', 'POST', false],
    [3, '/token (client_secret_basic)', 'POST', true],
    [4, '/token (client_secret_post)', 'POST', true],
    [5, '/userinfo', 'GET', false],
    [6, '/userinfo', 'POST', false],
    [7, '/.well-known/openid-configuration', 'GET', false],
    [8, '/.well-known/openid-configuration', 'POST', false],
    [9, '/jwk', 'GET', false],
    [10, '/jwk', 'POST', false],
    [11, 'unknown path under the provider', 'GET', false],
    [12, 'unknown path under the provider', 'POST', false],
    [13, 'token endpoint of an unknown provider', 'POST', false],
    [14, 'unknown top-level path', 'GET', false],
  ];
  for (const [index, name, method, tokenEndpoint] of shapes) {
    describe(`${method} ${name}`, () => {
      for (const variant of method === 'GET' ? getVariants() : postVariants()) {
        if (tokenEndpoint && variant.otherScheme) continue;
        test(variant.name, async () => {
          const e = endpoints[index];
          assert.ok(e && e.name === name && e.method === method, 'endpoint table in order');
          assertAnswer(e, variant, await send(variant.build(e)));
        });
      }
    });
  }
});

describe('malformed request paths', () => {
  const base = '/oidc/endpoint/default';
  for (const [label, target, kind] of [
    ['truncated percent-encoding in an unknown path', `${base}/%E2%8`, 'json'],
    ['%FF in an unknown path', `${base}/%FF`, 'json'],
    ['%00 in an unknown path', `${base}/%00`, 'json'],
    // Refused by the HTTP parser before routing: only the status is checked.
    ['raw byte 0xff in an unknown path', `${base}/\xff`, 'transport'],
    ['dot segments', `${base}/../../../etc/passwd`, 'json'],
    ['encoded dot segments', `${base}/%2e%2e/%2e%2e/token`, 'json'],
    ['double slash', `${base}//token`, 'json'],
    ['trailing slash on /token', `${base}/token/`, 'json'],
    ['truncated percent-encoding in the interaction id', `${base}/interaction/%E2%8`, 'page'],
    ['%FF in the interaction id', `${base}/interaction/%FF`, 'page'],
    ['%00 in the interaction id', `${base}/interaction/%00`, 'page'],
    ['a 300-character interaction id', `${base}/interaction/${'a'.repeat(300)}`, 'page'],
    ['an unknown interaction id', `${base}/interaction/unknown`, 'page'],
  ] as const) {
    for (const method of ['GET', 'POST']) {
      test(`${method} ${label}`, async () => {
        const res = await send({
          method,
          target,
          headers: method === 'POST' ? { 'content-type': form } : {},
          ...(method === 'POST' ? { body: Buffer.from('a=b') } : {}),
        });
        const label2 = `${method} ${label}: ${res.status} ${res.body.slice(0, 200)}`;
        assert.ok(res.status >= 400 && res.status < 500, label2);
        if (kind === 'json') assertJsonError(res, label2);
      });
    }
  }
});

describe('hostile headers do not change what the provider says (checklist D1, J1)', () => {
  for (const [label, headers] of [
    ['Host: evil.example', { host: 'evil.example' }],
    ['X-Forwarded-Host: evil.example', { 'x-forwarded-host': 'evil.example', 'x-forwarded-proto': 'https' }],
    ['Forwarded: host=evil.example', { forwarded: 'host=evil.example;proto=https' }],
  ] as const) {
    test(`discovery with ${label}: issuer and endpoints unchanged (or refused)`, async () => {
      const res = await send({
        method: 'GET',
        target: `${new URL(t.issuer).pathname}/.well-known/openid-configuration`,
        headers,
      });
      assert.ok(res.status < 500, `${res.status}`);
      if (res.status !== 200) return;
      const doc = JSON.parse(res.body) as Record<string, unknown>;
      assert.equal(doc.issuer, t.issuer);
      for (const key of ['authorization_endpoint', 'token_endpoint', 'userinfo_endpoint', 'jwks_uri'])
        assert.ok(String(doc[key]).startsWith(`${t.issuer}/`), `${key}: ${String(doc[key])}`);
      assert.ok(!res.body.includes('evil.example'));
    });
  }

  test('the login redirect and the iss of an error redirect do not follow the Host header', async () => {
    const query = new URLSearchParams({
      response_type: 'token',
      client_id: 'web',
      redirect_uri: 'https://rp.example/cb',
      scope: 'openid',
      state: 's',
    });
    const res = await send({
      method: 'GET',
      target: `${new URL(t.issuer).pathname}/authorize?${query.toString()}`,
      headers: { host: 'evil.example', 'x-forwarded-host': 'evil.example' },
    });
    assert.ok(res.status < 500);
    if (res.status === 303) {
      const location = new URL(res.headers.get('location') ?? '');
      assert.equal(location.searchParams.get('iss'), t.issuer);
    }
  });

  test('the JWK Set holds public keys only, each with a kid', async () => {
    const res = await send({ method: 'GET', target: `${new URL(t.issuer).pathname}/jwk` });
    assert.equal(res.status, 200);
    const jwks = JSON.parse(res.body) as { keys: Record<string, unknown>[] };
    assert.ok(jwks.keys.length > 0);
    for (const key of jwks.keys) {
      assert.equal(typeof key.kid, 'string');
      for (const member of ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k', 'oth'])
        assert.equal(key[member], undefined, `private member ${member}`);
    }
  });
});

describe('what the log keeps of a request target', () => {
  test('a fragment in the request target is not logged (it may carry a token); a huge path is clipped', async () => {
    const base = new URL(t.issuer).pathname;
    const fragmentToken = keep('fragment-token-0123456789abcdef');
    const res = await send({ method: 'GET', target: `${base}/userinfo#access_token=${fragmentToken}` });
    assert.ok(res.status < 500);
    const long = `${base}/${'x'.repeat(4000)}`;
    assert.equal((await send({ method: 'GET', target: long })).status, 404);
    assert.ok(
      !t.logs.some((l) => l.includes('x'.repeat(1000))),
      'a 4,000-character path is not logged whole',
    );
  });
});

describe('afterwards', () => {
  test('GET /healthz still answers 200', async () => {
    const res = await fetch(`${t.baseUrl}/healthz`);
    assert.equal(res.status, 200);
  });

  test('a normal sign-in and token request still work', async () => {
    const ua = new UserAgent();
    const code = await freshCode(ua, 'web');
    const res = await fetch(`${t.issuer}/token`, {
      method: 'POST',
      headers: { 'content-type': form, authorization: basic('web', demoClient.client_secret) },
      body: new URLSearchParams({
        grant_type: 'authorization_code',
        code,
        redirect_uri: 'https://rp.example/cb',
      }),
    });
    assert.equal(res.status, 200);
    const json = (await res.json()) as Record<string, string>;
    keep(json.access_token);
    keep(json.id_token);
  });

  test('the server logged no 5xx (no line at level error or above)', () => {
    const errors = t.logs.filter((l) => ((JSON.parse(l) as { level?: number }).level ?? 0) >= 50);
    assert.deepEqual(
      errors.map((l) => l.slice(0, 300)),
      [],
    );
  });

  test('no code, token, client secret or password is in the log, nor password= or client_secret=', () => {
    assert.ok(t.logs.length > 100, `log lines: ${t.logs.length}`);
    assert.ok(secrets.size >= 8, `values collected: ${secrets.size}`);
    for (const line of t.logs) {
      for (const value of secrets)
        assert.ok(!line.includes(value), `log line holds a secret: ${line.slice(0, 300)}`);
      assert.ok(!line.includes('password='), line.slice(0, 300));
      assert.ok(!line.includes('client_secret='), line.slice(0, 300));
    }
  });
});
