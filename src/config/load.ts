// Reads, interpolates, validates and freezes the configuration file (interface.md "Configuration file").
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { clientMetadataProblems } from '../clients/metadata-rules.js';
import { isHttpUrl } from '../util/url.js';
import { configSchema, type ParsedConfig, type ProviderConfig, providerSchema } from './schema.js';

/** Kept here for the modules that import it from the configuration. */
export { isResourceUri } from '../clients/metadata-rules.js';

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

/**
 * Secrets a client presents shorter than this get a warning from `check` (and `npm start`): 32 random characters
 * are beyond guessing even at thousands of tries a second (RFC 6749 §10.10, RFC 6819 §5.1.4.2.2).
 */
export const recommendedSecretLength = 32;

/** Length in characters (code points), as an operator counts them. */
const charLength = (s: string) => Array.from(s).length;

/** Configured client secrets shorter than the provider's `clientSecretMinLength`: `serve` refuses them (issue 8 point 7). */
function shortSecretProblems(config: ParsedConfig): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  config.providers.forEach((p, pi) => {
    p.clients.forEach((c, ci) => {
      // Only the length is reported: the secret itself never reaches a message.
      if (c.client_secret !== undefined && charLength(c.client_secret) < p.clientSecretMinLength)
        problems.push({
          path: formatPath(['providers', pi, 'clients', ci, 'client_secret']),
          message: `shorter than ${p.clientSecretMinLength} characters (providers[${pi}].clientSecretMinLength); use ${recommendedSecretLength} or more random characters, or lower the minimum for a secret carried over from another provider`,
        });
    });
  });
  return problems;
}

/**
 * What is allowed but weak, by key path: secrets clients present (client secrets, the registration initial access
 * token) shorter than 32 characters. `check` and `npm start` print these; they never stop a start.
 */
export function configWarnings(config: Config): ConfigProblem[] {
  const warnings: ConfigProblem[] = [];
  const defaultMinimum = providerSchema.shape.clientSecretMinLength.parse(undefined);
  config.providers.forEach((p, pi) => {
    p.clients.forEach((c, ci) => {
      if (c.client_secret === undefined || charLength(c.client_secret) >= recommendedSecretLength) return;
      const lowered =
        charLength(c.client_secret) < defaultMinimum
          ? `; accepted only because clientSecretMinLength is ${p.clientSecretMinLength} (default ${defaultMinimum})`
          : '';
      warnings.push({
        path: formatPath(['providers', pi, 'clients', ci, 'client_secret']),
        message: `shorter than ${recommendedSecretLength} characters${lowered}: replace it with ${recommendedSecretLength} or more random characters`,
      });
    });
    const token = p.registration?.initialAccessToken;
    if (token !== undefined && charLength(token) < recommendedSecretLength)
      warnings.push({
        path: formatPath(['providers', pi, 'registration', 'initialAccessToken']),
        message: `shorter than ${recommendedSecretLength} characters: replace it with ${recommendedSecretLength} or more random characters`,
      });
  });
  return warnings;
}

function checkSemantics(config: ParsedConfig): ConfigProblem[] {
  const problems: ConfigProblem[] = shortSecretProblems(config);
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

  // Each worker would open its own private database: a code issued by one would be unknown to the next.
  if (config.storage.driver === 'sqlite' && config.storage.path === ':memory:' && config.server.workers !== 1)
    add(
      ['server', 'workers'],
      'several workers need a shared store: an SQLite file or PostgreSQL, not :memory:',
    );

  const names = new Set<string>();
  config.providers.forEach((p, pi) => {
    if (names.has(p.name)) add(['providers', pi, 'name'], `duplicate provider name ${p.name}`);
    names.add(p.name);
    const ids = new Set<string>();
    p.clients.forEach((c, ci) => {
      const at = (...rest: PropertyKey[]) => ['providers', pi, 'clients', ci, ...rest];
      if (ids.has(c.client_id)) add(at('client_id'), `duplicate client_id ${c.client_id}`);
      ids.add(c.client_id);
      // The rules a registered client is held to as well, in one place (src/clients/metadata-rules.ts).
      const context = {
        source: 'config' as const,
        jwtBearerTrusted: p.jwtBearer.issuers.length > 0,
        allowPrivateNetworkFetch: config.server.allowPrivateNetworkFetch,
      };
      for (const problem of clientMetadataProblems(c, context)) add(at(...problem.path), problem.message);
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
