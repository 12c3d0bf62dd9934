// The SQLite store (better-sqlite3, WAL): one file, synchronous statements prepared once, atomic steps as transactions.
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import {
  num,
  type Row,
  splitScope,
  str,
  toAccessToken,
  toClient,
  toCode,
  toRefreshToken,
  toSession,
  toSigningKey,
  toUser,
} from '../rows.js';
import { countedRow, currentRow, type ThrottleRow, toThrottleRow, verdictOf } from '../throttle-rules.js';
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
import { Checkpointer } from './checkpointer.js';
import { migrations } from './migrations.js';
import { isBusyError, retryDelayMs, translateErrorsOf, translateSqliteError } from './unavailable.js';
import { WriteQueue } from './write-queue.js';

export interface SqliteStoreOptions {
  /** File path, or ':memory:'. */
  path: string;
  /**
   * How long a statement waits for a lock another connection or process holds before the store gives up with
   * StoreUnavailableError (503 on the wire). better-sqlite3 waits synchronously, so this also bounds how long one
   * locked write stalls this process. Default 5000.
   */
  busyTimeoutMs?: number;
  /** `PRAGMA synchronous` (WAL): `normal` survives a process crash, `full` also a power loss. Default `normal`. */
  synchronous?: 'normal' | 'full';
  /** Rows `deleteExpired` removes per statement before yielding to requests. Default 500. */
  sweepBatchSize?: number;
}

/** The write-lock wait of `ping`: a health check answers within about this long, whatever the busy timeout. */
const pingBusyTimeoutMs = 1000;

/**
 * Swept tables with each one's key columns (the tables are WITHOUT ROWID, so batches are chosen by key) and how long
 * a row outlives its expiry. Used codes stay a day past expiry, so a late replay still revokes what they issued
 * (RFC 6749 §4.1.2). Each table has an index on expires_at (migration 7), so a batch never scans the table.
 */
const sweptTables: readonly { table: string; key: string; keep: number }[] = [
  { table: 'sessions', key: 'provider, id_hash', keep: 0 },
  { table: 'session_grants', key: 'provider, sid, grant_id', keep: 0 },
  { table: 'access_tokens', key: 'provider, token_hash', keep: 0 },
  { table: 'refresh_tokens', key: 'provider, token_hash', keep: 0 },
  { table: 'used_jtis', key: 'provider, namespace, jti', keep: 0 },
  { table: 'throttles', key: 'provider, throttle_key', keep: 0 },
  { table: 'authorization_codes', key: 'provider, code_hash', keep: 86400 },
];

export class SqliteStore implements Store {
  private readonly db: Database.Database;
  private readonly s;
  /** How long a write or read waits for a lock held by another process, asynchronously, before a 503. */
  readonly busyTimeoutMs: number;
  /** Every write: group commit, and the lock waited for off the event loop. */
  private readonly writes: WriteQueue;
  private readonly path: string;
  private readonly synchronous: 'NORMAL' | 'FULL';
  private checkpointer: Checkpointer | undefined;
  private readonly sweepBatchSize: number;
  /** One batched DELETE per swept table; each removes at most sweepBatchSize expired rows. */
  private readonly sweeps: readonly { keep: number; run: Database.Statement }[];
  /** Statements and transactions of dynamically registered clients (RFC 7591/7592). */
  private readonly reg;
  /** Throttle counters (issue 8 points 1-2). */
  private readonly thr;
  private readonly insertTokensTx: (provider: string, tokens: IssuedTokens) => void;
  private readonly redeemTx: (
    provider: string,
    codeHash: string,
    now: number,
    t: IssuedTokens,
  ) => RedeemResult;
  private readonly rotateTx: (
    provider: string,
    hash: string,
    now: number,
    t: IssuedTokens,
    grace: number,
  ) => RotateResult;
  private readonly refreshInPlaceTx: (
    provider: string,
    hash: string,
    idle: number,
    t: IssuedTokens,
  ) => boolean;
  private readonly revokeGrantTx: (provider: string, grantId: string, now: number) => void;
  private readonly endSessionTx: (provider: string, idHash: string, now: number) => EndedSession | undefined;
  private readonly rotateKeyTx: (provider: string, key: SigningKeyRecord, retireAt: number) => void;
  private readonly mergeConsentTx: (
    provider: string,
    userId: string,
    clientId: string,
    items: string[],
    now: number,
  ) => void;

  constructor(options: SqliteStoreOptions) {
    this.busyTimeoutMs = Math.max(0, Math.floor(options.busyTimeoutMs ?? 5000));
    this.path = options.path;
    this.synchronous = options.synchronous === 'full' ? 'FULL' : 'NORMAL';
    this.sweepBatchSize = options.sweepBatchSize ?? 500;
    if (options.path !== ':memory:') mkdirSync(dirname(options.path), { recursive: true });
    try {
      this.db = new Database(options.path);
      // The busy timeout first: another process may hold the lock while this one switches to WAL or migrates.
      this.db.pragma(`busy_timeout = ${this.busyTimeoutMs}`);
      this.db.pragma('journal_mode = WAL');
      // NORMAL in WAL mode survives a crash of the process; FULL also survives power loss at a cost per commit.
      this.db.pragma(`synchronous = ${this.synchronous}`);
      this.db.pragma('foreign_keys = ON');
      this.migrate();
      // From here on nothing waits for the lock synchronously: writes wait in the write queue, on a timer, and
      // reads retry on a timer (translateErrorsOf), so the event loop stays free while another process writes.
      this.db.pragma('busy_timeout = 0');
    } catch (err) {
      throw translateSqliteError(err);
    }
    this.writes = new WriteQueue(this.db, { busyTimeoutMs: this.busyTimeoutMs });
    this.sweeps = sweptTables.map(({ table, key, keep }) => ({
      keep,
      run: this.db.prepare(
        `DELETE FROM ${table} WHERE (${key}) IN (SELECT ${key} FROM ${table} WHERE expires_at < ? LIMIT ?)`,
      ),
    }));
    this.reg = this.prepareRegistration();
    this.thr = this.prepareThrottles();

    const db = this.db;
    // INDEXED BY below: every key starts with `provider`, so without statistics SQLite prefers a range of the primary
    // key (all of one provider's rows) to a secondary index; these paths must stay index lookups as tables grow.
    this.s = {
      getSecret: db.prepare('SELECT value FROM secrets WHERE provider = ? AND name = ?').pluck(),
      insertSecret: db.prepare('INSERT OR IGNORE INTO secrets (provider, name, value) VALUES (?, ?, ?)'),
      listKeys: db.prepare('SELECT * FROM signing_keys WHERE provider = ? ORDER BY created_at, kid'),
      insertKey: db.prepare(
        `INSERT INTO signing_keys (provider, kid, alg, private_jwk, public_jwk, created_at)
         SELECT ?, ?, ?, ?, ?, ? WHERE NOT EXISTS
           (SELECT 1 FROM signing_keys WHERE provider = ? AND alg = ? AND retire_at IS NULL)`,
      ),
      retireKeys: db.prepare(
        'UPDATE signing_keys SET retire_at = ? WHERE provider = ? AND alg = ? AND retire_at IS NULL',
      ),
      addKey: db.prepare(
        `INSERT INTO signing_keys (provider, kid, alg, private_jwk, public_jwk, created_at)
         VALUES (?, ?, ?, ?, ?, ?)`,
      ),
      listClients: db.prepare('SELECT * FROM clients WHERE provider = ? ORDER BY client_id'),
      upsertClient: db.prepare(
        `INSERT INTO clients (provider, client_id, secret_hash, secret_encrypted, metadata, source)
         VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (provider, client_id) DO UPDATE SET secret_hash = excluded.secret_hash,
           secret_encrypted = excluded.secret_encrypted, metadata = excluded.metadata, source = excluded.source`,
      ),
      deleteConfigClient: db.prepare(
        "DELETE FROM clients WHERE provider = ? AND client_id = ? AND source = 'config'",
      ),
      userByName: db.prepare('SELECT * FROM users WHERE provider = ? AND username = ?'),
      userById: db.prepare('SELECT * FROM users WHERE provider = ? AND id = ?'),
      insertUser: db.prepare(
        'INSERT INTO users (provider, id, username, password_hash, claims) VALUES (?, ?, ?, ?, ?)',
      ),
      updateUser: db.prepare(
        'UPDATE users SET id = ?, password_hash = ?, claims = ? WHERE provider = ? AND username = ?',
      ),
      insertSession: db.prepare(
        'INSERT INTO sessions (provider, id_hash, sid, user_id, auth_time, expires_at) VALUES (?, ?, ?, ?, ?, ?)',
      ),
      getSession: db.prepare('SELECT * FROM sessions WHERE provider = ? AND id_hash = ?'),
      deleteSession: db.prepare('DELETE FROM sessions WHERE provider = ? AND id_hash = ?'),
      insertSessionGrant: db.prepare(
        `INSERT INTO session_grants (provider, sid, grant_id, client_id, expires_at) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (provider, sid, grant_id) DO NOTHING`,
      ),
      sessionGrants: db.prepare(
        'SELECT grant_id, client_id FROM session_grants WHERE provider = ? AND sid = ?',
      ),
      extendSessionGrants: db.prepare(
        'UPDATE session_grants SET expires_at = max(expires_at, ?) WHERE provider = ? AND sid = ?',
      ),
      deleteSessionGrants: db.prepare('DELETE FROM session_grants WHERE provider = ? AND sid = ?'),
      consumeCodesByGrant: db.prepare(
        `UPDATE authorization_codes INDEXED BY authorization_codes_grant SET consumed_at = ?
         WHERE provider = ? AND grant_id = ? AND consumed_at IS NULL`,
      ),
      getConsent: db
        .prepare('SELECT scope FROM consents WHERE provider = ? AND user_id = ? AND client_id = ?')
        .pluck(),
      putConsent: db.prepare(
        `INSERT INTO consents (provider, user_id, client_id, scope, updated_at) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (provider, user_id, client_id) DO UPDATE SET scope = excluded.scope, updated_at = excluded.updated_at`,
      ),
      insertCode: db.prepare(
        `INSERT INTO authorization_codes (provider, code_hash, grant_id, client_id, user_id, redirect_uri, scope,
           nonce, code_challenge, resource, auth_time, details, expires_at, consumed_at)
         VALUES (@provider, @codeHash, @grantId, @clientId, @userId, @redirectUri, @scope,
           @nonce, @codeChallenge, @resource, @authTime, @details, @expiresAt, NULL)`,
      ),
      findCode: db.prepare('SELECT * FROM authorization_codes WHERE provider = ? AND code_hash = ?'),
      consumeCode: db.prepare(
        'UPDATE authorization_codes SET consumed_at = ? WHERE provider = ? AND code_hash = ? AND consumed_at IS NULL',
      ),
      insertAccess: db.prepare(
        `INSERT INTO access_tokens (provider, token_hash, grant_id, client_id, user_id, scope, audience,
           refresh_hash, details, issued_at, expires_at)
         VALUES (@provider, @tokenHash, @grantId, @clientId, @userId, @scope, @audience,
           @refreshHash, @details, @issuedAt, @expiresAt)`,
      ),
      insertRefresh: db.prepare(
        `INSERT INTO refresh_tokens (provider, token_hash, grant_id, client_id, user_id, scope, audience,
           auth_time, details, issued_at, parent_hash, expires_at, idle_expires_at)
         VALUES (@provider, @tokenHash, @grantId, @clientId, @userId, @scope, @audience,
           @authTime, @details, @issuedAt, @parentHash, @expiresAt, @idleExpiresAt)`,
      ),
      findAccess: db.prepare('SELECT * FROM access_tokens WHERE provider = ? AND token_hash = ?'),
      findRefresh: db.prepare('SELECT * FROM refresh_tokens WHERE provider = ? AND token_hash = ?'),
      consumeRefresh: db.prepare(
        `UPDATE refresh_tokens SET consumed_at = ?
         WHERE provider = ? AND token_hash = ? AND consumed_at IS NULL AND revoked_at IS NULL`,
      ),
      touchRefresh: db.prepare(
        `UPDATE refresh_tokens SET idle_expires_at = ?
         WHERE provider = ? AND token_hash = ? AND consumed_at IS NULL AND revoked_at IS NULL`,
      ),
      usedChildren: db
        .prepare(
          `SELECT count(*) FROM refresh_tokens INDEXED BY refresh_tokens_parent
           WHERE provider = ? AND parent_hash = ? AND consumed_at IS NOT NULL`,
        )
        .pluck(),
      revokeLiveChildrenAccess: db.prepare(
        `UPDATE access_tokens INDEXED BY access_tokens_refresh SET revoked_at = ?
         WHERE provider = ? AND revoked_at IS NULL AND refresh_hash IN (
           SELECT token_hash FROM refresh_tokens INDEXED BY refresh_tokens_parent
           WHERE provider = ? AND parent_hash = ? AND consumed_at IS NULL AND revoked_at IS NULL)`,
      ),
      revokeLiveChildren: db.prepare(
        `UPDATE refresh_tokens INDEXED BY refresh_tokens_parent SET revoked_at = ?
         WHERE provider = ? AND parent_hash = ? AND consumed_at IS NULL AND revoked_at IS NULL`,
      ),
      revokeAccess: db.prepare(
        'UPDATE access_tokens SET revoked_at = ? WHERE provider = ? AND token_hash = ? AND revoked_at IS NULL',
      ),
      insertJti: db.prepare(
        `INSERT INTO used_jtis (provider, namespace, jti, expires_at) VALUES (?, ?, ?, ?)
         ON CONFLICT (provider, namespace, jti) DO UPDATE SET expires_at = excluded.expires_at
         WHERE used_jtis.expires_at <= ?`,
      ),
      revokeAccessByGrant: db.prepare(
        `UPDATE access_tokens INDEXED BY access_tokens_grant SET revoked_at = ?
         WHERE provider = ? AND grant_id = ? AND revoked_at IS NULL`,
      ),
      revokeRefreshByGrant: db.prepare(
        `UPDATE refresh_tokens INDEXED BY refresh_tokens_grant SET revoked_at = ?
         WHERE provider = ? AND grant_id = ? AND revoked_at IS NULL`,
      ),
      // Reads a page of the file (SELECT 1 would answer without touching it).
      ping: db.prepare('SELECT count(*) FROM sqlite_schema').pluck(),
    };

    const s = this.s;
    this.insertTokensTx = db.transaction((provider: string, t: IssuedTokens) => {
      const a = t.accessToken;
      s.insertAccess.run({
        provider,
        tokenHash: a.tokenHash,
        grantId: a.grantId,
        clientId: a.clientId,
        userId: a.userId ?? null,
        scope: a.scope.join(' '),
        audience: a.audience.join(' '),
        refreshHash: a.refreshHash ?? null,
        details: JSON.stringify(a.details),
        issuedAt: a.issuedAt,
        expiresAt: a.expiresAt,
      });
      const r = t.refreshToken;
      if (r) {
        s.insertRefresh.run({
          provider,
          tokenHash: r.tokenHash,
          grantId: r.grantId,
          clientId: r.clientId,
          userId: r.userId,
          scope: r.scope.join(' '),
          audience: r.audience.join(' '),
          authTime: r.authTime,
          details: JSON.stringify(r.details),
          issuedAt: r.issuedAt,
          parentHash: r.parentHash ?? null,
          expiresAt: r.expiresAt,
          idleExpiresAt: r.idleExpiresAt,
        });
      }
    });
    this.revokeGrantTx = db.transaction((provider: string, grantId: string, now: number) => {
      s.revokeAccessByGrant.run(now, provider, grantId);
      s.revokeRefreshByGrant.run(now, provider, grantId);
    });
    const endSession = db.transaction((provider: string, idHash: string, now: number) => {
      const row = s.getSession.get(provider, idHash) as Row | undefined;
      if (!row || s.deleteSession.run(provider, idHash).changes !== 1) return undefined;
      const sid = str(row.sid);
      const clientIds = new Set<string>();
      for (const g of s.sessionGrants.all(provider, sid) as Row[]) {
        // A code not yet redeemed is consumed: redeeming it later counts as a replay and gets nothing.
        s.consumeCodesByGrant.run(now, provider, g.grant_id);
        this.revokeGrantTx(provider, str(g.grant_id), now);
        clientIds.add(str(g.client_id));
      }
      s.deleteSessionGrants.run(provider, sid);
      return { sid, userId: str(row.user_id), clientIds: [...clientIds] };
    });
    this.endSessionTx = (...args) => endSession.immediate(...args);
    // IMMEDIATE takes the write lock first, so two processes cannot both pass the conditional update.
    const rotateKey = db.transaction((provider: string, k: SigningKeyRecord, retireAt: number) => {
      this.s.retireKeys.run(retireAt, provider, k.alg);
      this.s.addKey.run(provider, k.kid, k.alg, k.privateJwk, k.publicJwk, k.createdAt);
    });
    this.rotateKeyTx = (...args) => rotateKey.immediate(...args);
    const redeem = db.transaction((provider: string, codeHash: string, now: number, t: IssuedTokens) => {
      if (s.consumeCode.run(now, provider, codeHash).changes === 1) {
        this.insertTokensTx(provider, t);
        return 'redeemed' as const;
      }
      const row = s.findCode.get(provider, codeHash) as Row | undefined;
      if (!row) return 'missing' as const;
      this.revokeGrantTx(provider, str(row.grant_id), now);
      return 'replayed' as const;
    });
    this.redeemTx = (...args) => redeem.immediate(...args);
    const rotate = db.transaction(
      (provider: string, hash: string, now: number, t: IssuedTokens, grace: number) => {
        if (s.consumeRefresh.run(now, provider, hash).changes === 1) {
          this.insertTokensTx(provider, t);
          return 'rotated' as const;
        }
        const row = s.findRefresh.get(provider, hash) as Row | undefined;
        if (!row || row.consumed_at === null) return 'missing' as const;
        const withinGrace =
          grace > 0 &&
          row.revoked_at === null &&
          now - num(row.consumed_at) <= grace &&
          (s.usedChildren.get(provider, hash) as number) === 0;
        if (withinGrace) {
          // The retry replaces the successor nobody used yet: still one live refresh token.
          // The replaced successor's access token goes with it: the retry's answer is the only live pair.
          s.revokeLiveChildrenAccess.run(now, provider, provider, hash);
          s.revokeLiveChildren.run(now, provider, hash);
          this.insertTokensTx(provider, t);
          return 'rotated' as const;
        }
        this.revokeGrantTx(provider, str(row.grant_id), now);
        return 'reused' as const;
      },
    );
    this.rotateTx = (...args) => rotate.immediate(...args);
    const inPlace = db.transaction((provider: string, hash: string, idle: number, t: IssuedTokens) => {
      if (s.touchRefresh.run(idle, provider, hash).changes !== 1) return false;
      this.insertTokensTx(provider, t);
      return true;
    });
    this.refreshInPlaceTx = (...args) => inPlace.immediate(...args);
    // Read and write under the write lock (IMMEDIATE): a consent given meanwhile in another process is kept.
    const mergeConsent = db.transaction(
      (provider: string, userId: string, clientId: string, items: string[], now: number) => {
        const stored = s.getConsent.get(provider, userId, clientId) as string | undefined;
        const merged = new Set([...(stored === undefined ? [] : splitScope(stored)), ...items]);
        s.putConsent.run(provider, userId, clientId, [...merged].join(' '), now);
      },
    );
    this.mergeConsentTx = (...args) => mergeConsent.immediate(...args);
  }

  private migrate(): void {
    const current = this.db.pragma('user_version', { simple: true }) as number;
    for (let v = current; v < migrations.length; v++) {
      this.db
        .transaction(() => {
          this.db.exec(migrations[v] as string);
          this.db.pragma(`user_version = ${v + 1}`);
        })
        .immediate();
    }
  }

  async ping(): Promise<void> {
    // Reading proves the file answers; taking the write lock and letting it go at once proves a write could commit
    // now. A lock held elsewhere past the short wait, or a read-only or failing disk, shows here, not in `SELECT 1`.
    this.s.ping.get();
    const deadline = Date.now() + Math.min(this.busyTimeoutMs, pingBusyTimeoutMs);
    for (const started = Date.now(); ; ) {
      try {
        // Synchronous from BEGIN to COMMIT: no queued write can interleave with it.
        this.db.transaction(() => undefined).immediate();
        return;
      } catch (err) {
        // Past its own deadline, as StoreUnavailableError: a raw SQLITE_BUSY would be retried at the store boundary
        // for the full busy timeout, and a health check must answer within about a second.
        if (!isBusyError(err) || Date.now() >= deadline) throw translateSqliteError(err);
      }
      await new Promise((resolve) => setTimeout(resolve, retryDelayMs(Date.now() - started)));
    }
  }

  /**
   * Hands WAL checkpoints to a worker thread (src/store/sqlite/checkpointer.ts), so no commit on this connection waits
   * for a file sync. Without it (a store opened in memory, or a worker that cannot start) SQLite checkpoints inside
   * commits, as by default.
   */
  async startBackgroundCheckpoints(): Promise<void> {
    if (this.path === ':memory:' || this.checkpointer) return;
    this.checkpointer = await Checkpointer.start(this.db, this.path, this.synchronous);
  }

  async close(): Promise<void> {
    this.writes.close();
    await this.checkpointer?.stop();
    this.checkpointer = undefined;
    if (this.db.open) this.db.close();
  }

  async deleteExpired(now: EpochSeconds): Promise<number> {
    let removed = 0;
    for (const sweep of this.sweeps) {
      for (;;) {
        // Each batch is its own short write (an indexed range, at most sweepBatchSize rows), so no lock is held long.
        const changes = await this.writes.run(
          () => sweep.run.run(now - sweep.keep, this.sweepBatchSize).changes,
        );
        removed += changes;
        if (changes < this.sweepBatchSize) break;
        // better-sqlite3 is synchronous: yield between batches so requests waiting on the event loop are answered.
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
    }
    return removed;
  }

  // KeyStore

  async listSigningKeys(provider: string): Promise<SigningKeyRecord[]> {
    return (this.s.listKeys.all(provider) as Row[]).map(toSigningKey);
  }

  async ensureSigningKey(provider: string, k: SigningKeyRecord): Promise<void> {
    return this.writes.run(() => {
      this.s.insertKey.run(provider, k.kid, k.alg, k.privateJwk, k.publicJwk, k.createdAt, provider, k.alg);
    });
  }

  async rotateSigningKey(provider: string, k: SigningKeyRecord, retireAt: EpochSeconds): Promise<void> {
    return this.writes.run(() => {
      this.rotateKeyTx(provider, k, retireAt);
    });
  }

  async getOrCreateSecret(provider: string, name: string, candidate: string): Promise<string> {
    return this.writes.run(() => {
      this.s.insertSecret.run(provider, name, candidate);
      return this.s.getSecret.get(provider, name) as string;
    });
  }

  // ClientStore

  async replaceConfigClients(provider: string, clients: ClientRecord[], now: EpochSeconds): Promise<void> {
    return this.writes.run(() => {
      this.db
        .transaction(() => {
          const keep = new Set(clients.map((c) => c.clientId));
          for (const row of this.s.listClients.all(provider) as Row[]) {
            if (row.source === 'config' && !keep.has(str(row.client_id))) {
              this.s.deleteConfigClient.run(provider, row.client_id);
              // A client taken out of the file ends with what it held, as a deleted registered one does.
              this.reg.endClientAccess(provider, str(row.client_id), now);
            }
          }
          for (const c of clients) {
            this.s.upsertClient.run(
              provider,
              c.clientId,
              c.secretHash ?? null,
              c.secretEncrypted ?? null,
              JSON.stringify(c.metadata),
              c.source,
            );
          }
        })
        .immediate();
    });
  }

  async listClients(provider: string): Promise<ClientRecord[]> {
    return (this.s.listClients.all(provider) as Row[]).map(toClient);
  }

  private prepareRegistration() {
    const db = this.db;
    const bump = db.prepare(
      `INSERT INTO client_versions (provider, version) VALUES (?, 1)
       ON CONFLICT (provider) DO UPDATE SET version = version + 1`,
    );
    const insert = db.prepare(
      `INSERT INTO clients (provider, client_id, secret_hash, secret_encrypted, metadata, source,
         registration_token_hash, issued_at)
       VALUES (?, ?, ?, ?, ?, 'registration', ?, ?)`,
    );
    const update = db.prepare(
      `UPDATE clients SET secret_hash = ?, secret_encrypted = ?, metadata = ?
       WHERE provider = ? AND client_id = ? AND source = 'registration'`,
    );
    const remove = db.prepare(
      "DELETE FROM clients WHERE provider = ? AND client_id = ? AND source = 'registration'",
    );
    const revokeAccess = db.prepare(
      'UPDATE access_tokens SET revoked_at = ? WHERE provider = ? AND client_id = ? AND revoked_at IS NULL',
    );
    const revokeRefresh = db.prepare(
      'UPDATE refresh_tokens SET revoked_at = ? WHERE provider = ? AND client_id = ? AND revoked_at IS NULL',
    );
    const consumeCodes = db.prepare(
      'UPDATE authorization_codes SET consumed_at = ? WHERE provider = ? AND client_id = ? AND consumed_at IS NULL',
    );
    const dropConsents = db.prepare('DELETE FROM consents WHERE provider = ? AND client_id = ?');
    /** Runs inside the caller's transaction. */
    const endClientAccess = (provider: string, clientId: string, now: number) => {
      revokeAccess.run(now, provider, clientId);
      revokeRefresh.run(now, provider, clientId);
      consumeCodes.run(now, provider, clientId);
      dropConsents.run(provider, clientId);
    };
    const insertTx = db.transaction((provider: string, c: RegisteredClientRecord) => {
      insert.run(
        provider,
        c.clientId,
        c.secretHash ?? null,
        c.secretEncrypted ?? null,
        JSON.stringify(c.metadata),
        c.registration.accessTokenHash,
        c.registration.issuedAt,
      );
      bump.run(provider);
    });
    const updateTx = db.transaction((provider: string, c: ClientRecord) => {
      const changed =
        update.run(
          c.secretHash ?? null,
          c.secretEncrypted ?? null,
          JSON.stringify(c.metadata),
          provider,
          c.clientId,
        ).changes === 1;
      if (changed) bump.run(provider);
      return changed;
    });
    const deleteTx = db.transaction((provider: string, clientId: string, now: number) => {
      if (remove.run(provider, clientId).changes !== 1) return false;
      // What the client held ends with it (RFC 7592 §2.3: its grants are invalidated).
      endClientAccess(provider, clientId, now);
      bump.run(provider);
      return true;
    });
    return {
      find: db.prepare('SELECT * FROM clients WHERE provider = ? AND client_id = ?'),
      version: db.prepare('SELECT version FROM client_versions WHERE provider = ?').pluck(),
      endClientAccess,
      insert: (provider: string, c: RegisteredClientRecord) => insertTx.immediate(provider, c),
      update: (provider: string, c: ClientRecord) => updateTx.immediate(provider, c),
      delete: (provider: string, clientId: string, now: number) =>
        deleteTx.immediate(provider, clientId, now),
    };
  }

  async findClient(provider: string, clientId: string): Promise<ClientRecord | undefined> {
    const row = this.reg.find.get(provider, clientId) as Row | undefined;
    return row && toClient(row);
  }

  async getRegisteredClient(provider: string, clientId: string): Promise<RegisteredClientRecord | undefined> {
    const row = this.reg.find.get(provider, clientId) as Row | undefined;
    if (row?.source !== 'registration' || row.registration_token_hash === null) return undefined;
    return {
      ...toClient(row),
      registration: { accessTokenHash: str(row.registration_token_hash), issuedAt: num(row.issued_at) },
    };
  }

  async insertRegisteredClient(provider: string, client: RegisteredClientRecord): Promise<void> {
    return this.writes.run(() => {
      this.reg.insert(provider, client);
    });
  }

  async updateRegisteredClient(provider: string, client: ClientRecord): Promise<boolean> {
    return this.writes.run(() => {
      return this.reg.update(provider, client);
    });
  }

  async deleteRegisteredClient(provider: string, clientId: string, now: EpochSeconds): Promise<boolean> {
    return this.writes.run(() => {
      return this.reg.delete(provider, clientId, now);
    });
  }

  async registeredClientsVersion(provider: string): Promise<number> {
    return (this.reg.version.get(provider) as number | undefined) ?? 0;
  }

  // UserStore

  async findUserByUsername(provider: string, username: string): Promise<UserRecord | undefined> {
    const row = this.s.userByName.get(provider, username) as Row | undefined;
    return row && toUser(row);
  }

  async getUser(provider: string, id: string): Promise<UserRecord | undefined> {
    const row = this.s.userById.get(provider, id) as Row | undefined;
    return row && toUser(row);
  }

  /** Ends a user's sessions and revokes their tokens; runs inside the caller's transaction. */
  private endUserAccess(provider: string, userId: string): void {
    const now = Math.floor(Date.now() / 1000);
    this.db.prepare('DELETE FROM sessions WHERE provider = ? AND user_id = ?').run(provider, userId);
    for (const table of ['access_tokens', 'refresh_tokens']) {
      this.db
        .prepare(
          `UPDATE ${table} SET revoked_at = ? WHERE provider = ? AND user_id = ? AND revoked_at IS NULL`,
        )
        .run(now, provider, userId);
    }
  }

  async deleteConfigUsersExcept(provider: string, keep: readonly string[]): Promise<void> {
    return this.writes.run(() => {
      const kept = new Set(keep);
      this.db
        .transaction(() => {
          const rows = this.db
            .prepare("SELECT id, username FROM users WHERE provider = ? AND source = 'config'")
            .all(provider) as Row[];
          for (const row of rows) {
            if (kept.has(str(row.username))) continue;
            this.endUserAccess(provider, str(row.id));
            this.db.prepare('DELETE FROM users WHERE provider = ? AND id = ?').run(provider, row.id);
          }
        })
        .immediate();
    });
  }

  async upsertUser(
    provider: string,
    user: Omit<UserRecord, 'id'> & { id: string | undefined },
  ): Promise<UserRecord> {
    return this.writes.run(() => {
      return this.db
        .transaction(() => {
          const existing = this.s.userByName.get(provider, user.username) as Row | undefined;
          const claims = JSON.stringify(user.claims);
          if (existing) {
            const id = user.id ?? str(existing.id);
            // A new password ends what the old one opened: sessions and tokens (security checklist O3).
            if (existing.password_hash !== user.passwordHash) this.endUserAccess(provider, str(existing.id));
            this.s.updateUser.run(id, user.passwordHash, claims, provider, user.username);
            return { ...user, id };
          }
          const id = user.id ?? crypto.randomUUID();
          this.s.insertUser.run(provider, id, user.username, user.passwordHash, claims);
          return { ...user, id };
        })
        .immediate();
    });
  }

  // SessionStore

  async createSession(provider: string, s: SessionRecord): Promise<void> {
    return this.writes.run(() => {
      this.db
        .transaction(() => {
          this.s.insertSession.run(provider, s.idHash, s.sid, s.userId, s.authTime, s.expiresAt);
          this.s.extendSessionGrants.run(s.expiresAt, provider, s.sid);
        })
        .immediate();
    });
  }

  async getSession(provider: string, idHash: string): Promise<SessionRecord | undefined> {
    const r = this.s.getSession.get(provider, idHash) as Row | undefined;
    return r && toSession(r);
  }

  async deleteSession(provider: string, idHash: string): Promise<void> {
    return this.writes.run(() => {
      this.s.deleteSession.run(provider, idHash);
    });
  }

  async addSessionGrant(provider: string, g: SessionGrantRecord): Promise<void> {
    return this.writes.run(() => {
      this.s.insertSessionGrant.run(provider, g.sid, g.grantId, g.clientId, g.expiresAt);
    });
  }

  async endSession(provider: string, idHash: string, now: EpochSeconds): Promise<EndedSession | undefined> {
    return this.writes.run(() => {
      return this.endSessionTx(provider, idHash, now);
    });
  }

  // ConsentStore

  async getConsent(provider: string, userId: string, clientId: string): Promise<string[] | undefined> {
    const scope = this.s.getConsent.get(provider, userId, clientId) as string | undefined;
    return scope === undefined ? undefined : splitScope(scope);
  }

  async putConsent(
    provider: string,
    userId: string,
    clientId: string,
    scope: string[],
    now: EpochSeconds,
  ): Promise<void> {
    return this.writes.run(() => {
      this.s.putConsent.run(provider, userId, clientId, scope.join(' '), now);
    });
  }

  async mergeConsent(
    provider: string,
    userId: string,
    clientId: string,
    items: string[],
    now: EpochSeconds,
  ): Promise<void> {
    return this.writes.run(() => {
      this.mergeConsentTx(provider, userId, clientId, items, now);
    });
  }

  // CodeStore

  async insertCode(provider: string, c: AuthorizationCodeRecord): Promise<void> {
    return this.writes.run(() => {
      this.s.insertCode.run({
        provider,
        codeHash: c.codeHash,
        grantId: c.grantId,
        clientId: c.clientId,
        userId: c.userId,
        redirectUri: c.redirectUri,
        scope: c.scope.join(' '),
        nonce: c.nonce ?? null,
        codeChallenge: c.codeChallenge ?? null,
        resource: c.resource.join(' '),
        authTime: c.authTime,
        details: JSON.stringify(c.details),
        expiresAt: c.expiresAt,
      });
    });
  }

  async findCode(provider: string, codeHash: string): Promise<AuthorizationCodeRecord | undefined> {
    const row = this.s.findCode.get(provider, codeHash) as Row | undefined;
    return row && toCode(row);
  }

  async redeemCode(
    provider: string,
    codeHash: string,
    now: EpochSeconds,
    t: IssuedTokens,
  ): Promise<RedeemResult> {
    return this.writes.run(() => {
      return this.redeemTx(provider, codeHash, now, t);
    });
  }

  // TokenStore

  async findAccessToken(provider: string, tokenHash: string): Promise<AccessTokenRecord | undefined> {
    const row = this.s.findAccess.get(provider, tokenHash) as Row | undefined;
    return row && toAccessToken(row);
  }

  async findRefreshToken(provider: string, tokenHash: string): Promise<RefreshTokenRecord | undefined> {
    const row = this.s.findRefresh.get(provider, tokenHash) as Row | undefined;
    return row && toRefreshToken(row);
  }

  async insertTokens(provider: string, tokens: IssuedTokens): Promise<void> {
    return this.writes.run(() => {
      this.insertTokensTx(provider, tokens);
    });
  }

  async rotateRefreshToken(
    provider: string,
    tokenHash: string,
    now: EpochSeconds,
    tokens: IssuedTokens,
    graceSeconds: number,
  ): Promise<RotateResult> {
    return this.writes.run(() => {
      return this.rotateTx(provider, tokenHash, now, tokens, graceSeconds);
    });
  }

  async revokeAccessToken(provider: string, tokenHash: string, now: EpochSeconds): Promise<void> {
    return this.writes.run(() => {
      this.s.revokeAccess.run(now, provider, tokenHash);
    });
  }

  // ReplayStore

  async useJti(
    provider: string,
    namespace: string,
    jti: string,
    now: EpochSeconds,
    expiresAt: EpochSeconds,
  ): Promise<boolean> {
    return this.writes.run(() => {
      // Inserts, or takes over a row whose JWT has expired; a live row makes this a no-op: a replay.
      return this.s.insertJti.run(provider, namespace, jti, expiresAt, now).changes === 1;
    });
  }

  async refreshInPlace(
    provider: string,
    tokenHash: string,
    idleExpiresAt: EpochSeconds,
    tokens: IssuedTokens,
  ): Promise<boolean> {
    return this.writes.run(() => {
      return this.refreshInPlaceTx(provider, tokenHash, idleExpiresAt, tokens);
    });
  }

  async revokeGrant(provider: string, grantId: string, now: EpochSeconds): Promise<void> {
    return this.writes.run(() => {
      this.revokeGrantTx(provider, grantId, now);
    });
  }

  // ThrottleStore

  private prepareThrottles() {
    const db = this.db;
    const read = db.prepare('SELECT * FROM throttles WHERE provider = ? AND throttle_key = ?');
    const write = db.prepare(
      `INSERT INTO throttles (provider, throttle_key, attempts, window_start, strikes, expires_at)
       VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (provider, throttle_key) DO UPDATE SET attempts = excluded.attempts,
         window_start = excluded.window_start, strikes = excluded.strikes, expires_at = excluded.expires_at`,
    );
    // Every counter of a request in one statement (one per count of keys, prepared on first use): the success path
    // of every token request reads them (issue 9 point 4).
    const readMany = new Map<number, Database.Statement>();
    const current = (provider: string, counters: ThrottleCounter[], now: number): ThrottleRow[] => {
      if (counters.length === 1) {
        const c = counters[0] as ThrottleCounter;
        const row = read.get(provider, c.key) as Row | undefined;
        return [currentRow(row && toThrottleRow(row), c, now)];
      }
      let statement = readMany.get(counters.length);
      if (statement === undefined) {
        const marks = counters.map(() => '?').join(', ');
        statement = db.prepare(`SELECT * FROM throttles WHERE provider = ? AND throttle_key IN (${marks})`);
        readMany.set(counters.length, statement);
      }
      const rows = new Map<string, Row>();
      for (const row of statement.all(provider, ...counters.map((c) => c.key)) as Row[])
        rows.set(str(row.throttle_key), row);
      return counters.map((c) => {
        const row = rows.get(c.key);
        return currentRow(row && toThrottleRow(row), c, now);
      });
    };
    // Read and write under the write lock (IMMEDIATE), so attempts in other processes are counted exactly.
    const count = db.transaction(
      (
        provider: string,
        counters: ThrottleCounter[],
        now: number,
        refuseBlocked: boolean,
      ): ThrottleVerdict => {
        const rows = current(provider, counters, now);
        const verdict = verdictOf(rows, counters, now);
        if (verdict.blocked && refuseBlocked) return verdict;
        rows.forEach((row, i) => {
          const c = counters[i] as ThrottleCounter;
          const next = countedRow(row, c);
          write.run(provider, c.key, next.attempts, next.windowStart, next.strikes, next.expiresAt);
        });
        return { blocked: false };
      },
    );
    const remove = db.prepare('DELETE FROM throttles WHERE provider = ? AND throttle_key = ?');
    const giveBack = db.prepare(
      'UPDATE throttles SET attempts = max(attempts - 1, 0) WHERE provider = ? AND throttle_key = ?',
    );
    const clear = db.transaction((provider: string, cleared: string[], givenBack: string[]) => {
      for (const key of cleared) remove.run(provider, key);
      for (const key of givenBack) giveBack.run(provider, key);
    });
    return {
      current,
      count: (provider: string, counters: ThrottleCounter[], now: number, refuseBlocked: boolean) =>
        count.immediate(provider, counters, now, refuseBlocked),
      clear: (provider: string, cleared: string[], givenBack: string[]) =>
        clear.immediate(provider, cleared, givenBack),
    };
  }

  async admitAttempt(
    provider: string,
    counters: ThrottleCounter[],
    now: EpochSeconds,
  ): Promise<ThrottleVerdict> {
    return this.writes.run(() => {
      return this.thr.count(provider, counters, now, true);
    });
  }

  async recordFailure(provider: string, counters: ThrottleCounter[], now: EpochSeconds): Promise<void> {
    return this.writes.run(() => {
      this.thr.count(provider, counters, now, false);
    });
  }

  async throttleState(
    provider: string,
    counters: ThrottleCounter[],
    now: EpochSeconds,
  ): Promise<ThrottleVerdict> {
    return verdictOf(this.thr.current(provider, counters, now), counters, now);
  }

  async clearAttempts(provider: string, clear: string[], giveBack: string[]): Promise<void> {
    return this.writes.run(() => {
      this.thr.clear(provider, clear, giveBack);
    });
  }
}

// Every async (public) method turns SQLite's lock and I/O failures into StoreUnavailableError (503 on the wire).
translateErrorsOf(SqliteStore.prototype);
