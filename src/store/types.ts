// The store interface: every record Gatehouse keeps, behind narrow async interfaces (SQLite now, PostgreSQL next).
// Codes and tokens are kept only as SHA-256 hashes (RFC 6819 §5.1.4.1.3); every row belongs to one provider.

import type { ClientConfig } from '../config/schema.js';

/** Epoch seconds. Every time in the store is in these units. */
export type EpochSeconds = number;

export interface SigningKeyRecord {
  kid: string;
  alg: string;
  /** Private JWK as JSON text, encrypted (JWE dir + A256GCM) under the secret-encryption key. Only src/crypto/keys.ts reads it. */
  privateJwk: string;
  publicJwk: string;
  createdAt: EpochSeconds;
  /**
   * Undefined while the key is its algorithm's signing key. Set when a newer key of the algorithm superseded it:
   * it stays published until then, so tokens it signed still verify (OIDC Core §10.1.1), and is retired after.
   */
  retireAt: EpochSeconds | undefined;
}

export type ClientMetadata = Omit<ClientConfig, 'client_secret'>;

export interface ClientRecord {
  clientId: string;
  /** HMAC-SHA256 of the secret under the provider's client-secret key, base64url; undefined for public clients. */
  secretHash: string | undefined;
  /**
   * The secret itself, encrypted (JWE, dir + A256GCM) under the provider's secret-encryption key; only for
   * client_secret_jwt, which needs the secret as an HMAC key (OIDC Core §9, §16.19).
   */
  secretEncrypted: string | undefined;
  metadata: ClientMetadata;
  /** Where the client came from; config clients are replaced at every start. */
  source: 'config' | 'registration';
}

/** What lets a dynamically registered client manage its registration (RFC 7592 §1.1, RFC 7591 §3.2.1). */
export interface ClientRegistration {
  /** SHA-256 of the registration access token, base64url; the token itself is never stored. */
  accessTokenHash: string;
  /** `client_id_issued_at`. */
  issuedAt: EpochSeconds;
}

/** A client registered through /registration (source 'registration'), with its registration. */
export interface RegisteredClientRecord extends ClientRecord {
  registration: ClientRegistration;
}

export interface UserRecord {
  /** The `sub` claim. */
  id: string;
  username: string;
  passwordHash: string;
  claims: Record<string, unknown>;
}

export interface SessionRecord {
  idHash: string;
  /**
   * The public session id (`sid` of ID and logout tokens, OIDC Back-Channel Logout §2.1): random, distinct from
   * the cookie value and its hash. A re-login of the same user in the same browser keeps it.
   */
  sid: string;
  userId: string;
  authTime: EpochSeconds;
  expiresAt: EpochSeconds;
}

/** A grant made in a session, so that logging out ends it (security checklist O3) and tells its client (Back-Channel Logout §2.3). */
export interface SessionGrantRecord {
  sid: string;
  grantId: string;
  clientId: string;
  /** The session's own expiry: past it there is no session left to log out of. */
  expiresAt: EpochSeconds;
}

/** What logging a session out ended. */
export interface EndedSession {
  sid: string;
  userId: string;
  /** Every client that got a grant in the session, each once. */
  clientIds: string[];
}

/** An authorization request waiting for the user to log in or consent (OIDC Core §3.1.2.1 parameters, validated). */
export interface AuthorizationRequest {
  clientId: string;
  /** Canonical order: `code`, `id_token`, `token` (OIDC Core §3; Multiple Response Types §5). */
  responseType: string;
  responseMode: 'query' | 'fragment' | 'form_post';
  redirectUri: string;
  scope: string[];
  state: string | undefined;
  nonce: string | undefined;
  codeChallenge: string | undefined;
  prompt: string[];
  maxAge: number | undefined;
  /** RFC 8707 resource indicators asked for. */
  resource: string[];
  // The optional OpenID parameters (OIDC Core §3.1.2.1, §5.5); absent when not asked for. Pending authorizations
  // carry the request as JSON (src/authorization/pending.ts), so these need no migration.
  /** OIDC Core §5.5 claims request. */
  claims?: ClaimsRequest;
  /** acr_values (or the client's default_acr_values), in the order of preference asked. */
  acrValues?: string[];
  /** Prefills the login page's username. */
  loginHint?: string;
  /** `sub` of a verified id_token_hint: the user the client expects to be signed in. */
  idTokenHintSub?: string;
  /** ui_locales, kept for the pages (which speak English only for now). */
  uiLocales?: string[];
  /** page, popup, touch or wap. */
  display?: string;
}

/** One requested claim of the OIDC Core §5.5 `claims` parameter; null asks for it with no further conditions. */
export interface ClaimRequest {
  essential?: boolean;
  value?: unknown;
  values?: unknown[];
}

/** OIDC Core §5.5: claims asked for by name, per destination. */
export interface ClaimsRequest {
  userinfo?: Record<string, ClaimRequest | null>;
  id_token?: Record<string, ClaimRequest | null>;
}

/**
 * What an authorization decided beyond scope, carried from the code to every token of its grant (so a refreshed
 * ID token says the same). Stored as one JSON value: new members need no migration.
 */
export interface GrantDetails {
  /** OIDC Core §5.5 claims request. */
  claims?: ClaimsRequest;
  /** OIDC Core §2 `acr` the authentication satisfied. */
  acr?: string;
  /** OIDC Front-/Back-Channel Logout `sid`: the provider session the grant was made in. */
  sid?: string;
}

export interface AuthorizationCodeRecord {
  codeHash: string;
  /** Every token issued from this code carries it, so a replay can revoke them all (RFC 6749 §4.1.2). */
  grantId: string;
  clientId: string;
  userId: string;
  redirectUri: string;
  scope: string[];
  nonce: string | undefined;
  codeChallenge: string | undefined;
  /** RFC 8707 resource indicators granted with the code. */
  resource: string[];
  authTime: EpochSeconds;
  details: GrantDetails;
  expiresAt: EpochSeconds;
  consumedAt: EpochSeconds | undefined;
}

export interface AccessTokenRecord {
  tokenHash: string;
  grantId: string;
  clientId: string;
  /** Undefined for tokens a client got for itself (client_credentials). */
  userId: string | undefined;
  scope: string[];
  /** Resource servers the token is for (RFC 8707 / RFC 9068 `aud`). */
  audience: string[];
  /** The refresh token issued in the same response, if any: replacing that one replaces this one too. */
  refreshHash: string | undefined;
  /** What the authorization decided beyond scope: UserInfo answers the claims request's `userinfo` member from it. */
  details: GrantDetails;
  issuedAt: EpochSeconds;
  expiresAt: EpochSeconds;
  revokedAt: EpochSeconds | undefined;
}

export interface RefreshTokenRecord {
  tokenHash: string;
  grantId: string;
  clientId: string;
  userId: string;
  scope: string[];
  /** Resource indicators of the grant; refreshed access tokens may narrow them. */
  audience: string[];
  authTime: EpochSeconds;
  details: GrantDetails;
  issuedAt: EpochSeconds;
  /** The token this one replaced in rotation, if any. */
  parentHash: string | undefined;
  /** Absolute end of the family, fixed at the first sign-in. */
  expiresAt: EpochSeconds;
  /** Idle limit: the token is dead if not used before this. */
  idleExpiresAt: EpochSeconds;
  /** Set when rotation replaced it; presenting it again is reuse (RFC 9700 §4.14.2). */
  consumedAt: EpochSeconds | undefined;
  revokedAt: EpochSeconds | undefined;
}

/** Tokens issued together by one grant step, written in one transaction. */
export interface IssuedTokens {
  accessToken: AccessTokenRecord;
  refreshToken: RefreshTokenRecord | undefined;
}

export type RedeemResult = 'redeemed' | 'replayed' | 'missing';
export type RotateResult = 'rotated' | 'reused' | 'missing';

export interface KeyStore {
  /** Signing keys, oldest first, retired ones included (running processes call this every few seconds). */
  listSigningKeys(provider: string): Promise<SigningKeyRecord[]>;
  /**
   * Stores `key` unless the provider already has a signing key (no `retireAt`) of its algorithm, atomically, so
   * processes starting together on a new database end up with one key, not one each.
   */
  ensureSigningKey(provider: string, key: SigningKeyRecord): Promise<void>;
  /**
   * Key rotation: stores `key` as its algorithm's signing key and, in the same transaction, gives every other
   * key of that algorithm still signing (no `retireAt`) the retire time `retireAt`.
   */
  rotateSigningKey(provider: string, key: SigningKeyRecord, retireAt: EpochSeconds): Promise<void>;
  /**
   * Returns the value stored under `name`, storing `candidate` first if there is none.
   * Atomic, so processes starting together agree on one value.
   */
  getOrCreateSecret(provider: string, name: string, candidate: string): Promise<string>;
}

export interface ClientStore {
  /**
   * Makes the config-sourced clients exactly `clients` (inserting, updating and deleting), in one transaction. A
   * configured client no longer listed ends as a deleted registered one does: its access and refresh tokens revoked
   * at `now`, its unused codes consumed, consents given to it forgotten (issue 8: removing a client ends its tokens).
   */
  replaceConfigClients(provider: string, clients: ClientRecord[], now: EpochSeconds): Promise<void>;
  listClients(provider: string): Promise<ClientRecord[]>;
  /** One client of either source. */
  findClient(provider: string, clientId: string): Promise<ClientRecord | undefined>;
  /** A dynamically registered client with its registration; undefined for configured clients. */
  getRegisteredClient(provider: string, clientId: string): Promise<RegisteredClientRecord | undefined>;
  /** Stores a newly registered client (source 'registration'); fails if the client_id is taken. */
  insertRegisteredClient(provider: string, client: RegisteredClientRecord): Promise<void>;
  /**
   * Replaces a registered client's metadata and secret (RFC 7592 §2.2), keeping its registration. Answers false
   * when no registered client has that id (configured clients are never changed here).
   */
  updateRegisteredClient(provider: string, client: ClientRecord): Promise<boolean>;
  /**
   * Deletes a registered client (RFC 7592 §2.3) and, in the same transaction, revokes its access and refresh tokens,
   * consumes its unused codes and forgets consents given to it. Answers false when there was no such client.
   */
  deleteRegisteredClient(provider: string, clientId: string, now: EpochSeconds): Promise<boolean>;
  /**
   * A number that changes whenever a registered client of the provider is inserted, updated or deleted, so
   * processes sharing the store can tell cheaply that their cached clients are stale.
   */
  registeredClientsVersion(provider: string): Promise<number>;
}

export interface UserStore {
  findUserByUsername(provider: string, username: string): Promise<UserRecord | undefined>;
  getUser(provider: string, id: string): Promise<UserRecord | undefined>;
  /** Deletes the config-sourced users whose username is not in `keep` (removed from the file), ending their sessions and tokens. */
  deleteConfigUsersExcept(provider: string, keep: readonly string[]): Promise<void>;
  /**
   * Inserts or updates the user with this username; keeps its id when it exists and `id` is undefined.
   * A changed password hash ends the user's sessions and revokes their tokens in the same step.
   */
  upsertUser(
    provider: string,
    user: Omit<UserRecord, 'id'> & { id: string | undefined },
  ): Promise<UserRecord>;
}

export interface SessionStore {
  /**
   * Stores a session. One that goes on with an earlier session's `sid` (the same user logging in again) extends the
   * grants recorded under that sid to its own expiry, so logging out still reaches them.
   */
  createSession(provider: string, session: SessionRecord): Promise<void>;
  getSession(provider: string, idHash: string): Promise<SessionRecord | undefined>;
  deleteSession(provider: string, idHash: string): Promise<void>;
  /** Records that a grant was made in the session `grant.sid` (a repeat of the same grant changes nothing). */
  addSessionGrant(provider: string, grant: SessionGrantRecord): Promise<void>;
  /**
   * Logout, in one transaction: deletes the session, revokes the access and refresh tokens of every grant made in
   * it, consumes its codes not yet redeemed (so a late redemption fails), and answers what was ended. Undefined when
   * there was no such session (someone else ended it first).
   */
  endSession(provider: string, idHash: string, now: EpochSeconds): Promise<EndedSession | undefined>;
}

export interface ConsentStore {
  getConsent(provider: string, userId: string, clientId: string): Promise<string[] | undefined>;
  /** Replaces the consent with exactly `scope`, stamped `now`. */
  putConsent(
    provider: string,
    userId: string,
    clientId: string,
    scope: string[],
    now: EpochSeconds,
  ): Promise<void>;
  /**
   * Adds `items` to the stored consent (creating it), keeping what was there, in one atomic step: two consents
   * given at once both end up remembered, neither overwrites the other.
   */
  mergeConsent(
    provider: string,
    userId: string,
    clientId: string,
    items: string[],
    now: EpochSeconds,
  ): Promise<void>;
}

export interface CodeStore {
  insertCode(provider: string, code: AuthorizationCodeRecord): Promise<void>;
  findCode(provider: string, codeHash: string): Promise<AuthorizationCodeRecord | undefined>;
  /**
   * Atomically marks the code consumed and stores the tokens issued from it. When another redemption
   * already consumed it, revokes every token of its grant instead and answers 'replayed'.
   */
  redeemCode(
    provider: string,
    codeHash: string,
    now: EpochSeconds,
    tokens: IssuedTokens,
  ): Promise<RedeemResult>;
}

export interface TokenStore {
  findAccessToken(provider: string, tokenHash: string): Promise<AccessTokenRecord | undefined>;
  findRefreshToken(provider: string, tokenHash: string): Promise<RefreshTokenRecord | undefined>;
  /** Stores tokens issued without consuming anything (refresh without rotation). */
  insertTokens(provider: string, tokens: IssuedTokens): Promise<void>;
  /**
   * Atomically consumes the live refresh token and stores its successors. When it was already consumed,
   * revokes the whole grant and answers 'reused' (RFC 9700 §4.14.2) - unless it was consumed at most
   * `graceSeconds` ago and its successor is still unused: then the successor is revoked and replaced by the
   * new tokens (a client retrying a lost response), so one live refresh token remains either way.
   */
  rotateRefreshToken(
    provider: string,
    tokenHash: string,
    now: EpochSeconds,
    tokens: IssuedTokens,
    graceSeconds: number,
  ): Promise<RotateResult>;
  /** Revokes one access token. */
  revokeAccessToken(provider: string, tokenHash: string, now: EpochSeconds): Promise<void>;
  /**
   * Refresh without rotation: extends the live token's idle limit and stores the new access token in one step.
   * Answers false when the token is no longer live (consumed, revoked or gone).
   */
  refreshInPlace(
    provider: string,
    tokenHash: string,
    idleExpiresAt: EpochSeconds,
    tokens: IssuedTokens,
  ): Promise<boolean>;
  /** Revokes every access token and refresh token of a grant (its code is already consumed). */
  revokeGrant(provider: string, grantId: string, now: EpochSeconds): Promise<void>;
}

export interface ReplayStore {
  /**
   * Records a JWT id as used until `expiresAt`. Answers false when it was already recorded and has not expired:
   * the assertion is a replay (RFC 7523 §3, OIDC Core §9).
   */
  useJti(
    provider: string,
    namespace: string,
    jti: string,
    now: EpochSeconds,
    expiresAt: EpochSeconds,
  ): Promise<boolean>;
}

/**
 * Every store. Any method may reject with StoreUnavailableError (src/store/errors.ts) when the database cannot answer
 * now (locked past its timeout, an I/O error, a full disk, the server down): the HTTP layer answers 503
 * temporarily_unavailable with Retry-After. Any other rejection is a fault (500).
 */
/**
 * One counter of a throttle step (issue 8 points 1-2): its key and the rules it counts under. The rules travel with
 * each call, so changed settings apply at once and the stores keep no policy of their own.
 */
export interface ThrottleCounter {
  /** Bounded and opaque, built by src/throttle/ from hashes and an address: never a username or a secret. */
  key: string;
  /** Attempts one window may count; at this many the key is blocked until the window (or its doubled block) ends. */
  limit: number;
  windowSeconds: number;
  /** The longest a repeatedly blocked key stays blocked, and how long a block is remembered for doubling. */
  maxBlockSeconds: number;
}

export type ThrottleVerdict = { blocked: false } | { blocked: true; retryAfter: number };

/** Attempt counters shared by every process on the store (brute-force throttling; checklist C3, L5). */
export interface ThrottleStore {
  /**
   * One atomic step: when any counter is blocked, answers so and changes nothing; otherwise counts one attempt on
   * every counter. Reserving before the password is checked means parallel guesses are all counted.
   */
  admitAttempt(provider: string, counters: ThrottleCounter[], now: EpochSeconds): Promise<ThrottleVerdict>;
  /** Counts one attempt (a failure) on every counter, atomically, blocked or not. */
  recordFailure(provider: string, counters: ThrottleCounter[], now: EpochSeconds): Promise<void>;
  /** Reads only: whether any counter is blocked now (one indexed read, for hot paths that write only on failure). */
  throttleState(provider: string, counters: ThrottleCounter[], now: EpochSeconds): Promise<ThrottleVerdict>;
  /** After a success: deletes the `clear` keys and gives one attempt back to each `giveBack` key. */
  clearAttempts(provider: string, clear: string[], giveBack: string[]): Promise<void>;
}

export interface Store
  extends KeyStore,
    ReplayStore,
    ThrottleStore,
    ClientStore,
    UserStore,
    SessionStore,
    ConsentStore,
    CodeStore,
    TokenStore {
  /**
   * Answers when the database does and could take a write now (for /healthz); rejects with StoreUnavailableError
   * otherwise. /healthz also gives up after its own short deadline.
   */
  ping(): Promise<void>;
  /**
   * Removes rows that expired before `now` (codes a day later, for replay detection): sessions and their grants,
   * interactions, access and refresh tokens, used `jti`s, throttle counters, codes. In small indexed batches that
   * each hold the write lock briefly, yielding between them so requests are answered meanwhile; answers how many
   * rows went.
   */
  deleteExpired(now: EpochSeconds): Promise<number>;
  close(): Promise<void>;
}
