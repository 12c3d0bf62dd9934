// Prometheus metrics (prom-client), one registry per server so several servers in one process stay apart.
import { Counter, collectDefaultMetrics, Histogram, Registry } from 'prom-client';

export class Metrics {
  readonly registry = new Registry();
  private readonly requests = new Counter({
    name: 'gatehouse_http_requests_total',
    help: 'HTTP requests by route, method and status',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [this.registry],
  });
  private readonly duration = new Histogram({
    name: 'gatehouse_http_request_duration_seconds',
    help: 'HTTP request duration by route',
    labelNames: ['route'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });
  private readonly tokens = new Counter({
    name: 'gatehouse_tokens_issued_total',
    help: 'Token responses by provider and grant type',
    labelNames: ['provider', 'grant_type'] as const,
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'gatehouse_' });
  }

  /**
   * The series of each (method, route, status), looked up once: prom-client would otherwise hash the label set on
   * every request. Bounded: methods and routes are the router's, statuses are few.
   */
  private readonly series = new Map<string, { count: () => void; time: (seconds: number) => void }>();

  observeRequest(method: string, route: string, status: number, seconds: number): void {
    const key = `${method} ${status} ${route}`;
    let s = this.series.get(key);
    if (s === undefined) {
      const counter = this.requests.labels({ method, route, status: String(status) });
      const histogram = this.duration.labels({ route });
      s = { count: () => counter.inc(), time: (v) => histogram.observe(v) };
      this.series.set(key, s);
    }
    s.count();
    s.time(seconds);
  }

  tokenIssued(provider: string, grantType: string): void {
    this.tokens.inc({ provider, grant_type: grantType });
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
