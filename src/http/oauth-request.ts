// Shared first steps of the token-side endpoints: a form body, no repeated parameters, no credentials in the URL.
import type { FastifyRequest } from 'fastify';
import { invalidRequest } from '../errors/oauth-error.js';
import { FormParams, parseQuery } from './form.js';

/** RFC 6749 §3.2: POST with application/x-www-form-urlencoded; RFC 6749 §3.1: no parameter twice. */
export function requireForm(request: FastifyRequest): FormParams {
  if (!(request.body instanceof FormParams))
    throw invalidRequest('The request body must be application/x-www-form-urlencoded');
  const form = request.body;
  if (form.repeated.size > 0) throw invalidRequest(`Repeated parameter: ${[...form.repeated].join(', ')}`);
  return form;
}

/** RFC 6749 §2.3.1: credentials only in the header or the body, never in the URL (where logs and caches keep them). */
export function rejectQueryParameters(request: FastifyRequest): void {
  if (request.url.includes('?') && parseQuery(request.url).values.size > 0)
    throw invalidRequest('Parameters must be sent in the request body, not the URL');
}
