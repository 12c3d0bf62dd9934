// Core pinning for the side-by-side bench (issue 9 point 1): server on one core, load on the other, via taskset.
import { spawn, spawnSync } from 'node:child_process';

/** Whether `taskset` exists here; without it everything runs unpinned and the report says so. */
export const hasTaskset: boolean = spawnSync('taskset', ['--version'], { stdio: 'ignore' }).status === 0;

/** The server's core and the load generator's (BENCH_SERVER_CORE, BENCH_LOAD_CORE). */
export const serverCore = Number(process.env.BENCH_SERVER_CORE ?? 0);
export const loadCore = Number(process.env.BENCH_LOAD_CORE ?? 1);

/** `node <args>` as a command line pinned to `core` when taskset exists (null: unpinned, every core). */
export function pinnedNode(core: number | null, args: string[]): { command: string; args: string[] } {
  return hasTaskset && core !== null
    ? { command: 'taskset', args: ['-c', String(core), process.execPath, ...args] }
    : { command: process.execPath, args };
}

/** Pins a running process and all its threads (used for PostgreSQL's postmaster, whose backends inherit it). */
export function pinPid(pid: number, core: number): void {
  if (hasTaskset) spawnSync('taskset', ['-a', '-p', '-c', String(core), String(pid)], { stdio: 'ignore' });
}

/**
 * Runs `node --import tsx <script> <args>` pinned to `core` and answers the JSON it prints: how the ceiling, the
 * load generator and the browser flows run apart from the bench's own process. `what` names it in an error.
 */
export function runPinnedJson<T>(
  core: number | null,
  script: string,
  args: string[],
  what: string,
): Promise<T> {
  const { command, args: argv } = pinnedNode(core, ['--import', 'tsx', script, ...args]);
  return new Promise((resolve, reject) => {
    const child = spawn(command, argv, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
    });
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code !== 0) reject(new Error(`${what} exited ${code}`));
      else resolve(JSON.parse(out) as T);
    });
  });
}
