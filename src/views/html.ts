// HTML rendering for the login, consent and error pages: escaping, one layout, a CSP that allows only our own style.
import { createHash } from 'node:crypto';

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const css = `
*{box-sizing:border-box}
body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;background:#f4f5f7;color:#1c1e21}
main{max-width:26rem;margin:8vh auto;padding:2rem 1.5rem;background:#fff;border-radius:.75rem;box-shadow:0 1px 4px rgba(0,0,0,.12)}
h1{font-size:1.35rem;margin:0 0 1rem}
.logo{display:block;margin:0 auto 1rem;max-width:64px;max-height:64px}
p{margin:.5rem 0 1rem}
label{display:block;margin:0 0 1rem;font-weight:600}
input{display:block;width:100%;margin-top:.35rem;padding:.7rem;font:inherit;border:1px solid #b8bcc4;border-radius:.4rem}
button{width:100%;padding:.75rem;font:inherit;font-weight:600;border:0;border-radius:.4rem;background:#1f5fd1;color:#fff;cursor:pointer}
button.secondary{background:#e4e6eb;color:#1c1e21;margin-top:.6rem}
ul{padding-left:1.2rem}
.error{padding:.7rem;border-radius:.4rem;background:#fdecea;color:#8a1c12}
.muted{color:#5f6670;font-size:.9rem}
`;

const cssHash = createHash('sha256').update(css).digest('base64');

/** The CSP source that allows exactly our inline style. */
export const pageStyleSource = `'sha256-${cssHash}'`;

/** Pages load nothing, run no script, and cannot be framed (RFC 9700 §4.16). */
export const pageCsp = `default-src 'none'; style-src ${pageStyleSource}; base-uri 'none'; frame-ancestors 'none'`;

export function layout(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${escapeHtml(title)}</title>
<style>${css}</style>
</head>
<body>
<main>
${body}
</main>
</body>
</html>
`;
}
