// What `npm start` prints: the demo client and user of the dev configuration, and a flow to paste.
import type { Config } from './config/load.js';

export function demoBanner(config: Config): string {
  const provider = config.providers[0];
  const client = provider?.clients.find((c) => c.client_secret !== undefined);
  const user = provider?.users.find((u) => u.password !== undefined);
  if (!provider || !client || !user) return '';
  const redirectUri = client.redirect_uris[0] ?? '';
  const auth = new URL(`${provider.issuer}/authorize`);
  auth.search = new URLSearchParams({
    response_type: 'code',
    client_id: client.client_id,
    redirect_uri: redirectUri,
    scope: client.scope,
    state: 'demo-state',
    nonce: 'demo-nonce',
  }).toString();
  return `
Gatehouse demo (config/dev.yaml: development only)
  issuer        ${provider.issuer}
  discovery     ${provider.issuer}/.well-known/openid-configuration
  client        ${client.client_id} / ${client.client_secret}
  user          ${user.username} / ${user.password}

1. Open in a browser, sign in, allow:
   ${auth.href}
2. The browser lands on ${redirectUri}?code=...; copy the code (it lives ${provider.lifetimes.authorizationCode} s):
   curl -s -u '${client.client_id}:${client.client_secret}' -d grant_type=authorization_code \\
     --data-urlencode 'redirect_uri=${redirectUri}' -d code=PASTE_CODE ${provider.issuer}/token
3. curl -s -H 'Authorization: Bearer PASTE_ACCESS_TOKEN' ${provider.issuer}/userinfo

`;
}
