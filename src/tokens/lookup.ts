// Finds a presented token of either kind by its hash, the hint deciding only which table is tried first (RFC 7009 §2.1),
// and says whether it is live: unexpired, unrevoked, and its client still there (issue 8 point 6).
import { sha256 } from '../crypto/hash.js';
import type { Provider } from '../provider/provider.js';
import type { AccessTokenRecord, RefreshTokenRecord } from '../store/types.js';

export type FoundToken =
  | { kind: 'access'; record: AccessTokenRecord }
  | { kind: 'refresh'; record: RefreshTokenRecord };

export async function findToken(
  provider: Provider,
  value: string,
  hint: string | undefined,
): Promise<FoundToken | undefined> {
  const hash = sha256(value);
  const access = async (): Promise<FoundToken | undefined> => {
    const record = await provider.store.findAccessToken(provider.name, hash);
    return record && { kind: 'access', record };
  };
  const refresh = async (): Promise<FoundToken | undefined> => {
    const record = await provider.store.findRefreshToken(provider.name, hash);
    return record && { kind: 'refresh', record };
  };
  return hint === 'refresh_token' ? ((await refresh()) ?? access()) : ((await access()) ?? refresh());
}

/** Live: not revoked, not expired and, for a refresh token, not rotated out. */
export function isActive(token: FoundToken, now: number): boolean {
  const r = token.record;
  if (r.revokedAt !== undefined || r.expiresAt <= now) return false;
  if (token.kind === 'refresh')
    return token.record.consumedAt === undefined && token.record.idleExpiresAt > now;
  return true;
}

/**
 * Live and still someone's: `isActive`, and its client still exists. Removing a client revokes its tokens in the
 * store, but a process that has not seen the removal yet, or a row the revocation missed, must not keep them alive.
 */
export async function isLive(provider: Provider, token: FoundToken, now: number): Promise<boolean> {
  return isActive(token, now) && (await provider.findClient(token.record.clientId)) !== undefined;
}
