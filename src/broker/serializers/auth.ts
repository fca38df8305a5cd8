import { constants, createPrivateKey, getHashes, sign, verify, X509Certificate, type KeyObject } from 'node:crypto';
import { ConfigError } from '../../errors';
import { showValue } from '../shown-value';

/**
 * Celery's `auth` serializer (celery.security): task bodies signed with an X.509 certificate's
 * RSA key, verified against a store of trusted certificates, so a Python Celery worker set up with
 * `app.setup_security()` runs what Celeriac signs and Celeriac runs what Python signs. The body is
 * base64 of `signer \x00\x01 signature \x00\x01 content_type \x00\x01 content_encoding \x00\x01
 * inner body`, where the signer is the certificate's issuer values and serial number (Celery's
 * `Certificate.get_id()`), the signature is RSA-PSS (MGF1, maximum salt length) over the inner body
 * with `security_digest`, and the inner body is the message serialized as usual (json).
 */
export interface SecurityOptions {
  /** This process's private key (PEM, RSA), as Celery's security_key. Needed to send. */
  key?: string;
  /** The certificate of that key (PEM), as Celery's security_certificate: its id names the signer. */
  certificate?: string;
  /** Trusted certificates (PEM texts), as the files of Celery's security_cert_store. */
  certStore: string[];
  /** Celery's security_digest. Default 'sha256'. */
  digest?: string;
}

export const AUTH_CONTENT_TYPE = 'application/data';
const SEP = Buffer.from([0x00, 0x01]);

export class AuthSerializer {
  private readonly key?: KeyObject;
  private readonly signer?: string;
  private readonly store = new Map<string, X509Certificate>();
  readonly digest: string;

  constructor(options: SecurityOptions) {
    if (options === null || typeof options !== 'object')
      throw new ConfigError('security', 'expected { key, certificate, certStore: [PEM, …] }');
    this.digest = (options.digest ?? 'sha256').toLowerCase();
    if (!getHashes().includes(this.digest))
      throw new ConfigError(
        'security.digest',
        `'${options.digest}' is not a digest here: use 'sha256' (Celery's default)`,
      );
    if (!Array.isArray(options.certStore) || options.certStore.length === 0)
      throw new ConfigError('security.certStore', 'list at least one trusted certificate (PEM text)');
    options.certStore.forEach((pem, i) => {
      const cert = readCertificate(`security.certStore[${i}]`, pem);
      const id = certificateId(cert);
      // Celery's FSCertStore refuses both, at load.
      if (this.store.has(id)) throw new ConfigError(`security.certStore[${i}]`, `duplicate certificate '${id}'`);
      if (new Date(cert.validTo).getTime() <= Date.now())
        throw new ConfigError(`security.certStore[${i}]`, `certificate '${id}' expired on ${cert.validTo}`);
      this.store.set(id, cert);
    });
    if ((options.key === undefined) !== (options.certificate === undefined))
      throw new ConfigError('security', 'give both key and certificate (to send), or neither (to verify only)');
    if (options.key !== undefined && options.certificate !== undefined) {
      try {
        this.key = createPrivateKey(options.key);
      } catch (err) {
        throw new ConfigError(
          'security.key',
          `could not read the private key (${(err as Error).message}): pass PEM text`,
        );
      }
      if (this.key.asymmetricKeyType !== 'rsa')
        throw new ConfigError(
          'security.key',
          `is ${this.key.asymmetricKeyType}: Celery's auth serializer signs with RSA keys`,
        );
      const cert = readCertificate('security.certificate', options.certificate);
      if (!cert.checkPrivateKey(this.key))
        throw new ConfigError('security.certificate', 'is not the certificate of security.key');
      this.signer = certificateId(cert);
    }
  }

  get canSign(): boolean {
    return this.key !== undefined;
  }

  /** The signed body for an inner body already serialized as `contentType` / `contentEncoding`. */
  wrap(inner: Buffer, contentType: string, contentEncoding: string): Buffer {
    if (!this.key || !this.signer)
      throw new ConfigError(
        'security.key',
        "this process sends with the 'auth' serializer but has no key and certificate",
      );
    const signature = sign(this.digest, inner, {
      key: this.key,
      padding: constants.RSA_PKCS1_PSS_PADDING,
      saltLength: constants.RSA_PSS_SALTLEN_MAX_SIGN,
    });
    const fields = Buffer.concat([
      Buffer.from(this.signer),
      SEP,
      signature,
      SEP,
      Buffer.from(contentType),
      SEP,
      Buffer.from(contentEncoding),
      SEP,
      inner,
    ]);
    return Buffer.from(fields.toString('base64'));
  }

  /** The inner body and its content type, or why it is refused (unknown signer, bad signature). */
  unwrap(payload: Buffer): { bytes: Buffer; contentType: string } | { refused: string } {
    const fields = Buffer.from(payload.toString('latin1'), 'base64');
    const first = fields.indexOf(SEP);
    if (first < 0) return { refused: "the body is not Celery's auth serializer format (no signer)" };
    const signer = fields.subarray(0, first).toString('utf8');
    const cert = this.store.get(signer);
    // Quoted short: the signer is the sender's text, read before any signature is checked.
    if (!cert) return { refused: `the message is signed by ${showValue(signer)}, which is not in security.certStore` };
    // The signature's length is the key's size, so it is read by length, not split on (it may hold the separator).
    const sigLength = (cert.publicKey.asymmetricKeyDetails?.modulusLength ?? 0) >> 3;
    const sigStart = first + SEP.length;
    const signature = fields.subarray(sigStart, sigStart + sigLength);
    const rest = fields.subarray(sigStart + sigLength + SEP.length);
    const ctEnd = rest.indexOf(SEP);
    const ceEnd = ctEnd < 0 ? -1 : rest.indexOf(SEP, ctEnd + SEP.length);
    if (ceEnd < 0) return { refused: "the body is not Celery's auth serializer format (fields missing)" };
    const bytes = rest.subarray(ceEnd + SEP.length);
    const ok = verify(
      this.digest,
      bytes,
      { key: cert.publicKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_AUTO },
      signature,
    );
    if (!ok) return { refused: `the signature does not verify with '${signer}': the message was altered or forged` };
    return { bytes, contentType: rest.subarray(0, ctEnd).toString('utf8') };
  }
}

function readCertificate(key: string, pem: unknown): X509Certificate {
  try {
    return new X509Certificate(String(pem));
  } catch (err) {
    throw new ConfigError(key, `could not read the certificate (${(err as Error).message}): pass PEM text`);
  }
}

/** Celery's Certificate.get_id(): the issuer's attribute values joined by spaces, then the serial number in decimal. */
export function certificateId(cert: X509Certificate): string {
  const issuer = cert.issuer
    .split('\n')
    .map((line) => line.slice(line.indexOf('=') + 1))
    .join(' ');
  return `${issuer} ${BigInt('0x' + cert.serialNumber).toString()}`;
}

/**
 * The auth serializer in force in this process, as kombu's registry holds the one
 * `setup_security()` registered: the child processes and threads of a pool decode with the one
 * their app module set up, without it being passed along.
 */
let registered: AuthSerializer | undefined;

export function registerAuth(auth: AuthSerializer): void {
  registered = auth;
}

export function registeredAuth(): AuthSerializer | undefined {
  return registered;
}
