// A self-signed TLS certificate for 127.0.0.1, made by Debian's openssl, for tests that serve or proxy HTTPS.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface TestCertificate {
  /** PEM file paths, for a server's or nginx's configuration. */
  cert: string;
  key: string;
  /** The certificate itself, for a client to trust. */
  ca: Buffer;
}

/** Writes cert.pem and key.pem (P-256, valid one day, SAN IP:127.0.0.1) into `dir`. */
export function makeCertificate(dir: string): TestCertificate {
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-days',
      '1',
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
      '-keyout',
      key,
      '-out',
      cert,
    ],
    { stdio: 'ignore' },
  );
  return { cert, key, ca: readFileSync(cert) };
}
