import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

/** Self-signed test certificates made with the openssl CLI (fails, never skips, when it is missing). */

export function requireOpenssl(): void {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
  } catch {
    throw new Error('the openssl CLI is missing: apt-get install -y openssl');
  }
}

/** Writes NAME.crt and NAME.key (RSA 2048, or ECDSA P-256) for CN=`cn` into `dir`; returns their paths. */
export function makeCert(dir: string, name: string, cn: string, kind: 'rsa' | 'ec' = 'rsa'): { cert: string; key: string } {
  requireOpenssl();
  const cert = path.join(dir, `${name}.crt`);
  const key = path.join(dir, `${name}.key`);
  const algo = kind === 'rsa' ? ['-newkey', 'rsa:2048'] : ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256'];
  execFileSync('openssl', ['req', '-x509', ...algo, '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', `/CN=${cn}`], { stdio: 'ignore' });
  fs.chmodSync(key, 0o600);
  return { cert, key };
}

/** A client certificate for `subj` (e.g. `/O=Org/CN=client`) signed by the CA `ca` (made by makeCert). */
export function makeSignedCert(dir: string, name: string, subj: string, ca: { cert: string; key: string }): { cert: string; key: string } {
  requireOpenssl();
  const cert = path.join(dir, `${name}.crt`);
  const key = path.join(dir, `${name}.key`);
  const csr = path.join(dir, `${name}.csr`);
  execFileSync('openssl', ['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', csr, '-subj', subj], { stdio: 'ignore' });
  execFileSync('openssl', ['x509', '-req', '-in', csr, '-CA', ca.cert, '-CAkey', ca.key, '-CAcreateserial', '-out', cert, '-days', '2'], { stdio: 'ignore' });
  return { cert, key };
}
