// User passwords: argon2id hashing and verification (NIST SP 800-63B §5.1.1.2), same cost for unknown users.
import { hash, verify } from '@node-rs/argon2';

/** `Algorithm.Argon2id`: the package exports it as an ambient const enum, which isolated modules cannot read. */
const argon2id = 2;

// OWASP's argon2id baseline (m=19 MiB, t=2, p=1).
const options = { algorithm: argon2id, memoryCost: 19456, timeCost: 2, parallelism: 1 } as const;

export function hashPassword(password: string): Promise<string> {
  return hash(password, options);
}

let dummyHash: Promise<string> | undefined;

/**
 * Verifies a password against a PHC hash. With no hash (unknown user) it still runs one verification
 * against a dummy hash, so an unknown user and a wrong password take the same time.
 */
export async function verifyPassword(phc: string | undefined, password: string): Promise<boolean> {
  if (phc === undefined) {
    dummyHash ??= hashPassword('gatehouse-dummy-password');
    await verify(await dummyHash, password).catch(() => false);
    return false;
  }
  try {
    return await verify(phc, password);
  } catch {
    return false;
  }
}
