// node-oidc-provider configured like the bench's Gatehouse (issue 9 point 1), as a process of its own.
// Its in-memory adapter (uncapped, see UnboundedStore), one client_secret_basic client, RS256 (RSA-2048) or ES256,
// opaque access tokens, refresh rotation. A second loopback port mints codes and tokens through its models between
// runs (idle during load).
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import Provider from 'oidc-provider';
import MemoryAdapter from 'oidc-provider/lib/adapters/memory_adapter.js';
import { benchClient, benchUser } from './fixtures.js';

const alg = process.argv[2] === 'ES256' ? 'ES256' : 'RS256';

function signingJwk(): Record<string, unknown> {
  const { privateKey } =
    alg === 'ES256'
      ? generateKeyPairSync('ec', { namedCurve: 'P-256' })
      : generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { ...privateKey.export({ format: 'jwk' }), alg, use: 'sig', kid: `bench-${alg}` };
}

function listen(server: http.Server): Promise<number> {
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
  });
}

/**
 * The store of node-oidc-provider's own MemoryAdapter without its cap: the bundled one is an LRU of 1000 entries, which
 * forgets codes and tokens it issued (pre-minted codes vanish, a returned refresh token may stop working). Gatehouse
 * keeps every token it returned, so the adapter compared with it must too. Expired entries read as absent, as in the LRU.
 */
class UnboundedStore {
  readonly #map = new Map<string, { value: unknown; expiry: number | undefined }>();
  get(key: string): unknown {
    const entry = this.#map.get(key);
    if (entry === undefined) return undefined;
    if (entry.expiry !== undefined && entry.expiry <= Date.now()) {
      this.#map.delete(key);
      return undefined;
    }
    return entry.value;
  }
  set(key: string, value: unknown, { maxAge }: { maxAge?: number } = {}): this {
    const expiry = typeof maxAge === 'number' && Number.isFinite(maxAge) ? Date.now() + maxAge : undefined;
    this.#map.set(key, { value, expiry });
    return this;
  }
  has(key: string): boolean {
    return this.get(key) !== undefined;
  }
  delete(key: string): boolean {
    return this.#map.delete(key);
  }
  clear(): void {
    this.#map.clear();
  }
  get size(): number {
    return this.#map.size;
  }
}
const store = new UnboundedStore();

const main = http.createServer();
const port = await listen(main);
const issuer = `http://127.0.0.1:${port}`;

const provider = new Provider(issuer, {
  adapter: (model: string) => new MemoryAdapter(model, store),
  clients: [
    {
      client_id: benchClient.id,
      client_secret: benchClient.secret,
      redirect_uris: [benchClient.redirectUri],
      grant_types: ['authorization_code', 'refresh_token', 'client_credentials'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
      id_token_signed_response_alg: alg,
    },
  ],
  jwks: { keys: [signingJwk()] },
  async findAccount(_ctx: unknown, id: string) {
    if (id !== benchUser.sub) return undefined;
    return { accountId: id, claims: async () => ({ sub: id, ...benchUser.claims }) };
  },
  claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
  scopes: ['openid', 'offline_access', 'email', 'profile'],
  // Like Gatehouse's scopeClaimsInIdToken (default true): the scope's claims go into the ID token as well.
  conformIdTokenClaims: false,
  rotateRefreshToken: true,
  features: {
    devInteractions: { enabled: true },
    introspection: { enabled: true },
    userinfo: { enabled: true },
    clientCredentials: { enabled: true },
    revocation: { enabled: true },
  },
  // Gatehouse's lifetimes, as plain numbers (the defaults are functions of the request).
  ttl: {
    AccessToken: 3600,
    AuthorizationCode: 600,
    ClientCredentials: 3600,
    IdToken: 3600,
    RefreshToken: 14 * 86400,
    Grant: 14 * 86400,
    Interaction: 900,
    Session: 8 * 3600,
  },
  cookies: { keys: [randomBytes(32).toString('base64url')] },
});
main.on('request', provider.callback());

// Minting is the bench's setup, never measured. One grant per code or token, as sign-ins would have made them (the
// adapter keeps a member list per grant: one shared grant would make every save slower as it grows).
async function mint(kind: string, n: number): Promise<string[]> {
  const client = await provider.Client.find(benchClient.id);
  const scope = kind === 'refresh' ? 'openid email offline_access' : 'openid email';
  const now = Math.floor(Date.now() / 1000);
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const grant = new provider.Grant({ accountId: benchUser.sub, clientId: benchClient.id });
    grant.addOIDCScope(scope);
    const grantId = await grant.save();
    const common = { client, accountId: benchUser.sub, grantId, scope, expiresWithSession: false };
    const token =
      kind === 'code'
        ? new provider.AuthorizationCode({
            ...common,
            redirectUri: benchClient.redirectUri,
            nonce: 'n',
            authTime: now,
          })
        : kind === 'refresh'
          ? new provider.RefreshToken({ ...common, gty: 'authorization_code', rotations: 0, authTime: now })
          : new provider.AccessToken({ ...common, gty: 'authorization_code' });
    out.push(await token.save());
  }
  return out;
}

const control = http.createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://control');
  const kind = url.searchParams.get('kind') ?? '';
  const n = Number(url.searchParams.get('n') ?? 0);
  if (!['code', 'refresh', 'access'].includes(kind) || !(n >= 0)) {
    res.writeHead(400).end();
    return;
  }
  mint(kind, n).then(
    (values) => {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(values));
    },
    (err: unknown) => {
      res.writeHead(500).end(String(err));
    },
  );
});
const controlPort = await listen(control);
process.stdout.write(`${JSON.stringify({ issuer, control: `http://127.0.0.1:${controlPort}` })}\n`);
process.on('SIGTERM', () => process.exit(0));
