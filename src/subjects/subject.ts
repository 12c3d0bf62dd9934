// Subject identifiers (OIDC Core §8): the one place that decides the `sub` a client sees for a user, public or
// pairwise. Every token, ID token, UserInfo and introspection answer takes its `sub` from here.
import { createHash } from 'node:crypto';
import { type SectorMetadata, sectorOf } from './sector.js';

/** What the subject computation needs of the provider (a Provider satisfies it). */
export interface SubjectContext {
  readonly pairwiseSalt: string;
}

/** What it needs of the client (a Client satisfies it). */
export interface SubjectClient {
  readonly metadata: SectorMetadata;
}

/**
 * OIDC Core §8.1: `public` gives every client the user id; `pairwise` gives each sector its own value,
 * base64url(SHA-256(sector, user id, salt)), which no two sectors can correlate and which stays stable for as long
 * as the salt does. The parts are NUL-separated so that no two (sector, user id) pairs hash the same input.
 */
export function subjectFor(ctx: SubjectContext, client: SubjectClient, userId: string): string {
  if (client.metadata.subject_type !== 'pairwise') return userId;
  const sector = sectorOf(client.metadata);
  // The configuration check and registration refuse a pairwise client without a sector.
  if (sector === undefined) throw new Error('pairwise client without a sector');
  return createHash('sha256').update(`${sector}\0${userId}\0${ctx.pairwiseSalt}`, 'utf8').digest('base64url');
}

/**
 * Whether `sub` (from an id_token_hint or a logout request) is what this client was given for `userId`.
 * A pairwise `sub` cannot be turned back into a user id, so callers compare against the user they have at hand.
 */
export function isSubjectOf(
  ctx: SubjectContext,
  client: SubjectClient,
  sub: string,
  userId: string,
): boolean {
  return subjectFor(ctx, client, userId) === sub;
}
