// The arithmetic of a throttle counter (issue 8 points 1-2; checklist C3, L5), shared by both stores so they agree.
//
// A counter has a fixed window that starts at its first counted attempt. At its limit it is blocked until the window
// ends; a counter that reaches its limit again in the window after that is blocked twice as long (a strike), and so
// on up to maxBlockSeconds; a window that ends under the limit forgets the strikes. Blocking is derived from the
// counts, so giving back an attempt also lifts a block that attempt caused.
import { num, type Row } from './rows.js';
import type { EpochSeconds, ThrottleCounter, ThrottleVerdict } from './types.js';

/** A counter's row as both stores keep it. */
export interface ThrottleRow {
  attempts: number;
  windowStart: EpochSeconds;
  strikes: number;
  /** Past this the row says nothing any more: the sweep deletes it and a lookup treats it as absent. */
  expiresAt: EpochSeconds;
}

/** A `throttles` row of either store. */
export function toThrottleRow(r: Row): ThrottleRow {
  return {
    attempts: num(r.attempts),
    windowStart: num(r.window_start),
    strikes: num(r.strikes),
    expiresAt: num(r.expires_at),
  };
}

/** Strikes stop growing here: the block is long since capped by maxBlockSeconds. */
const maxStrikes = 32;

function atLimit(row: ThrottleRow, c: ThrottleCounter): boolean {
  return row.attempts >= c.limit;
}

/** When the current window ends: its length, or at the limit the block (doubled per strike, capped). */
function periodEnd(row: ThrottleRow, c: ThrottleCounter): EpochSeconds {
  if (!atLimit(row, c)) return row.windowStart + c.windowSeconds;
  const cap = Math.max(c.maxBlockSeconds, c.windowSeconds);
  return row.windowStart + Math.min(c.windowSeconds * 2 ** row.strikes, cap);
}

/**
 * The row as it stands at `now`: absent or expired is a fresh window; a window that has ended starts a new one,
 * carrying a strike when it ended at the limit.
 */
export function currentRow(row: ThrottleRow | undefined, c: ThrottleCounter, now: EpochSeconds): ThrottleRow {
  const fresh = { attempts: 0, windowStart: now, strikes: 0, expiresAt: now };
  if (row === undefined || now >= row.expiresAt) return fresh;
  if (now < periodEnd(row, c)) return row;
  return { ...fresh, strikes: atLimit(row, c) ? Math.min(row.strikes + 1, maxStrikes) : 0 };
}

/** Seconds until a current row admits again; 0 when it does now. */
export function blockedFor(row: ThrottleRow, c: ThrottleCounter, now: EpochSeconds): number {
  return atLimit(row, c) ? Math.max(1, periodEnd(row, c) - now) : 0;
}

/** A current row with one more attempt counted, and its new expiry (a strike is remembered for maxBlockSeconds). */
export function countedRow(row: ThrottleRow, c: ThrottleCounter): ThrottleRow {
  const next = { ...row, attempts: row.attempts + 1 };
  next.expiresAt = periodEnd(next, c) + (atLimit(next, c) ? c.maxBlockSeconds : 0);
  return next;
}

/** The verdict over several current rows: blocked when any is, for as long as the longest block. */
export function verdictOf(
  rows: readonly ThrottleRow[],
  counters: readonly ThrottleCounter[],
  now: EpochSeconds,
): ThrottleVerdict {
  let retryAfter = 0;
  rows.forEach((row, i) => {
    const c = counters[i];
    if (c) retryAfter = Math.max(retryAfter, blockedFor(row, c, now));
  });
  return retryAfter > 0 ? { blocked: true, retryAfter } : { blocked: false };
}
