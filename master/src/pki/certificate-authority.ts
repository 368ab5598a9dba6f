/**
 * The master's own certificate authority: it signs the master's TLS certificate and every agent's
 * client certificate. Agents pin it (the pin travels inside enrollment tokens), so it is created once
 * and kept: losing ca.key means every agent has to enroll again.
 */
// @peculiar/x509 resolves its ASN.1 helpers through tsyringe, which needs the Reflect polyfill.
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  randomBytes,
  webcrypto,
  X509Certificate as NodeX509Certificate,
  type KeyObject,
} from 'node:crypto';
import { isIP } from 'node:net';
import type { Logger } from 'pino';
import { isUuid } from '../../../shared/src/validation.js';
import { PkiError, PkiErrorCode } from './pki.errors.js';
import { PkiFiles } from './pki-files.js';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

type CryptoKey = webcrypto.CryptoKey;

const EC_P256 = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
const DAY_MS = 24 * 3600_000;
const CA_VALIDITY_MS = 3652 * DAY_MS;
const LEAF_VALIDITY_MS = 365 * DAY_MS;
/** Certificates start a little in the past so that a peer whose clock is slightly behind accepts them. */
const BACKDATE_MS = 5 * 60_000;
/** The master's certificate is renewed at start when it expires sooner than this. */
const SERVER_RENEW_BEFORE_MS = 30 * DAY_MS;
/** A CSR is a few hundred bytes; anything near this is not one. */
export const MAX_CSR_BYTES = 16 * 1024;

const CLIENT_AUTH_OID = x509.ExtendedKeyUsage.clientAuth as string;

export type Clock = () => Date;

export interface CertificateAuthorityOptions {
  /** Names and addresses agents dial the master by; they become the SANs of its TLS certificate. */
  publicHosts: readonly string[];
  clock?: Clock;
}

/** The master's TLS identity, PEM encoded, for the gRPC server credentials. */
export interface ServerIdentity {
  readonly certificatePem: string;
  readonly privateKeyPem: string;
}

export interface IssuedCertificate {
  readonly certificatePem: string;
  /** Hex sha256 of the certificate's DER: what servers.certificate_sha256 holds. */
  readonly sha256Hex: string;
  readonly expiresAt: Date;
}

/** What a valid client certificate tells: which server holds it. */
export interface VerifiedClientCertificate {
  readonly serverId: string;
  readonly sha256Hex: string;
  readonly expiresAt: Date;
}

/** A certificate signing request whose signature was checked: only its public key is ever used. */
export interface CheckedCsr {
  readonly publicKey: x509.PublicKey;
}

interface CaMaterial {
  certificate: x509.X509Certificate;
  signingKey: CryptoKey;
}

export class CertificateAuthority {
  private readonly caNode: NodeX509Certificate;
  private readonly caPublicKey: KeyObject;
  private readonly caDer: Buffer;

  private constructor(
    private readonly ca: CaMaterial,
    private readonly server: ServerIdentity,
    private readonly clock: Clock,
  ) {
    this.caDer = Buffer.from(ca.certificate.rawData);
    this.caNode = new NodeX509Certificate(this.caDer);
    this.caPublicKey = this.caNode.publicKey;
  }

  /**
   * Loads the CA from <dataDir>/pki, creating it on first start, and makes sure the master's TLS
   * certificate is there, ours, valid for more than 30 days and names exactly `publicHosts`.
   */
  static async open(
    options: CertificateAuthorityOptions & { dataDir: string },
    logger: Logger,
  ): Promise<CertificateAuthority> {
    const clock = options.clock ?? (() => new Date());
    const files = new PkiFiles(options.dataDir);
    const stored = await files.readCa();
    let ca: CaMaterial;
    if (stored) {
      ca = await importCa(stored.certificatePem, stored.privateKeyPem, files.dir);
    } else {
      ca = await createCa(clock);
      await files.writeCa(ca.certificate.toString('pem'), await exportPrivateKeyPem(ca.signingKey));
      logger.info({ dir: files.dir, subject: ca.certificate.subject }, 'created a new certificate authority');
    }

    const storedServer = await files.readServer();
    const problem = storedServer
      ? serverCertificateProblem(storedServer, ca, options.publicHosts, clock)
      : 'missing';
    let server: ServerIdentity;
    if (problem === undefined && storedServer) {
      server = storedServer;
    } else {
      server = await issueServerCertificate(ca, options.publicHosts, clock);
      await files.writeServer(server.certificatePem, server.privateKeyPem);
      logger.info(
        { reason: problem, hosts: options.publicHosts },
        "issued the master's TLS certificate for its public hosts",
      );
    }
    return new CertificateAuthority(ca, server, clock);
  }

  /** A CA that lives in memory only (tests, tools). */
  static async generate(options: CertificateAuthorityOptions): Promise<CertificateAuthority> {
    const clock = options.clock ?? (() => new Date());
    const ca = await createCa(clock);
    const server = await issueServerCertificate(ca, options.publicHosts, clock);
    return new CertificateAuthority(ca, server, clock);
  }

  caCertificatePem(): string {
    return this.ca.certificate.toString('pem');
  }

  /** base64url(sha256(CA DER)): what an enrolling agent compares the CA it is shown against. */
  caPin(): string {
    return createHash('sha256').update(this.caDer).digest('base64url');
  }

  serverIdentity(): ServerIdentity {
    return this.server;
  }

  /** Parses a PEM CSR and checks its signature (proof that the sender holds the private key). */
  async checkCsr(csrPem: string): Promise<CheckedCsr> {
    if (typeof csrPem !== 'string' || csrPem.length === 0) {
      throw new PkiError(PkiErrorCode.CsrInvalid, 'csr_pem is empty: send a PEM certificate signing request');
    }
    if (Buffer.byteLength(csrPem) >= MAX_CSR_BYTES) {
      throw new PkiError(
        PkiErrorCode.CsrInvalid,
        `csr_pem is ${Buffer.byteLength(csrPem)} bytes; a certificate signing request must be under ${MAX_CSR_BYTES}`,
      );
    }
    let csr: x509.Pkcs10CertificateRequest;
    try {
      csr = new x509.Pkcs10CertificateRequest(csrPem);
    } catch (error) {
      throw new PkiError(
        PkiErrorCode.CsrInvalid,
        'csr_pem is not a PEM PKCS#10 certificate signing request',
        {
          cause: error,
        },
      );
    }
    let valid = false;
    try {
      valid = await csr.verify();
    } catch (error) {
      throw new PkiError(
        PkiErrorCode.CsrInvalid,
        'the certificate signing request uses an unsupported key or algorithm',
        {
          cause: error,
        },
      );
    }
    if (!valid) {
      throw new PkiError(
        PkiErrorCode.CsrInvalid,
        'the certificate signing request is not signed by its own key: generate it again from the agent key',
      );
    }
    return { publicKey: csr.publicKey };
  }

  /**
   * Issues the client certificate of a server: CN = server id, clientAuth only, one year, random
   * serial. Nothing the CSR asks for (subject, extensions) is copied: only its public key is used.
   */
  async issueClientCertificate(csr: CheckedCsr, serverId: string): Promise<IssuedCertificate> {
    if (!isUuid(serverId))
      throw new Error(`issueClientCertificate: server id "${String(serverId)}" is not a uuid`);
    const now = this.clock();
    const certificate = await x509.X509CertificateGenerator.create({
      serialNumber: randomSerial(),
      subject: [{ CN: [serverId] }],
      issuer: this.ca.certificate.subjectName,
      notBefore: new Date(now.getTime() - BACKDATE_MS),
      notAfter: new Date(now.getTime() + LEAF_VALIDITY_MS),
      publicKey: csr.publicKey,
      signingKey: this.ca.signingKey,
      signingAlgorithm: EC_P256,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth], false),
        await x509.SubjectKeyIdentifierExtension.create(csr.publicKey),
        await x509.AuthorityKeyIdentifierExtension.create(this.ca.certificate.publicKey),
      ],
    });
    return {
      certificatePem: certificate.toString('pem'),
      sha256Hex: createHash('sha256').update(Buffer.from(certificate.rawData)).digest('hex'),
      expiresAt: certificate.notAfter,
    };
  }

  /** checkCsr + issueClientCertificate. */
  async signClientCsr(csrPem: string, serverId: string): Promise<IssuedCertificate> {
    return this.issueClientCertificate(await this.checkCsr(csrPem), serverId);
  }

  /**
   * Checks a client certificate (DER) presented on a call: signed by this CA, valid now, for client
   * authentication, naming a server id. Whether it is that server's current certificate is the
   * caller's check (servers.certificate_sha256).
   */
  verifyClientCertificate(der: Buffer): VerifiedClientCertificate {
    let certificate: NodeX509Certificate;
    try {
      certificate = new NodeX509Certificate(der);
    } catch (error) {
      throw invalidCertificate('the client certificate cannot be parsed', error);
    }
    if (!certificate.checkIssued(this.caNode) || !certificate.verify(this.caPublicKey)) {
      throw invalidCertificate('the client certificate was not issued by this master');
    }
    const now = this.clock().getTime();
    const notBefore = new Date(certificate.validFrom).getTime();
    const notAfter = new Date(certificate.validTo);
    if (!(now >= notBefore) || !(now <= notAfter.getTime())) {
      throw invalidCertificate(
        `the client certificate is valid from ${certificate.validFrom} to ${certificate.validTo}, not now`,
      );
    }
    if (certificate.ca || !(certificate.keyUsage ?? []).includes(CLIENT_AUTH_OID)) {
      throw invalidCertificate('the certificate is not a client certificate');
    }
    const serverId = commonName(certificate.subject);
    if (!serverId || !isUuid(serverId)) {
      throw invalidCertificate('the client certificate does not name a server');
    }
    return {
      serverId,
      sha256Hex: createHash('sha256').update(der).digest('hex'),
      expiresAt: notAfter,
    };
  }
}

function invalidCertificate(reason: string, cause?: unknown): PkiError {
  return new PkiError(
    PkiErrorCode.ClientCertificateInvalid,
    `${reason}; enroll the agent again with a token from \`berth server enroll-token NAME\``,
    { cause },
  );
}

function commonName(subject: string): string | undefined {
  for (const line of subject.split('\n')) {
    if (line.startsWith('CN=')) return line.slice(3);
  }
  return undefined;
}

async function createCa(clock: Clock): Promise<CaMaterial> {
  const keys = await webcrypto.subtle.generateKey(EC_P256, true, ['sign', 'verify']);
  const now = clock();
  const certificate = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerial(),
    name: [{ CN: [`Berth CA ${randomBytes(6).toString('hex')}`] }],
    notBefore: new Date(now.getTime() - BACKDATE_MS),
    notAfter: new Date(now.getTime() + CA_VALIDITY_MS),
    keys,
    signingAlgorithm: EC_P256,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { certificate, signingKey: keys.privateKey };
}

async function importCa(certificatePem: string, privateKeyPem: string, dir: string): Promise<CaMaterial> {
  const certificate = new x509.X509Certificate(certificatePem);
  const keyObject = createPrivateKey(privateKeyPem);
  const matches = createPublicKey(keyObject)
    .export({ type: 'spki', format: 'der' })
    .equals(Buffer.from(certificate.publicKey.rawData));
  if (!matches) {
    throw new Error(
      `${dir}/ca.key does not belong to ${dir}/ca.crt: restore both files from the same backup ` +
        '(replacing the CA means every agent has to enroll again)',
    );
  }
  const signingKey = await webcrypto.subtle.importKey(
    'pkcs8',
    keyObject.export({ type: 'pkcs8', format: 'der' }),
    { name: 'ECDSA', namedCurve: 'P-256' },
    false,
    ['sign'],
  );
  return { certificate, signingKey };
}

async function issueServerCertificate(
  ca: CaMaterial,
  publicHosts: readonly string[],
  clock: Clock,
): Promise<ServerIdentity> {
  if (publicHosts.length === 0)
    throw new Error('the master needs at least one public host for its certificate');
  const keys = await webcrypto.subtle.generateKey(EC_P256, true, ['sign', 'verify']);
  const now = clock();
  const publicKey = await x509.PublicKey.create(keys.publicKey);
  const certificate = await x509.X509CertificateGenerator.create({
    serialNumber: randomSerial(),
    subject: [{ CN: [publicHosts[0] ?? 'berth-master'] }],
    issuer: ca.certificate.subjectName,
    notBefore: new Date(now.getTime() - BACKDATE_MS),
    notAfter: new Date(now.getTime() + LEAF_VALIDITY_MS),
    publicKey,
    signingKey: ca.signingKey,
    signingAlgorithm: EC_P256,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth], false),
      new x509.SubjectAlternativeNameExtension(
        publicHosts.map((host): x509.JsonGeneralName => ({ type: isIP(host) ? 'ip' : 'dns', value: host })),
        false,
      ),
      await x509.SubjectKeyIdentifierExtension.create(publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(ca.certificate.publicKey),
    ],
  });
  return {
    certificatePem: certificate.toString('pem'),
    privateKeyPem: await exportPrivateKeyPem(keys.privateKey),
  };
}

/** Why a stored server certificate must be replaced, or undefined when it is fine. */
function serverCertificateProblem(
  stored: ServerIdentity,
  ca: CaMaterial,
  publicHosts: readonly string[],
  clock: Clock,
): string | undefined {
  let certificate: x509.X509Certificate;
  let node: NodeX509Certificate;
  try {
    certificate = new x509.X509Certificate(stored.certificatePem);
    node = new NodeX509Certificate(stored.certificatePem);
  } catch {
    return 'unreadable';
  }
  const caNode = new NodeX509Certificate(Buffer.from(ca.certificate.rawData));
  if (!node.checkIssued(caNode) || !node.verify(caNode.publicKey)) return 'issued by another CA';
  if (certificate.notAfter.getTime() - clock().getTime() < SERVER_RENEW_BEFORE_MS) return 'expiring';
  if (certificate.notBefore.getTime() > clock().getTime()) return 'not valid yet';
  try {
    const keyMatches = createPublicKey(createPrivateKey(stored.privateKeyPem))
      .export({ type: 'spki', format: 'der' })
      .equals(Buffer.from(certificate.publicKey.rawData));
    if (!keyMatches) return 'key does not match';
  } catch {
    return 'unreadable key';
  }
  const san = certificate.getExtension(x509.SubjectAlternativeNameExtension);
  const have = new Set(
    (san?.names.toJSON() ?? []).map((name) => canonicalHost(name.value, name.type === 'ip')),
  );
  const want = new Set(publicHosts.map((host) => canonicalHost(host, isIP(host) !== 0)));
  if (have.size !== want.size || [...want].some((host) => !have.has(host))) return 'public hosts changed';
  return undefined;
}

function canonicalHost(host: string, ip: boolean): string {
  if (!ip) return `dns:${host.toLowerCase()}`;
  try {
    return `ip:${new URL(`http://${host.includes(':') ? `[${host}]` : host}/`).hostname}`;
  } catch {
    return `ip:${host}`;
  }
}

/** 16 random bytes, positive and without a leading zero byte (DER integers must be minimal). */
function randomSerial(): string {
  const bytes = randomBytes(16);
  bytes[0] = ((bytes[0] ?? 0) & 0x7f) | 0x01;
  return bytes.toString('hex');
}

async function exportPrivateKeyPem(key: CryptoKey): Promise<string> {
  const der = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', key));
  const body = der
    .toString('base64')
    .replace(/(.{64})/g, '$1\n')
    .replace(/\n$/, '');
  return `-----BEGIN PRIVATE KEY-----\n${body}\n-----END PRIVATE KEY-----\n`;
}
