// @peculiar/x509 resolves its ASN.1 helpers through tsyringe, which needs the Reflect polyfill.
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { spawn, type ChildProcess } from 'node:child_process';
import { KeyObject, randomBytes, webcrypto } from 'node:crypto';
import { accessSync, constants, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { get as httpsGet } from 'node:https';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { freePort } from './processes.js';

/**
 * A private ACME CA for one test file: Let's Encrypt's `pebble` on loopback, with
 * `pebble-challtestsrv` as its DNS server only, so that every name the test orders resolves to
 * `resolveTo` and pebble validates HTTP-01 against the test's own challenge server. Nothing leaves
 * the machine, and nothing is trusted outside the test: the CA of pebble's HTTPS listener is made
 * here and handed back, and pebble's issuing root exists only while pebble runs.
 */

export const PEBBLE_INSTALL_HINT = 'pebble is not installed: apt-get install -y pebble';

export interface AcmeServerOptions {
  /** The port pebble connects to on `resolveTo` to validate HTTP-01 challenges. */
  httpPort: number;
  /** The IPv4 address every name resolves to (pebble's mock DNS answers A queries with it). */
  resolveTo: string;
  /** How long issued certificates are valid; pebble's default is five years. */
  certificateValiditySeconds?: number;
}

export interface AcmeServer {
  /** The ACME directory, over HTTPS on a loopback port. */
  directoryUrl: string;
  /** The CA that signed pebble's own HTTPS listener: give it to AcmeIssuer as `caBundlePem`. */
  caBundlePem: string;
  /** The root that signs issued certificates (pebble makes a new one at every start). */
  rootPem(): Promise<string>;
  /** Output of pebble and its DNS server, to print when a test fails. */
  logs(): string;
  stop(): Promise<void>;
}

const EC_P256 = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
const STARTUP_TIMEOUT_MS = 15_000;
const STOP_GRACE_MS = 5_000;
/** Enough of each process's output to explain a failure, without growing without bound. */
const LOG_TAIL_CHARS = 200_000;

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

export async function startAcmeServer(options: AcmeServerOptions): Promise<AcmeServer> {
  const pebbleBinary = findOnPath('pebble');
  const challtestsrvBinary = findOnPath('pebble-challtestsrv');
  if (!pebbleBinary || !challtestsrvBinary) throw new Error(PEBBLE_INSTALL_HINT);

  const dir = mkdtempSync(join(tmpdir(), 'berth-acme-'));
  const processes: LoggedProcess[] = [];
  const stop = async () => {
    await Promise.all(processes.map((child) => child.stop()));
    rmSync(dir, { recursive: true, force: true });
  };
  const logs = () => processes.map((child) => `--- ${child.label}\n${child.output()}`).join('\n');

  try {
    const listener = await createListenerCertificate();
    writeFileSync(join(dir, 'cert.pem'), listener.certificatePem);
    writeFileSync(join(dir, 'key.pem'), listener.privateKeyPem, { mode: 0o600 });

    const [dnsPort, dnsManagementPort, acmePort, managementPort, tlsPort] = [
      await freePort(),
      await freePort(),
      await freePort(),
      await freePort(),
      await freePort(),
    ];

    // Only the mock DNS: the test serves HTTP-01 itself, so challtestsrv's challenge listeners stay
    // off (their defaults listen on every interface). An empty IPv6 answer keeps pebble on IPv4.
    const dns = new LoggedProcess('pebble-challtestsrv', challtestsrvBinary, [
      '-dns01',
      `127.0.0.1:${dnsPort}`,
      '-management',
      `127.0.0.1:${dnsManagementPort}`,
      '-defaultIPv4',
      options.resolveTo,
      '-defaultIPv6',
      '',
      '-http01',
      '',
      '-https01',
      '',
      '-tlsalpn01',
      '',
    ]);
    processes.push(dns);
    await waitFor('pebble-challtestsrv to listen', dns, logs, () => canConnect(dnsManagementPort));

    const config = {
      pebble: {
        listenAddress: `127.0.0.1:${acmePort}`,
        managementListenAddress: `127.0.0.1:${managementPort}`,
        certificate: join(dir, 'cert.pem'),
        privateKey: join(dir, 'key.pem'),
        httpPort: options.httpPort,
        // TLS-ALPN-01 is never offered by the issuer; a free port keeps a stray attempt harmless.
        tlsPort,
        ocspResponderURL: '',
        externalAccountBindingRequired: false,
        ...(options.certificateValiditySeconds === undefined
          ? {}
          : { certificateValidityPeriod: options.certificateValiditySeconds }),
      },
    };
    const configFile = join(dir, 'pebble.json');
    writeFileSync(configFile, JSON.stringify(config, null, 2));

    const pebble = new LoggedProcess(
      'pebble',
      pebbleBinary,
      ['-config', configFile, '-dnsserver', `127.0.0.1:${dnsPort}`],
      {
        // Validate at once (pebble otherwise sleeps up to 15 s per challenge), never reject a good
        // nonce on purpose, and validate every order afresh: the tests want pebble's ACME, not its
        // chaos. A minimal environment, so that no proxy variable of the caller reaches pebble.
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        PEBBLE_VA_NOSLEEP: '1',
        PEBBLE_WFE_NONCEREJECT: '0',
        PEBBLE_AUTHZREUSE: '0',
      },
    );
    processes.push(pebble);

    const directoryUrl = `https://127.0.0.1:${acmePort}/dir`;
    const caBundlePem = listener.caPem;
    await waitFor('pebble to answer its ACME directory', pebble, logs, async () => {
      const response = await httpsGetText(directoryUrl, caBundlePem);
      return response.status === 200;
    });

    return {
      directoryUrl,
      caBundlePem,
      rootPem: async () => {
        const response = await httpsGetText(`https://127.0.0.1:${managementPort}/roots/0`, caBundlePem);
        if (response.status !== 200) {
          throw new Error(`pebble's management interface answered ${response.status} for /roots/0`);
        }
        return response.body;
      },
      logs,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** A throwaway CA and a certificate for 127.0.0.1 and localhost, for pebble's HTTPS listeners. */
async function createListenerCertificate(): Promise<{
  caPem: string;
  certificatePem: string;
  privateKeyPem: string;
}> {
  const now = Date.now();
  const notBefore = new Date(now - 60_000);
  const notAfter = new Date(now + 24 * 3600_000);
  const caKeys = await webcrypto.subtle.generateKey(EC_P256, true, ['sign', 'verify']);
  const ca = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerial(),
    name: [{ CN: [`Berth test ACME listener CA ${randomBytes(4).toString('hex')}`] }],
    notBefore,
    notAfter,
    keys: caKeys,
    signingAlgorithm: EC_P256,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(caKeys.publicKey),
    ],
  });
  const leafKeys = await webcrypto.subtle.generateKey(EC_P256, true, ['sign', 'verify']);
  const leaf = await x509.X509CertificateGenerator.create({
    serialNumber: randomSerial(),
    subject: [{ CN: ['localhost'] }],
    issuer: ca.subjectName,
    notBefore,
    notAfter,
    publicKey: leafKeys.publicKey,
    signingKey: caKeys.privateKey,
    signingAlgorithm: EC_P256,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth], false),
      new x509.SubjectAlternativeNameExtension(
        [
          { type: 'ip', value: '127.0.0.1' },
          { type: 'dns', value: 'localhost' },
        ],
        false,
      ),
      await x509.AuthorityKeyIdentifierExtension.create(caKeys.publicKey),
    ],
  });
  return {
    caPem: ca.toString('pem'),
    certificatePem: leaf.toString('pem'),
    privateKeyPem: KeyObject.from(leafKeys.privateKey).export({ type: 'pkcs8', format: 'pem' }).toString(),
  };
}

/** A child process with its output kept, stopped by its pid: SIGTERM, then SIGKILL after 5 s. */
class LoggedProcess {
  private readonly child: ChildProcess;
  private readonly exited: Promise<void>;
  private text = '';

  constructor(
    readonly label: string,
    binary: string,
    args: string[],
    env: NodeJS.ProcessEnv = { PATH: process.env.PATH ?? '/usr/bin:/bin' },
  ) {
    this.child = spawn(binary, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    const collect = (chunk: Buffer) => {
      this.text = (this.text + chunk.toString('utf8')).slice(-LOG_TAIL_CHARS);
    };
    this.child.stdout?.on('data', collect);
    this.child.stderr?.on('data', collect);
    this.child.on('error', (error) => collect(Buffer.from(`[spawn error: ${error.message}]\n`)));
    this.exited = new Promise((resolve) => {
      this.child.on('close', (code, signal) => {
        collect(Buffer.from(`[exit code=${code} signal=${signal}]\n`));
        resolve();
      });
    });
  }

  get running(): boolean {
    return this.child.pid !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  output(): string {
    return this.text;
  }

  async stop(): Promise<void> {
    const pid = this.child.pid;
    if (pid === undefined || !this.running) return;
    signalPid(pid, 'SIGTERM');
    const timer = setTimeout(() => signalPid(pid, 'SIGKILL'), STOP_GRACE_MS);
    await this.exited;
    clearTimeout(timer);
  }
}

function signalPid(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // Gone already: exactly what stop wants.
  }
}

async function waitFor(
  what: string,
  child: LoggedProcess,
  logs: () => string,
  probe: () => Promise<boolean>,
): Promise<void> {
  const deadline = Date.now() + STARTUP_TIMEOUT_MS;
  let lastError: unknown;
  for (;;) {
    if (!child.running) throw new Error(`${child.label} exited while waiting for ${what}:\n${logs()}`);
    try {
      if (await probe()) return;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      const reason = lastError instanceof Error ? ` (last error: ${lastError.message})` : '';
      throw new Error(`timed out waiting for ${what}${reason}:\n${logs()}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** A GET that trusts only `ca` (fetch cannot be given a CA per request). */
function httpsGetText(url: string, ca: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const request = httpsGet(url, { ca, timeout: 5_000 }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
      response.on('error', reject);
    });
    request.on('timeout', () => request.destroy(new Error(`no answer from ${url} within 5 s`)));
    request.on('error', reject);
  });
}

function findOnPath(binary: string): string | undefined {
  for (const dir of (process.env.PATH ?? '/usr/bin:/bin').split(delimiter)) {
    const candidate = join(dir, binary);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // Not in this directory.
    }
  }
  return undefined;
}

/** 16 random bytes, positive and without a leading zero byte (DER integers must be minimal). */
function randomSerial(): string {
  const bytes = randomBytes(16);
  bytes[0] = ((bytes[0] ?? 0) & 0x7f) | 0x01;
  return bytes.toString('hex');
}
