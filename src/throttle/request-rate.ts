// Per-address request rates at /authorize and /registration (issue 8; checklist C3): token buckets in bounded memory.
import type { FastifyRequest, onRequestAsyncHookHandler } from 'fastify';
import { tooManyRequests } from '../errors/oauth-error.js';
import type { Clock } from '../util/clock.js';
import { addressKey } from './address.js';

export interface RateSettings {
  perSecond: number;
  burst: number;
}

interface Bucket {
  tokens: number;
  at: number;
}

/**
 * One token bucket per client address, in this process only: it stops floods (each process allows its own rate),
 * not guessing, which the store's counters do. The map holds at most `maxAddresses` buckets and forgets the least
 * recently seen first, so a caller with many addresses cannot grow memory; a forgotten address starts full.
 */
export class RequestRateLimiter {
  private readonly buckets = new Map<string, Bucket>();

  constructor(
    private readonly rate: RateSettings,
    private readonly maxAddresses: number,
    private readonly clock: Clock,
  ) {}

  /** Takes one request's token for `ip`: 0 when it may go on, otherwise the seconds until a token is back. */
  take(ip: string): number {
    const key = addressKey(ip);
    const now = this.clock.now();
    const { perSecond, burst } = this.rate;
    let bucket = this.buckets.get(key);
    if (bucket === undefined) {
      bucket = { tokens: burst, at: now };
      if (this.buckets.size >= this.maxAddresses) {
        const oldest = this.buckets.keys().next();
        if (!oldest.done) this.buckets.delete(oldest.value);
      }
    } else {
      // Re-inserted below, so the map's order is least recently seen first.
      this.buckets.delete(key);
      bucket.tokens = Math.min(burst, bucket.tokens + Math.max(0, now - bucket.at) * perSecond);
      bucket.at = now;
    }
    this.buckets.set(key, bucket);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil((1 - bucket.tokens) / perSecond));
  }

  /** Addresses remembered now (for tests of the bound). */
  get size(): number {
    return this.buckets.size;
  }
}

/** An onRequest hook that answers 429 with Retry-After past the rate (a page or JSON, by the route's kind). */
export function requestRateHook(limiter: RequestRateLimiter): onRequestAsyncHookHandler {
  return async (request: FastifyRequest) => {
    const wait = limiter.take(request.ip);
    if (wait > 0)
      throw tooManyRequests(`Too many requests; retry after ${wait} seconds`, wait, 'request rate limit');
  };
}
