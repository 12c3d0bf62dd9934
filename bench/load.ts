// The load generator of the bench (issue 9 point 1): autocannon's API in a process of its own, pinned to the load
// core. Run directly with a job file, it prints one result as JSON; `runLoad` spawns it and reads that result.
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import autocannon, { type AutocannonRequest } from 'autocannon';
import { loadCore, runPinnedJson } from './pin.js';

export interface LoadJob {
  /** Origin of the server, e.g. http://127.0.0.1:1234. */
  url: string;
  method: 'GET' | 'POST';
  path: string;
  headers: Record<string, string>;
  body: string | undefined;
  connections: number;
  seconds: number;
  /** `{token}` in the body or a header value is replaced by the next of these (one per request). */
  tokensFile: string | undefined;
  /** Single-use tokens are not reused; reusable ones (bearer tokens) go round again. */
  reuseTokens: boolean;
}

export interface LoadResult {
  ok: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  /** Requests sent after the pre-minted single-use tokens ran out (each fails, and the run with it). */
  exhausted: number;
  seconds: number;
  rps: number;
  p50: number;
  p99: number;
  statusCodes: Record<string, number>;
}

async function run(job: LoadJob): Promise<LoadResult> {
  const tokens: string[] = job.tokensFile ? JSON.parse(readFileSync(job.tokensFile, 'utf8')) : [];
  let next = 0;
  let exhausted = 0;
  const fill = (s: string, token: string) => s.replaceAll('{token}', token);
  const request: AutocannonRequest = {
    method: job.method,
    path: job.path,
    headers: job.headers,
    ...(job.body !== undefined ? { body: job.body } : {}),
  };
  if (job.tokensFile) {
    request.setupRequest = (req) => {
      let token: string;
      if (next < tokens.length || (job.reuseTokens && tokens.length > 0))
        token = tokens[next++ % tokens.length] as string;
      else {
        exhausted++;
        token = 'exhausted';
      }
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(job.headers)) headers[k] = fill(v, token);
      return { ...req, headers, ...(job.body !== undefined ? { body: fill(job.body, token) } : {}) };
    };
  }
  const result = await autocannon({
    url: job.url,
    connections: job.connections,
    duration: job.seconds,
    timeout: 30,
    requests: [request],
  });
  const statusCodes: Record<string, number> = {};
  let ok = 0;
  for (const [code, { count }] of Object.entries(result.statusCodeStats ?? {})) {
    statusCodes[code] = Number(count);
    if (code.startsWith('2')) ok += Number(count);
  }
  return {
    ok,
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    exhausted,
    seconds: result.duration,
    rps: ok / result.duration,
    p50: result.latency.p50,
    p99: result.latency.p99,
    statusCodes,
  };
}

/**
 * Runs one load job in a child process on the load core (`core` null: unpinned); `jobFile` is where the job is
 * written for it.
 */
export function runLoad(job: LoadJob, jobFile: string, core: number | null = loadCore): Promise<LoadResult> {
  writeFileSync(jobFile, JSON.stringify(job));
  return runPinnedJson<LoadResult>(core, fileURLToPath(import.meta.url), [jobFile], 'load generator');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const job = JSON.parse(readFileSync(process.argv[2] as string, 'utf8')) as LoadJob;
  process.stdout.write(JSON.stringify(await run(job)));
}
