// What the bench (issue 9 point 1) needs of a running provider, Gatehouse or node-oidc-provider, and the process
// plumbing both share: a fresh server per scenario, pinned, its endpoints from discovery, its memory sampled.
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { pinnedNode, serverCore } from './pin.js';

export type Alg = 'RS256' | 'ES256';
export type MintKind = 'code' | 'refresh' | 'access';

export interface Endpoints {
  authorization: string;
  token: string;
  userinfo: string;
  introspection: string;
  jwks: string;
}

export interface Target {
  label: 'gatehouse' | 'node-oidc-provider';
  issuer: string;
  /** The server process (node itself: taskset execs it), for its memory. */
  pid: number;
  endpoints: Endpoints;
  /** Codes or tokens as the authorization endpoint or a grant would have issued them, minted outside the measurement. */
  mint(kind: MintKind, n: number): Promise<string[]>;
  stop(): Promise<void>;
}

/**
 * Starts `node <args>` on the server core (`core` null: unpinned) and resolves with its process and the first
 * stdout line `match` accepts.
 */
export function startPinned(
  args: string[],
  env: NodeJS.ProcessEnv,
  match: (line: string) => string | undefined,
  core: number | null = serverCore,
): Promise<{ child: ChildProcess; found: string }> {
  const { command, args: argv } = pinnedNode(core, args);
  const child = spawn(command, argv, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    let done = false;
    child.stderr?.on('data', (d) => {
      if (!done) err += d;
    });
    child.stdout?.on('data', (d) => {
      if (done) return; // Drained: the server's log is read by nobody.
      out += d;
      for (const line of out.split('\n')) {
        const found = match(line);
        if (found !== undefined) {
          done = true;
          resolve({ child, found });
          return;
        }
      }
    });
    child.on('error', reject);
    child.on('exit', (code) => {
      if (!done) reject(new Error(`server exited ${code} before it listened: ${err.slice(-2000)}`));
    });
  });
}

export async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  await exited;
  clearTimeout(timer);
}

export async function discover(issuer: string): Promise<Endpoints> {
  const res = await fetch(`${issuer}/.well-known/openid-configuration`);
  if (res.status !== 200) throw new Error(`discovery of ${issuer} answered ${res.status}`);
  const m = (await res.json()) as Record<string, string>;
  const get = (k: string) => {
    const v = m[k];
    if (typeof v !== 'string') throw new Error(`discovery of ${issuer} lacks ${k}`);
    return v;
  };
  return {
    authorization: get('authorization_endpoint'),
    token: get('token_endpoint'),
    userinfo: get('userinfo_endpoint'),
    introspection: get('introspection_endpoint'),
    jwks: get('jwks_uri'),
  };
}

/** Resident memory of a process in MiB (VmRSS), 0 once it is gone. */
export function rssMiB(pid: number): number {
  try {
    const kb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
    return kb / 1024;
  } catch {
    return 0;
  }
}

/** Samples a process's RSS every 200 ms until stopped; answers the peak (MiB). */
export function sampleRss(pid: number): () => number {
  let peak = rssMiB(pid);
  const timer = setInterval(() => {
    peak = Math.max(peak, rssMiB(pid));
  }, 200);
  return () => {
    clearInterval(timer);
    return Math.max(peak, rssMiB(pid));
  };
}

/** A free loopback port: Gatehouse builds its issuer from the configured port, so it cannot be 0. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}
