// Store-level error for "the database cannot answer right now" (issue 7 point 4; interface.md errors: 503 temporarily_unavailable).
export class StoreUnavailableError extends Error {
  override name = 'StoreUnavailableError';
}
