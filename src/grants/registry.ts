// The grant types this build serves, by name; the token endpoint and discovery both read this list.
import { authorizationCodeGrant } from './authorization-code.js';
import { refreshTokenGrant } from './refresh-token.js';
import type { Grant } from './types.js';

export const grants: ReadonlyMap<string, Grant> = new Map(
  [authorizationCodeGrant, refreshTokenGrant].map((g) => [g.grantType, g]),
);
