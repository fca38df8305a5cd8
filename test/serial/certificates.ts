import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface TestCertificate {
  key: string;
  cert: string;
  keyFile: string;
  certFile: string;
}

/**
 * A self-signed RSA certificate and its key, as `openssl req -x509` makes them for Celery's
 * security guide, written to `keyFile` and `certFile` (under `dir`) and returned as PEM text too.
 */
export function makeCertificate(dir: string, name: string, certFile = join(dir, `${name}.pem`)): TestCertificate {
  const keyFile = join(dir, `${name}.key`);
  const subject = `/C=NL/O=Celeriac Tests/CN=${name}`;
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '2',
      '-subj',
      subject,
      '-keyout',
      keyFile,
      '-out',
      certFile,
    ],
    { stdio: 'ignore' },
  );
  return { key: readFileSync(keyFile, 'utf8'), cert: readFileSync(certFile, 'utf8'), keyFile, certFile };
}
