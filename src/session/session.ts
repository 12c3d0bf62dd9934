// Login sessions at the provider: created at login with a fresh id, looked up by the hash of the cookie value.
import type { FastifyReply, FastifyRequest } from 'fastify';
import { sha256 } from '../crypto/hash.js';
import { randomToken } from '../crypto/random.js';
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
 * Starts a session for `user` with a new id, never one the browser brought (session fixation), and ends
 * the session the browser had, if any.
 */
export async function startSession(
  provider: Provider,
  request: FastifyRequest,
  reply: FastifyReply,
  user: UserRecord,
): Promise<SessionRecord> {
  const previous = readCookie(provider, request, 'sid');
  if (previous !== undefined) await provider.store.deleteSession(provider.name, sha256(previous));
  const id = randomToken();
  const now = provider.clock.now();
  const ttl = provider.settings.lifetimes.session;
  const record: SessionRecord = { idHash: sha256(id), userId: user.id, authTime: now, expiresAt: now + ttl };
  await provider.store.createSession(provider.name, record);
  setCookie(provider, reply, 'sid', id, ttl);
  return record;
}
