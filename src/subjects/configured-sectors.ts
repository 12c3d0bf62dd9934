// Start-up check of configured pairwise sectors (OIDC Registration §5): every sector_identifier_uri document is
// fetched and must list the client's redirect URIs; a bad one is a configuration problem at its key path.
import { type Config, type ConfigProblem, formatPath } from '../config/load.js';
import { checkSectorIdentifier, SectorIdentifierError, sectorFetchPolicy } from './sector.js';

/**
 * Start-up (and `gatehouse check`): fetches the sector_identifier_uri of every configured client and reports a bad
 * document as a configuration problem at the client's key path. Fetched in parallel, so start-up waits once.
 */
export async function checkConfiguredSectors(config: Config): Promise<ConfigProblem[]> {
  const policy = sectorFetchPolicy(config.server.allowPrivateNetworkFetch);
  const checks = config.providers.flatMap((p, pi) =>
    p.clients.map(async (c, ci): Promise<ConfigProblem | undefined> => {
      if (c.sector_identifier_uri === undefined) return undefined;
      try {
        await checkSectorIdentifier(c.sector_identifier_uri, c.redirect_uris, policy);
        return undefined;
      } catch (err) {
        if (!(err instanceof SectorIdentifierError)) throw err;
        return {
          path: formatPath(['providers', pi, 'clients', ci, 'sector_identifier_uri']),
          message: err.message,
        };
      }
    }),
  );
  return (await Promise.all(checks)).filter((p) => p !== undefined);
}
