// What each of N worker processes takes of a server-wide per-process limit (issue 9 point 3, `server.workers`).
import type { ProviderSettings } from '../config/load.js';
import type { RateSettings } from '../throttle/request-rate.js';

/**
 * A 1/N share of a flood bucket, so N workers together allow the configured rate: the refill rate exactly (it may
 * be fractional), the burst rounded up (a bucket needs a whole token, so N workers may let N - 1 more through at once).
 */
export function rateShare(rate: RateSettings, workers: number): RateSettings {
  return { perSecond: rate.perSecond / workers, burst: Math.max(1, Math.ceil(rate.burst / workers)) };
}

/**
 * The provider's settings as one of `workers` processes enforces them: its `/authorize` and `/registration` request
 * buckets (kept in each process's memory, src/throttle/request-rate.ts) take their share; everything else, counted
 * in the store, is the same for every worker.
 */
export function workerSettings(settings: ProviderSettings, workers: number): ProviderSettings {
  if (workers <= 1) return settings;
  const { requests } = settings.throttle;
  return {
    ...settings,
    throttle: {
      ...settings.throttle,
      requests: {
        ...requests,
        authorize: rateShare(requests.authorize, workers),
        registration: rateShare(requests.registration, workers),
      },
    },
  };
}
