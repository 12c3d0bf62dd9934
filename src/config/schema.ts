// The configuration schema: every key, its type, its default and why (interface.md "Configuration file").
import { isIP } from 'node:net';
import { availableParallelism } from 'node:os';
import { z } from 'zod';

/**
 * `${ENV}` interpolation yields strings; numbers and booleans accept their decimal or true/false spelling,
 * so `port: ${PORT}` works. Nothing else is coerced.
 */
const fromEnv = (v: unknown) =>
  typeof v === 'string' && /^-?\d+$/.test(v) ? Number(v) : v === 'true' ? true : v === 'false' ? false : v;
const bool = () => z.preprocess(fromEnv, z.boolean());

const seconds = (def: number, max = 10 * 365 * 86400) =>
  z.preprocess(fromEnv, z.number().int().positive().max(max)).default(def);

/** Scope tokens per RFC 6749 §3.3: printable ASCII without space, '"' or '\'. */
const scopeToken = /^[\x21\x23-\x5B\x5D-\x7E]+$/;

export const jwtBearerGrantType = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
export const grantTypes = [
  'authorization_code',
  'implicit',
  'refresh_token',
  'client_credentials',
  jwtBearerGrantType,
] as const;
export type GrantTypeName = (typeof grantTypes)[number];

export const clientAuthMethods = [
  'client_secret_basic',
  'client_secret_post',
  'client_secret_jwt',
  'private_key_jwt',
  'none',
] as const;
export type ClientAuthMethodName = (typeof clientAuthMethods)[number];

/** JWS algorithms accepted on assertions, by key kind (RFC 7518 §3.1). Never `none`. */
export const asymmetricAlgs = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
] as const;
export const hmacAlgs = ['HS256', 'HS384', 'HS512'] as const;
export type AssertionAlg = (typeof asymmetricAlgs)[number] | (typeof hmacAlgs)[number];

const jwksSchema = z.strictObject({ keys: z.array(z.record(z.string(), z.unknown())).min(1).max(20) });
const lifetime = z
  .preprocess(
    fromEnv,
    z
      .number()
      .int()
      .positive()
      .max(10 * 365 * 86400),
  )
  .optional();

/** Algorithms Gatehouse signs ID tokens, UserInfo responses and JWT access tokens with (one key per algorithm in use). */
export const signingAlgs = asymmetricAlgs;
export type SigningAlg = (typeof signingAlgs)[number];

/**
 * OIDC Core §3 response types; the order of the space-separated values does not matter (OAuth 2.0 Multiple
 * Response Types §5), so they are kept in this canonical order.
 */
export const responseTypes = [
  'code',
  'id_token',
  'id_token token',
  'code id_token',
  'code token',
  'code id_token token',
] as const;
export type ResponseTypeName = (typeof responseTypes)[number];

/** Sorts the values of a response_type into the canonical spelling above ('token id_token' → 'id_token token'). */
export function canonicalResponseType(value: string): string {
  const order = ['code', 'id_token', 'token'];
  const parts = value.split(' ').filter((p) => p !== '');
  if (new Set(parts).size !== parts.length || parts.some((p) => !order.includes(p))) return value;
  return parts.sort((a, b) => order.indexOf(a) - order.indexOf(b)).join(' ');
}

const responseTypeSchema = z.preprocess(
  (v) => (typeof v === 'string' ? canonicalResponseType(v) : v),
  z.enum(responseTypes),
);

/** A URL-valued metadata field; its rules (https, no fragment ...) are checked with the rest of the client. */
const uri = () => z.string().min(1).max(2048);

/**
 * Client metadata uses the RFC 7591 / OIDC Registration / logout specs' names, so a configured and a registered
 * client look alike (interface.md "Configuration file"). Every name of those specs is accepted; values Gatehouse
 * cannot honour (encrypted responses) are refused by the semantic checks, by key path.
 */
export const clientSchema = z.strictObject({
  client_id: z
    .string()
    .min(1)
    .max(255)
    .regex(/^[\x21-\x7E]+$/, 'printable ASCII without spaces'),
  /** Omitted for public clients. Stored only as a keyed hash. */
  client_secret: z.string().min(1).max(512).optional(),
  /** RFC 7591 §3.2.1; 0 = never. Accepted for registered clients' shape; configured secrets do not expire. */
  client_secret_expires_at: z.preprocess(fromEnv, z.number().int().min(0)).optional(),
  client_id_issued_at: z.preprocess(fromEnv, z.number().int().min(0)).optional(),
  client_name: z.string().max(255).optional(),
  client_uri: uri().optional(),
  logo_uri: uri().optional(),
  policy_uri: uri().optional(),
  tos_uri: uri().optional(),
  contacts: z.array(z.string().max(255)).max(20).optional(),
  software_id: z.string().max(255).optional(),
  software_version: z.string().max(255).optional(),
  // Lists are capped: a registered client must not cost unbounded memory or fetches (RFC 7591 leaves sizes open).
  redirect_uris: z.array(z.string().max(2048)).max(100).default([]),
  /** Where RP-initiated logout may return to (OIDC RP-Initiated Logout §3.1). */
  post_logout_redirect_uris: z.array(z.string().max(2048)).max(100).default([]),
  grant_types: z.array(z.enum(grantTypes)).min(1).max(10).default(['authorization_code']),
  response_types: z.array(responseTypeSchema).max(6).default(['code']),
  /**
   * Absent with a client_secret: client_secret_basic or client_secret_post, whichever the client sends
   * (interface.md: most relying-party libraries default to one or the other). Named: exactly that method.
   */
  token_endpoint_auth_method: z.enum(clientAuthMethods).optional(),
  /** Space-separated scopes the client may ask for; anything else in a request is dropped. */
  scope: z
    .string()
    .default('openid profile email address phone offline_access')
    .refine((s) => s.split(' ').every((t) => scopeToken.test(t)), 'space-separated scope tokens'),
  /** `native` lets a loopback redirect URI use any port (RFC 8252 §7.3); `web` allows implicit only over https. */
  application_type: z.enum(['web', 'native']).default('web'),
  /** private_key_jwt and signed request objects: the client's public keys, inline or by URL (OIDC Registration §2). */
  jwks: jwksSchema.optional(),
  jwks_uri: uri().optional(),
  /** The one algorithm the client signs its assertions with; default: any of its kind (HS* or asymmetric). */
  token_endpoint_auth_signing_alg: z.enum([...asymmetricAlgs, ...hmacAlgs]).optional(),
  /** `pairwise`: a different `sub` per sector (OIDC Core §8.1); default `public`. */
  subject_type: z.enum(['public', 'pairwise']).optional(),
  /** Pairwise sector: an https URL of a JSON array listing every redirect URI (OIDC Core §8.1). */
  sector_identifier_uri: uri().optional(),
  /** ID token signature algorithm; default: the provider's signingAlg. */
  id_token_signed_response_alg: z.enum([...signingAlgs, 'none']).optional(),
  id_token_encrypted_response_alg: z.string().optional(),
  id_token_encrypted_response_enc: z.string().optional(),
  /** Set: UserInfo answers as a JWT signed with this algorithm (`application/jwt`); absent: plain JSON. */
  userinfo_signed_response_alg: z.enum([...signingAlgs, 'none']).optional(),
  userinfo_encrypted_response_alg: z.string().optional(),
  userinfo_encrypted_response_enc: z.string().optional(),
  /**
   * The algorithm the client's request objects must be signed with (`none`: unsigned only). Absent: any algorithm the
   * client has keys for, or unsigned (OIDC Registration §2).
   */
  request_object_signing_alg: z.enum([...asymmetricAlgs, ...hmacAlgs, 'none']).optional(),
  request_object_encryption_alg: z.string().optional(),
  request_object_encryption_enc: z.string().optional(),
  /**
   * The request_uri values the client may use (OIDC Registration §2), matched exactly, fragment aside. Without them the
   * provider fetches no request_uri for the client (`require_request_uri_registration`).
   */
  request_uris: z.array(uri()).max(20).optional(),
  /** Default max_age for this client's authorization requests (OIDC Registration §2). */
  default_max_age: z
    .preprocess(
      fromEnv,
      z
        .number()
        .int()
        .min(0)
        .max(10 * 365 * 86400),
    )
    .optional(),
  /** Always put auth_time in ID tokens (it always is in Gatehouse's). */
  require_auth_time: bool().optional(),
  default_acr_values: z.array(z.string().max(255)).max(20).optional(),
  initiate_login_uri: uri().optional(),
  /** OIDC Back-Channel Logout 1.0 §2.2. */
  backchannel_logout_uri: uri().optional(),
  backchannel_logout_session_required: bool().optional(),
  /** OIDC Front-Channel Logout 1.0 §2; accepted, not used (Gatehouse logs out over the back channel). */
  frontchannel_logout_uri: uri().optional(),
  frontchannel_logout_session_required: bool().optional(),
  // Gatehouse extensions below (snake_case like the metadata they sit beside).
  /** Browser origins allowed to call the token, UserInfo and revocation endpoints; default: the redirect URIs' origins. */
  allowed_cors_origins: z.array(z.string()).optional(),
  /** RFC 8707 resource indicators the client may ask for. */
  allowed_resources: z.array(z.string()).default([]),
  /** `opaque` or `jwt` (RFC 9068); default: the provider's accessTokenFormat. */
  access_token_format: z.enum(['opaque', 'jwt']).optional(),
  /** Rotate refresh tokens for this confidential client; default: the provider's refreshTokenRotation. Public clients always rotate. */
  refresh_token_rotation: bool().optional(),
  /** Lets this client (a resource server) introspect any token of the provider, not only its own. */
  introspect_any_token: bool().default(false),
  /** Per-client lifetimes in seconds; default: the provider's `lifetimes`. */
  access_token_lifetime: lifetime,
  id_token_lifetime: lifetime,
  refresh_token_lifetime: lifetime,
  refresh_token_idle_lifetime: lifetime,
});

/** A JWT issuer trusted for the JWT bearer grant (RFC 7523 §2.1, §3). */
export const jwtBearerIssuerSchema = z.strictObject({
  issuer: z.string().min(1),
  jwks: jwksSchema.optional(),
  jwks_uri: z.string().optional(),
  algorithms: z.array(z.enum(asymmetricAlgs)).min(1).default(['RS256', 'PS256', 'ES256', 'EdDSA']),
});

export const userSchema = z.strictObject({
  username: z.string().min(1).max(255),
  password: z.string().min(1).max(1024).optional(),
  /** An argon2id PHC string, for files that must not hold the password itself. */
  password_hash: z
    .string()
    .regex(/^\$argon2id\$/, 'an argon2id PHC string ($argon2id$...)')
    .optional(),
  /** Stable subject identifier; generated (and kept in the store) when omitted. */
  sub: z.string().min(1).max(255).optional(),
  claims: z.record(z.string(), z.unknown()).default({}),
});

export const lifetimesSchema = z
  .strictObject({
    /** Authorization code, seconds (RFC 6749 §4.1.2 recommends at most 10 minutes). */
    authorizationCode: seconds(60, 600),
    accessToken: seconds(3600),
    idToken: seconds(3600),
    /** Absolute lifetime of a refresh token family, from the first sign-in. */
    refreshToken: seconds(14 * 86400),
    /** A refresh token not used for this long expires. */
    refreshTokenIdle: seconds(7 * 86400),
    /** Browser login session at the provider. */
    session: seconds(8 * 3600),
    /** Time a user has to finish login and consent. */
    interaction: seconds(900),
  })
  .default({
    authorizationCode: 60,
    accessToken: 3600,
    idToken: 3600,
    refreshToken: 14 * 86400,
    refreshTokenIdle: 7 * 86400,
    session: 8 * 3600,
    interaction: 900,
  });

const positiveCount = (def: number) =>
  z.preprocess(fromEnv, z.number().int().min(1).max(1_000_000)).default(def);

/** A token bucket per client address: `perSecond` refills it, `burst` is its size. */
const rateSchema = (perSecond: number, burst: number) =>
  z
    .strictObject({
      perSecond: z.preprocess(fromEnv, z.number().positive().max(1_000_000)).default(perSecond),
      burst: positiveCount(burst),
    })
    .prefault({});

/**
 * Throttling (security checklist C3, L5). Counters of failed attempts live in the store, so every process on one
 * database counts together; answers past a limit are 429 with Retry-After. Each counter's window starts at its first
 * attempt; at its limit the key is blocked until the window ends, twice as long each time it reaches the limit again
 * in the next window (up to `maxBlockSeconds`), and a window ending under the limit forgets that.
 */
export const throttleSchema = z
  .strictObject({
    /** Length of a counting window, seconds. */
    windowSeconds: seconds(900, 86400),
    /** The longest block a key repeatedly at its limit gets, seconds. */
    maxBlockSeconds: seconds(86400, 30 * 86400),
    /**
     * Login attempts per window (counted before the password is checked, a successful one given back): per
     * account (the username, lower-cased) from one client address, per account from every address, and per
     * address whatever the account. The per-account limit lets anyone with many addresses hold an account's
     * logins off until the window ends: the price of capping guesses at it (NIST SP 800-63B §5.2.2).
     */
    login: z
      .strictObject({
        perAccountAndAddress: positiveCount(10),
        /** Whatever the addresses: many addresses must not multiply the guesses at one account. */
        perAccount: positiveCount(100),
        perAddress: positiveCount(100),
      })
      .prefault({}),
    /**
     * Failed client authentications per window at token, introspection and revocation: per client_id from one
     * address, and per address. While blocked even the correct credentials are refused.
     */
    clientAuth: z
      .strictObject({ perClientAndAddress: positiveCount(20), perAddress: positiveCount(200) })
      .prefault({}),
    /**
     * Request rates per client address, kept in each process's memory: floods, not guessing. The workers of one
     * server (`server.workers`) each take 1/N, so together they allow the configured rate; separate servers behind a
     * proxy each allow the full rate. IPv6 addresses count by their /64.
     */
    requests: z
      .strictObject({
        authorize: rateSchema(30, 300),
        registration: rateSchema(2, 20),
        /** Addresses remembered per endpoint; past it the least recently seen is forgotten (bounded memory). */
        maxAddresses: positiveCount(10_000),
      })
      .prefault({}),
  })
  .prefault({});

export const providerSchema = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, "letters, digits, '-' and '_' (at most 64)"),
  clients: z.array(clientSchema).default([]),
  users: z.array(userSchema).default([]),
  /** Algorithm of the ID token signing key generated on first start. */
  signingAlg: z.enum(signingAlgs).default('RS256'),
  lifetimes: lifetimesSchema,
  /** Which clients must use PKCE: `public` (RFC 9700 §2.1.1 minimum) or `all`. */
  pkceRequired: z.enum(['public', 'all']).default('public'),
  /**
   * Issue a new refresh token at every refresh and revoke the family when an old one is replayed, for
   * confidential clients (public clients always rotate, RFC 9700 §4.14.2). Overridable per client.
   */
  refreshTokenRotation: bool().default(true),
  /**
   * Seconds during which a just-rotated refresh token may be presented again (a retry after a lost response):
   * the unused successor is replaced instead of the grant being revoked. 0 turns it off.
   */
  refreshTokenGracePeriod: z.preprocess(fromEnv, z.number().int().min(0).max(300)).default(0),
  /** Access token format: `opaque` random strings, or `jwt` per RFC 9068. Overridable per client. */
  accessTokenFormat: z.enum(['opaque', 'jwt']).default('opaque'),
  /** Longest lifetime (exp - now) accepted on a client assertion or JWT bearer assertion, seconds. */
  maxAssertionLifetime: z.preprocess(fromEnv, z.number().int().positive().max(3600)).default(300),
  /**
   * Key (at least 32 characters) that encrypts what the store keeps secret: the private signing keys and the
   * client_secret_jwt secrets. Generated and kept in the store when omitted; set it (from `${ENV}`) to keep it
   * out of the database. Set it before the first start: signing keys stored under another key cannot be read.
   */
  secretEncryptionKey: z.string().min(32).optional(),
  /** Issuers whose JWTs the JWT bearer grant accepts. */
  jwtBearer: z.strictObject({ issuers: z.array(jwtBearerIssuerSchema).default([]) }).default({ issuers: [] }),
  /**
   * Key for the HMAC that client secrets are stored under (at least 32 characters).
   * Generated and kept in the store when omitted; set it (from `${ENV}`) to keep it out of the database.
   */
  clientSecretHashKey: z.string().min(32).optional(),
  /**
   * Shortest `client_secret` a configured client may have: `serve` refuses a shorter one (by key path), and
   * `check` also warns about any under 32 characters. Lower it only for secrets carried over from another provider
   * (say 10-character ones) until they are replaced; generated secrets are 43 characters.
   */
  clientSecretMinLength: z.preprocess(fromEnv, z.number().int().min(1).max(512)).default(16),
  /**
   * Dynamic client registration (RFC 7591/7592) at /registration. Absent: off. `{}`: open to anyone.
   * `initialAccessToken`: only requests with this Bearer token may register (RFC 7591 §3).
   */
  registration: z.strictObject({ initialAccessToken: z.string().min(16).optional() }).optional(),
  /**
   * OIDC Core §5.4: with an access token issued, the scope's claims are available at UserInfo; true also puts
   * them in the ID token (what most relying-party libraries read). Without an access token they always go there.
   */
  scopeClaimsInIdToken: bool().default(true),
  /** `acr` values the provider can satisfy (OIDC Core §2); the first is the default. */
  acrValues: z.array(z.string().min(1).max(255)).min(1).default(['urn:gatehouse:acr:password']),
  /**
   * Salt of pairwise subject identifiers (OIDC Core §8.1), at least 32 characters. Generated and kept in the store
   * when omitted. Changing it changes every pairwise `sub`.
   */
  pairwiseSalt: z.string().min(32).optional(),
  /** Brute-force throttling of logins and client authentication, and per-address request rates (issue 8). */
  throttle: throttleSchema,
});

/** A proxy's address, or a CIDR range of them (`10.0.0.0/8`, `fd00::/8`). */
const proxyAddress = z.string().refine((value) => {
  const [address = '', bits, ...rest] = value.split('/');
  const family = isIP(address);
  if (family === 0 || rest.length > 0) return false;
  if (bits === undefined) return true;
  return /^\d{1,3}$/.test(bits) && Number(bits) <= (family === 4 ? 32 : 128);
}, 'an IP address or CIDR range');

export const serverSchema = z
  .strictObject({
    host: z.string().min(1).default('127.0.0.1'),
    port: z.preprocess(fromEnv, z.number().int().min(0).max(65535)).default(8080),
    /** The base URL clients see; issuers are built from it, never from the Host header. */
    publicUrl: z.string().optional(),
    tls: z.strictObject({ cert: z.string().min(1), key: z.string().min(1) }).optional(),
    /**
     * Which X-Forwarded-For entries give the client address (logs and throttle counters): a list of the proxies'
     * addresses or CIDR ranges (strictest), a hop count (only when nothing reaches Gatehouse but through the
     * proxies), or true (anything a client writes: spoofable). Issuers never depend on it.
     */
    trustProxy: z
      .preprocess(fromEnv, z.union([z.boolean(), z.number().int().min(0), z.array(proxyAddress).min(1)]))
      .default(false),
    logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    /**
     * Let the provider fetch `jwks_uri` documents from loopback and private addresses, and over http.
     * Off by default: those fetches are an SSRF vector (RFC 9700 §4.15). For tests and closed networks.
     */
    allowPrivateNetworkFetch: bool().default(false),
    /**
     * A request whose headers and body have not all arrived this many seconds after it began is answered 408 and
     * its connection closed (slow-client attacks: one byte every few seconds would otherwise hold it open forever).
     */
    requestTimeoutSeconds: seconds(30, 3600),
    /** An idle keep-alive connection (no request in progress) is closed after this many seconds. */
    keepAliveTimeoutSeconds: seconds(5, 600),
    /** Open connections at most; past it a new connection is closed at once, and those already open are served. */
    maxConnections: z.preprocess(fromEnv, z.number().int().min(1).max(1_000_000)).default(10000),
    /**
     * On SIGTERM or SIGINT: requests in flight get this many seconds to finish; then connections still open (a
     * client trickling its request) are cut, the store is closed and the process exits.
     */
    shutdownTimeoutSeconds: seconds(10, 600),
    /**
     * Processes serving the one port (issue 9 point 3): a positive integer, or `auto` for one per available core
     * (`os.availableParallelism()`). Default 1: one process, as before. Above 1, `serve` starts a primary process
     * (node:cluster) that migrates the store once, forks this many workers and replaces one that dies (at most once
     * a second per worker); each worker opens its own store connection (PostgreSQL: N x `storage.poolSize`), takes a
     * 1/N share of every `throttle.requests` bucket (the rate exactly, the burst rounded up) and defaults
     * `passwordWorkers` to its share of the cores; /metrics answers for all workers. `maxConnections` counts per worker.
     */
    workers: z
      .preprocess(fromEnv, z.union([z.number().int().min(1).max(1024), z.literal('auto')]))
      .default(1)
      .transform((n) => (n === 'auto' ? availableParallelism() : n)),
    /**
     * Worker threads that run argon2 for logins, off libuv's thread pool where ID tokens are signed. Default: one
     * per core but one (at least 1, at most 8), so a login flood leaves a core to the event loop and token signing;
     * with `workers` above 1, each process takes its share: max(1, floor((cores - 1) / workers)). Each busy worker
     * thread holds about 19 MiB.
     */
    passwordWorkers: z.preprocess(fromEnv, z.number().int().min(1).max(256)).optional(),
    /**
     * Password checks that may wait for a busy worker; one more login is answered 503 with Retry-After at once
     * rather than queued (each waiting check adds one argon2 run, tens of ms, to the wait of those behind it).
     */
    passwordQueue: z.preprocess(fromEnv, z.number().int().min(0).max(100_000)).default(64),
  })
  // The one default that depends on another key: password threads are shared out among the worker processes.
  .transform((s) => ({ ...s, passwordWorkers: s.passwordWorkers ?? defaultPasswordWorkers(s.workers) }))
  // prefault: an absent `server` is parsed as {}, so every key's own default applies (add keys above only).
  .prefault({});

/** argon2 threads per process when `passwordWorkers` is not set: the cores but one, shared among the processes. */
export function defaultPasswordWorkers(workers: number, cores = availableParallelism()): number {
  return Math.max(1, Math.min(8, Math.floor((cores - 1) / workers)));
}

/**
 * Where everything is kept. One flat object, so `storage.path` stays a plain string for SQLite tooling; a key of the
 * other driver is refused by the check below, which names the key.
 */
export const storageSchema = z
  .strictObject({
    /** `sqlite`: one file, one process (default). `postgres`: several processes share one PostgreSQL 15 or later. */
    driver: z.enum(['sqlite', 'postgres']).default('sqlite'),
    /** SQLite only: the database file (default `./data/gatehouse.db`); its folder is created. */
    path: z.string().min(1).optional(),
    /**
     * SQLite only: `PRAGMA synchronous` in WAL mode. `normal` (default) survives a crash of the process, but a power
     * loss or OS crash may lose the last commits (never corrupts the file); `full` syncs every commit to disk, so a
     * token once returned survives a power loss too, at a cost per write.
     */
    synchronous: z.enum(['normal', 'full']).optional(),
    /** PostgreSQL only, required: `postgres://user:password@host:port/database`; `${ENV}` keeps the password out. */
    url: z.string().min(1).optional(),
    /** PostgreSQL only: connections per process (default 10); N processes open up to N x poolSize. */
    poolSize: z.preprocess(fromEnv, z.number().int().min(1).max(1000)).optional(),
    /**
     * PostgreSQL only: the longest a statement, or a wait for a pooled connection, may take (default 5000 ms); past
     * it the request fails with 503 instead of hanging (PostgreSQL `statement_timeout`).
     */
    statementTimeoutMs: z.preprocess(fromEnv, z.number().int().min(100).max(600_000)).optional(),
  })
  .superRefine((s, ctx) => {
    const only = (key: keyof typeof s, driver: string) => {
      if (s[key] !== undefined)
        ctx.addIssue({ code: 'custom', path: [key], message: `only for driver ${driver}` });
    };
    if (s.driver === 'postgres') {
      if (s.url === undefined)
        ctx.addIssue({ code: 'custom', path: ['url'], message: 'required for driver postgres' });
      // The URL itself is never echoed: it may hold a password.
      else if (!/^postgres(ql)?:\/\//.test(s.url))
        ctx.addIssue({ code: 'custom', path: ['url'], message: 'must be a postgres:// URL' });
      only('path', 'sqlite');
      only('synchronous', 'sqlite');
    } else {
      only('url', 'postgres');
      only('poolSize', 'postgres');
      only('statementTimeoutMs', 'postgres');
    }
  })
  .transform((s) => ({
    driver: s.driver,
    path: s.path ?? './data/gatehouse.db',
    synchronous: s.synchronous ?? 'normal',
    url: s.url,
    poolSize: s.poolSize ?? 10,
    statementTimeoutMs: s.statementTimeoutMs ?? 5000,
  }))
  .prefault({});

export const configSchema = z.strictObject({
  server: serverSchema,
  storage: storageSchema,
  providers: z.array(providerSchema).min(1),
});

export type ConfigInput = z.input<typeof configSchema>;
export type ParsedConfig = z.output<typeof configSchema>;
export type ClientConfig = z.output<typeof clientSchema>;
export type UserConfig = z.output<typeof userSchema>;
export type ProviderConfig = z.output<typeof providerSchema>;
export type Lifetimes = z.output<typeof lifetimesSchema>;
export type ThrottleSettings = z.output<typeof throttleSchema>;
export type JwtBearerIssuer = z.output<typeof jwtBearerIssuerSchema>;
