// Encrypts the client secrets that must stay usable as keys (client_secret_jwt): JWE dir + A256GCM via jose (RFC 7516).
import { createHash } from 'node:crypto';
import { CompactEncrypt, compactDecrypt } from 'jose';

export class SecretBox {
  private readonly key: Uint8Array;

  /** `keyMaterial` is the configured or generated key string; SHA-256 turns it into the 256-bit AES key. */
  constructor(keyMaterial: string) {
    this.key = createHash('sha256').update(keyMaterial, 'utf8').digest();
  }

  encrypt(plaintext: string): Promise<string> {
    return new CompactEncrypt(new TextEncoder().encode(plaintext))
      .setProtectedHeader({ alg: 'dir', enc: 'A256GCM' })
      .encrypt(this.key);
  }

  async decrypt(jwe: string): Promise<string> {
    const { plaintext } = await compactDecrypt(jwe, this.key, {
      keyManagementAlgorithms: ['dir'],
      contentEncryptionAlgorithms: ['A256GCM'],
    });
    return new TextDecoder().decode(plaintext);
  }
}
