// SQLite schema migrations, applied in order and recorded in PRAGMA user_version.

export const migrations: readonly string[] = [
  `
  CREATE TABLE secrets (
    provider TEXT NOT NULL, name TEXT NOT NULL, value TEXT NOT NULL,
    PRIMARY KEY (provider, name)
  ) WITHOUT ROWID;

  CREATE TABLE signing_keys (
    provider TEXT NOT NULL, kid TEXT NOT NULL, alg TEXT NOT NULL,
    private_jwk TEXT NOT NULL, public_jwk TEXT NOT NULL, created_at INTEGER NOT NULL,
    PRIMARY KEY (provider, kid)
  ) WITHOUT ROWID;

  CREATE TABLE clients (
    provider TEXT NOT NULL, client_id TEXT NOT NULL, secret_hash TEXT, secret_encrypted TEXT,
    metadata TEXT NOT NULL, source TEXT NOT NULL CHECK (source IN ('config', 'registration')),
    PRIMARY KEY (provider, client_id)
  ) WITHOUT ROWID;

  CREATE TABLE users (
    provider TEXT NOT NULL, id TEXT NOT NULL, username TEXT NOT NULL,
    password_hash TEXT NOT NULL, claims TEXT NOT NULL,
    source TEXT NOT NULL DEFAULT 'config' CHECK (source IN ('config', 'admin')),
    PRIMARY KEY (provider, id), UNIQUE (provider, username)
  ) WITHOUT ROWID;

  CREATE TABLE sessions (
    provider TEXT NOT NULL, id_hash TEXT NOT NULL, user_id TEXT NOT NULL,
    auth_time INTEGER NOT NULL, expires_at INTEGER NOT NULL,
    PRIMARY KEY (provider, id_hash)
  ) WITHOUT ROWID;

  CREATE TABLE interactions (
    provider TEXT NOT NULL, id TEXT NOT NULL, binding_hash TEXT NOT NULL, request TEXT NOT NULL,
    session_id_hash TEXT, created_at INTEGER NOT NULL, expires_at INTEGER NOT NULL,
    PRIMARY KEY (provider, id)
  ) WITHOUT ROWID;

  CREATE TABLE consents (
    provider TEXT NOT NULL, user_id TEXT NOT NULL, client_id TEXT NOT NULL,
    scope TEXT NOT NULL, updated_at INTEGER NOT NULL,
    PRIMARY KEY (provider, user_id, client_id)
  ) WITHOUT ROWID;

  CREATE TABLE authorization_codes (
    provider TEXT NOT NULL, code_hash TEXT NOT NULL, grant_id TEXT NOT NULL,
    client_id TEXT NOT NULL, user_id TEXT NOT NULL, redirect_uri TEXT NOT NULL, scope TEXT NOT NULL,
    nonce TEXT, code_challenge TEXT, resource TEXT NOT NULL, auth_time INTEGER NOT NULL,
    expires_at INTEGER NOT NULL, consumed_at INTEGER,
    PRIMARY KEY (provider, code_hash)
  ) WITHOUT ROWID;

  CREATE TABLE access_tokens (
    provider TEXT NOT NULL, token_hash TEXT NOT NULL, grant_id TEXT NOT NULL,
    client_id TEXT NOT NULL, user_id TEXT, scope TEXT NOT NULL, audience TEXT NOT NULL, refresh_hash TEXT,
    issued_at INTEGER NOT NULL, expires_at INTEGER NOT NULL, revoked_at INTEGER,
    PRIMARY KEY (provider, token_hash)
  ) WITHOUT ROWID;
  CREATE INDEX access_tokens_grant ON access_tokens (provider, grant_id);

  CREATE TABLE refresh_tokens (
    provider TEXT NOT NULL, token_hash TEXT NOT NULL, grant_id TEXT NOT NULL,
    client_id TEXT NOT NULL, user_id TEXT NOT NULL, scope TEXT NOT NULL, audience TEXT NOT NULL,
    auth_time INTEGER NOT NULL, issued_at INTEGER NOT NULL, expires_at INTEGER NOT NULL,
    idle_expires_at INTEGER NOT NULL, parent_hash TEXT, consumed_at INTEGER, revoked_at INTEGER,
    PRIMARY KEY (provider, token_hash)
  ) WITHOUT ROWID;
  CREATE INDEX refresh_tokens_grant ON refresh_tokens (provider, grant_id);
  CREATE INDEX refresh_tokens_parent ON refresh_tokens (provider, parent_hash) WHERE parent_hash IS NOT NULL;

  -- JWT ids seen in client assertions and JWT bearer grants, kept until the JWT expires (RFC 7523 §3).
  CREATE TABLE used_jtis (
    provider TEXT NOT NULL, namespace TEXT NOT NULL, jti TEXT NOT NULL, expires_at INTEGER NOT NULL,
    PRIMARY KEY (provider, namespace, jti)
  ) WITHOUT ROWID;
  `,
  // 2: grant details (claims request, acr, sid) carried from the code to the tokens, as JSON.
  `
  ALTER TABLE authorization_codes ADD COLUMN details TEXT NOT NULL DEFAULT '{}';
  ALTER TABLE refresh_tokens ADD COLUMN details TEXT NOT NULL DEFAULT '{}';
  `,
  // Signing key rotation: a superseded key stops signing and leaves the JWK Set at retire_at (NULL: it signs).
  `
  ALTER TABLE signing_keys ADD COLUMN retire_at INTEGER;
  `,
  // Dynamic client registration (RFC 7591/7592): the registration access token's hash and client_id_issued_at of
  // registered clients, and a per-provider counter other processes poll to see registrations change.
  `
  ALTER TABLE clients ADD COLUMN registration_token_hash TEXT;
  ALTER TABLE clients ADD COLUMN issued_at INTEGER;
  CREATE TABLE client_versions (
    provider TEXT NOT NULL PRIMARY KEY, version INTEGER NOT NULL
  ) WITHOUT ROWID;
  `,
  // Logout (RP-Initiated and Back-Channel Logout 1.0): each session's public sid, the grants made in a session (so
  // logging out ends them and notifies their clients), and codes by grant (a logout consumes the unredeemed ones).
  `
  ALTER TABLE sessions ADD COLUMN sid TEXT;
  UPDATE sessions SET sid = lower(hex(randomblob(16))) WHERE sid IS NULL;
  CREATE TABLE session_grants (
    provider TEXT NOT NULL, sid TEXT NOT NULL, grant_id TEXT NOT NULL, client_id TEXT NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (provider, sid, grant_id)
  ) WITHOUT ROWID;
  CREATE INDEX authorization_codes_grant ON authorization_codes (provider, grant_id);
  `,
  // Claims request (OIDC Core §5.5): access tokens carry their grant's details, so UserInfo can answer its
  // `userinfo` member.
  `
  ALTER TABLE access_tokens ADD COLUMN details TEXT NOT NULL DEFAULT '{}';
  `,
  // Bounded growth (issue 7 point 6): the sweep finds expired rows by index, in small batches, instead of scanning
  // whole tables; the refresh grace path finds a successor's access token by refresh_hash without a scan.
  `
  CREATE INDEX sessions_expires ON sessions (expires_at);
  CREATE INDEX session_grants_expires ON session_grants (expires_at);
  CREATE INDEX interactions_expires ON interactions (expires_at);
  CREATE INDEX access_tokens_expires ON access_tokens (expires_at);
  CREATE INDEX refresh_tokens_expires ON refresh_tokens (expires_at);
  CREATE INDEX used_jtis_expires ON used_jtis (expires_at);
  CREATE INDEX authorization_codes_expires ON authorization_codes (expires_at);
  CREATE INDEX access_tokens_refresh ON access_tokens (provider, refresh_hash);
  `,
  // Throttling (issue 8 points 1-2): attempt counters by key (hashes and a client address, never a username), shared
  // by every process on the file; see src/store/throttle-rules.ts.
  `
  CREATE TABLE throttles (
    provider TEXT NOT NULL, throttle_key TEXT NOT NULL, attempts INTEGER NOT NULL, window_start INTEGER NOT NULL,
    strikes INTEGER NOT NULL, expires_at INTEGER NOT NULL,
    PRIMARY KEY (provider, throttle_key)
  ) WITHOUT ROWID;
  CREATE INDEX throttles_expires ON throttles (expires_at);
  `,
  // Pending authorizations travel sealed in the interaction URL (src/authorization/pending.ts; issue 8 point 3):
  // an anonymous caller makes no row, so the table is gone (its index goes with it).
  `
  DROP TABLE interactions;
  `,
  // Issue 9: only access tokens issued with a refresh token are ever found by refresh_hash; a partial index (as on
  // PostgreSQL) spares every other insert (client_credentials) a write to a random page of this index.
  `
  DROP INDEX access_tokens_refresh;
  CREATE INDEX access_tokens_refresh ON access_tokens (provider, refresh_hash) WHERE refresh_hash IS NOT NULL;
  `,
];
