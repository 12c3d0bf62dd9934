// The few members of autocannon 8 and oidc-provider 9 (neither ships types) that the bench (issue 9 point 1) uses.

declare module 'autocannon' {
  export interface AutocannonRequest {
    method?: string;
    path?: string;
    headers?: Record<string, string>;
    body?: string;
    setupRequest?: (request: AutocannonRequest, context: Record<string, unknown>) => AutocannonRequest;
  }
  export interface AutocannonOptions {
    url: string;
    connections?: number;
    duration?: number;
    pipelining?: number;
    timeout?: number;
    requests?: AutocannonRequest[];
  }
  export interface Histogram {
    average: number;
    mean: number;
    p50: number;
    p90: number;
    p99: number;
    max: number;
    total: number;
  }
  export interface AutocannonResult {
    requests: Histogram;
    latency: Histogram;
    duration: number;
    errors: number;
    timeouts: number;
    non2xx: number;
    resets: number;
    statusCodeStats: Record<string, { count: number }>;
  }
  function autocannon(options: AutocannonOptions): Promise<AutocannonResult>;
  export default autocannon;
}

declare module 'oidc-provider' {
  import type { RequestListener } from 'node:http';

  export interface TokenModel {
    save(): Promise<string>;
  }
  export interface GrantModel {
    addOIDCScope(scope: string): void;
    save(): Promise<string>;
  }
  export type TokenModelClass = new (payload: Record<string, unknown>) => TokenModel;
  export default class Provider {
    constructor(issuer: string, configuration: Record<string, unknown>);
    callback(): RequestListener;
    Client: { find(id: string): Promise<unknown> };
    Grant: new (payload: {
      accountId: string;
      clientId: string;
    }) => GrantModel;
    AuthorizationCode: TokenModelClass;
    RefreshToken: TokenModelClass;
    AccessToken: TokenModelClass;
    on(event: string, listener: (...args: unknown[]) => void): this;
  }
}

declare module 'oidc-provider/lib/adapters/memory_adapter.js' {
  /** `store`: any object with the get/set(key, value, { maxAge })/delete of the bundled LRU. */
  export default class MemoryAdapter {
    constructor(model: string, store: object, clockTolerance?: number);
  }
}
