// Pairwise sectors (OIDC Core §8.1, OIDC Registration §2 and §5): the host a pairwise `sub` is computed for, the
// static rules a pairwise client must keep, and the check of a fetched sector_identifier_uri document.
import { type FetchPolicy, fetchJson } from '../net/fetch-json.js';
import type { ClientMetadata } from '../store/types.js';

export type SectorMetadata = Pick<ClientMetadata, 'subject_type' | 'sector_identifier_uri' | 'redirect_uris'>;

/** A problem with a client's metadata, by field name, as the configuration check and registration report it. */
export interface MetadataProblem {
  field: 'subject_type' | 'sector_identifier_uri' | 'redirect_uris';
  message: string;
}

/** A sector_identifier_uri document that cannot be fetched or does not list every redirect URI. */
export class SectorIdentifierError extends Error {
  override name = 'SectorIdentifierError';
}

/** Host part of a URI; a private-use scheme (`com.example.app:/cb`, RFC 8252 §7.1) has none, so its scheme stands in. */
function hostOf(uri: string): string | undefined {
  try {
    const u = new URL(uri);
    return u.hostname || u.protocol.slice(0, -1);
  } catch {
    return undefined;
  }
}

/**
 * OIDC Core §8.1: the host of sector_identifier_uri when registered, otherwise the host of the redirect URIs
 * (which must all share one host). Undefined when there is no sector: such a client cannot be pairwise.
 */
export function sectorOf(metadata: SectorMetadata): string | undefined {
  if (metadata.sector_identifier_uri !== undefined) return hostOf(metadata.sector_identifier_uri);
  const hosts = new Set(metadata.redirect_uris.map(hostOf));
  if (hosts.size !== 1) return undefined;
  return [...hosts][0];
}

/**
 * The rules that need no fetch: a sector_identifier_uri is an https URL (http only where private-network fetches
 * are allowed, for tests), and a pairwise client without one has redirect URIs on a single host (OIDC Core §8.1).
 */
export function sectorProblems(metadata: SectorMetadata, allowHttp: boolean): MetadataProblem[] {
  const problems: MetadataProblem[] = [];
  const uri = metadata.sector_identifier_uri;
  if (uri !== undefined) {
    let url: URL | undefined;
    try {
      url = new URL(uri);
    } catch {
      problems.push({ field: 'sector_identifier_uri', message: 'must be an absolute https URL' });
    }
    if (url && url.protocol !== 'https:' && !(allowHttp && url.protocol === 'http:'))
      problems.push({
        field: 'sector_identifier_uri',
        message: 'must use https (OIDC Registration §2)',
      });
    if (url && uri.includes('#'))
      problems.push({ field: 'sector_identifier_uri', message: 'must not contain a fragment' });
  } else if (metadata.subject_type === 'pairwise') {
    const hosts = new Set(metadata.redirect_uris.map(hostOf).filter((h) => h !== undefined));
    if (hosts.size === 0)
      problems.push({
        field: 'redirect_uris',
        message: 'a pairwise client needs redirect_uris or a sector_identifier_uri (OIDC Core §8.1)',
      });
    else if (hosts.size > 1)
      problems.push({
        field: 'sector_identifier_uri',
        message: `required for a pairwise client whose redirect_uris use several hosts (${[...hosts].join(', ')}) (OIDC Core §8.1)`,
      });
  }
  return problems;
}

/**
 * Fetches sector_identifier_uri (with the SSRF guard of `fetchJson`) and checks that it is a JSON array listing
 * every redirect URI (OIDC Registration §5). Resolves to the sector host; throws SectorIdentifierError otherwise.
 * Registration calls this for registered clients, start-up for configured ones.
 */
export async function checkSectorIdentifier(
  uri: string,
  redirectUris: readonly string[],
  policy: FetchPolicy,
): Promise<string> {
  let document: unknown;
  try {
    document = await fetchJson(uri, policy);
  } catch (err) {
    throw new SectorIdentifierError(`sector_identifier_uri could not be fetched: ${(err as Error).message}`);
  }
  if (!Array.isArray(document) || !document.every((v) => typeof v === 'string'))
    throw new SectorIdentifierError('sector_identifier_uri must be a JSON array of redirect URIs');
  const listed = new Set<string>(document);
  const missing = redirectUris.filter((r) => !listed.has(r));
  if (missing.length > 0)
    throw new SectorIdentifierError(
      `the sector_identifier_uri document does not list ${missing.join(', ')} (OIDC Registration §5)`,
    );
  const host = hostOf(uri);
  if (host === undefined) throw new SectorIdentifierError('sector_identifier_uri is not a URL');
  return host;
}

/** Size and time caps for sector documents (checklist G2): a list of URIs is small. */
export function sectorFetchPolicy(allowPrivateNetworks: boolean): FetchPolicy {
  return { allowPrivateNetworks, timeoutMs: 3000, maxBytes: 64 * 1024 };
}
