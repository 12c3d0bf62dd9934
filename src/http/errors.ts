// Turns anything thrown while handling a request into one wire response: RFC 6749 §5.2 JSON, or an HTML page.
import type { FastifyBaseLogger, FastifyError, FastifyReply } from 'fastify';
import { OAuthError } from '../errors/oauth-error.js';
import { StoreUnavailableError } from '../store/errors.js';
import { pageCsp } from '../views/html.js';
import { errorPage } from '../views/pages.js';
import { FormSyntaxError } from './form.js';

/** Seconds a client is told to wait when the store cannot answer: long enough for a lock or a failover to pass. */
export const storeRetryAfterSeconds = 5;

/**
 * The store cannot answer now (locked past its timeout, I/O error, database down): RFC 6749 §4.1.2.1 / §5.2's
 * temporarily_unavailable with 503 and Retry-After (RFC 9110 §10.2.3), never a 500 with a stack.
 */
export function storeUnavailable(err: StoreUnavailableError): OAuthError {
  return new OAuthError(
    'temporarily_unavailable',
    'The service is temporarily unavailable; try again shortly',
    {
      headers: { 'Retry-After': String(storeRetryAfterSeconds) },
      detail: err.message,
    },
  );
}

/** Fastify's own 4xx errors (bad content type, body too large, bad JSON) become invalid_request; the rest server_error. */
export function toOAuthError(err: unknown): OAuthError {
  if (err instanceof OAuthError) return err;
  if (err instanceof StoreUnavailableError) return storeUnavailable(err);
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

/**
 * Logs a failed request once, beside its request line: a store that cannot answer is an operational condition (warn,
 * no stack: its message names only the condition); any other 5xx is a fault of ours (error, with the exception).
 */
export function logRequestFailure(log: FastifyBaseLogger, err: unknown, oauth: OAuthError): void {
  if (err instanceof StoreUnavailableError) log.warn({ detail: oauth.detail }, 'store unavailable');
  // Overload we answer on purpose (a full password queue): a warning, without a stack per refused request.
  else if (oauth.code === 'temporarily_unavailable')
    log.warn({ detail: oauth.detail }, 'temporarily unavailable');
  else if (oauth.status >= 500) log.error({ err, detail: oauth.detail }, 'request failed');
}

export function sendJsonError(reply: FastifyReply, err: OAuthError): FastifyReply {
  return reply.code(err.status).headers(err.headers).type('application/json').send(err.toJSON());
}

const pageTitles: Partial<Record<OAuthError['code'], string>> = {
  server_error: 'Something went wrong',
  temporarily_unavailable: 'Temporarily unavailable',
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
