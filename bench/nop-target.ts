// node-oidc-provider as a bench target (issue 9 point 1): bench/nop-server.ts on the server core, minting through
// its control port.
import { fileURLToPath } from 'node:url';
import { type Alg, discover, type MintKind, startPinned, stopChild, type Target } from './target.js';

export async function startNop(alg: Alg): Promise<Target> {
  const script = fileURLToPath(new URL('./nop-server.ts', import.meta.url));
  const { child, found } = await startPinned(
    ['--import', 'tsx', script, alg],
    { NODE_ENV: 'production' },
    (line) => (line.startsWith('{"issuer"') ? line : undefined),
  );
  const { issuer, control } = JSON.parse(found) as { issuer: string; control: string };
  if (child.pid === undefined) throw new Error('node-oidc-provider has no pid');
  return {
    label: 'node-oidc-provider',
    issuer,
    pid: child.pid,
    endpoints: await discover(issuer),
    async mint(kind: MintKind, n: number): Promise<string[]> {
      const out: string[] = [];
      // In batches, so one answer stays small.
      for (let done = 0; done < n; done += 5000) {
        const res = await fetch(`${control}/mint?kind=${kind}&n=${Math.min(5000, n - done)}`);
        if (res.status !== 200) throw new Error(`minting ${kind} failed: ${res.status} ${await res.text()}`);
        out.push(...((await res.json()) as string[]));
      }
      return out;
    },
    stop: () => stopChild(child),
  };
}
