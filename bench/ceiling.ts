// The signing ceiling of the bench run (issue 9 points 1-2): RSA-2048 (RS256) and P-256 (ES256) signatures per
// second on one core, with `node:crypto.sign` and a pre-imported KeyObject. Run directly, it measures and prints JSON.
import { generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { runPinnedJson, serverCore } from './pin.js';

export interface Ceilings {
  /** RS256 signatures per second (RSA-2048, PKCS#1 v1.5, SHA-256). */
  rs256: number;
  /** ES256 signatures per second (P-256, SHA-256, IEEE P1363 encoding as JWS uses). */
  es256: number;
}

/** Signatures per second over `seconds`, after a short warm-up; the input is JWS-sized (header.payload). */
function rate(key: KeyObject, dsa: boolean, seconds: number): number {
  const input = Buffer.from(`${'e'.repeat(40)}.${'p'.repeat(400)}`);
  const options = dsa ? { key, dsaEncoding: 'ieee-p1363' as const } : key;
  for (let i = 0; i < 50; i++) sign('sha256', input, options);
  let n = 0;
  const start = process.hrtime.bigint();
  const end = start + BigInt(Math.round(seconds * 1e9));
  let now = start;
  while (now < end) {
    for (let i = 0; i < 20; i++) sign('sha256', input, options);
    n += 20;
    now = process.hrtime.bigint();
  }
  return n / (Number(now - start) / 1e9);
}

function measure(seconds: number): Ceilings {
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
  return { rs256: rate(rsa, false, seconds), es256: rate(ec, true, seconds) };
}

/** Measures in a child process pinned to the server's core, so the figure is that core's. */
export function measureCeilings(seconds: number): Promise<Ceilings> {
  return runPinnedJson<Ceilings>(
    serverCore,
    fileURLToPath(import.meta.url),
    [String(seconds)],
    'ceiling measurement',
  );
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  process.stdout.write(JSON.stringify(measure(Number(process.argv[2] ?? 3))));
}
