// Login sessions at the provider: created at login with a fresh id, looked up by the hash of the cookie value; each has
// a `sid` (OIDC Back-Channel Logout 1.0 §2.1), of which each client gets its own keyed form (ID and logout tokens).
import type { FastifyReply, FastifyRequest } from 'fastify';
import { sha256 } from '../crypto/hash.js';
import { randomToken } from '../crypto/random.js';
import { clientSid } from '../logout/back-channel.js';
import { endProviderSession } from '../logout/logout.js';
import type { Provider } from '../provider/provider.js';
import type { SessionRecord, UserRecord } from '../store/types.js';
import { readCookie, setCookie } from './cookies.js';

export interface ActiveSession {
  record: SessionRecord;
  user: UserRecord;
}

export async function currentSession(
  provider: Provider,
  request: FastifyRequest,
): Promise<ActiveSession | undefined> {
  const id = readCookie(provider, request, 'sid');
  if (id === undefined) return undefined;
  const record = await provider.store.getSession(provider.name, sha256(id));
  if (!record || record.expiresAt <= provider.clock.now()) return undefined;
  const user = await provider.store.getUser(provider.name, record.userId);
  return user && { record, user };
}

/**
 * Starts a session for `user` with a new id, never one the browser brought (session fixation), and ends the session
 * the browser had, if any. The same user logging in again (prompt=login, max_age) goes on in the same session: it
 * keeps its `sid`, so what the RPs know and what logging out ends stay the same. Another user's session ends as a
 * logout ends it: its grants are revoked and its RPs are told (Back-Channel Logout §2.3).
 */
export async function startSession(
  provider: Provider,
  request: FastifyRequest,
  reply: FastifyReply,
  user: UserRecord,
): Promise<SessionRecord> {
  let sid: string | undefined;
  const previous = readCookie(provider, request, 'sid');
  if (previous !== undefined) {
    const idHash = sha256(previous);
    const before = await provider.store.getSession(provider.name, idHash);
    if (before?.userId === user.id) {
      sid = before.sid;
      await provider.store.deleteSession(provider.name, idHash);
    } else if (before) {
      await endProviderSession(provider, idHash, request.log);
    }
  }
  const id = randomToken();
  const now = provider.clock.now();
  const ttl = provider.settings.lifetimes.session;
  const record: SessionRecord = {
    idHash: sha256(id),
    sid: sid ?? randomToken(16),
    userId: user.id,
    authTime: now,
    expiresAt: now + ttl,
  };
  await provider.store.createSession(provider.name, record);
  setCookie(provider, reply, 'sid', id, ttl);
  return record;
}

/**
 * Records that a grant was made in this session (Back-Channel Logout §2.3 "remembering logged-in RPs"), so that
 * logging out revokes its tokens and tells its client, and returns the `sid` its tokens carry: the client's own
 * (`clientSid`), never the session's, which stays in the store for logging out.
 */
export async function joinSession(
  provider: Provider,
  session: ActiveSession,
  grantId: string,
  clientId: string,
): Promise<string> {
  const { sid, expiresAt } = session.record;
  await provider.store.addSessionGrant(provider.name, { sid, grantId, clientId, expiresAt });
  return clientSid(provider, sid, clientId);
}
