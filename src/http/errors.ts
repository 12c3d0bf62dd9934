// Turns anything thrown while handling a request into one wire response: RFC 6749 §5.2 JSON, or an HTML page.
import type { FastifyError, FastifyReply } from 'fastify';
import { OAuthError } from '../errors/oauth-error.js';
import { pageCsp } from '../views/html.js';
import { errorPage } from '../views/pages.js';
import { FormSyntaxError } from './form.js';

/** Fastify's own 4xx errors (bad content type, body too large, bad JSON) become invalid_request; the rest server_error. */
export function toOAuthError(err: unknown): OAuthError {
  if (err instanceof OAuthError) return err;
  if (err instanceof FormSyntaxError)
    return new OAuthError('invalid_request', 'Malformed parameters: bad percent-encoding or not UTF-8', {
      detail: err.message,
    });
  const fe = err as Partial<FastifyError>;
  const status = typeof fe.statusCode === 'number' ? fe.statusCode : 500;
  if (status >= 400 && status < 500) {
    const description =
      fe.code === 'FST_ERR_CTP_BODY_TOO_LARGE'
        ? 'Request body too large'
        : fe.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE'
          ? 'Unsupported content type; use application/x-www-form-urlencoded'
          : 'Malformed request';
    // 413 stays 413; anything else malformed is a plain 400 as RFC 6749 §5.2 expects.
    return new OAuthError('invalid_request', description, {
      status: status === 413 ? 413 : 400,
      detail: `${fe.code ?? 'error'}: ${fe.message ?? ''}`,
    });
  }
  return new OAuthError('server_error', 'The server encountered an unexpected condition', {
    detail: err instanceof Error ? `${err.name}: ${err.message}` : String(err),
  });
}

export function sendJsonError(reply: FastifyReply, err: OAuthError): FastifyReply {
  return reply.code(err.status).headers(err.headers).type('application/json').send(err.toJSON());
}

const pageTitles: Partial<Record<OAuthError['code'], string>> = {
  server_error: 'Something went wrong',
  access_denied: 'Request refused',
};

/** Headers every HTML page carries (interface.md; RFC 9700 §4.16): not cached, not framed, no referrer. */
export function setPageHeaders(reply: FastifyReply): void {
  reply.header('Cache-Control', 'no-store');
  reply.header('Pragma', 'no-cache');
  reply.header('Content-Security-Policy', pageCsp);
  reply.header('X-Frame-Options', 'DENY');
  reply.header('Referrer-Policy', 'no-referrer');
}

export function sendPageError(reply: FastifyReply, err: OAuthError): FastifyReply {
  // Also reached before routing (frameworkErrors), where no route hook has set the page headers.
  setPageHeaders(reply);
  const title = pageTitles[err.code] ?? 'Cannot continue';
  const message = err.code === 'server_error' ? 'Please try again later.' : err.description;
  return reply
    .code(err.status)
    .headers(err.headers)
    .type('text/html; charset=utf-8')
    .send(errorPage(title, message));
}
