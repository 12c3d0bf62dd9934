// PostgreSQL 15+ schema migrations (issue 7 point 1): the tables of src/store/sqlite/migrations.ts, applied under an advisory lock.
//
// Entry 1 is SQLite's six migrations and its sweep indexes in one, since nothing ran on PostgreSQL before. Later
// entries are appended, never edited: the version applied is recorded in gatehouse_migrations. Times are epoch
// seconds in bigint; JSON values are text, read and written whole like SQLite's.

export const migrations: readonly string[] = [
  `
  CREATE TABLE secrets (
    provider text NOT NULL, name text NOT NULL, value text NOT NULL,
    PRIMARY KEY (provider, name)
  );

  CREATE TABLE signing_keys (
    provider text NOT NULL, kid text NOT NULL, alg text NOT NULL,
    private_jwk text NOT NULL, public_jwk text NOT NULL, created_at bigint NOT NULL, retire_at bigint,
    PRIMARY KEY (provider, kid)
  );
  -- One signing key per algorithm: processes starting together insert with ON CONFLICT DO NOTHING and one wins.
  CREATE UNIQUE INDEX signing_keys_one_signing ON signing_keys (provider, alg) WHERE retire_at IS NULL;

  CREATE TABLE clients (
    provider text NOT NULL, client_id text NOT NULL, secret_hash text, secret_encrypted text,
    metadata text NOT NULL, source text NOT NULL CHECK (source IN ('config', 'registration')),
    registration_token_hash text, issued_at bigint,
    PRIMARY KEY (provider, client_id)
  );
  CREATE TABLE client_versions (
    provider text NOT NULL PRIMARY KEY, version bigint NOT NULL
  );

  CREATE TABLE users (
    provider text NOT NULL, id text NOT NULL, username text NOT NULL,
    password_hash text NOT NULL, claims text NOT NULL,
    source text NOT NULL DEFAULT 'config' CHECK (source IN ('config', 'admin')),
    PRIMARY KEY (provider, id), UNIQUE (provider, username)
  );

  CREATE TABLE sessions (
    provider text NOT NULL, id_hash text NOT NULL, sid text NOT NULL, user_id text NOT NULL,
    auth_time bigint NOT NULL, expires_at bigint NOT NULL,
    PRIMARY KEY (provider, id_hash)
  );
  CREATE INDEX sessions_user ON sessions (provider, user_id);
  CREATE INDEX sessions_expires ON sessions (expires_at);

  CREATE TABLE session_grants (
    provider text NOT NULL, sid text NOT NULL, grant_id text NOT NULL, client_id text NOT NULL,
    expires_at bigint NOT NULL,
    PRIMARY KEY (provider, sid, grant_id)
  );
  CREATE INDEX session_grants_expires ON session_grants (expires_at);

  CREATE TABLE interactions (
    provider text NOT NULL, id text NOT NULL, binding_hash text NOT NULL, request text NOT NULL,
    session_id_hash text, created_at bigint NOT NULL, expires_at bigint NOT NULL,
    PRIMARY KEY (provider, id)
  );
  CREATE INDEX interactions_expires ON interactions (expires_at);

  CREATE TABLE consents (
    provider text NOT NULL, user_id text NOT NULL, client_id text NOT NULL,
    scope text NOT NULL, updated_at bigint NOT NULL,
    PRIMARY KEY (provider, user_id, client_id)
  );
  CREATE INDEX consents_client ON consents (provider, client_id);

  CREATE TABLE authorization_codes (
    provider text NOT NULL, code_hash text NOT NULL, grant_id text NOT NULL,
    client_id text NOT NULL, user_id text NOT NULL, redirect_uri text NOT NULL, scope text NOT NULL,
    nonce text, code_challenge text, resource text NOT NULL, auth_time bigint NOT NULL,
    details text NOT NULL DEFAULT '{}', expires_at bigint NOT NULL, consumed_at bigint,
    PRIMARY KEY (provider, code_hash)
  );
  CREATE INDEX authorization_codes_grant ON authorization_codes (provider, grant_id);
  CREATE INDEX authorization_codes_client ON authorization_codes (provider, client_id) WHERE consumed_at IS NULL;
  CREATE INDEX authorization_codes_expires ON authorization_codes (expires_at);

  CREATE TABLE access_tokens (
    provider text NOT NULL, token_hash text NOT NULL, grant_id text NOT NULL,
    client_id text NOT NULL, user_id text, scope text NOT NULL, audience text NOT NULL, refresh_hash text,
    details text NOT NULL DEFAULT '{}', issued_at bigint NOT NULL, expires_at bigint NOT NULL, revoked_at bigint,
    PRIMARY KEY (provider, token_hash)
  );
  CREATE INDEX access_tokens_grant ON access_tokens (provider, grant_id);
  -- The refresh grace path finds a replaced successor's access token by its refresh token, without a scan.
  CREATE INDEX access_tokens_refresh ON access_tokens (provider, refresh_hash) WHERE refresh_hash IS NOT NULL;
  CREATE INDEX access_tokens_client ON access_tokens (provider, client_id);
  CREATE INDEX access_tokens_user ON access_tokens (provider, user_id) WHERE user_id IS NOT NULL;
  CREATE INDEX access_tokens_expires ON access_tokens (expires_at);

  CREATE TABLE refresh_tokens (
    provider text NOT NULL, token_hash text NOT NULL, grant_id text NOT NULL,
    client_id text NOT NULL, user_id text NOT NULL, scope text NOT NULL, audience text NOT NULL,
    auth_time bigint NOT NULL, details text NOT NULL DEFAULT '{}', issued_at bigint NOT NULL,
    expires_at bigint NOT NULL, idle_expires_at bigint NOT NULL, parent_hash text,
    consumed_at bigint, revoked_at bigint,
    PRIMARY KEY (provider, token_hash)
  );
  CREATE INDEX refresh_tokens_grant ON refresh_tokens (provider, grant_id);
  CREATE INDEX refresh_tokens_parent ON refresh_tokens (provider, parent_hash) WHERE parent_hash IS NOT NULL;
  CREATE INDEX refresh_tokens_client ON refresh_tokens (provider, client_id);
  CREATE INDEX refresh_tokens_user ON refresh_tokens (provider, user_id);
  CREATE INDEX refresh_tokens_expires ON refresh_tokens (expires_at);

  -- JWT ids seen in client assertions and JWT bearer grants, kept until the JWT expires (RFC 7523 §3).
  CREATE TABLE used_jtis (
    provider text NOT NULL, namespace text NOT NULL, jti text NOT NULL, expires_at bigint NOT NULL,
    PRIMARY KEY (provider, namespace, jti)
  );
  CREATE INDEX used_jtis_expires ON used_jtis (expires_at);
  `,
  // Throttling (issue 8 points 1-2): attempt counters by key (hashes and a client address, never a username), shared
  // by every process on the database; see src/store/throttle-rules.ts.
  `
  CREATE TABLE throttles (
    provider text NOT NULL, throttle_key text NOT NULL, attempts bigint NOT NULL, window_start bigint NOT NULL,
    strikes bigint NOT NULL, expires_at bigint NOT NULL,
    PRIMARY KEY (provider, throttle_key)
  );
  CREATE INDEX throttles_expires ON throttles (expires_at);
  `,
  // Pending authorizations travel sealed in the interaction URL (src/authorization/pending.ts; issue 8 point 3):
  // an anonymous caller makes no row, so the table is gone (its index goes with it).
  `
  DROP TABLE interactions;
  `,
];
