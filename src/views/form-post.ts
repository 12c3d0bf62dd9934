// The form_post response page (OAuth 2.0 Form Post Response Mode §2): an HTML form that POSTs the authorization
// response to the redirect URI, submitted by a one-line script, or by the user where scripts do not run.
import { createHash } from 'node:crypto';
import { escapeHtml, layout, pageStyleSource } from './html.js';

const script = 'document.forms[0].submit();';
const scriptHash = createHash('sha256').update(script).digest('base64');

/** The form may go only to the redirect URI's origin (or private-use scheme); nothing else is allowed to load or run. */
function formAction(redirectUri: string): string {
  const url = new URL(redirectUri);
  return url.protocol === 'http:' || url.protocol === 'https:' ? url.origin : url.protocol;
}

export function formPostPage(
  redirectUri: string,
  params: Record<string, string>,
): { html: string; csp: string } {
  const inputs = Object.entries(params)
    .map(([k, v]) => `<input type="hidden" name="${escapeHtml(k)}" value="${escapeHtml(v)}">`)
    .join('\n');
  const html = layout(
    'Continue',
    `<h1>Continue</h1>
<form method="post" action="${escapeHtml(redirectUri)}">
${inputs}
<noscript><p>Scripts are off in this browser: press the button to go back to the application.</p></noscript>
<button type="submit">Continue</button>
</form>
<script>${script}</script>`,
  );
  const csp = [
    "default-src 'none'",
    `style-src ${pageStyleSource}`,
    `script-src 'sha256-${scriptHash}'`,
    `form-action ${formAction(redirectUri)}`,
    "base-uri 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
  return { html, csp };
}
