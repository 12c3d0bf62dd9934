// CPU cost per request (issue 9 point 5): the server's CPU time per answered request, split into its main thread and
// its other threads (libuv pool: WebCrypto, fs; workers), read from /proc around one load run. Unlike req/s this barely
// moves when the machine's speed drifts by a few per cent, so it shows what a change to the hot path buys.
// Usage: node --import tsx bench/cost.ts [--nop] [scenario-id ...] (--nop: node-oidc-provider instead)   Env: BENCH_SECONDS (8), BENCH_CONNECTIONS (50).
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startGatehouse } from './gatehouse-target.js';
import { runLoad } from './load.js';
import { startNop } from './nop-target.js';
import { scenarios } from './scenarios.js';

const ticks = 100; // USER_HZ on Linux
function threadTimes(pid: number): Map<string, number> {
  const out = new Map<string, number>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.set(tid, (Number(f[11]) + Number(f[12])) / ticks);
    } catch {}
  }
  return out;
}

const seconds = Number(process.env.BENCH_SECONDS ?? 8);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 50);
const nop = process.argv.includes('--nop');
const ids = process.argv.slice(2).filter((a) => a !== '--nop');
const work = mkdtempSync(join(tmpdir(), 'gatehouse-cost-'));
for (const s of scenarios.filter((x) => !x.browser && (ids.length === 0 || ids.includes(x.id)))) {
  const t = nop ? await startNop(s.alg) : await startGatehouse({ alg: s.alg, postgresUrl: undefined });
  try {
    const req = s.request(t);
    const url = new URL(req.url);
    const tokensFile = join(work, 'tokens.json');
    const job = (secs: number) =>
      runLoad(
        {
          url: url.origin,
          method: req.method,
          path: `${url.pathname}${url.search}`,
          headers: req.headers,
          body: req.body,
          connections,
          seconds: secs,
          tokensFile: s.mint ? tokensFile : undefined,
          reuseTokens: s.reuse,
        },
        join(work, 'job.json'),
      );
    const n = s.mint ? (s.reuse ? 1000 : 3000 * (seconds + 2)) : 0;
    if (s.mint) writeFileSync(tokensFile, JSON.stringify(await t.mint(s.mint, n)));
    await job(2);
    if (s.mint && !s.reuse) writeFileSync(tokensFile, JSON.stringify(await t.mint(s.mint, n)));
    const before = threadTimes(t.pid);
    const r = await job(seconds);
    const after = threadTimes(t.pid);
    const main = String(t.pid);
    let mainCpu = 0;
    let other = 0;
    for (const [tid, v] of after) {
      const d = v - (before.get(tid) ?? 0);
      if (tid === main) mainCpu += d;
      else other += d;
    }
    const per = (x: number) => ((x / r.ok) * 1e6).toFixed(0);
    if (process.env.BENCH_THREADS) {
      const byName = new Map<string, number>();
      for (const [tid, v] of after) {
        if (tid === main) continue;
        let name = '?';
        try {
          name = readFileSync(`/proc/${t.pid}/task/${tid}/comm`, 'utf8').trim();
        } catch {}
        byName.set(name, (byName.get(name) ?? 0) + v - (before.get(tid) ?? 0));
      }
      console.log([...byName].map(([n, v]) => `${n}: ${per(v)} µs`).join(', '));
    }
    console.log(
      `${t.label} ${s.id.padEnd(20)} ${r.rps.toFixed(0).padStart(6)} req/s  p99 ${r.p99} ms  non2xx ${r.non2xx}  CPU/request: main ${per(mainCpu)} µs + other threads ${per(other)} µs = ${per(mainCpu + other)} µs`,
    );
  } finally {
    await t.stop();
  }
}
