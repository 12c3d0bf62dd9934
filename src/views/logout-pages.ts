// The logout pages (interface.md "Login and consent pages"; OIDC RP-Initiated Logout 1.0 §2): the confirmation form and
// the signed-out page. Errors use the shared error page (src/views/pages.ts).
import { escapeHtml, layout } from './html.js';

export interface LogoutConfirmPage {
  /** Where the form posts: the end_session endpoint itself, without the request's query. */
  action: string;
  csrf: string;
  username: string;
  /** The client that asked, when one is known. */
  clientName: string | undefined;
  /**
   * Checked request parameters the POST needs again (client_id, post_logout_redirect_uri, state, and the id_token_hint
   * a registered client's redirect depends on); the page is no-store and goes only to this browser.
   */
  carried: Record<string, string>;
}

const hidden = (name: string, value: string) =>
  `<input type="hidden" name="${escapeHtml(name)}" value="${escapeHtml(value)}">`;

export function logoutConfirmPage(p: LogoutConfirmPage): string {
  const asker = p.clientName
    ? `<p><strong>${escapeHtml(p.clientName)}</strong> asks to sign you out.</p>\n`
    : '';
  const carried = Object.entries(p.carried)
    .map(([k, v]) => `${hidden(k, v)}\n`)
    .join('');
  return layout(
    'Sign out',
    `<h1>Sign out?</h1>
${asker}<p class="muted">Signed in as ${escapeHtml(p.username)}</p>
<form method="post" action="${escapeHtml(p.action)}">
${hidden('csrf', p.csrf)}
${carried}<button type="submit" name="logout" value="yes">Sign out</button>
</form>`,
  );
}

export function signedOutPage(): string {
  return layout(
    'Signed out',
    '<h1>You are signed out</h1>\n<p>You can close this window, or return to the application.</p>',
  );
}
