// Every core (issue 9 point 3): RS256 code exchanges per second with server.workers 1 and 2, measured UNPINNED (the
// server may use every core, and the load generator shares them), alternating runs so drift touches both alike.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { startGatehouse } from './gatehouse-target.js';
import { type LoadResult, runLoad } from './load.js';
import { scenarios } from './scenarios.js';
import type { Target } from './target.js';

export interface WorkersResult {
  workers: number;
  rps: number;
  p99: number;
  runs: LoadResult[];
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? 0 : (s[Math.floor((s.length - 1) / 2)] as number);
};

/** Code exchanges/s with 1 and with `many` workers: one server each, warm-up, then `runs` alternating timed runs. */
export async function measureWorkers(options: {
  many: number;
  connections: number;
  seconds: number;
  warmupSeconds: number;
  runs: number;
}): Promise<WorkersResult[]> {
  const scenario = scenarios.find((s) => s.id === 'code-rs256');
  if (!scenario) throw new Error('no code-rs256 scenario');
  const work = mkdtempSync(join(tmpdir(), 'gatehouse-bench-workers-'));
  const counts = [1, options.many];
  const targets: Target[] = [];
  const results: WorkersResult[] = counts.map((workers) => ({ workers, rps: 0, p99: 0, runs: [] }));
  try {
    for (const workers of counts)
      targets.push(await startGatehouse({ alg: 'RS256', postgresUrl: undefined, workers, pinned: false }));
    // Generous: codes are single-use, and two cores may well do 3,000 exchanges per second.
    const perSecond = 1500 * options.many;
    const fire = async (t: Target, seconds: number) => {
      const tokensFile = join(work, 'codes.json');
      writeFileSync(tokensFile, JSON.stringify(await t.mint('code', Math.ceil(perSecond * seconds) + 500)));
      const req = scenario.request(t);
      const url = new URL(req.url);
      return runLoad(
        {
          url: url.origin,
          method: req.method,
          path: url.pathname,
          headers: req.headers,
          body: req.body,
          connections: options.connections,
          seconds,
          tokensFile,
          reuseTokens: false,
        },
        join(work, 'job.json'),
        null,
      );
    };
    for (const t of targets) await fire(t, options.warmupSeconds);
    for (let i = 0; i < options.runs; i++)
      for (const [j, t] of targets.entries())
        (results[j] as WorkersResult).runs.push(await fire(t, options.seconds));
  } finally {
    for (const t of targets) await t.stop().catch(() => {});
    rmSync(work, { recursive: true, force: true });
  }
  for (const r of results) {
    r.rps = median(r.runs.map((x) => x.rps));
    r.p99 = median(r.runs.map((x) => x.p99));
    const bad = r.runs.find((x) => x.non2xx > 0 || x.errors > 0 || x.exhausted > 0);
    if (bad) throw new Error(`workers=${r.workers}: ${JSON.stringify(bad.statusCodes)} errors ${bad.errors}`);
  }
  return results;
}

export const cpuCount = cpus().length;
