// The configuration schema: every key, its type, its default and why (interface.md "Configuration file").
import { z } from 'zod';

const seconds = (def: number, max = 10 * 365 * 86400) => z.number().int().positive().max(max).default(def);

/** Scope tokens per RFC 6749 §3.3: printable ASCII without space, '"' or '\'. */
const scopeToken = /^[\x21\x23-\x5B\x5D-\x7E]+$/;

export const grantTypes = ['authorization_code', 'refresh_token'] as const;
export type GrantTypeName = (typeof grantTypes)[number];

export const clientAuthMethods = ['client_secret_basic', 'client_secret_post', 'none'] as const;
export type ClientAuthMethodName = (typeof clientAuthMethods)[number];

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
  /** Issue a new refresh token at every refresh and revoke the family when an old one is replayed. */
  refreshTokenRotation: z.boolean().default(true),
  /**
   * Key for the HMAC that client secrets are stored under (at least 32 characters).
   * Generated and kept in the store when omitted; set it (from `${ENV}`) to keep it out of the database.
   */
  clientSecretHashKey: z.string().min(32).optional(),
});

export const serverSchema = z
  .strictObject({
    host: z.string().min(1).default('127.0.0.1'),
    port: z.number().int().min(0).max(65535).default(8080),
    /** The base URL clients see; issuers are built from it, never from the Host header. */
    publicUrl: z.string().optional(),
    tls: z.strictObject({ cert: z.string().min(1), key: z.string().min(1) }).optional(),
    /** Trust X-Forwarded-For from this many proxy hops (client IPs in logs). Issuers never depend on it. */
    trustProxy: z.union([z.boolean(), z.number().int().min(0)]).default(false),
    logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  })
  .default({ host: '127.0.0.1', port: 8080, trustProxy: false, logLevel: 'info' });

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
