// The configuration schema: every key, its type, its default and why (interface.md "Configuration file").
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

const jwksSchema = z.strictObject({ keys: z.array(z.record(z.string(), z.unknown())).min(1) });
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

export const signingAlgs = ['RS256', 'ES256', 'EdDSA'] as const;
export type SigningAlg = (typeof signingAlgs)[number];

/** Client metadata uses the RFC 7591 / OIDC Registration names, so a configured and a registered client look alike. */
export const clientSchema = z.strictObject({
  client_id: z
    .string()
    .min(1)
    .max(255)
    .regex(/^[\x21-\x7E]+$/, 'printable ASCII without spaces'),
  /** Omitted for public clients. Stored only as a keyed hash. */
  client_secret: z.string().min(1).max(512).optional(),
  client_name: z.string().max(255).optional(),
  redirect_uris: z.array(z.string()).default([]),
  /** Where RP-initiated logout may return to (OIDC RP-Initiated Logout §3); kept for the logout endpoint. */
  post_logout_redirect_uris: z.array(z.string()).default([]),
  grant_types: z.array(z.enum(grantTypes)).min(1).default(['authorization_code']),
  response_types: z.array(z.enum(['code'])).default(['code']),
  token_endpoint_auth_method: z.enum(clientAuthMethods).default('client_secret_basic'),
  /** Space-separated scopes the client may ask for; anything else in a request is dropped. */
  scope: z
    .string()
    .default('openid')
    .refine((s) => s.split(' ').every((t) => scopeToken.test(t)), 'space-separated scope tokens'),
  /** `native` lets a loopback redirect URI use any port (RFC 8252 §7.3). */
  application_type: z.enum(['web', 'native']).default('web'),
  /** private_key_jwt: the client's public keys, inline or by URL (OIDC Registration §2). */
  jwks: jwksSchema.optional(),
  jwks_uri: z.string().optional(),
  /** The one algorithm the client signs its assertions with; default: any of its kind (HS* or asymmetric). */
  token_endpoint_auth_signing_alg: z.enum([...asymmetricAlgs, ...hmacAlgs]).optional(),
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
});

export const serverSchema = z
  .strictObject({
    host: z.string().min(1).default('127.0.0.1'),
    port: z.preprocess(fromEnv, z.number().int().min(0).max(65535)).default(8080),
    /** The base URL clients see; issuers are built from it, never from the Host header. */
    publicUrl: z.string().optional(),
    tls: z.strictObject({ cert: z.string().min(1), key: z.string().min(1) }).optional(),
    /** Trust X-Forwarded-For from this many proxy hops (client IPs in logs). Issuers never depend on it. */
    trustProxy: z.preprocess(fromEnv, z.union([z.boolean(), z.number().int().min(0)])).default(false),
    logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    /**
     * Let the provider fetch `jwks_uri` documents from loopback and private addresses, and over http.
     * Off by default: those fetches are an SSRF vector (RFC 9700 §4.15). For tests and closed networks.
     */
    allowPrivateNetworkFetch: bool().default(false),
  })
  .default({
    host: '127.0.0.1',
    port: 8080,
    trustProxy: false,
    logLevel: 'info',
    allowPrivateNetworkFetch: false,
  });

export const storageSchema = z
  .strictObject({
    driver: z.enum(['sqlite']).default('sqlite'),
    path: z.string().min(1).default('./data/gatehouse.db'),
  })
  .default({ driver: 'sqlite', path: './data/gatehouse.db' });

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
export type JwtBearerIssuer = z.output<typeof jwtBearerIssuerSchema>;
