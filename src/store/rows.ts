// Rows of both stores' tables (the same columns in SQLite and PostgreSQL) turned into the records of src/store/types.ts.
import type {
  AccessTokenRecord,
  AuthorizationCodeRecord,
  ClientMetadata,
  ClientRecord,
  GrantDetails,
  RefreshTokenRecord,
  SessionRecord,
  SigningKeyRecord,
  UserRecord,
} from './types.js';

export type Row = Record<string, unknown>;

// Integers arrive as numbers: SQLite's are, and the PostgreSQL pool parses int8 with Number (epoch seconds stay far
// below 2^53).
export const str = (v: unknown): string => v as string;
export const num = (v: unknown): number => v as number;
export const optStr = (v: unknown): string | undefined =>
  v === null || v === undefined ? undefined : (v as string);
export const optNum = (v: unknown): number | undefined =>
  v === null || v === undefined ? undefined : (v as number);
/** Scopes and audiences are stored space-joined: neither scope tokens nor URIs contain spaces. */
export const splitScope = (v: unknown): string[] => (v === '' ? [] : (v as string).split(' '));
const json = <T>(v: unknown): T => JSON.parse(str(v)) as T;

export function toCode(r: Row): AuthorizationCodeRecord {
  return {
    codeHash: str(r.code_hash),
    grantId: str(r.grant_id),
    clientId: str(r.client_id),
    userId: str(r.user_id),
    redirectUri: str(r.redirect_uri),
    scope: splitScope(r.scope),
    nonce: optStr(r.nonce),
    codeChallenge: optStr(r.code_challenge),
    resource: splitScope(r.resource),
    authTime: num(r.auth_time),
    details: json<GrantDetails>(r.details),
    expiresAt: num(r.expires_at),
    consumedAt: optNum(r.consumed_at),
  };
}

export function toAccessToken(r: Row): AccessTokenRecord {
  return {
    tokenHash: str(r.token_hash),
    grantId: str(r.grant_id),
    clientId: str(r.client_id),
    userId: optStr(r.user_id),
    scope: splitScope(r.scope),
    audience: splitScope(r.audience),
    refreshHash: optStr(r.refresh_hash),
    details: json<GrantDetails>(r.details),
    issuedAt: num(r.issued_at),
    expiresAt: num(r.expires_at),
    revokedAt: optNum(r.revoked_at),
  };
}

export function toRefreshToken(r: Row): RefreshTokenRecord {
  return {
    tokenHash: str(r.token_hash),
    grantId: str(r.grant_id),
    clientId: str(r.client_id),
    userId: str(r.user_id),
    scope: splitScope(r.scope),
    audience: splitScope(r.audience),
    authTime: num(r.auth_time),
    details: json<GrantDetails>(r.details),
    issuedAt: num(r.issued_at),
    parentHash: optStr(r.parent_hash),
    expiresAt: num(r.expires_at),
    idleExpiresAt: num(r.idle_expires_at),
    consumedAt: optNum(r.consumed_at),
    revokedAt: optNum(r.revoked_at),
  };
}

export function toUser(r: Row): UserRecord {
  return {
    id: str(r.id),
    username: str(r.username),
    passwordHash: str(r.password_hash),
    claims: json<Record<string, unknown>>(r.claims),
  };
}

export function toClient(r: Row): ClientRecord {
  return {
    clientId: str(r.client_id),
    secretHash: optStr(r.secret_hash),
    secretEncrypted: optStr(r.secret_encrypted),
    metadata: json<ClientMetadata>(r.metadata),
    source: r.source as ClientRecord['source'],
  };
}

export function toSigningKey(r: Row): SigningKeyRecord {
  return {
    kid: str(r.kid),
    alg: str(r.alg),
    privateJwk: str(r.private_jwk),
    publicJwk: str(r.public_jwk),
    createdAt: num(r.created_at),
    retireAt: optNum(r.retire_at),
  };
}

export function toSession(r: Row): SessionRecord {
  return {
    idHash: str(r.id_hash),
    sid: str(r.sid),
    userId: str(r.user_id),
    authTime: num(r.auth_time),
    expiresAt: num(r.expires_at),
  };
}
