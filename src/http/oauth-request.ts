// Shared first steps of the token-side endpoints: a form body, no repeated parameters, no credentials in the URL.
import type { FastifyRequest } from 'fastify';
import { invalidRequest } from '../errors/oauth-error.js';
import { FormParams, parseQuery } from './form.js';

/** Parameters a request may carry more than once: RFC 8707 §2 lets `resource` repeat. */
export const repeatable: ReadonlySet<string> = new Set(['resource']);

/** Repeated parameters other than the repeatable ones. */
export function forbiddenRepeats(form: FormParams): string[] {
  return [...form.repeated].filter((n) => !repeatable.has(n));
}

/** RFC 6749 §3.2: POST with application/x-www-form-urlencoded; RFC 6749 §3.1: no parameter twice. */
export function requireForm(request: FastifyRequest): FormParams {
  if (!(request.body instanceof FormParams))
    throw invalidRequest('The request body must be application/x-www-form-urlencoded');
  const form = request.body;
  const repeats = forbiddenRepeats(form);
  if (repeats.length > 0) throw invalidRequest(`Repeated parameter: ${repeats.join(', ')}`);
  return form;
}

/** RFC 6749 §2.3.1: credentials only in the header or the body, never in the URL (where logs and caches keep them). */
export function rejectQueryParameters(request: FastifyRequest): void {
  if (request.url.includes('?') && parseQuery(request.url).values.size > 0)
    throw invalidRequest('Parameters must be sent in the request body, not the URL');
}
