// Micro-bench for issue 9 point 4: a JWT signed through jose's SignJWT (WebCrypto) vs through node:crypto.sign with
// a pre-imported KeyObject (src/crypto/jws-sign.ts), per signing algorithm, on one core. Prints a table.
// Usage: node --import tsx bench/sign-micro.ts [seconds-per-round=1] [rounds=3] [alg,alg...=all]
// (re-runs itself under taskset)
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { exportJWK, generateKeyPair, importJWK, type JWK, type JWTPayload, SignJWT } from 'jose';
import { type SigningAlg, signingAlgs } from '../src/config/schema.js';
import { NodeJwtSigner } from '../src/crypto/jws-sign.js';
import { hasTaskset, pinnedNode, serverCore } from './pin.js';

type CryptoKey = Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];

/** An ID token's claims as a code exchange issues them (330 bytes of JSON). */
const payload: JWTPayload = {
  iss: 'http://127.0.0.1:3000',
  sub: 'c2c3b0d5-9a4e-4c8e-8a34-1f0e2b9d7a61',
  aud: 'bench-client',
  exp: 1_800_000_600,
  iat: 1_800_000_000,
  auth_time: 1_799_999_990,
  nonce: 'n-0S6_WzA2Mj',
  at_hash: 'HK6E_P6Dh8Y93mRNtsDB1Q',
  sid: '5f1c9a7e-2b44-4e0f-9b1a-6c3d2e8f0a11',
  email: 'alice@example.com',
  email_verified: true,
  name: 'Alice Example',
};

/** Concurrent signatures in flight for the second jose figure: how a loaded server calls it. */
const inFlight = 32;

interface Rate {
  perSecond: number;
  /** CPU microseconds per signature, every thread of the process (WebCrypto signs on the libuv pool). */
  cpuMicros: number;
}

async function measure(seconds: number, batch: () => Promise<number>): Promise<Rate> {
  for (let i = 0; i < 3; i++) await batch();
  let n = 0;
  const cpu0 = process.cpuUsage();
  const start = process.hrtime.bigint();
  const end = start + BigInt(Math.round(seconds * 1e9));
  let now = start;
  while (now < end) {
    n += await batch();
    now = process.hrtime.bigint();
  }
  const cpu = process.cpuUsage(cpu0);
  return { perSecond: n / (Number(now - start) / 1e9), cpuMicros: (cpu.user + cpu.system) / n };
}

async function keysFor(alg: SigningAlg): Promise<{ jwk: JWK; cryptoKey: CryptoKey }> {
  // As src/crypto/keys.ts generates and imports them.
  const pair =
    alg === 'EdDSA'
      ? await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true })
      : alg.startsWith('ES')
        ? await generateKeyPair(alg, { extractable: true })
        : await generateKeyPair(alg, { modulusLength: 2048, extractable: true });
  const jwk = { ...(await exportJWK(pair.privateKey)), kid: 'bench', alg, use: 'sig' };
  return { jwk, cryptoKey: (await importJWK(jwk, alg)) as CryptoKey };
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;

async function main(seconds: number, rounds: number, algs: readonly SigningAlg[]): Promise<void> {
  const rows: string[][] = [];
  for (const alg of algs) {
    const { jwk, cryptoKey } = await keysFor(alg);
    const signer = new NodeJwtSigner(jwk, alg, 'bench');
    const header = { alg, kid: 'bench', typ: 'JWT' };
    const jose = () => new SignJWT(payload).setProtectedHeader(header).sign(cryptoKey);
    const ways = {
      joseSeq: async () => {
        await jose();
        return 1;
      },
      joseConc: async () => {
        await Promise.all(Array.from({ length: inFlight }, jose));
        return inFlight;
      },
      node: async () => {
        for (let i = 0; i < 10; i++) signer.sign(payload, 'JWT');
        return 10;
      },
    };
    const got: Record<keyof typeof ways, Rate[]> = { joseSeq: [], joseConc: [], node: [] };
    // Rounds alternate the three ways, so a drift of the machine's speed touches each alike.
    for (let r = 0; r < rounds; r++)
      for (const way of Object.keys(ways) as (keyof typeof ways)[])
        got[way].push(await measure(seconds, ways[way]));
    const rate = (way: keyof typeof ways) => median(got[way].map((x) => x.perSecond));
    const cpu = (way: keyof typeof ways) => median(got[way].map((x) => x.cpuMicros));
    const bestJose = Math.max(rate('joseSeq'), rate('joseConc'));
    rows.push([
      alg,
      rate('joseSeq').toFixed(0),
      rate('joseConc').toFixed(0),
      rate('node').toFixed(0),
      `${(rate('node') / bestJose).toFixed(2)}x`,
      cpu('joseConc').toFixed(0),
      cpu('node').toFixed(0),
      `${(100 * (1 - cpu('node') / cpu('joseConc'))).toFixed(0)} %`,
    ]);
  }
  const head = [
    'alg',
    'jose seq/s',
    `jose x${inFlight}/s`,
    'node:crypto/s',
    'node/best jose',
    'jose µs CPU',
    'node µs CPU',
    'CPU saved',
  ];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padStart(widths[i] ?? 0)).join(' | ')} |`;
  console.log(
    `JWT signatures per second, one core${hasTaskset ? ` (taskset -c ${serverCore})` : ' (unpinned: no taskset)'}, median of ${rounds} rounds of ${seconds} s, Node ${process.version}`,
  );
  console.log(line(head));
  console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
  for (const r of rows) console.log(line(r));
  // CPU per signature counts every thread and ignores time the core spent on other processes: the steadier figure
  // on a shared machine.
  console.log(
    `µs CPU: per signature, all threads (jose with ${inFlight} in flight); CPU saved: node vs that`,
  );
}

const seconds = Number(process.argv[2] ?? 1);
const rounds = Number(process.argv[3] ?? 3);
const only = process.argv[4]?.split(',');
const algs = only ? signingAlgs.filter((a) => only.includes(a)) : signingAlgs;
if (hasTaskset && process.env.SIGN_MICRO_PINNED !== '1') {
  // The libuv pool threads inherit the affinity, so WebCrypto's signatures run on the same one core.
  const { command, args } = pinnedNode(serverCore, [
    '--import',
    'tsx',
    fileURLToPath(import.meta.url),
    String(seconds),
    String(rounds),
    algs.join(','),
  ]);
  const child = spawnSync(command, args, {
    stdio: 'inherit',
    env: { ...process.env, SIGN_MICRO_PINNED: '1' },
  });
  process.exitCode = child.status ?? 1;
} else {
  await main(seconds, rounds, algs);
}
