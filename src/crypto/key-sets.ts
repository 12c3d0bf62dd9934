// Public key sets of clients and trusted issuers, inline or fetched from a jwks_uri and cached (OIDC Core §10.1.1).
import { createLocalJWKSet, errors, type JSONWebKeySet, type JWTVerifyGetKey } from 'jose';
import { type FetchPolicy, fetchJson } from '../net/fetch-json.js';

export interface KeySource {
  jwks?: { keys: Record<string, unknown>[] } | undefined;
  jwks_uri?: string | undefined;
}

interface Cached {
  resolve: JWTVerifyGetKey;
  fetchedAt: number;
}

/** A fetched set is used this long before it is fetched again. */
const maxAgeMs = 5 * 60 * 1000;
/** An unknown kid may trigger a refetch (the client rotated its keys), at most this often. */
const refetchCooldownMs = 30 * 1000;

export class KeySets {
  private readonly inline = new WeakMap<object, JWTVerifyGetKey>();
  private readonly remote = new Map<string, Cached>();
  private readonly pending = new Map<string, Promise<Cached>>();
  private readonly policy: FetchPolicy;

  constructor(policy: FetchPolicy) {
    this.policy = policy;
  }

  resolver(source: KeySource): JWTVerifyGetKey {
    if (source.jwks) {
      let r = this.inline.get(source.jwks);
      if (!r) {
        r = createLocalJWKSet(source.jwks as JSONWebKeySet);
        this.inline.set(source.jwks, r);
      }
      return r;
    }
    const uri = source.jwks_uri;
    if (uri === undefined) throw new Error('key source without jwks or jwks_uri');
    return async (header, token) => {
      let cached = this.remote.get(uri);
      if (!cached || Date.now() - cached.fetchedAt > maxAgeMs) cached = await this.fetch(uri);
      try {
        return await cached.resolve(header, token);
      } catch (err) {
        if (!(err instanceof errors.JWKSNoMatchingKey) || Date.now() - cached.fetchedAt < refetchCooldownMs)
          throw err;
        return (await this.fetch(uri)).resolve(header, token);
      }
    };
  }

  /** One fetch at a time per URL; concurrent callers share it. */
  private fetch(uri: string): Promise<Cached> {
    let p = this.pending.get(uri);
    if (!p) {
      p = fetchJson(uri, this.policy)
        .then((doc) => {
          const keys = (doc as { keys?: unknown }).keys;
          if (!Array.isArray(keys)) throw new errors.JWKSInvalid('jwks_uri did not return a JWK Set');
          const cached = { resolve: createLocalJWKSet(doc as JSONWebKeySet), fetchedAt: Date.now() };
          this.remote.set(uri, cached);
          return cached;
        })
        .finally(() => this.pending.delete(uri));
      this.pending.set(uri, p);
    }
    return p;
  }
}
