// The clock every expiry check reads, so tests can move time instead of waiting for it.

export interface Clock {
  /** Epoch seconds. */
  now(): number;
}

export const systemClock: Clock = { now: () => Math.floor(Date.now() / 1000) };

/** A clock tests can move forward. */
export class ManualClock implements Clock {
  private offset = 0;
  now(): number {
    return Math.floor(Date.now() / 1000) + this.offset;
  }
  advance(seconds: number): void {
    this.offset += seconds;
  }
}
