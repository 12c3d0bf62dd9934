// The login, consent and error pages (interface.md "Login and consent pages"): plain forms that work without JavaScript.
import { brandingHtml, type ClientBranding } from './client-branding.js';
import { escapeHtml, layout } from './html.js';

export interface LoginPage {
  client: ClientBranding;
  csrf: string;
  username?: string;
  error?: string;
}

export function loginPage(p: LoginPage): string {
  const error = p.error ? `<p class="error" role="alert">${escapeHtml(p.error)}</p>` : '';
  const brand = brandingHtml(p.client);
  return layout(
    'Sign in',
    `${brand.logo}<h1>Sign in</h1>
<p class="muted">to continue to ${brand.name}</p>
${brand.links}
${error}
<form method="post">
<input type="hidden" name="csrf" value="${escapeHtml(p.csrf)}">
<label>Username
<input name="username" autocomplete="username" autocapitalize="none" spellcheck="false" required autofocus value="${escapeHtml(p.username ?? '')}">
</label>
<label>Password
<input type="password" name="password" autocomplete="current-password" required>
</label>
<button type="submit">Sign in</button>
</form>`,
  );
}

const scopeText: Record<string, string> = {
  openid: 'Know who you are (your user identifier)',
  profile: 'Your profile: name, username, picture and similar',
  email: 'Your email address',
  address: 'Your postal address',
  phone: 'Your phone number',
  offline_access: 'Stay signed in: access your data while you are away',
};

export interface ConsentPage {
  client: ClientBranding;
  csrf: string;
  username: string;
  scopes: string[];
  /** Claims asked for by name beyond what the scopes cover (OIDC Core §5.5). */
  claims?: string[];
}

export function consentPage(p: ConsentPage): string {
  const items = p.scopes
    .map((s) => `<li>${escapeHtml((Object.hasOwn(scopeText, s) ? scopeText[s] : undefined) ?? s)}</li>`)
    .join('\n');
  const claims =
    p.claims && p.claims.length > 0
      ? `\n<li>Also these details: ${p.claims.map((c) => escapeHtml(c)).join(', ')}</li>`
      : '';
  const brand = brandingHtml(p.client);
  return layout(
    'Allow access',
    `${brand.logo}<h1>Allow access?</h1>
<p>${brand.name} asks to:</p>
<ul>
${items}${claims}
</ul>
<p class="muted">Signed in as ${escapeHtml(p.username)}</p>
${brand.links}
<form method="post">
<input type="hidden" name="csrf" value="${escapeHtml(p.csrf)}">
<button type="submit" name="decision" value="allow">Allow</button>
<button type="submit" name="decision" value="deny" class="secondary">Deny</button>
</form>`,
  );
}

export function errorPage(title: string, message: string): string {
  return layout(title, `<h1>${escapeHtml(title)}</h1>\n<p>${escapeHtml(message)}</p>`);
}
