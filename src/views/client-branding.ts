// What the login and consent pages show of the client (OIDC Registration §2 client_name, logo_uri, policy_uri,
// tos_uri, client_uri), so users see who asks; only https URLs are shown, and the logo is the one image a page loads.
import type { ClientMetadata } from '../store/types.js';
import { escapeHtml, pageCsp } from './html.js';

export interface ClientBranding {
  name: string;
  logoUri: string | undefined;
  policyUri: string | undefined;
  tosUri: string | undefined;
  clientUri: string | undefined;
}

function httpsUrl(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  try {
    return new URL(value).protocol === 'https:' ? value : undefined;
  } catch {
    return undefined;
  }
}

export function clientBranding(name: string, metadata: ClientMetadata | undefined): ClientBranding {
  return {
    name,
    logoUri: httpsUrl(metadata?.logo_uri),
    policyUri: httpsUrl(metadata?.policy_uri),
    tosUri: httpsUrl(metadata?.tos_uri),
    clientUri: httpsUrl(metadata?.client_uri),
  };
}

/** The client's name (linked to client_uri), its logo, and links to its policy and terms. */
export function brandingHtml(b: ClientBranding): { logo: string; name: string; links: string } {
  const logo = b.logoUri
    ? `<img class="logo" src="${escapeHtml(b.logoUri)}" alt="" width="64" height="64" referrerpolicy="no-referrer">`
    : '';
  const name = b.clientUri
    ? `<a href="${escapeHtml(b.clientUri)}" rel="noopener noreferrer" target="_blank"><strong>${escapeHtml(b.name)}</strong></a>`
    : `<strong>${escapeHtml(b.name)}</strong>`;
  const links = [
    b.policyUri
      ? `<a href="${escapeHtml(b.policyUri)}" rel="noopener noreferrer" target="_blank">Privacy policy</a>`
      : '',
    b.tosUri
      ? `<a href="${escapeHtml(b.tosUri)}" rel="noopener noreferrer" target="_blank">Terms of service</a>`
      : '',
  ]
    .filter((l) => l !== '')
    .join(' · ');
  return { logo, name, links: links ? `<p class="muted">${links}</p>` : '' };
}

/**
 * The page CSP, allowing exactly the client's logo as an image (RFC 9700 §4.16 still holds: nothing runs, nothing is
 * framed). CSP source expressions cannot hold every URL character, so an odd logo URL is simply not allowed to load.
 */
export function brandedPageCsp(b: ClientBranding): string {
  if (!b.logoUri || /[\s;,']/.test(b.logoUri)) return pageCsp;
  return `${pageCsp}; img-src ${b.logoUri}`;
}
