// fast-check arbitraries of hostile HTTP requests for every Gatehouse endpoint (issue 8 point 9, checklist C3, O2).
import fc from 'fast-check';
import type { RawRequest } from './fuzz-http.js';

/** What the test obtained before fuzzing: real credentials and artifacts, mixed in so requests reach deep paths. */
export interface RealValues {
  /** `host:port` of the server. */
  host: string;
  /** Path of the provider, `/oidc/endpoint/default`. */
  base: string;
  /** Confidential clients with their secrets: [client_id, secret, method]. */
  clients: [string, string, 'basic' | 'post'][];
  publicClientId: string;
  redirectUris: string[];
  /** Unredeemed codes of the basic client, with their PKCE verifiers. */
  codes: { code: string; verifier: string; challenge: string }[];
  accessTokens: string[];
  refreshTokens: string[];
  idTokens: string[];
  /** client_secret_jwt assertions (valid, wrong audience, expired ...) of `assertionClientId`. */
  assertionClientId: string;
  assertions: string[];
  /** Pending login pages: their path, the browser's cookie header and the page's CSRF token. */
  interactions: { path: string; cookie: string; csrf: string }[];
  /** `name=value` of a signed-in browser's cookies (session and binding). */
  sessionCookie: string;
  /**
   * Another browser's session and its ID tokens, for /end_session: a logout there ends that session and revokes its
   * tokens, so the main session (and the tokens obtained through it) stays for the other endpoints.
   */
  logoutSessionCookie: string;
  logoutIdTokens: string[];
  sessionCookieName: string;
  bindCookieName: string;
  registered: { clientId: string; secret: string; accessToken: string };
  username: string;
  password: string;
}

export type EndpointName =
  | 'discovery'
  | 'jwk'
  | 'authorize'
  | 'interaction'
  | 'token'
  | 'introspect'
  | 'revoke'
  | 'userinfo'
  | 'end_session'
  | 'registration'
  | 'registration/:id'
  | 'healthz'
  | 'metrics'
  | 'unknown';

export interface FuzzRequest extends RawRequest {
  endpoint: EndpointName;
}

type Pair = [string, string];

/** HTTP Basic as RFC 6749 §2.3.1 has it (form-encoded id and secret), for any string, lone surrogates included. */
function basic(id: string, secret: string): string {
  return `Basic ${Buffer.from(`${pct(id, true)}:${pct(secret, true)}`, 'latin1').toString('base64')}`;
}
type Headers = [string, string][];

// ---------------------------------------------------------------------------------------------------------------
// Values

const oddConstants = [
  '',
  ' ',
  '\u0000',
  'a\u0000b',
  '\r\n',
  '\t',
  '\u001b[31m',
  '\u007f',
  '%',
  '%ZZ',
  '%E2%8',
  '%FF',
  '%C0%AF',
  '%ED%A0%80',
  '%00',
  '%25',
  '\uD800',
  '\uDFFF',
  '\uFEFF',
  '\u202E',
  'é',
  '日本語',
  '💥',
  '../../../../etc/passwd',
  '<script>alert(1)</script>',
  '"><img src=x>',
  "' OR '1'='1",
  '"; DROP TABLE tokens; --',
  '{}',
  '[]',
  'null',
  'undefined',
  'true',
  'NaN',
  '-1',
  '0',
  '1e309',
  '99999999999999999999999999',
  '__proto__',
  'constructor',
  'javascript:alert(1)',
  'http://127.0.0.1:1/',
  'https://10.0.0.1/x',
  'data:text/html,x',
  'eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.',
  `eyJhbGciOiJIUzI1NiJ9.e30.${'A'.repeat(43)}`,
  'a.b.c.d.e',
  '....',
  'openid openid openid',
  'S256',
  'plain',
];

/** A hostile string: random, any code point (lone surrogates included), odd constants, huge, percent-broken, or a real public value. */
function hostileString(real: RealValues): fc.Arbitrary<string> {
  const reals = realList(real);
  return fc.oneof(
    { weight: 4, arbitrary: fc.string({ maxLength: 40 }) },
    { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
    { weight: 3, arbitrary: fc.constantFrom(...oddConstants) },
    { weight: 1, arbitrary: fc.integer({ min: 256, max: 20_000 }).map((n) => 'A'.repeat(n)) },
    {
      weight: 1,
      arbitrary: fc.string({
        unit: fc.constantFrom('%', '0', 'F', 'e', '2', '8', 'Z', '+', '&', '=', ';', ' '),
        maxLength: 20,
      }),
    },
    { weight: 2, arbitrary: fc.constantFrom(...reals) },
    { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v) ?? 'null') },
  );
}

/**
 * The real values that are not secret (client ids, redirect URIs, the username, a PKCE challenge): any parameter may
 * carry them. Secrets (client secrets, codes, tokens, assertions, the password) go only where a client sends them, so
 * one found in the log is a secret the server logged, not a hostile client's own input echoed back.
 */
function realList(real: RealValues): string[] {
  return [
    ...real.clients.map((c) => c[0]),
    real.publicClientId,
    ...real.redirectUris,
    ...real.codes.map((c) => c.challenge),
    real.assertionClientId,
    real.registered.clientId,
    real.username,
  ];
}

const paramNames = [
  'response_type',
  'client_id',
  'redirect_uri',
  'scope',
  'state',
  'nonce',
  'code_challenge',
  'code_challenge_method',
  'prompt',
  'max_age',
  'login_hint',
  'id_token_hint',
  'claims',
  'ui_locales',
  'claims_locales',
  'acr_values',
  'display',
  'request',
  'request_uri',
  'response_mode',
  'resource',
  'grant_type',
  'code',
  'code_verifier',
  'refresh_token',
  'client_secret',
  'client_assertion',
  'client_assertion_type',
  'assertion',
  'token',
  'token_type_hint',
  'access_token',
  'username',
  'password',
  'csrf',
  'decision',
  'logout',
  'post_logout_redirect_uri',
];

function paramName(): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 5, arbitrary: fc.constantFrom(...paramNames) },
    { weight: 2, arbitrary: fc.string({ maxLength: 12 }) },
    {
      weight: 1,
      arbitrary: fc.constantFrom(
        '',
        '__proto__',
        'constructor',
        'toString',
        'a[b]',
        'scope[]',
        'x'.repeat(5000),
        ' client_id',
        'CLIENT_ID',
      ),
    },
  );
}

/** Mutations of a realistic parameter list: drop, replace with a hostile value, repeat, add. */
function mutated(base: fc.Arbitrary<Pair[]>, real: RealValues): fc.Arbitrary<Pair[]> {
  const hostile = hostileString(real);
  const mutation = fc.oneof(
    fc.record({ kind: fc.constant('drop' as const), at: fc.nat() }),
    fc.record({ kind: fc.constant('replace' as const), at: fc.nat(), value: hostile }),
    fc.record({ kind: fc.constant('repeat' as const), at: fc.nat(), value: fc.option(hostile) }),
    fc.record({ kind: fc.constant('add' as const), name: paramName(), value: hostile }),
  );
  return fc.tuple(base, fc.array(mutation, { maxLength: 4 })).map(([pairs, mutations]) => {
    const out = pairs.map((p): Pair => [p[0], p[1]]);
    for (const m of mutations) {
      if (m.kind === 'add') {
        out.push([m.name, m.value]);
        continue;
      }
      if (out.length === 0) continue;
      const at = m.at % out.length;
      const pair = out[at] as Pair;
      if (m.kind === 'drop') out.splice(at, 1);
      else if (m.kind === 'replace') out[at] = [pair[0], m.value];
      else out.push([pair[0], m.value ?? pair[1]]);
    }
    return out;
  });
}

/** Optional keys: each present or not, so a realistic request loses some of its parameters. */
function someOf(model: Record<string, fc.Arbitrary<string>>, required: string[] = []): fc.Arbitrary<Pair[]> {
  return fc
    .record(model, { requiredKeys: required })
    .map((r) => Object.entries(r).filter((e): e is Pair => typeof e[1] === 'string'));
}

// ---------------------------------------------------------------------------------------------------------------
// Encoding

function pct(s: string, plus: boolean): string {
  let out = '';
  for (const byte of Buffer.from(s, 'utf8')) {
    const c = String.fromCharCode(byte);
    if (/[A-Za-z0-9\-._~]/.test(c)) out += c;
    else if (plus && c === ' ') out += '+';
    else out += `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

type Encoding = 'pct' | 'plus' | 'raw';

/** Form or query encoding as latin1 text; `raw` sends the UTF-8 bytes unencoded (percent-broken values stay broken). */
function encodePairs(pairs: Pair[], encoding: Encoding, inTarget: boolean): string {
  const one = (s: string) => {
    if (encoding !== 'raw') return pct(s, encoding === 'plus');
    const bytes = Buffer.from(s, 'utf8').toString('latin1');
    // In a request target, CR and LF would cut the request line: the request would not be framed at all.
    return inTarget ? bytes.replace(/[\r\n]/g, '') : bytes;
  };
  return pairs.map(([k, v]) => `${one(k)}=${one(v)}`).join('&');
}

// ---------------------------------------------------------------------------------------------------------------
// Headers

/** Header values cannot carry CR or LF (they would end the head); anything else goes, as latin1 bytes. */
function headerValue(s: string): string {
  return Buffer.from(s.replace(/[\r\n]/g, ''), 'utf8').toString('latin1');
}

function hostileAuthorization(real: RealValues): fc.Arbitrary<Headers> {
  const hostile = hostileString(real);
  const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');
  const [id, secret] = real.clients[0] ?? ['x', 'y'];
  const one = fc.oneof(
    fc.tuple(hostile, hostile).map(([a, b]) => basic(a, b)),
    hostile.map((s) => basic(id, s)),
    fc
      .string({ unit: fc.constantFrom(...'ABCDEFabcdef0123456789+/=-_.!:'.split('')), maxLength: 60 })
      .map((s) => `Basic ${s}`),
    hostile.map((s) => `Basic ${b64(s)}`),
    fc.constantFrom(
      `Basic ${b64('no-colon')}`,
      `Basic ${b64('a:b:c')}`,
      `Basic ${b64(':')}`,
      `Basic ${b64(`${id}:`)}`,
      `Basic ${b64(`:${secret}`)}`,
      `Basic ${b64(`${id}:${secret}`)}=`,
      `Basic ${b64('%ZZ:%E2%8')}`,
      `Basic ${b64(`${id}%00:${secret}`)}`,
      `Basic ${'A'.repeat(12_000)}`,
      'Basic',
      'Basic ',
      'basic xyz',
      `BASIC ${b64(`${id}:${secret}`)}`,
      'Bearer',
      'Bearer ',
      'Digest username="x"',
      'Negotiate YII=',
      '',
    ),
    hostile.map((s) => `Bearer ${s}`),
    fc.constantFrom(...real.accessTokens, real.registered.accessToken).map((t) => `Bearer ${t}`),
    fc.constantFrom(...real.accessTokens).map((t) => `bearer  ${t} `),
  );
  return fc.oneof(
    { weight: 5, arbitrary: one.map((v): Headers => [['authorization', headerValue(v)]]) },
    {
      weight: 1,
      arbitrary: fc.tuple(one, one).map(
        ([a, b]): Headers => [
          ['authorization', headerValue(a)],
          ['authorization', headerValue(b)],
        ],
      ),
    },
  );
}

function hostileCookie(real: RealValues): fc.Arbitrary<Headers> {
  const hostile = hostileString(real);
  const { sessionCookieName: sid, bindCookieName: bind } = real;
  const value = fc.oneof(
    hostile.map((v) => `${sid}=${v}`),
    hostile.map((v) => `${bind}=${v}`),
    fc.constantFrom(
      `${sid}=junk`,
      `${sid}=junk.sig`,
      `${bind}=junk.sig`,
      `${sid}=`,
      '=;;=;',
      `${sid}="quoted"`,
      `${sid}=%ZZ`,
      `${sid}=a; ${sid}=b`,
      real.sessionCookie,
      `${real.sessionCookie}x`,
      real.sessionCookie.replace(/\.[^.;]*(;|$)/, '.AAAA$1'),
      ...real.interactions.map((i) => i.cookie),
      `big=${'c'.repeat(9000)}`,
    ),
    fc
      .array(fc.tuple(fc.string({ maxLength: 8 }), fc.string({ maxLength: 20 })), { maxLength: 30 })
      .map((l) => l.map(([k, v]) => `${k}=${v}`).join('; ')),
  );
  return fc.oneof(
    { weight: 4, arbitrary: value.map((v): Headers => [['cookie', headerValue(v)]]) },
    {
      weight: 1,
      arbitrary: fc.tuple(value, value).map(
        ([a, b]): Headers => [
          ['cookie', headerValue(a)],
          ['cookie', headerValue(b)],
        ],
      ),
    },
  );
}

const contentTypes = [
  'application/x-www-form-urlencoded',
  'application/x-www-form-urlencoded; charset=utf-8',
  'application/x-www-form-urlencoded; charset=UTF-8',
  'application/x-www-form-urlencoded; charset=iso-8859-1',
  'application/x-www-form-urlencoded; charset=utf-16',
  'application/x-www-form-urlencoded; charset=',
  'application/x-www-form-urlencoded;;;',
  'APPLICATION/X-WWW-FORM-URLENCODED',
  'application/json',
  'application/json; charset=utf-8',
  'application/json; charset=latin1',
  'application/jwt',
  'application/jose',
  'text/plain',
  'text/html; charset=utf-8',
  'multipart/form-data; boundary=xyz',
  'multipart/form-data',
  'application/octet-stream',
  'application/xml',
  '*/*',
  'x',
  '',
  ';',
  'application/x-www-form-urlencoded, application/json',
];

// ---------------------------------------------------------------------------------------------------------------
// Methods and paths

const standardMethods = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'];
const oddMethods = [
  'TRACE',
  'CONNECT',
  'PROPFIND',
  'MKCOL',
  'SEARCH',
  'PURGE',
  'LINK',
  'M-SEARCH',
  'get',
  'Post',
  'FOO',
  'G',
  'QUERY',
  'BREW',
];

function method(natural: string[]): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 10, arbitrary: fc.constantFrom(...natural) },
    { weight: 3, arbitrary: fc.constantFrom(...standardMethods) },
    { weight: 1, arbitrary: fc.constantFrom(...oddMethods) },
  );
}

/** The endpoint's path as sent: usually exact, else altered the ways a hostile client alters paths. */
function pathVariant(real: RealValues, path: fc.Arbitrary<string>): fc.Arbitrary<string> {
  const variant = fc.constantFrom<(p: string, n: number) => string>(
    (p) => `${p}/`,
    (p) => p.replace('/', '//'),
    (p) =>
      p.replace(
        /\/([a-z])([a-z_]*)$/,
        (_m, c: string, rest: string) => `/%${c.charCodeAt(0).toString(16)}${rest}`,
      ),
    (p) => p.toUpperCase(),
    (p) => p.replace(real.base, `${real.base}/../default`),
    (p) => p.replace(real.base, '/oidc/endpoint/%64efault'),
    (p) => p.replace(real.base, '/oidc/endpoint/nope'),
    (p) => p.replace(real.base, '/oidc/endpoint/%ZZ'),
    (p) => `${p};jsessionid=1`,
    (p) => `${p}%`,
    (p) => `${p}%ZZ`,
    (p) => `${p}%E2%8`,
    (p) => `${p}%00`,
    (p) => `${p}%2F..%2F`,
    (p) => `${p}\u00c3\u00a9`,
    (p) => `${p}\u00ff\u00fe`,
    (p, n) => `${p}/${'a'.repeat(n)}`,
    (p) => `http://${real.host}${p}`,
    (p) => `https://evil.example${p}`,
    () => '*',
    (p) => `${p}#fragment`,
    (p) => `${p}/.`,
    (p) => `.${p}`,
    (p) => p.slice(1),
  );
  return fc.oneof(
    { weight: 10, arbitrary: path },
    {
      weight: 3,
      arbitrary: fc.tuple(path, variant, fc.integer({ min: 1, max: 20_000 })).map(([p, f, n]) => f(p, n)),
    },
  );
}

// ---------------------------------------------------------------------------------------------------------------
// Endpoints

interface Spec {
  endpoint: EndpointName;
  path: fc.Arbitrary<string>;
  methods: string[];
  params: fc.Arbitrary<Pair[]>;
  /** The request's own credentials (Authorization, cookies) as a client or browser would send them. */
  headers: fc.Arbitrary<Headers>;
  /** A JSON body the endpoint reads (registration), instead of a form. */
  json?: fc.Arbitrary<unknown>;
  /** What a real client sends, parts that belong together (path, parameters, credentials): the clean requests. */
  coherent?: fc.Arbitrary<Coherent>;
}

interface Coherent {
  path?: string;
  params: Pair[];
  headers: Headers;
  json?: unknown;
}

/**
 * Stand-ins the test replaces at send time with a value obtained during the run (the newest access token, refresh
 * token, code), or a fresh one (a client assertion with a new `jti`): real artifacts are single use, and these keep
 * clean requests reaching the deep paths after the first ones were spent.
 */
export const placeholders = {
  accessToken: '@@AT@@',
  refreshToken: '@@RT@@',
  code: '@@CODE@@',
  assertion: '@@ASSERTION@@',
  registeredClientId: '@@REGID@@',
  registrationToken: '@@RAT@@',
} as const;

const none = fc.constant<Headers>([]);

function specs(real: RealValues): Spec[] {
  const b = real.base;
  const hostile = hostileString(real);
  const anyOf = (...values: string[]) =>
    fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...values) }, hostile);
  const clientIds = real.clients.map(([id]) => id);
  const basicOf = fc
    .constantFrom(...real.clients.filter(([, , m]) => m === 'basic'))
    .chain(([id, secret]) =>
      fc.oneof(
        { weight: 3, arbitrary: fc.constant<Headers>([['authorization', basic(id, secret)]]) },
        fc.constant<Headers>([['authorization', basic(id, `${secret}x`)]]),
      ),
    );
  const post = real.clients.find(([, , m]) => m === 'post') ?? ['x', 'y'];
  const postCredentials = fc.constantFrom<Pair[]>(
    [
      ['client_id', post[0]],
      ['client_secret', post[1]],
    ],
    [
      ['client_id', post[0]],
      ['client_secret', 'wrong-secret'],
    ],
    [['client_id', real.publicClientId]],
    [
      ['client_id', real.assertionClientId],
      ['client_assertion_type', 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer'],
      ['client_assertion', real.assertions[0] ?? 'x'],
    ],
  );
  const assertionCredentials = fc.constantFrom(...real.assertions).map((a): Pair[] => [
    ['client_assertion_type', 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer'],
    ['client_assertion', a],
  ]);
  const tokenGrants = fc.oneof(
    fc
      .tuple(fc.constantFrom(...real.codes), anyOf(...real.redirectUris), fc.boolean())
      .map(([c, redirect, right]): Pair[] => [
        ['grant_type', 'authorization_code'],
        ['code', c.code],
        ['redirect_uri', redirect],
        ['code_verifier', right ? c.verifier : c.challenge],
      ]),
    someOf({
      grant_type: fc.constant('authorization_code'),
      code: hostile,
      redirect_uri: anyOf(...real.redirectUris),
      code_verifier: hostile,
    }),
    someOf(
      {
        grant_type: fc.constant('refresh_token'),
        refresh_token: anyOf(...real.refreshTokens),
        scope: anyOf('openid', 'openid profile', 'offline_access', 'api:read admin'),
        resource: anyOf('https://api.example', 'urn:x'),
      },
      ['grant_type'],
    ),
    someOf(
      {
        grant_type: fc.constant('client_credentials'),
        scope: anyOf('api:read', 'openid', 'api:read api:write'),
      },
      ['grant_type'],
    ),
    someOf({
      grant_type: fc.constant('urn:ietf:params:oauth:grant-type:jwt-bearer'),
      assertion: anyOf(...real.assertions, ...real.idTokens),
      scope: anyOf('openid'),
    }),
    someOf({
      grant_type: anyOf('password', 'implicit', 'urn:x', 'device_code'),
      username: anyOf(real.username),
      password: anyOf(real.password),
    }),
  );
  const tokenSide = (extra: fc.Arbitrary<Pair[]>): fc.Arbitrary<Pair[]> =>
    fc
      .tuple(
        extra,
        fc.oneof({ weight: 3, arbitrary: fc.constant<Pair[]>([]) }, postCredentials, assertionCredentials),
      )
      .map(([a, c]) => [...a, ...c]);
  const clientAuthHeaders = fc.oneof({ weight: 3, arbitrary: basicOf }, none);
  const tokenHint = someOf(
    {
      token: anyOf(
        ...real.accessTokens,
        ...real.refreshTokens,
        ...real.idTokens,
        ...real.codes.map((c) => c.code),
      ),
      token_type_hint: anyOf('access_token', 'refresh_token', 'id_token'),
    },
    ['token'],
  );
  const interaction = fc.constantFrom(...real.interactions);
  const metadataUri = fc.constantFrom(
    'https://rp.example/cb',
    'https://10.0.0.1/cb',
    'http://127.0.0.1:1/cb',
    'javascript:alert(1)',
    'https://rp.example/cb#frag',
    'custom.scheme:/cb',
    '',
  );
  const metadata = fc.record(
    {
      redirect_uris: fc.oneof(fc.array(metadataUri, { maxLength: 3 }), fc.jsonValue({ maxDepth: 2 })),
      grant_types: fc.oneof(
        fc.subarray(['authorization_code', 'refresh_token', 'client_credentials', 'implicit', 'password']),
        fc.jsonValue({ maxDepth: 1 }),
      ),
      response_types: fc.subarray(['code', 'id_token', 'token', 'code id_token', 'none']),
      token_endpoint_auth_method: fc.constantFrom(
        'client_secret_basic',
        'none',
        'private_key_jwt',
        'client_secret_jwt',
        'x',
      ),
      client_name: hostile,
      scope: anyOf('openid', 'openid offline_access', 'api:read'),
      jwks: fc.oneof(
        fc.constant({ keys: [] }),
        fc.jsonValue({ maxDepth: 3 }),
        fc.constant({ keys: [{ kty: 'RSA', n: 'AQAB', e: 'AQAB' }] }),
      ),
      jwks_uri: metadataUri,
      sector_identifier_uri: fc.constantFrom(
        'https://10.0.0.1/s.json',
        'https://127.0.0.1:1/s.json',
        'http://x',
      ),
      subject_type: fc.constantFrom('pairwise', 'public', 'x'),
      contacts: fc.array(hostile, { maxLength: 3 }),
      application_type: fc.constantFrom('web', 'native', 'x'),
      client_id: anyOf(real.registered.clientId),
      client_secret: hostile,
    },
    { requiredKeys: [] },
  );
  const metadataOrPolluting = fc.oneof(
    { weight: 6, arbitrary: metadata },
    fc
      .constantFrom(
        '{"__proto__":{"admin":true},"redirect_uris":["https://rp.example/cb"]}',
        '{"constructor":{"prototype":{"polluted":true}},"redirect_uris":["https://rp.example/cb"]}',
        '{"redirect_uris":{"__proto__":["https://rp.example/cb"]}}',
      )
      .map((text): unknown => JSON.parse(text)),
  );
  const P = placeholders;
  const web = real.clients[0] ?? ['x', 'y', 'basic'];
  const machineClient = real.clients[1] ?? web;
  const webBasic: Headers = [['authorization', basic(web[0], web[1])]];
  const machineBasic: Headers = [['authorization', basic(machineClient[0], machineClient[1])]];
  const assertionPairs: Pair[] = [
    ['client_assertion_type', 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer'],
    ['client_assertion', P.assertion],
  ];
  const coherentToken = fc.oneof(
    fc.constantFrom(...real.codes).map(
      (c): Coherent => ({
        params: [
          ['grant_type', 'authorization_code'],
          ['code', c.code],
          ['redirect_uri', real.redirectUris[0] ?? ''],
          ['code_verifier', c.verifier],
        ],
        headers: webBasic,
      }),
    ),
    fc.constant<Coherent>({
      params: [
        ['grant_type', 'authorization_code'],
        ['code', P.code],
        ['redirect_uri', real.redirectUris[0] ?? ''],
      ],
      headers: webBasic,
    }),
    fc.constantFrom('openid', 'openid profile', '').map(
      (scope): Coherent => ({
        params: [
          ['grant_type', 'refresh_token'],
          ['refresh_token', P.refreshToken],
          ...(scope ? ([['scope', scope]] as Pair[]) : []),
        ],
        headers: webBasic,
      }),
    ),
    fc.constant<Coherent>({
      params: [
        ['grant_type', 'client_credentials'],
        ['scope', 'api:read'],
      ],
      headers: machineBasic,
    }),
    fc.constant<Coherent>({
      params: [
        ['grant_type', 'client_credentials'],
        ['client_id', real.assertionClientId],
        ...assertionPairs,
      ],
      headers: [],
    }),
    tokenGrants.map(
      (params): Coherent => ({
        params: [...params, ['client_id', post[0]], ['client_secret', post[1]]],
        headers: [],
      }),
    ),
  );
  const coherentHint = (allowAssertion: boolean) =>
    fc
      .tuple(
        fc.constantFrom(P.accessToken, P.refreshToken, ...real.accessTokens, ...real.refreshTokens),
        fc.constantFrom<Pair[]>(
          [],
          [['token_type_hint', 'access_token']],
          [['token_type_hint', 'refresh_token']],
        ),
        fc.constantFrom<'web' | 'machine' | 'assertion'>(
          'web',
          'machine',
          ...(allowAssertion ? (['assertion'] as const) : []),
        ),
      )
      .map(
        ([token, hint, who]): Coherent => ({
          params: [['token', token], ...hint, ...(who === 'assertion' ? assertionPairs : [])],
          headers: who === 'web' ? webBasic : who === 'machine' ? machineBasic : [],
        }),
      );
  const clientsWithRedirects = fc.constantFrom(
    { id: web[0], redirect: real.redirectUris[0] ?? '', pkce: false },
    { id: real.publicClientId, redirect: real.redirectUris[1] ?? '', pkce: true },
    { id: post[0], redirect: real.redirectUris[2] ?? '', pkce: false },
  );
  const coherentAuthorize = fc
    .record({
      client: clientsWithRedirects,
      responseType: fc.constantFrom('code', 'code', 'code', 'id_token', 'code id_token'),
      scope: fc.constantFrom('openid', 'openid profile email offline_access', 'openid email'),
      state: hostile,
      nonce: fc.string({ minLength: 1, maxLength: 20 }),
      prompt: fc.constantFrom<Pair[]>(
        [],
        [],
        [['prompt', 'none']],
        [['prompt', 'login']],
        [['prompt', 'consent']],
      ),
      extras: fc.subarray<Pair>(
        [
          ['login_hint', real.username],
          ['max_age', '0'],
          ['response_mode', 'form_post'],
          ['ui_locales', 'nl en'],
          ['claims', '{"userinfo":{"email":{"essential":true}}}'],
          ['acr_values', 'urn:gatehouse:acr:password'],
          ['id_token_hint', real.idTokens[0] ?? ''],
        ],
        { maxLength: 2 },
      ),
      cookie: fc.constantFrom<Headers>(
        [['cookie', real.sessionCookie]],
        [['cookie', real.sessionCookie]],
        [],
      ),
    })
    .map(
      (r): Coherent => ({
        params: [
          ['response_type', r.responseType],
          ['client_id', r.client.id],
          ['redirect_uri', r.client.redirect],
          ['scope', r.scope],
          ['state', r.state],
          ['nonce', r.nonce],
          ...(r.client.pkce
            ? ([
                ['code_challenge', real.codes[0]?.challenge ?? ''],
                ['code_challenge_method', 'S256'],
              ] as Pair[])
            : []),
          ...r.prompt,
          ...r.extras,
        ],
        headers: r.cookie,
      }),
    );
  const coherentInteraction = fc
    .tuple(
      interaction,
      fc.oneof(
        fc.constantFrom<Pair[]>(
          [
            ['username', real.username],
            ['password', real.password],
          ],
          [
            ['username', real.username],
            ['password', 'wrong-password'],
          ],
          [
            ['username', 'nobody'],
            ['password', 'wrong-password'],
          ],
          [['decision', 'allow']],
          [['decision', 'deny']],
        ),
      ),
      fc.constantFrom<Headers>([], [['origin', `http://${real.host}`]], [['origin', 'null']]),
    )
    .map(
      ([i, fields, origin]): Coherent => ({
        path: i.path,
        params: [['csrf', i.csrf], ...fields],
        headers: [['cookie', i.cookie], ...origin],
      }),
    );
  const coherentEndSession = fc
    .record({
      hint: fc.constantFrom(...real.logoutIdTokens),
      redirect: fc.boolean(),
      state: hostile,
      cookie: fc.boolean(),
    })
    .map(
      (r): Coherent => ({
        params: [
          ['id_token_hint', r.hint],
          ...(r.redirect
            ? ([
                ['post_logout_redirect_uri', real.redirectUris[0] ?? ''],
                ['state', r.state],
              ] as Pair[])
            : []),
        ],
        headers: r.cookie ? [['cookie', real.logoutSessionCookie]] : [],
      }),
    );
  const coherentRegistration = fc
    .record({
      name: hostile,
      grant: fc.constantFrom(
        ['authorization_code'],
        ['authorization_code', 'refresh_token'],
        ['client_credentials'],
      ),
    })
    .map(
      (r): Coherent => ({
        params: [],
        headers: [],
        json:
          r.grant[0] === 'client_credentials'
            ? { grant_types: r.grant, client_name: r.name, scope: 'api:read' }
            : { redirect_uris: ['https://reg.example/cb'], grant_types: r.grant, client_name: r.name },
      }),
    );
  return [
    {
      endpoint: 'discovery',
      path: fc.constant(`${b}/.well-known/openid-configuration`),
      methods: ['GET'],
      params: fc.constant([]),
      headers: none,
    },
    {
      endpoint: 'jwk',
      path: fc.constant(`${b}/jwk`),
      methods: ['GET'],
      params: fc.constant([]),
      headers: none,
    },
    {
      endpoint: 'authorize',
      path: fc.constant(`${b}/authorize`),
      methods: ['GET', 'POST'],
      coherent: coherentAuthorize,
      params: someOf(
        {
          response_type: anyOf(
            'code',
            'id_token',
            'code id_token',
            'id_token token',
            'token',
            'none',
            'code code',
          ),
          client_id: anyOf(...clientIds, real.publicClientId, real.registered.clientId),
          redirect_uri: anyOf(...real.redirectUris, 'https://evil.example/cb'),
          scope: anyOf('openid', 'openid profile email offline_access', 'api:read', 'openid address phone'),
          state: hostile,
          nonce: hostile,
          code_challenge: anyOf(...real.codes.map((c) => c.challenge)),
          code_challenge_method: anyOf('S256', 'plain'),
          prompt: anyOf('none', 'login', 'consent', 'select_account', 'none login', 'create'),
          max_age: anyOf('0', '1', '-1', '999999999999', '1.5'),
          login_hint: anyOf(real.username, 'bob'),
          id_token_hint: anyOf(...real.idTokens),
          claims: anyOf(
            '{"userinfo":{"email":{"essential":true}}}',
            '{"id_token":{"acr":{"values":["x"]}}}',
            '{',
          ),
          ui_locales: anyOf('en', 'nl-NL fr', 'x'.repeat(300)),
          acr_values: anyOf('urn:gatehouse:acr:password', 'x'),
          response_mode: anyOf('query', 'fragment', 'form_post', 'jwt'),
          resource: anyOf('https://api.example', 'urn:x', 'https://api.example#f'),
          request: anyOf('eyJhbGciOiJub25lIn0.eyJjbGllbnRfaWQiOiJ3ZWIifQ.', 'a.b.c'),
          request_uri: anyOf('https://10.0.0.1/r', 'urn:ietf:params:oauth:request_uri:abc'),
          display: anyOf('page', 'popup', 'x'),
        },
        [],
      ),
      headers: fc.oneof(
        { weight: 2, arbitrary: none },
        fc.constant<Headers>([['cookie', real.sessionCookie]]),
        interaction.map((i): Headers => [['cookie', i.cookie]]),
      ),
    },
    {
      endpoint: 'interaction',
      path: fc.oneof(
        { weight: 4, arbitrary: interaction.map((i) => i.path) },
        fc.string({ maxLength: 30 }).map((s) => `${b}/interaction/${pct(s, false)}`),
      ),
      methods: ['GET', 'POST'],
      coherent: coherentInteraction,
      params: fc.oneof(
        interaction.chain((i) =>
          someOf(
            {
              csrf: anyOf(i.csrf),
              username: anyOf(real.username, 'bob', 'nobody'),
              password: anyOf(real.password, 'wrong-password'),
            },
            ['csrf'],
          ),
        ),
        interaction.chain((i) => someOf({ csrf: anyOf(i.csrf), decision: anyOf('allow', 'deny') }, ['csrf'])),
      ),
      headers: fc
        .tuple(
          fc.oneof(
            { weight: 3, arbitrary: interaction.map((i) => i.cookie) },
            fc.constant(real.sessionCookie),
          ),
          fc.constantFrom<string | undefined>(
            undefined,
            `http://${real.host}`,
            'null',
            'https://evil.example',
          ),
        )
        .map(
          ([cookie, origin]): Headers => [
            ['cookie', cookie],
            ...(origin ? ([['origin', origin]] as Headers) : []),
          ],
        ),
    },
    {
      endpoint: 'token',
      path: fc.constant(`${b}/token`),
      methods: ['POST'],
      params: tokenSide(tokenGrants),
      headers: clientAuthHeaders,
      coherent: coherentToken,
    },
    {
      endpoint: 'introspect',
      path: fc.constant(`${b}/introspect`),
      methods: ['POST'],
      params: tokenSide(tokenHint),
      headers: clientAuthHeaders,
      coherent: coherentHint(true),
    },
    {
      endpoint: 'revoke',
      path: fc.constant(`${b}/revoke`),
      methods: ['POST'],
      params: tokenSide(tokenHint),
      headers: clientAuthHeaders,
      coherent: coherentHint(false),
    },
    {
      endpoint: 'userinfo',
      path: fc.constant(`${b}/userinfo`),
      methods: ['GET', 'POST'],
      coherent: fc.constantFrom<Coherent>(
        { params: [], headers: [['authorization', `Bearer ${P.accessToken}`]] },
        { params: [['access_token', P.accessToken]], headers: [] },
      ),
      params: fc.oneof(
        { weight: 2, arbitrary: fc.constant<Pair[]>([]) },
        anyOf(...real.accessTokens).map((t): Pair[] => [['access_token', t]]),
      ),
      headers: fc.oneof(
        {
          weight: 2,
          arbitrary: fc
            .constantFrom(...real.accessTokens)
            .map((t): Headers => [['authorization', `Bearer ${t}`]]),
        },
        none,
      ),
    },
    {
      endpoint: 'end_session',
      path: fc.constant(`${b}/end_session`),
      methods: ['GET', 'POST'],
      coherent: coherentEndSession,
      params: someOf({
        id_token_hint: anyOf(...real.logoutIdTokens),
        post_logout_redirect_uri: anyOf(...real.redirectUris),
        client_id: anyOf(...clientIds),
        state: hostile,
        logout: anyOf('yes', 'no'),
        csrf: hostile,
        ui_locales: anyOf('en'),
      }),
      headers: fc.oneof(none, fc.constant<Headers>([['cookie', real.logoutSessionCookie]])),
    },
    {
      endpoint: 'registration',
      path: fc.constant(`${b}/registration`),
      methods: ['POST'],
      coherent: coherentRegistration,
      params: fc.constant([]),
      headers: fc.constant([]),
      json: metadataOrPolluting,
    },
    {
      endpoint: 'registration/:id',
      path: fc.oneof(
        { weight: 3, arbitrary: fc.constant(`${b}/registration/${real.registered.clientId}`) },
        fc
          .constantFrom(...clientIds, 'nope', '%ZZ', '..', 'a'.repeat(300))
          .map((id) => `${b}/registration/${id}`),
      ),
      methods: ['GET', 'PUT', 'DELETE'],
      coherent: fc
        .record({
          name: hostile,
          uris: fc.constantFrom(
            ['https://reg.example/cb'],
            ['https://reg.example/cb', 'https://reg.example/2'],
          ),
        })
        .map(
          (r): Coherent => ({
            path: `${b}/registration/${P.registeredClientId}`,
            params: [],
            headers: [['authorization', `Bearer ${P.registrationToken}`]],
            json: { client_id: P.registeredClientId, redirect_uris: r.uris, client_name: r.name },
          }),
        ),
      params: fc.constant([]),
      headers: fc.oneof(
        {
          weight: 3,
          arbitrary: fc.constant<Headers>([['authorization', `Bearer ${real.registered.accessToken}`]]),
        },
        none,
      ),
      json: metadataOrPolluting,
    },
    {
      endpoint: 'healthz',
      path: fc.constant('/healthz'),
      methods: ['GET'],
      params: fc.constant([]),
      headers: none,
    },
    {
      endpoint: 'metrics',
      path: fc.constant('/metrics'),
      methods: ['GET'],
      params: fc.constant([]),
      headers: none,
    },
    {
      endpoint: 'unknown',
      path: fc.oneof(
        fc.constantFrom(
          '/',
          '/oidc',
          '/oidc/endpoint',
          `${b}`,
          `${b}/`,
          '/oidc/endpoint/nope/token',
          '/.well-known/openid-configuration',
          `${b}/.well-known/oauth-authorization-server`,
          '/favicon.ico',
          '/%2e%2e/%2e%2e/etc/passwd',
          '/interaction/x',
          `${b}/interaction`,
          `${b}/registration/`,
          '/healthz/x',
        ),
        fc
          .array(fc.string({ maxLength: 12 }), { maxLength: 5 })
          .map((segs) => `/${segs.map((s) => pct(s, false)).join('/')}`),
      ),
      methods: ['GET', 'POST'],
      params: fc.constant([]),
      headers: none,
    },
  ];
}

// ---------------------------------------------------------------------------------------------------------------
// Requests

/** `arb` in `weight` out of `weight + absent` cases, null otherwise. */
function sometimes<T>(arb: fc.Arbitrary<T>, weight: number, absent: number): fc.Arbitrary<T | null> {
  return fc.oneof({ weight: absent, arbitrary: fc.constant(null) }, { weight, arbitrary: arb });
}

function request(real: RealValues, spec: Spec): fc.Arbitrary<FuzzRequest> {
  const hostile = hostileString(real);
  const params = mutated(spec.params, real);
  const body = fc.oneof(
    { weight: 300, arbitrary: fc.constant({ kind: 'natural' as const }) },
    { weight: 15, arbitrary: fc.constant({ kind: 'none' as const }) },
    {
      weight: 15,
      arbitrary: fc.jsonValue({ maxDepth: 4 }).map((v) => ({ kind: 'json' as const, value: v })),
    },
    {
      weight: 15,
      arbitrary: fc
        .uint8Array({ maxLength: 3000 })
        .map((v) => ({ kind: 'bytes' as const, value: Buffer.from(v) })),
    },
    {
      weight: 15,
      arbitrary: fc
        .string({ unit: 'binary', maxLength: 500 })
        .map((v) => ({ kind: 'bytes' as const, value: Buffer.from(v, 'utf8') })),
    },
    { weight: 1, arbitrary: fc.constant({ kind: 'huge' as const }) },
  );
  const extraHeaders = fc.array(
    fc.oneof(
      fc.tuple(
        fc.constantFrom(
          'x-forwarded-for',
          'x-forwarded-proto',
          'forwarded',
          'accept',
          'accept-language',
          'user-agent',
          'referer',
          'x-http-method-override',
          'te',
          'upgrade',
          'content-encoding',
          'expect-ct',
          'range',
          'if-none-match',
          'accept-charset',
        ),
        hostile,
      ),
      fc.tuple(
        fc.string({ unit: fc.constantFrom(...'abcxyz-_0123456789'.split('')), minLength: 1, maxLength: 20 }),
        hostile,
      ),
      fc.constant<[string, string]>(['content-length', '0']),
      fc.constant<[string, string]>(['host', 'evil.example']),
      fc.constant<[string, string]>(['x-big', 'h'.repeat(20_000)]),
    ),
    { minLength: 1, maxLength: 3 },
  );
  // A third of the requests are what a client would send (real credentials, right method and path) with at most
  // their parameters altered, so they reach the deep paths; the rest stack hostile changes on every part.
  const parts: fc.Arbitrary<Coherent> =
    spec.coherent ??
    fc.record({
      path: spec.path,
      params: spec.params,
      headers: spec.headers,
      json: spec.json ?? fc.constant(undefined),
    });
  // Clean parameters, or the same with one or two of them altered.
  const cleanParts = fc.oneof(
    { weight: 3, arbitrary: parts },
    parts.chain((c) => mutated(fc.constant(c.params), real).map((p): Coherent => ({ ...c, params: p }))),
  );
  const clean = fc.record({
    clean: fc.constant(true),
    method: fc.constantFrom(...spec.methods),
    parts: cleanParts,
    path: spec.path,
    place: fc.constant('natural'),
    encoding: fc.constantFrom<Encoding>('pct', 'plus'),
    body: fc.constant({ kind: 'natural' as const }),
    contentType: fc.constant(null),
    authorization: fc.constant(null),
    cookie: fc.constant(null),
    origin: fc.constant(null),
    extra: fc.constant([]),
    chunked: fc.constant(null),
    noHost: fc.constant(null),
    dropOwn: fc.constant(false),
  });
  const hostileRequest = fc.record({
    clean: fc.constant(false),
    method: method(spec.methods),
    parts: fc
      .record({ params, headers: spec.headers, json: spec.json ?? fc.constant(undefined) })
      .map((p): Coherent => p),
    path: pathVariant(real, spec.path),
    place: fc.constantFrom('natural', 'natural', 'natural', 'natural', 'query', 'body', 'both'),
    encoding: fc.constantFrom<Encoding>('pct', 'pct', 'pct', 'plus', 'raw'),
    body,
    contentType: sometimes(fc.constantFrom(...contentTypes), 1, 4),
    dropOwn: fc.constantFrom(false, false, false, true),
    authorization: sometimes(hostileAuthorization(real), 1, 3),
    cookie: sometimes(hostileCookie(real), 1, 4),
    origin: sometimes(fc.constantFrom(`http://${real.host}`, 'null', 'https://evil.example', 'x', ''), 1, 4),
    extra: sometimes(extraHeaders, 1, 4),
    chunked: sometimes(fc.integer({ min: 1, max: 64 }), 1, 10),
    noHost: sometimes(fc.constant(true), 1, 200),
  });
  return fc
    .oneof({ weight: 1, arbitrary: clean }, { weight: 2, arbitrary: hostileRequest })
    .map((r): FuzzRequest => {
      const params = r.parts.params;
      const own = r.clean || !r.dropOwn ? r.parts.headers : [];
      const json = r.parts.json;
      const reads = r.method === 'GET' || r.method === 'HEAD' || r.method === 'DELETE' ? 'query' : 'body';
      const where = r.place === 'natural' ? reads : r.place;
      const query = where === 'query' || where === 'both' ? encodePairs(params, r.encoding, true) : '';
      let target = r.parts.path ?? r.path;
      if (query !== '' && target !== '*') target += (target.includes('?') ? '&' : '?') + query;
      let bytes: Buffer | undefined;
      let type: string | undefined;
      const naturalJson = spec.json !== undefined && json !== undefined;
      if (r.body.kind === 'huge') {
        bytes = Buffer.from(`a=${'b'.repeat(1_100_000)}`, 'latin1');
        type = 'application/x-www-form-urlencoded';
      } else if (r.body.kind === 'json') {
        bytes = Buffer.from(JSON.stringify(r.body.value) ?? 'null', 'utf8');
        type = 'application/json';
      } else if (r.body.kind === 'bytes') {
        bytes = r.body.value;
      } else if (r.body.kind === 'natural' && naturalJson && reads === 'body') {
        bytes = Buffer.from(JSON.stringify(json) ?? 'null', 'utf8');
        type = 'application/json';
      } else if (r.body.kind === 'natural' && (where === 'body' || where === 'both')) {
        bytes = Buffer.from(encodePairs(params, r.encoding, false), 'latin1');
        type = 'application/x-www-form-urlencoded';
      }
      if (r.contentType !== null) type = r.contentType;
      const headers: Headers = [];
      if (bytes !== undefined && type !== undefined) headers.push(['content-type', type]);
      if (r.authorization !== null) headers.push(...r.authorization);
      // The request's own credentials, unless a hostile header of the same name replaces them.
      for (const h of own) {
        if (h[0] === 'authorization' && r.authorization !== null) continue;
        if (h[0] === 'cookie' && r.cookie !== null) continue;
        headers.push(h);
      }
      if (r.cookie !== null) headers.push(...r.cookie);
      if (r.origin !== null) headers.push(['origin', r.origin]);
      for (const [k, v] of r.extra ?? []) headers.push([k, headerValue(v)]);
      return {
        endpoint: spec.endpoint,
        method: r.method,
        target,
        headers,
        ...(bytes === undefined ? {} : { body: bytes }),
        ...(r.chunked === null || bytes === undefined ? {} : { chunked: r.chunked }),
        ...(r.noHost === null ? {} : { noHost: true }),
      };
    });
}

/** Every endpoint equally often, each with its realistic requests and their hostile variations. */
export function fuzzRequest(real: RealValues): fc.Arbitrary<FuzzRequest> {
  return fc.oneof(...specs(real).map((s) => request(real, s)));
}

/** A one-line description of a request for a failure report (values cut short, secrets and all: a test server's). */
export function describeRequest(r: FuzzRequest): string {
  const cut = (s: string, n: number) => (s.length > n ? `${s.slice(0, n)}…(${s.length})` : s);
  const body = r.body === undefined ? '' : ` body=${JSON.stringify(cut(r.body.toString('latin1'), 400))}`;
  return `${r.method} ${JSON.stringify(cut(r.target, 400))} headers=${JSON.stringify(r.headers.map(([k, v]) => [k, cut(v, 200)]))}${body}${r.chunked ? ` chunked=${r.chunked}` : ''}`;
}
