// Which PostgreSQL failures mean "the database cannot answer right now" (issue 7 point 5): those become StoreUnavailableError, a 503.
import { StoreUnavailableError } from '../errors.js';

/** Node socket errors of a server that is down, restarting or unreachable. */
const socketCodes = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
]);

/**
 * SQLSTATEs (PostgreSQL Appendix A) that say nothing about the request itself: the server is shutting down or
 * starting (57P01-57P03), the statement ran past statement_timeout (57014), no connection or resources (08, 53), or
 * two transactions deadlocked or could not serialize (40P01, 40001) and retrying did not help.
 */
function isTransientSqlState(code: string): boolean {
  return (
    code.startsWith('08') ||
    code.startsWith('53') ||
    code === '57P01' ||
    code === '57P02' ||
    code === '57P03' ||
    code === '57014' ||
    code === '40P01' ||
    code === '40001'
  );
}

/** node-postgres's own errors for a connection that failed, closed or timed out (it gives them no code). */
const driverMessages =
  /Connection terminated|timeout exceeded when trying to connect|Query read timeout|not queryable|Connection ended|connection error/i;

/** Deadlocks and serialization failures roll back cleanly: the whole transaction may simply run again. */
export function isRetryable(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === '40P01' || code === '40001';
}

export function isUnavailable(err: unknown): boolean {
  if (err instanceof StoreUnavailableError) return true;
  if (!(err instanceof Error)) return false;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && (socketCodes.has(code) || isTransientSqlState(code))) return true;
  // A failed connect may wrap several attempts (IPv4 and IPv6) in an AggregateError.
  if (err instanceof AggregateError) return err.errors.some(isUnavailable);
  return driverMessages.test(err.message);
}

/**
 * Whether the connection itself is gone or unusable, so it must be closed rather than returned to the pool. A
 * statement timeout or a resource error reported by a live server leaves the connection fine (after ROLLBACK).
 */
export function isConnectionLost(err: unknown): boolean {
  if (!isUnavailable(err)) return false;
  const code = (err as { code?: unknown }).code;
  return !(
    typeof code === 'string' &&
    /^[0-9A-Z]{5}$/.test(code) &&
    !code.startsWith('08') &&
    !code.startsWith('57P')
  );
}

/**
 * Rethrows `err` as StoreUnavailableError when it is one of the above, keeping the original as `cause` for the log.
 * The message names only the kind of failure, never the URL (it may hold a password).
 */
export function translatePostgresError(err: unknown): unknown {
  if (err instanceof StoreUnavailableError || !isUnavailable(err)) return err;
  const code = (err as { code?: unknown }).code;
  const kind = typeof code === 'string' ? code : 'connection';
  return new StoreUnavailableError(`PostgreSQL is unavailable (${kind})`, { cause: err });
}
