// Reads, interpolates, validates and freezes the configuration file (interface.md "Configuration file").
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { isLoopbackHost } from '../util/url.js';
import {
  asymmetricAlgs,
  type ClientConfig,
  configSchema,
  hmacAlgs,
  jwtBearerGrantType,
  type ParsedConfig,
  type ProviderConfig,
} from './schema.js';

export interface ConfigProblem {
  /** Dotted key path, e.g. `providers[0].clients[1].redirect_uris`. */
  path: string;
  message: string;
}

export class ConfigError extends Error {
  readonly problems: ConfigProblem[];
  constructor(problems: ConfigProblem[]) {
    super(
      `invalid configuration:\n${problems.map((p) => `  ${p.path || '(root)'}: ${p.message}`).join('\n')}`,
    );
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

export interface ProviderSettings extends ProviderConfig {
  /** `{publicUrl}/oidc/endpoint/{name}`: the issuer identifier and the base of every endpoint. */
  readonly issuer: string;
  /** Path part of the issuer, for routing. */
  readonly basePath: string;
}

export interface Config extends Omit<ParsedConfig, 'providers'> {
  readonly publicUrl: string;
  readonly secureCookies: boolean;
  readonly providers: readonly ProviderSettings[];
}

export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out ? `.${String(part)}` : String(part);
  }
  return out;
}

/** Replaces `${NAME}` in every string with the environment variable; `$${` escapes a literal `${`. */
function interpolate(
  value: unknown,
  env: NodeJS.ProcessEnv,
  path: PropertyKey[],
  problems: ConfigProblem[],
): unknown {
  if (typeof value === 'string') {
    return value.replace(/\$?\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (match, name: string) => {
      if (match.startsWith('$$')) return match.slice(1);
      const v = env[name];
      if (v === undefined) {
        problems.push({ path: formatPath(path), message: `environment variable ${name} is not set` });
        return '';
      }
      return v;
    });
  }
  if (Array.isArray(value)) return value.map((v, i) => interpolate(v, env, [...path, i], problems));
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = interpolate(v, env, [...path, k], problems);
    return out;
  }
  return value;
}

function zodProblems(error: z.ZodError): ConfigProblem[] {
  return error.issues.flatMap((issue) => {
    const path = formatPath(issue.path);
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((k) => ({ path: path ? `${path}.${k}` : k, message: 'unknown key' }));
    }
    return [{ path, message: issue.message }];
  });
}

function checkRedirectUri(uri: string, client: ClientConfig): string | undefined {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    return `${uri} is not an absolute URL`;
  }
  if (uri.includes('#')) return `${uri} must not contain a fragment (RFC 6749 §3.1.2)`;
  if (url.protocol === 'https:') return undefined;
  if (url.protocol === 'http:') {
    return isLoopbackHost(url.hostname)
      ? undefined
      : `${uri} uses http on a non-loopback host; use https (RFC 9700 §2.6)`;
  }
  // RFC 8252 §7.1: private-use schemes in reverse-domain form, for native apps only.
  if (client.application_type === 'native' && /^[a-z][a-z0-9+-]*\.[a-z0-9.+-]+:$/.test(url.protocol))
    return undefined;
  return `${uri} has a scheme that is not allowed (${url.protocol})`;
}

function isHttpUrl(s: string): boolean {
  try {
    const u = new URL(s);
    return u.protocol === 'https:' || u.protocol === 'http:';
  } catch {
    return false;
  }
}

function isOrigin(s: string): boolean {
  try {
    const u = new URL(s);
    return (u.protocol === 'https:' || u.protocol === 'http:') && u.origin === s;
  } catch {
    return false;
  }
}

export function isResourceUri(s: string): boolean {
  try {
    new URL(s);
    return !s.includes('#');
  } catch {
    return false;
  }
}

const secretMethods = new Set(['client_secret_basic', 'client_secret_post', 'client_secret_jwt']);

/** Each authentication method needs exactly its own credential (OIDC Registration §2, OIDC Core §9). */
function checkClientAuth(c: ClientConfig, add: (path: PropertyKey[], message: string) => void): void {
  const method = c.token_endpoint_auth_method;
  if (method === undefined) {
    // Absent: basic or post with a secret (interface.md); without one the client has no way to authenticate.
    if (c.client_secret === undefined)
      add(
        ['client_secret'],
        'required unless token_endpoint_auth_method is none (public client) or private_key_jwt',
      );
    return;
  }
  if (secretMethods.has(method) && c.client_secret === undefined)
    add(['client_secret'], `required for token_endpoint_auth_method ${method}`);
  // RFC 7518 §3.2: an HMAC key at least as long as the hash output (256 bits for HS256).
  if (
    method === 'client_secret_jwt' &&
    c.client_secret !== undefined &&
    Buffer.byteLength(c.client_secret) < 32
  )
    add(['client_secret'], 'client_secret_jwt needs a secret of at least 32 bytes (RFC 7518 §3.2)');
  if (!secretMethods.has(method) && c.client_secret !== undefined)
    add(['client_secret'], `not used by token_endpoint_auth_method ${method}; remove it`);
  if (method === 'private_key_jwt' && (c.jwks === undefined) === (c.jwks_uri === undefined))
    add(['jwks'], 'private_key_jwt needs exactly one of jwks and jwks_uri');
  if (method !== 'private_key_jwt' && (c.jwks !== undefined || c.jwks_uri !== undefined))
    add(['jwks'], 'jwks and jwks_uri are only used with private_key_jwt');
  if (c.jwks_uri !== undefined && !isHttpUrl(c.jwks_uri)) add(['jwks_uri'], 'must be an http(s) URL');
  c.jwks?.keys.forEach((k, ki) => {
    // A private or symmetric member means the client's secret key was pasted here: refuse, do not publish it further.
    if (['d', 'p', 'q', 'dp', 'dq', 'qi', 'k'].some((m) => m in k))
      add(['jwks', 'keys', ki], 'must be a public key (no d, p, q, dp, dq, qi or k member)');
  });
  const alg = c.token_endpoint_auth_signing_alg;
  if (alg !== undefined) {
    if (method === 'client_secret_jwt' && !(hmacAlgs as readonly string[]).includes(alg))
      add(['token_endpoint_auth_signing_alg'], 'client_secret_jwt signs with HS256, HS384 or HS512');
    else if (method === 'private_key_jwt' && !(asymmetricAlgs as readonly string[]).includes(alg))
      add(['token_endpoint_auth_signing_alg'], 'private_key_jwt signs with an asymmetric algorithm');
    else if (method !== 'client_secret_jwt' && method !== 'private_key_jwt')
      add(['token_endpoint_auth_signing_alg'], 'only used with client_secret_jwt and private_key_jwt');
  }
}

function checkSemantics(config: ParsedConfig): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const add = (path: PropertyKey[], message: string) => problems.push({ path: formatPath(path), message });

  if (config.server.publicUrl !== undefined) {
    try {
      const u = new URL(config.server.publicUrl);
      if (u.protocol !== 'http:' && u.protocol !== 'https:')
        add(['server', 'publicUrl'], 'must be an http(s) URL');
      if (
        u.search ||
        u.hash ||
        config.server.publicUrl.includes('?') ||
        config.server.publicUrl.includes('#')
      )
        add(['server', 'publicUrl'], 'must not have a query or fragment (OIDC Discovery §3)');
    } catch {
      add(['server', 'publicUrl'], 'must be an absolute URL');
    }
  }

  const names = new Set<string>();
  config.providers.forEach((p, pi) => {
    if (names.has(p.name)) add(['providers', pi, 'name'], `duplicate provider name ${p.name}`);
    names.add(p.name);
    const ids = new Set<string>();
    p.clients.forEach((c, ci) => {
      const at = (...rest: PropertyKey[]) => ['providers', pi, 'clients', ci, ...rest];
      if (ids.has(c.client_id)) add(at('client_id'), `duplicate client_id ${c.client_id}`);
      ids.add(c.client_id);
      checkClientAuth(c, (path, message) => add(at(...path), message));
      if (c.grant_types.includes('authorization_code')) {
        if (c.redirect_uris.length === 0)
          add(at('redirect_uris'), 'required for the authorization_code grant');
        if (!c.response_types.includes('code')) add(at('response_types'), 'must include code');
      }
      if (c.grant_types.includes('refresh_token') && !c.grant_types.includes('authorization_code'))
        add(
          at('grant_types'),
          'refresh_token needs authorization_code (refresh tokens come from the code flow)',
        );
      if (c.grant_types.includes(jwtBearerGrantType) && p.jwtBearer.issuers.length === 0)
        add(
          at('grant_types'),
          `${jwtBearerGrantType} needs at least one trusted issuer in jwtBearer.issuers`,
        );
      if (c.token_endpoint_auth_method === 'none') {
        for (const g of ['client_credentials', jwtBearerGrantType] as const)
          if (c.grant_types.includes(g)) add(at('grant_types'), `${g} is for confidential clients only`);
      }
      c.allowed_cors_origins?.forEach((o, oi) => {
        if (!isOrigin(o)) add(at('allowed_cors_origins', oi), `${o} is not an origin (scheme://host[:port])`);
      });
      c.allowed_resources.forEach((r, ri) => {
        if (!isResourceUri(r))
          add(at('allowed_resources', ri), `${r} must be an absolute URI without a fragment (RFC 8707 §2)`);
      });
      c.redirect_uris.forEach((uri, ui) => {
        const problem = checkRedirectUri(uri, c);
        if (problem) add(at('redirect_uris', ui), problem);
      });
      c.post_logout_redirect_uris.forEach((uri, ui) => {
        const problem = checkRedirectUri(uri, c);
        if (problem) add(at('post_logout_redirect_uris', ui), problem);
      });
    });
    p.jwtBearer.issuers.forEach((iss, ii) => {
      if ((iss.jwks === undefined) === (iss.jwks_uri === undefined))
        add(['providers', pi, 'jwtBearer', 'issuers', ii, 'jwks'], 'give exactly one of jwks and jwks_uri');
      if (iss.jwks_uri !== undefined && !isHttpUrl(iss.jwks_uri))
        add(['providers', pi, 'jwtBearer', 'issuers', ii, 'jwks_uri'], 'must be an http(s) URL');
    });
    const usernames = new Set<string>();
    p.users.forEach((u, ui) => {
      const at = (...rest: PropertyKey[]) => ['providers', pi, 'users', ui, ...rest];
      if (usernames.has(u.username)) add(at('username'), `duplicate username ${u.username}`);
      usernames.add(u.username);
      if ((u.password === undefined) === (u.password_hash === undefined))
        add(at('password'), 'give exactly one of password and password_hash');
      if ('sub' in u.claims)
        add(at('claims', 'sub'), 'set the subject with the user key `sub`, not as a claim');
    });
  });
  return problems;
}

function finish(parsed: ParsedConfig): Config {
  const { server } = parsed;
  const scheme = server.tls ? 'https' : 'http';
  const hostForUrl = server.host.includes(':') ? `[${server.host}]` : server.host;
  const publicUrl = (server.publicUrl ?? `${scheme}://${hostForUrl}:${server.port}`).replace(/\/+$/, '');
  const providers = parsed.providers.map((p) => {
    const basePath = `/oidc/endpoint/${p.name}`;
    return { ...p, issuer: `${publicUrl}${basePath}`, basePath };
  });
  return deepFreeze({
    ...parsed,
    publicUrl,
    secureCookies: publicUrl.startsWith('https://'),
    providers,
  });
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

/** Validates an already-parsed document (YAML or an object built in code). Throws ConfigError. */
export function buildConfig(document: unknown, env: NodeJS.ProcessEnv = process.env): Config {
  const problems: ConfigProblem[] = [];
  const interpolated = interpolate(document, env, [], problems);
  const result = configSchema.safeParse(interpolated);
  if (!result.success) {
    // A missing variable already explains why its value is empty; say it once.
    const seen = new Set(problems.map((p) => p.path));
    throw new ConfigError([...problems, ...zodProblems(result.error).filter((p) => !seen.has(p.path))]);
  }
  if (problems.length > 0) throw new ConfigError(problems);
  problems.push(...checkSemantics(result.data));
  if (problems.length > 0) throw new ConfigError(problems);
  return finish(result.data);
}

export function loadConfigFile(file: string, env: NodeJS.ProcessEnv = process.env): Config {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError([{ path: '', message: `cannot read ${file}: ${(err as Error).message}` }]);
  }
  let document: unknown;
  try {
    document = parseYaml(text, { prettyErrors: true });
  } catch (err) {
    throw new ConfigError([{ path: '', message: `${file} is not valid YAML: ${(err as Error).message}` }]);
  }
  return buildConfig(document ?? {}, env);
}
