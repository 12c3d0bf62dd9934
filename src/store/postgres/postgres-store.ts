// The PostgreSQL store (node-postgres pool; issue 7 points 1-3, 6): every atomic step a conditional write or a row lock in one READ COMMITTED transaction.
//
// Several processes share one database, so no step may check and then write: a consuming UPDATE ... WHERE
// consumed_at IS NULL lets exactly one caller win (a concurrent one waits for the row lock, then re-checks the
// condition on the committed row and matches nothing), INSERT ... ON CONFLICT DO NOTHING lets one insert win, and
// where a step must read before it writes it locks what it read (SELECT ... FOR UPDATE, or an advisory lock for rows
// that do not exist yet). Each later statement of a READ COMMITTED transaction sees what others committed before it.
import pg from 'pg';
import { systemClock } from '../../util/clock.js';
import { StoreUnavailableError } from '../errors.js';
import {
  type Row,
  splitScope,
  toAccessToken,
  toClient,
  toCode,
  toRefreshToken,
  toSession,
  toSigningKey,
  toUser,
} from '../rows.js';
import { countedRow, currentRow, toThrottleRow, verdictOf } from '../throttle-rules.js';
import type {
  AccessTokenRecord,
  AuthorizationCodeRecord,
  ClientRecord,
  EndedSession,
  EpochSeconds,
  IssuedTokens,
  RedeemResult,
  RefreshTokenRecord,
  RegisteredClientRecord,
  RotateResult,
  SessionGrantRecord,
  SessionRecord,
  SigningKeyRecord,
  Store,
  ThrottleCounter,
  ThrottleVerdict,
  UserRecord,
} from '../types.js';
import { migrations } from './migrations.js';
import { isConnectionLost, isRetryable, translatePostgresError } from './unavailable.js';

export interface PostgresStoreOptions {
  /** `postgres://user:password@host:port/database`. */
  url: string;
  /** Connections in this process's pool. Default 10. */
  poolSize?: number;
  /**
   * PostgreSQL `statement_timeout`, and the longest wait for a pooled connection or a new one. Past it the step fails
   * with StoreUnavailableError (503) instead of hanging. Default 5000.
   */
  statementTimeoutMs?: number;
  /** Rows one sweep statement of `deleteExpired` removes; each batch commits on its own. Default 500. */
  sweepBatchSize?: number;
  /** Epoch seconds for the few steps the interface gives no time (consents, a changed password). */
  now?: () => EpochSeconds;
}

/** Statements of one step, on a pooled connection or inside a transaction; parameters pass through `textParam`. */
interface Queryable {
  query(text: string, values?: unknown[]): Promise<pg.QueryResult<Row>>;
}

/**
 * PostgreSQL text cannot hold U+0000, which SQLite stores and HTTP input may carry (`%00` in an interaction id, a
 * client_id, a nonce, a jti). Every string parameter maps it to U+FFFD, the same way for writes and lookups, so such
 * input is stored or simply not found like any other unknown value, never a 500 (invalid byte sequence, 22021).
 */
function textParam(v: unknown): unknown {
  if (typeof v === 'string') return v.includes('\u0000') ? v.replaceAll('\u0000', '\uFFFD') : v;
  if (Array.isArray(v)) return v.map(textParam);
  return v;
}

function queryable(target: Pick<pg.Pool, 'query'> | pg.PoolClient): Queryable {
  return { query: (text, values = []) => target.query<Row>(text, values.map(textParam)) };
}

/** int8 (bigint, count(*)) as a number: epoch seconds and counters stay far below 2^53. */
const types: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === pg.types.builtins.INT8
      ? (v: string) => Number(v)
      : pg.types.getTypeParser(oid, format)) as pg.CustomTypesConfig['getTypeParser'],
};

/**
 * Swept tables and how long a row outlives its expiry. Used codes stay a day past expiry, so a late replay still
 * revokes what they issued (RFC 6749 §4.1.2). Every table has an index on expires_at.
 */
const sweptTables: readonly { table: string; keep: number }[] = [
  { table: 'sessions', keep: 0 },
  { table: 'session_grants', keep: 0 },
  { table: 'access_tokens', keep: 0 },
  { table: 'refresh_tokens', keep: 0 },
  { table: 'used_jtis', keep: 0 },
  { table: 'throttles', keep: 0 },
  { table: 'authorization_codes', keep: 86400 },
];

/** Advisory lock names (hashed to a bigint in SQL); each is per database. */
const migrateLock = 'gatehouse:migrate';
const sweepLock = 'gatehouse:sweep';
/** Times a transaction that deadlocked or failed to serialize runs again before the step gives up with a 503. */
const maxAttempts = 3;

export class PostgresStore implements Store {
  private readonly pool: pg.Pool;
  private readonly sweepBatchSize: number;
  private readonly now: () => EpochSeconds;

  private constructor(options: PostgresStoreOptions) {
    const timeout = options.statementTimeoutMs ?? 5000;
    this.sweepBatchSize = options.sweepBatchSize ?? 500;
    this.now = options.now ?? systemClock.now;
    this.pool = new pg.Pool({
      connectionString: options.url,
      max: options.poolSize ?? 10,
      // Server side: a statement (a lock wait included) ends after this long.
      statement_timeout: timeout,
      // A transaction some crash left open cannot hold its row locks for long.
      idle_in_transaction_session_timeout: Math.max(timeout * 2, 10_000),
      // Client side: connecting, and waiting for a free pooled connection, are bounded too...
      connectionTimeoutMillis: timeout,
      // ... and so is an answer from a server that went silent (no RST, e.g. a dropped network path).
      query_timeout: timeout + 1000,
      keepAlive: true,
      application_name: 'gatehouse',
      types,
    });
    // An idle connection the server dropped (restart, failover) must not crash the process: the pool discards it
    // and opens a new one on the next checkout.
    this.pool.on('error', () => {});
  }

  /** Connects and brings the schema up to date; several processes may do this at once. */
  static async open(options: PostgresStoreOptions): Promise<PostgresStore> {
    const store = new PostgresStore(options);
    try {
      await store.migrate();
      return store;
    } catch (err) {
      await store.pool.end().catch(() => {});
      throw translatePostgresError(err);
    }
  }

  /**
   * Applies pending migrations under a transaction-scoped advisory lock: processes starting together queue on it,
   * and each later one finds the versions the first recorded, so all converge on one schema.
   */
  private async migrate(): Promise<void> {
    await this.tx(async (c, raw) => {
      // Migrations may outlast a request's statement timeout, and so may the wait behind another process's: both
      // timeouts, the server's and the client's, are lifted for them.
      const long = (text: string, values: unknown[] = []) => {
        // pg reads a per-query query_timeout; @types/pg does not declare it.
        const query: pg.QueryConfig & { query_timeout: number } = { text, values, query_timeout: 600_000 };
        return raw.query(query);
      };
      await long('SET LOCAL statement_timeout = 0');
      await long('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [migrateLock]);
      await c.query(
        `CREATE TABLE IF NOT EXISTS gatehouse_migrations (
           version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`,
      );
      const { rows } = await c.query('SELECT coalesce(max(version), 0) AS v FROM gatehouse_migrations');
      // A newer Gatehouse may have migrated further: its migrations only add, so this one runs on.
      for (let v = Number(rows[0]?.v ?? 0); v < migrations.length; v++) {
        await long(migrations[v] as string);
        await c.query('INSERT INTO gatehouse_migrations (version) VALUES ($1)', [v + 1]);
      }
    });
  }

  /** One statement outside a transaction. */
  private async q(sql: string, params: unknown[] = []): Promise<pg.QueryResult<Row>> {
    try {
      return await queryable(this.pool).query(sql, params);
    } catch (err) {
      throw translatePostgresError(err);
    }
  }

  /**
   * A pooled connection for several statements. While checked out the pool no longer listens for its errors, so
   * this does: a connection the server drops between two statements must not crash the process (the next statement
   * fails instead, and the connection is destroyed on release).
   */
  private async checkout(): Promise<{ client: pg.PoolClient; release: (broken: Error | undefined) => void }> {
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (err) {
      throw translatePostgresError(err);
    }
    let dropped: Error | undefined;
    const onError = (err: Error) => {
      dropped = err;
    };
    client.on('error', onError);
    return {
      client,
      release: (broken) => {
        client.removeListener('error', onError);
        client.release(broken ?? dropped);
      },
    };
  }

  /**
   * Runs `fn` in one READ COMMITTED transaction. A deadlock or serialization failure rolls back cleanly and runs the
   * whole step again; a lost connection is discarded from the pool, not reused.
   */
  private async tx<T>(fn: (c: Queryable, raw: pg.PoolClient) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      const { client, release } = await this.checkout();
      let broken: Error | undefined;
      try {
        await client.query('BEGIN');
        const result = await fn(queryable(client), client);
        await client.query('COMMIT');
        return result;
      } catch (err) {
        if (isConnectionLost(err)) broken = err instanceof Error ? err : new Error('connection lost');
        else await client.query('ROLLBACK').catch(() => {});
        if (isRetryable(err) && attempt < maxAttempts) continue;
        throw translatePostgresError(err);
      } finally {
        release(broken);
      }
    }
  }

  async ping(): Promise<void> {
    await this.q('SELECT 1');
  }

  async close(): Promise<void> {
    if (!this.pool.ended) await this.pool.end();
  }

  /**
   * Removes expired rows in small batches, each its own short statement, so no sweep holds locks for long or
   * stalls requests. One process sweeps at a time: the others skip (answering 0) while it holds the lock.
   */
  async deleteExpired(now: EpochSeconds): Promise<number> {
    const { client, release } = await this.checkout();
    let broken: Error | undefined;
    try {
      const got = await client.query<Row>('SELECT pg_try_advisory_lock(hashtextextended($1, 0)) AS got', [
        sweepLock,
      ]);
      if (got.rows[0]?.got !== true) return 0;
      let removed = 0;
      try {
        for (const { table, keep } of sweptTables) {
          for (;;) {
            // ctid = ANY(ARRAY(...)) is a TID scan: the batch is found by the expires_at index, deleted by address.
            const r = await client.query(
              `DELETE FROM ${table} WHERE ctid = ANY (ARRAY(
                 SELECT ctid FROM ${table} WHERE expires_at < $1 LIMIT $2))`,
              [now - keep, this.sweepBatchSize],
            );
            removed += r.rowCount ?? 0;
            if ((r.rowCount ?? 0) < this.sweepBatchSize) break;
          }
        }
      } finally {
        await client.query('SELECT pg_advisory_unlock(hashtextextended($1, 0))', [sweepLock]);
      }
      return removed;
    } catch (err) {
      // A session lock dies with its connection: after any failure the connection is closed, so it never goes
      // back to the pool still holding the sweep lock.
      broken = err instanceof Error ? err : new Error('sweep failed');
      throw translatePostgresError(err);
    } finally {
      release(broken);
    }
  }

  // KeyStore

  async listSigningKeys(provider: string): Promise<SigningKeyRecord[]> {
    const { rows } = await this.q('SELECT * FROM signing_keys WHERE provider = $1 ORDER BY created_at, kid', [
      provider,
    ]);
    return rows.map(toSigningKey);
  }

  async ensureSigningKey(provider: string, k: SigningKeyRecord): Promise<void> {
    // The unique partial index (provider, alg) WHERE retire_at IS NULL decides: the first insert wins, the rest
    // do nothing, however many processes start together.
    await this.q(
      `INSERT INTO signing_keys (provider, kid, alg, private_jwk, public_jwk, created_at)
       VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING`,
      [provider, k.kid, k.alg, k.privateJwk, k.publicJwk, k.createdAt],
    );
  }

  async rotateSigningKey(provider: string, k: SigningKeyRecord, retireAt: EpochSeconds): Promise<void> {
    await this.tx(async (c) => {
      // Two rotations at once: the second waits here, then its UPDATE sees (and retires) the first one's new key.
      await c.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [`gatehouse:keys:${provider}`]);
      await c.query(
        'UPDATE signing_keys SET retire_at = $1 WHERE provider = $2 AND alg = $3 AND retire_at IS NULL',
        [retireAt, provider, k.alg],
      );
      await c.query(
        `INSERT INTO signing_keys (provider, kid, alg, private_jwk, public_jwk, created_at)
         VALUES ($1, $2, $3, $4, $5, $6)`,
        [provider, k.kid, k.alg, k.privateJwk, k.publicJwk, k.createdAt],
      );
    });
  }

  async getOrCreateSecret(provider: string, name: string, candidate: string): Promise<string> {
    // Two statements on purpose: the SELECT runs with a fresh snapshot, so it sees the row of a concurrent insert
    // that made this one do nothing (a single statement's snapshot might not).
    await this.q('INSERT INTO secrets (provider, name, value) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING', [
      provider,
      name,
      candidate,
    ]);
    const { rows } = await this.q('SELECT value FROM secrets WHERE provider = $1 AND name = $2', [
      provider,
      name,
    ]);
    const value = rows[0]?.value;
    if (typeof value !== 'string') throw new StoreUnavailableError('secret vanished after insert');
    return value;
  }

  // ClientStore

  async replaceConfigClients(provider: string, clients: ClientRecord[], now: EpochSeconds): Promise<void> {
    await this.tx(async (c) => {
      // Processes starting together replace the same rows: one at a time, so neither deadlocks on the other.
      await c.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [
        `gatehouse:config-clients:${provider}`,
      ]);
      const removed = await c.query(
        `DELETE FROM clients WHERE provider = $1 AND source = 'config' AND NOT (client_id = ANY ($2::text[]))
         RETURNING client_id`,
        [provider, clients.map((x) => x.clientId)],
      );
      // A client taken out of the file ends with what it held, as a deleted registered one does.
      if (removed.rows.length > 0)
        await this.endClientAccess(
          c,
          provider,
          removed.rows.map((r) => r.client_id as string),
          now,
        );
      for (const x of clients) {
        await c.query(
          `INSERT INTO clients (provider, client_id, secret_hash, secret_encrypted, metadata, source)
           VALUES ($1, $2, $3, $4, $5, $6)
           ON CONFLICT (provider, client_id) DO UPDATE SET secret_hash = excluded.secret_hash,
             secret_encrypted = excluded.secret_encrypted, metadata = excluded.metadata, source = excluded.source`,
          [
            provider,
            x.clientId,
            x.secretHash ?? null,
            x.secretEncrypted ?? null,
            JSON.stringify(x.metadata),
            x.source,
          ],
        );
      }
    });
  }

  async listClients(provider: string): Promise<ClientRecord[]> {
    const { rows } = await this.q('SELECT * FROM clients WHERE provider = $1 ORDER BY client_id', [provider]);
    return rows.map(toClient);
  }

  async findClient(provider: string, clientId: string): Promise<ClientRecord | undefined> {
    const { rows } = await this.q('SELECT * FROM clients WHERE provider = $1 AND client_id = $2', [
      provider,
      clientId,
    ]);
    return rows[0] && toClient(rows[0]);
  }

  async getRegisteredClient(provider: string, clientId: string): Promise<RegisteredClientRecord | undefined> {
    const { rows } = await this.q(
      `SELECT * FROM clients WHERE provider = $1 AND client_id = $2 AND source = 'registration'
         AND registration_token_hash IS NOT NULL`,
      [provider, clientId],
    );
    const row = rows[0];
    if (!row) return undefined;
    return {
      ...toClient(row),
      registration: {
        accessTokenHash: row.registration_token_hash as string,
        issuedAt: row.issued_at as number,
      },
    };
  }

  /** Moves the provider's registered-clients version; the upsert takes the row lock, so no increment is lost. */
  private async bumpClientsVersion(c: Queryable, provider: string): Promise<void> {
    await c.query(
      `INSERT INTO client_versions (provider, version) VALUES ($1, 1)
       ON CONFLICT (provider) DO UPDATE SET version = client_versions.version + 1`,
      [provider],
    );
  }

  async insertRegisteredClient(provider: string, x: RegisteredClientRecord): Promise<void> {
    await this.tx(async (c) => {
      // A taken client_id fails on the primary key, as the interface asks.
      await c.query(
        `INSERT INTO clients (provider, client_id, secret_hash, secret_encrypted, metadata, source,
           registration_token_hash, issued_at)
         VALUES ($1, $2, $3, $4, $5, 'registration', $6, $7)`,
        [
          provider,
          x.clientId,
          x.secretHash ?? null,
          x.secretEncrypted ?? null,
          JSON.stringify(x.metadata),
          x.registration.accessTokenHash,
          x.registration.issuedAt,
        ],
      );
      await this.bumpClientsVersion(c, provider);
    });
  }

  async updateRegisteredClient(provider: string, x: ClientRecord): Promise<boolean> {
    return this.tx(async (c) => {
      const r = await c.query(
        `UPDATE clients SET secret_hash = $1, secret_encrypted = $2, metadata = $3
         WHERE provider = $4 AND client_id = $5 AND source = 'registration'`,
        [x.secretHash ?? null, x.secretEncrypted ?? null, JSON.stringify(x.metadata), provider, x.clientId],
      );
      if (r.rowCount !== 1) return false;
      await this.bumpClientsVersion(c, provider);
      return true;
    });
  }

  async deleteRegisteredClient(provider: string, clientId: string, now: EpochSeconds): Promise<boolean> {
    return this.tx(async (c) => {
      const r = await c.query(
        "DELETE FROM clients WHERE provider = $1 AND client_id = $2 AND source = 'registration'",
        [provider, clientId],
      );
      if (r.rowCount !== 1) return false;
      // What the client held ends with it (RFC 7592 §2.3: its grants are invalidated).
      await this.endClientAccess(c, provider, [clientId], now);
      await this.bumpClientsVersion(c, provider);
      return true;
    });
  }

  /** Revokes the clients' tokens, consumes their unused codes and forgets consents given to them; inside a transaction. */
  private async endClientAccess(
    c: Queryable,
    provider: string,
    clientIds: string[],
    now: EpochSeconds,
  ): Promise<void> {
    await c.query(
      `UPDATE access_tokens SET revoked_at = $1
       WHERE provider = $2 AND client_id = ANY ($3::text[]) AND revoked_at IS NULL`,
      [now, provider, clientIds],
    );
    await c.query(
      `UPDATE refresh_tokens SET revoked_at = $1
       WHERE provider = $2 AND client_id = ANY ($3::text[]) AND revoked_at IS NULL`,
      [now, provider, clientIds],
    );
    await c.query(
      `UPDATE authorization_codes SET consumed_at = $1
       WHERE provider = $2 AND client_id = ANY ($3::text[]) AND consumed_at IS NULL`,
      [now, provider, clientIds],
    );
    await c.query('DELETE FROM consents WHERE provider = $1 AND client_id = ANY ($2::text[])', [
      provider,
      clientIds,
    ]);
  }

  async registeredClientsVersion(provider: string): Promise<number> {
    const { rows } = await this.q('SELECT version FROM client_versions WHERE provider = $1', [provider]);
    return (rows[0]?.version as number | undefined) ?? 0;
  }

  // UserStore

  async findUserByUsername(provider: string, username: string): Promise<UserRecord | undefined> {
    const { rows } = await this.q('SELECT * FROM users WHERE provider = $1 AND username = $2', [
      provider,
      username,
    ]);
    return rows[0] && toUser(rows[0]);
  }

  async getUser(provider: string, id: string): Promise<UserRecord | undefined> {
    const { rows } = await this.q('SELECT * FROM users WHERE provider = $1 AND id = $2', [provider, id]);
    return rows[0] && toUser(rows[0]);
  }

  /** Ends the users' sessions and revokes their tokens, inside the caller's transaction. */
  private async endUserAccess(c: Queryable, provider: string, userIds: string[]): Promise<void> {
    if (userIds.length === 0) return;
    const now = this.now();
    await c.query('DELETE FROM sessions WHERE provider = $1 AND user_id = ANY ($2::text[])', [
      provider,
      userIds,
    ]);
    for (const table of ['access_tokens', 'refresh_tokens']) {
      await c.query(
        `UPDATE ${table} SET revoked_at = $1
         WHERE provider = $2 AND user_id = ANY ($3::text[]) AND revoked_at IS NULL`,
        [now, provider, userIds],
      );
    }
  }

  async deleteConfigUsersExcept(provider: string, keep: readonly string[]): Promise<void> {
    await this.tx(async (c) => {
      const { rows } = await c.query(
        `DELETE FROM users WHERE provider = $1 AND source = 'config' AND NOT (username = ANY ($2::text[]))
         RETURNING id`,
        [provider, [...keep]],
      );
      await this.endUserAccess(
        c,
        provider,
        rows.map((r) => r.id as string),
      );
    });
  }

  async upsertUser(
    provider: string,
    user: Omit<UserRecord, 'id'> & { id: string | undefined },
  ): Promise<UserRecord> {
    const claims = JSON.stringify(user.claims);
    return this.tx(async (c) => {
      // Lock the user if it exists; if it does not, insert, and when a concurrent start inserted it first (the
      // insert does nothing), the next round's SELECT sees and locks that row.
      for (let round = 0; round < 3; round++) {
        const { rows } = await c.query(
          'SELECT id, password_hash FROM users WHERE provider = $1 AND username = $2 FOR UPDATE',
          [provider, user.username],
        );
        const existing = rows[0];
        if (existing) {
          const id = user.id ?? (existing.id as string);
          // A new password ends what the old one opened: sessions and tokens (security checklist O3).
          if (existing.password_hash !== user.passwordHash)
            await this.endUserAccess(c, provider, [existing.id as string]);
          await c.query(
            'UPDATE users SET id = $1, password_hash = $2, claims = $3 WHERE provider = $4 AND username = $5',
            [id, user.passwordHash, claims, provider, user.username],
          );
          return { ...user, id };
        }
        const id = user.id ?? crypto.randomUUID();
        const inserted = await c.query(
          `INSERT INTO users (provider, id, username, password_hash, claims) VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (provider, username) DO NOTHING`,
          [provider, id, user.username, user.passwordHash, claims],
        );
        if (inserted.rowCount === 1) return { ...user, id };
      }
      throw new StoreUnavailableError('user changed concurrently');
    });
  }

  // SessionStore

  async createSession(provider: string, s: SessionRecord): Promise<void> {
    await this.tx(async (c) => {
      await c.query(
        `INSERT INTO sessions (provider, id_hash, sid, user_id, auth_time, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6)`,
        [provider, s.idHash, s.sid, s.userId, s.authTime, s.expiresAt],
      );
      await c.query(
        'UPDATE session_grants SET expires_at = greatest(expires_at, $1) WHERE provider = $2 AND sid = $3',
        [s.expiresAt, provider, s.sid],
      );
    });
  }

  async getSession(provider: string, idHash: string): Promise<SessionRecord | undefined> {
    const { rows } = await this.q('SELECT * FROM sessions WHERE provider = $1 AND id_hash = $2', [
      provider,
      idHash,
    ]);
    return rows[0] && toSession(rows[0]);
  }

  async deleteSession(provider: string, idHash: string): Promise<void> {
    await this.q('DELETE FROM sessions WHERE provider = $1 AND id_hash = $2', [provider, idHash]);
  }

  async addSessionGrant(provider: string, g: SessionGrantRecord): Promise<void> {
    await this.q(
      `INSERT INTO session_grants (provider, sid, grant_id, client_id, expires_at) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (provider, sid, grant_id) DO NOTHING`,
      [provider, g.sid, g.grantId, g.clientId, g.expiresAt],
    );
  }

  async endSession(provider: string, idHash: string, now: EpochSeconds): Promise<EndedSession | undefined> {
    return this.tx(async (c) => {
      // The DELETE picks the one winner: a concurrent logout waits for its row lock, then finds nothing.
      const ended = await c.query(
        'DELETE FROM sessions WHERE provider = $1 AND id_hash = $2 RETURNING sid, user_id',
        [provider, idHash],
      );
      const row = ended.rows[0];
      if (!row) return undefined;
      const sid = row.sid as string;
      const grants = await c.query(
        'DELETE FROM session_grants WHERE provider = $1 AND sid = $2 RETURNING grant_id, client_id',
        [provider, sid],
      );
      const grantIds = grants.rows.map((g) => g.grant_id as string);
      if (grantIds.length > 0) {
        // A code not yet redeemed is consumed: redeeming it later counts as a replay and gets nothing.
        await c.query(
          `UPDATE authorization_codes SET consumed_at = $1
           WHERE provider = $2 AND grant_id = ANY ($3::text[]) AND consumed_at IS NULL`,
          [now, provider, grantIds],
        );
        await this.revokeGrants(c, provider, grantIds, now);
      }
      const clientIds = [...new Set(grants.rows.map((g) => g.client_id as string))];
      return { sid, userId: row.user_id as string, clientIds };
    });
  }

  // ConsentStore

  async getConsent(provider: string, userId: string, clientId: string): Promise<string[] | undefined> {
    const { rows } = await this.q(
      'SELECT scope FROM consents WHERE provider = $1 AND user_id = $2 AND client_id = $3',
      [provider, userId, clientId],
    );
    return rows[0] && splitScope(rows[0].scope);
  }

  async putConsent(
    provider: string,
    userId: string,
    clientId: string,
    scope: string[],
    now: EpochSeconds,
  ): Promise<void> {
    await this.q(
      `INSERT INTO consents (provider, user_id, client_id, scope, updated_at) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (provider, user_id, client_id) DO UPDATE SET scope = excluded.scope,
         updated_at = excluded.updated_at`,
      [provider, userId, clientId, scope.join(' '), now],
    );
  }

  async mergeConsent(
    provider: string,
    userId: string,
    clientId: string,
    items: string[],
    now: EpochSeconds,
  ): Promise<void> {
    // One statement: a conflicting insert waits for the row lock and then merges into the committed row, so two
    // consents at once both stay. Stored items first, in their order, then the new ones not already there.
    await this.q(
      `INSERT INTO consents AS c (provider, user_id, client_id, scope, updated_at) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (provider, user_id, client_id) DO UPDATE SET
         scope = (
           SELECT coalesce(string_agg(item, ' ' ORDER BY first), '')
           FROM (
             SELECT item, min(n) AS first
             FROM unnest(string_to_array(c.scope || ' ' || excluded.scope, ' ')) WITH ORDINALITY AS t(item, n)
             WHERE item <> ''
             GROUP BY item
           ) AS merged
         ),
         updated_at = excluded.updated_at`,
      [provider, userId, clientId, [...new Set(items)].join(' '), now],
    );
  }

  // CodeStore

  async insertCode(provider: string, x: AuthorizationCodeRecord): Promise<void> {
    await this.q(
      `INSERT INTO authorization_codes (provider, code_hash, grant_id, client_id, user_id, redirect_uri, scope,
         nonce, code_challenge, resource, auth_time, details, expires_at, consumed_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, NULL)`,
      [
        provider,
        x.codeHash,
        x.grantId,
        x.clientId,
        x.userId,
        x.redirectUri,
        x.scope.join(' '),
        x.nonce ?? null,
        x.codeChallenge ?? null,
        x.resource.join(' '),
        x.authTime,
        JSON.stringify(x.details),
        x.expiresAt,
      ],
    );
  }

  async findCode(provider: string, codeHash: string): Promise<AuthorizationCodeRecord | undefined> {
    const { rows } = await this.q(
      'SELECT * FROM authorization_codes WHERE provider = $1 AND code_hash = $2',
      [provider, codeHash],
    );
    return rows[0] && toCode(rows[0]);
  }

  async redeemCode(
    provider: string,
    codeHash: string,
    now: EpochSeconds,
    t: IssuedTokens,
  ): Promise<RedeemResult> {
    return this.tx(async (c) => {
      // RFC 6749 §4.1.2: one redemption. A concurrent one blocks on the row lock until this commits, then finds
      // consumed_at set and matches nothing.
      const consumed = await c.query(
        `UPDATE authorization_codes SET consumed_at = $1
         WHERE provider = $2 AND code_hash = $3 AND consumed_at IS NULL`,
        [now, provider, codeHash],
      );
      if (consumed.rowCount === 1) {
        await this.writeTokens(c, provider, t);
        return 'redeemed' as const;
      }
      const { rows } = await c.query(
        'SELECT grant_id FROM authorization_codes WHERE provider = $1 AND code_hash = $2',
        [provider, codeHash],
      );
      const row = rows[0];
      if (!row) return 'missing' as const;
      // This statement sees what the winner committed: its tokens are revoked too (RFC 6749 §4.1.2).
      await this.revokeGrants(c, provider, [row.grant_id as string], now);
      return 'replayed' as const;
    });
  }

  // TokenStore

  async findAccessToken(provider: string, tokenHash: string): Promise<AccessTokenRecord | undefined> {
    const { rows } = await this.q('SELECT * FROM access_tokens WHERE provider = $1 AND token_hash = $2', [
      provider,
      tokenHash,
    ]);
    return rows[0] && toAccessToken(rows[0]);
  }

  async findRefreshToken(provider: string, tokenHash: string): Promise<RefreshTokenRecord | undefined> {
    const { rows } = await this.q('SELECT * FROM refresh_tokens WHERE provider = $1 AND token_hash = $2', [
      provider,
      tokenHash,
    ]);
    return rows[0] && toRefreshToken(rows[0]);
  }

  /** Inserts an access token and its refresh token, inside the caller's transaction. */
  private async writeTokens(c: Queryable, provider: string, t: IssuedTokens): Promise<void> {
    const a = t.accessToken;
    await c.query(
      `INSERT INTO access_tokens (provider, token_hash, grant_id, client_id, user_id, scope, audience,
         refresh_hash, details, issued_at, expires_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
      [
        provider,
        a.tokenHash,
        a.grantId,
        a.clientId,
        a.userId ?? null,
        a.scope.join(' '),
        a.audience.join(' '),
        a.refreshHash ?? null,
        JSON.stringify(a.details),
        a.issuedAt,
        a.expiresAt,
      ],
    );
    const r = t.refreshToken;
    if (!r) return;
    await c.query(
      `INSERT INTO refresh_tokens (provider, token_hash, grant_id, client_id, user_id, scope, audience,
         auth_time, details, issued_at, parent_hash, expires_at, idle_expires_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
      [
        provider,
        r.tokenHash,
        r.grantId,
        r.clientId,
        r.userId,
        r.scope.join(' '),
        r.audience.join(' '),
        r.authTime,
        JSON.stringify(r.details),
        r.issuedAt,
        r.parentHash ?? null,
        r.expiresAt,
        r.idleExpiresAt,
      ],
    );
  }

  /** Revokes every access and refresh token of the grants, inside the caller's transaction. */
  private async revokeGrants(c: Queryable, provider: string, grantIds: string[], now: EpochSeconds) {
    for (const table of ['access_tokens', 'refresh_tokens']) {
      await c.query(
        `UPDATE ${table} SET revoked_at = $1
         WHERE provider = $2 AND grant_id = ANY ($3::text[]) AND revoked_at IS NULL`,
        [now, provider, grantIds],
      );
    }
  }

  async insertTokens(provider: string, tokens: IssuedTokens): Promise<void> {
    if (!tokens.refreshToken) {
      await this.writeTokens(queryable(this.pool), provider, tokens).catch((err: unknown) => {
        throw translatePostgresError(err);
      });
      return;
    }
    await this.tx((c) => this.writeTokens(c, provider, tokens));
  }

  async rotateRefreshToken(
    provider: string,
    tokenHash: string,
    now: EpochSeconds,
    t: IssuedTokens,
    graceSeconds: number,
  ): Promise<RotateResult> {
    return this.tx(async (c) => {
      // RFC 9700 §4.14.2: one rotation wins; a concurrent one waits for the row lock, then matches nothing.
      const consumed = await c.query(
        `UPDATE refresh_tokens SET consumed_at = $1
         WHERE provider = $2 AND token_hash = $3 AND consumed_at IS NULL AND revoked_at IS NULL`,
        [now, provider, tokenHash],
      );
      if (consumed.rowCount === 1) {
        await this.writeTokens(c, provider, t);
        return 'rotated' as const;
      }
      // Locking the consumed token serializes retries of it: each sees the successor the previous one wrote.
      const { rows } = await c.query(
        'SELECT * FROM refresh_tokens WHERE provider = $1 AND token_hash = $2 FOR UPDATE',
        [provider, tokenHash],
      );
      const row = rows[0];
      if (!row || row.consumed_at === null) return 'missing' as const;
      let withinGrace =
        graceSeconds > 0 && row.revoked_at === null && now - (row.consumed_at as number) <= graceSeconds;
      if (withinGrace) {
        // Lock the successors too: a rotation of one of them now waits for this step, then finds it revoked.
        const children = await c.query(
          `SELECT consumed_at FROM refresh_tokens WHERE provider = $1 AND parent_hash = $2 FOR UPDATE`,
          [provider, tokenHash],
        );
        withinGrace = children.rows.every((r) => r.consumed_at === null);
      }
      if (withinGrace) {
        // The retry replaces the successor nobody used yet, and its access token: one live pair either way.
        await c.query(
          `UPDATE access_tokens SET revoked_at = $1
           WHERE provider = $2 AND revoked_at IS NULL AND refresh_hash IN (
             SELECT token_hash FROM refresh_tokens
             WHERE provider = $2 AND parent_hash = $3 AND consumed_at IS NULL AND revoked_at IS NULL)`,
          [now, provider, tokenHash],
        );
        await c.query(
          `UPDATE refresh_tokens SET revoked_at = $1
           WHERE provider = $2 AND parent_hash = $3 AND consumed_at IS NULL AND revoked_at IS NULL`,
          [now, provider, tokenHash],
        );
        await this.writeTokens(c, provider, t);
        return 'rotated' as const;
      }
      await this.revokeGrants(c, provider, [row.grant_id as string], now);
      return 'reused' as const;
    });
  }

  async revokeAccessToken(provider: string, tokenHash: string, now: EpochSeconds): Promise<void> {
    await this.q(
      'UPDATE access_tokens SET revoked_at = $1 WHERE provider = $2 AND token_hash = $3 AND revoked_at IS NULL',
      [now, provider, tokenHash],
    );
  }

  async refreshInPlace(
    provider: string,
    tokenHash: string,
    idleExpiresAt: EpochSeconds,
    t: IssuedTokens,
  ): Promise<boolean> {
    return this.tx(async (c) => {
      const touched = await c.query(
        `UPDATE refresh_tokens SET idle_expires_at = $1
         WHERE provider = $2 AND token_hash = $3 AND consumed_at IS NULL AND revoked_at IS NULL`,
        [idleExpiresAt, provider, tokenHash],
      );
      if (touched.rowCount !== 1) return false;
      await this.writeTokens(c, provider, t);
      return true;
    });
  }

  async revokeGrant(provider: string, grantId: string, now: EpochSeconds): Promise<void> {
    await this.tx((c) => this.revokeGrants(c, provider, [grantId], now));
  }

  // ReplayStore

  async useJti(
    provider: string,
    namespace: string,
    jti: string,
    now: EpochSeconds,
    expiresAt: EpochSeconds,
  ): Promise<boolean> {
    // Inserts, or takes over a row whose JWT has expired; a live row makes this a no-op: a replay. A concurrent
    // insert of the same jti waits for the first to commit, then sees its live row and updates nothing.
    const r = await this.q(
      `INSERT INTO used_jtis (provider, namespace, jti, expires_at) VALUES ($1, $2, $3, $4)
       ON CONFLICT (provider, namespace, jti) DO UPDATE SET expires_at = excluded.expires_at
       WHERE used_jtis.expires_at <= $5`,
      [provider, namespace, jti, expiresAt, now],
    );
    return r.rowCount === 1;
  }

  // ThrottleStore

  /** The counters' current rows, in the order given. */
  private async throttleRows(
    c: Queryable,
    provider: string,
    counters: ThrottleCounter[],
    now: number,
    lock: boolean,
  ) {
    const { rows } = await c.query(
      `SELECT * FROM throttles WHERE provider = $1 AND throttle_key = ANY($2::text[])
       ${lock ? 'ORDER BY throttle_key FOR UPDATE' : ''}`,
      [provider, counters.map((x) => x.key)],
    );
    const byKey = new Map(rows.map((r) => [r.throttle_key as string, toThrottleRow(r)]));
    return counters.map((x) => currentRow(byKey.get(x.key), x, now));
  }

  /**
   * Counts one attempt on every counter in one transaction. Rows that do not exist yet are inserted empty first, so
   * every row can be locked (FOR UPDATE, in key order so two steps never deadlock): a concurrent step waits, then
   * reads the committed counts. `refuseBlocked`: a blocked counter makes the step answer so and count nothing.
   */
  private async countAttempt(
    provider: string,
    counters: ThrottleCounter[],
    now: number,
    refuseBlocked: boolean,
  ): Promise<ThrottleVerdict> {
    const keys = [...new Set(counters.map((x) => x.key))].sort();
    return this.tx(async (c) => {
      await c.query(
        `INSERT INTO throttles (provider, throttle_key, attempts, window_start, strikes, expires_at)
         SELECT $1, k, 0, 0, 0, 0 FROM unnest($2::text[]) AS k ORDER BY k
         ON CONFLICT (provider, throttle_key) DO NOTHING`,
        [provider, keys],
      );
      const rows = await this.throttleRows(c, provider, counters, now, true);
      const verdict = verdictOf(rows, counters, now);
      if (verdict.blocked && refuseBlocked) return verdict;
      const next = rows.map((row, i) => countedRow(row, counters[i] as ThrottleCounter));
      await c.query(
        `UPDATE throttles t SET attempts = v.attempts, window_start = v.window_start, strikes = v.strikes,
           expires_at = v.expires_at
         FROM unnest($2::text[], $3::bigint[], $4::bigint[], $5::bigint[], $6::bigint[])
           AS v(k, attempts, window_start, strikes, expires_at)
         WHERE t.provider = $1 AND t.throttle_key = v.k`,
        [
          provider,
          counters.map((x) => x.key),
          next.map((r) => r.attempts),
          next.map((r) => r.windowStart),
          next.map((r) => r.strikes),
          next.map((r) => r.expiresAt),
        ],
      );
      return { blocked: false };
    });
  }

  async admitAttempt(
    provider: string,
    counters: ThrottleCounter[],
    now: EpochSeconds,
  ): Promise<ThrottleVerdict> {
    return this.countAttempt(provider, counters, now, true);
  }

  async recordFailure(provider: string, counters: ThrottleCounter[], now: EpochSeconds): Promise<void> {
    await this.countAttempt(provider, counters, now, false);
  }

  async throttleState(
    provider: string,
    counters: ThrottleCounter[],
    now: EpochSeconds,
  ): Promise<ThrottleVerdict> {
    const rows = await this.throttleRows(queryable(this.pool), provider, counters, now, false).catch(
      (err) => {
        throw translatePostgresError(err);
      },
    );
    return verdictOf(rows, counters, now);
  }

  async clearAttempts(provider: string, clear: string[], giveBack: string[]): Promise<void> {
    await this.tx(async (c) => {
      await c.query('DELETE FROM throttles WHERE provider = $1 AND throttle_key = ANY($2::text[])', [
        provider,
        clear,
      ]);
      await c.query(
        `UPDATE throttles SET attempts = greatest(attempts - 1, 0)
         WHERE provider = $1 AND throttle_key = ANY($2::text[])`,
        [provider, giveBack],
      );
    });
  }
}
