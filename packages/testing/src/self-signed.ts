import { execFileSync } from 'node:child_process';
import { createHash, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface SelfSignedCertificate {
  /** PEM files, as `conclave serve --tls-cert/--tls-key` take them. */
  certFile: string;
  keyFile: string;
  /** The certificate in PEM, e.g. as the `ca` a Node client trusts. */
  cert: string;
  /** base64 SHA-256 of the public key (SPKI): Chromium's --ignore-certificate-errors-spki-list. */
  spkiSha256: string;
  /** Deletes the files. */
  remove(): void;
}

/**
 * A self-signed P-256 certificate for `localhost` and 127.0.0.1 (valid one day), made with the
 * system's `openssl` (node:crypto can read X.509 certificates but not make them).
 */
export function makeSelfSignedCertificate(commonName = 'localhost'): SelfSignedCertificate {
  const dir = mkdtempSync(join(tmpdir(), 'conclave-tls-'));
  const certFile = join(dir, 'cert.pem');
  const keyFile = join(dir, 'key.pem');
  try {
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
        '-keyout',
        keyFile,
        '-out',
        certFile,
        '-days',
        '1',
        '-subj',
        `/CN=${commonName}`,
        '-addext',
        'subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`openssl could not make a test certificate (is openssl installed?): ${String(e)}`, {
      cause: e,
    });
  }
  const cert = readFileSync(certFile, 'utf8');
  const spki = new X509Certificate(cert).publicKey.export({ type: 'spki', format: 'der' });
  return {
    certFile,
    keyFile,
    cert,
    spkiSha256: createHash('sha256').update(spki).digest('base64'),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
