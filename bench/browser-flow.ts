// The full browser flow of the bench (issue 9 point 1): authorize -> login -> consent -> token with a fresh cookie
// jar per flow, `prompt=consent` so both providers show consent every time. Not autocannon: N concurrent browsers
// (BENCH_FLOW_CONNECTIONS) loop for the duration; completed flows per second and per-flow latency are reported.
// Run directly with a job file, it prints the result as JSON from a process pinned to the load core.
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { hiddenInputs, type Page, pkcePair, UserAgent } from '../test/helpers/user-agent.js';
import { basicAuth, benchClient, benchUser } from './fixtures.js';
import type { LoadResult } from './load.js';
import { loadCore, runPinnedJson } from './pin.js';
import type { Endpoints } from './target.js';

export interface FlowOutcome {
  status: number;
  body: unknown;
  nonce: string;
}

function decode(s: string): string {
  return s.replace(/&#(\d+);/g, (_m, c: string) => String.fromCharCode(Number(c))).replaceAll('&amp;', '&');
}

/** Submits the page's first POST form to its action (or the page's own URL), keeping its hidden inputs. */
function submit(ua: UserAgent, page: Page, fields: Record<string, string>): Promise<Page> {
  const action = /<form[^>]*action="([^"]*)"/.exec(page.body)?.[1];
  const url = action ? new URL(decode(action), page.url).href : page.url;
  return ua.post(url, { ...hiddenInputs(page.body), ...fields });
}

/** One flow as a browser and its relying party would run it; answers the token endpoint's response. */
export async function flowOnce(endpoints: Endpoints): Promise<FlowOutcome> {
  const ua = new UserAgent();
  const origin = new URL(endpoints.authorization).origin;
  const { verifier, challenge } = pkcePair();
  const nonce = randomBytes(12).toString('base64url');
  const url = new URL(endpoints.authorization);
  for (const [k, v] of Object.entries({
    response_type: 'code',
    client_id: benchClient.id,
    redirect_uri: benchClient.redirectUri,
    scope: 'openid email',
    state: 'st',
    nonce,
    prompt: 'consent',
    code_challenge: challenge,
    code_challenge_method: 'S256',
  }))
    url.searchParams.set(k, v);
  let page = await ua.follow(url.href, origin);
  let code: string | null = null;
  for (let step = 0; step < 6 && code === null; step++) {
    const location = page.headers.get('location');
    if (page.status >= 300 && page.status < 400 && location) {
      const next = new URL(location, page.url);
      if (next.origin !== origin) {
        code = next.searchParams.get('code');
        if (code === null) throw new Error(`redirected without a code: ${next.search}`);
        break;
      }
      page = await ua.follow(next.href, origin);
    } else if (page.status === 200 && page.body.includes('name="password"')) {
      // Gatehouse asks for the username; node-oidc-provider's devInteractions take `login` as the account id
      // itself (and check no password).
      const fields: Record<string, string> = page.body.includes('name="login"')
        ? { login: benchUser.sub, password: benchUser.password }
        : { username: benchUser.username, password: benchUser.password };
      page = await submit(ua, page, fields);
    } else if (page.status === 200 && page.body.includes('<form')) {
      page = await submit(ua, page, page.body.includes('name="decision"') ? { decision: 'allow' } : {});
    } else {
      throw new Error(`unexpected ${page.status}: ${page.body.slice(0, 200)}`);
    }
  }
  if (code === null) throw new Error('the flow did not end at the redirect URI');
  const res = await fetch(endpoints.token, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basicAuth },
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      code,
      redirect_uri: benchClient.redirectUri,
      code_verifier: verifier,
    }).toString(),
  });
  return { status: res.status, body: await res.json(), nonce };
}

interface FlowJob {
  endpoints: Endpoints;
  connections: number;
  seconds: number;
}

async function run(job: FlowJob): Promise<LoadResult> {
  const latencies: number[] = [];
  const statusCodes: Record<string, number> = {};
  let failed = 0;
  const start = performance.now();
  const end = start + job.seconds * 1000;
  await Promise.all(
    Array.from({ length: job.connections }, async () => {
      while (performance.now() < end) {
        const t0 = performance.now();
        try {
          const { status } = await flowOnce(job.endpoints);
          statusCodes[status] = (statusCodes[status] ?? 0) + 1;
          if (status === 200) latencies.push(performance.now() - t0);
          else failed++;
        } catch {
          failed++;
        }
      }
    }),
  );
  const seconds = (performance.now() - start) / 1000;
  latencies.sort((a, b) => a - b);
  const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))] ?? 0;
  return {
    ok: latencies.length,
    non2xx: failed,
    errors: 0,
    timeouts: 0,
    exhausted: 0,
    seconds,
    rps: latencies.length / seconds,
    p50: pct(0.5),
    p99: pct(0.99),
    statusCodes,
  };
}

/** Runs the flows in a child process on the load core. */
export function runFlows(job: FlowJob, jobFile: string): Promise<LoadResult> {
  writeFileSync(jobFile, JSON.stringify(job));
  return runPinnedJson<LoadResult>(loadCore, fileURLToPath(import.meta.url), [jobFile], 'browser flows');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const job = JSON.parse(readFileSync(process.argv[2] as string, 'utf8')) as FlowJob;
  process.stdout.write(JSON.stringify(await run(job)));
}
