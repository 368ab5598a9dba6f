// @peculiar/x509 resolves its ASN.1 helpers through tsyringe, which needs the Reflect polyfill.
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { KeyObject, webcrypto } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { connect, createServer as createTlsServer } from 'node:tls';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startAcmeServer, type AcmeServer } from '../../../test/support/acme-server.js';
import { freePort } from '../../../test/support/processes.js';
import {
  AcmeIssueError,
  AcmeIssueErrorCode,
  AcmeIssuer,
  createAccountKeyPem,
  fromJsonCertificate,
  toJsonCertificate,
  type AcmeOrderTicket,
  type Http01ChallengeResponder,
} from './acme-issuer.js';

const EC_P256 = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
const CHALLENGE_PATH = '/.well-known/acme-challenge/';

/** What a web server does for HTTP-01: serves key authorizations by token, and records who asked. */
class ChallengeSite {
  readonly served = new Map<string, string>();
  readonly asked: Array<{ host: string | undefined; token: string }> = [];
  puts = 0;
  removes = 0;
  /** When set, every challenge request gets 404, as from a vhost that does not serve the path. */
  broken = false;
  private readonly server: Server;

  constructor() {
    this.server = createServer((request, response) => {
      const url = request.url ?? '';
      if (!url.startsWith(CHALLENGE_PATH)) {
        response.writeHead(404).end();
        return;
      }
      const token = url.slice(CHALLENGE_PATH.length);
      this.asked.push({ host: request.headers.host, token });
      const keyAuthorization = this.served.get(token);
      if (this.broken || keyAuthorization === undefined) {
        response.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
        return;
      }
      response.writeHead(200, { 'content-type': 'text/plain' }).end(keyAuthorization);
    });
  }

  readonly responder: Http01ChallengeResponder = {
    put: (token, keyAuthorization) => {
      this.puts += 1;
      this.served.set(token, keyAuthorization);
      return Promise.resolve();
    },
    remove: (token) => {
      this.removes += 1;
      this.served.delete(token);
      return Promise.resolve();
    },
  };

  async listen(port: number): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, '127.0.0.1', () => resolve());
    });
  }

  async close(): Promise<void> {
    if (!this.server.listening) return;
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  reset(): void {
    this.served.clear();
    this.asked.length = 0;
    this.puts = 0;
    this.removes = 0;
    this.broken = false;
  }
}

/** A site key and its CSR, made the way an agent makes them: the key never leaves the test. */
async function makeSiteCsr(names: string[]): Promise<{ csrPem: string; privateKeyPem: string }> {
  const keys = await webcrypto.subtle.generateKey(EC_P256, true, ['sign', 'verify']);
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: [{ CN: [names[0] ?? 'site'] }],
    keys,
    signingAlgorithm: EC_P256,
    extensions: [new x509.SubjectAlternativeNameExtension(names.map((value) => ({ type: 'dns', value })))],
  });
  return {
    csrPem: csr.toString('pem'),
    privateKeyPem: KeyObject.from(keys.privateKey).export({ type: 'pkcs8', format: 'pem' }).toString(),
  };
}

/** Serves key + chain over TLS and connects trusting `ca` only, as a browser would with that root. */
async function tlsHandshake(
  identity: { privateKeyPem: string; certificatePem: string },
  ca: string,
  servername: string,
): Promise<{ authorized: boolean; authorizationError: string | undefined }> {
  const server = createTlsServer({ key: identity.privateKeyPem, cert: identity.certificatePem }, (socket) =>
    socket.end(),
  );
  try {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    const { port } = server.address() as AddressInfo;
    return await new Promise((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', port, ca, servername, rejectUnauthorized: false }, () => {
        // Typed as an Error, but null when the peer is authorized.
        const authorizationError = socket.authorizationError as Error | null;
        resolve({ authorized: socket.authorized, authorizationError: authorizationError?.message });
        socket.destroy();
      });
      socket.once('error', reject);
    });
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

/** What a task does with a ticket: records it as JSON and reads it back. */
function recorded<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

async function issueError(promise: Promise<unknown>): Promise<AcmeIssueError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(AcmeIssueError);
    return error as AcmeIssueError;
  }
  throw new Error('expected the issuance to fail');
}

describe('AcmeIssuer against pebble', () => {
  const site = new ChallengeSite();
  let acme: AcmeServer | undefined;
  let issuer: AcmeIssuer;

  beforeAll(async () => {
    const httpPort = await freePort();
    await site.listen(httpPort);
    acme = await startAcmeServer({ httpPort, resolveTo: '127.0.0.1', certificateValiditySeconds: 3600 });
    issuer = new AcmeIssuer({
      directoryUrl: acme.directoryUrl,
      caBundlePem: acme.caBundlePem,
      accountKeyPem: await createAccountKeyPem(),
      contactEmail: 'ops@berth.test',
    });
  });

  afterEach(({ task }) => {
    if (task.result?.state === 'fail' && acme) console.error(acme.logs());
    site.reset();
  });

  afterAll(async () => {
    await acme?.stop();
    await site.close();
  });

  it('issues a chain for both names that verifies against pebble’s root, and withdraws the challenges', async () => {
    const names = ['site.test', 'www.site.test'];
    const { csrPem, privateKeyPem } = await makeSiteCsr(names);
    const progress: string[] = [];

    const issued = await issuer.issue({
      csrPem,
      names,
      challenge: site.responder,
      onProgress: (line) => progress.push(line),
    });

    expect([...issued.names].sort()).toEqual(names);
    const validitySeconds = (issued.notAfter.getTime() - issued.notBefore.getTime()) / 1000;
    expect(validitySeconds).toBeGreaterThan(3500);
    expect(validitySeconds).toBeLessThanOrEqual(3600);
    expect(Math.abs(issued.notBefore.getTime() - Date.now())).toBeLessThan(5 * 60_000);
    expect(issued.serial).toMatch(/^[0-9a-f]+$/);
    expect(issued.issuer).toMatch(/Pebble Intermediate CA/);
    expect(x509.PemConverter.decode(issued.certificatePem).length).toBeGreaterThanOrEqual(2);

    const root = await acme!.rootPem();
    for (const servername of names) {
      const handshake = await tlsHandshake(
        { privateKeyPem, certificatePem: issued.certificatePem },
        root,
        servername,
      );
      expect(handshake).toEqual({ authorized: true, authorizationError: undefined });
    }
    // The listener CA the issuer trusted for the directory does not make the issued chain valid.
    const untrusted = await tlsHandshake(
      { privateKeyPem, certificatePem: issued.certificatePem },
      acme!.caBundlePem,
      'site.test',
    );
    expect(untrusted.authorized).toBe(false);

    expect(site.puts).toBe(2);
    expect(site.removes).toBe(2);
    expect(site.served.size).toBe(0);
    expect(new Set(site.asked.map((request) => request.host?.replace(/:\d+$/, '')))).toEqual(new Set(names));
    expect(progress.some((line) => line.includes('validated'))).toBe(true);
  });

  it('trusts the CA bundle for its own requests only, even while another issuer runs', async () => {
    // Same CA, same moment, no bundle: if the bundle leaked into acme-client's shared axios
    // instance, this issuer would register its account in milliseconds and go on to order.
    const untrusting = new AcmeIssuer({
      directoryUrl: acme!.directoryUrl,
      accountKeyPem: await createAccountKeyPem(),
    });
    const untrustingProgress: string[] = [];
    const untrustingSite = new ChallengeSite();
    const [trusted, refused] = await Promise.allSettled([
      makeSiteCsr(['trusted.site.test']).then(({ csrPem }) =>
        issuer.issue({ csrPem, names: ['trusted.site.test'], challenge: site.responder }),
      ),
      makeSiteCsr(['untrusted.site.test']).then(({ csrPem }) =>
        untrusting.issue({
          csrPem,
          names: ['untrusted.site.test'],
          challenge: untrustingSite.responder,
          onProgress: (line) => untrustingProgress.push(line),
          signal: AbortSignal.timeout(2_000),
        }),
      ),
    ]);

    expect(trusted.status).toBe('fulfilled');
    expect(refused.status).toBe('rejected');
    const error = (refused as PromiseRejectedResult).reason as AcmeIssueError;
    expect(error.code).toBe(AcmeIssueErrorCode.Aborted);
    expect(untrustingProgress).toEqual([]);
    expect(untrustingSite.puts).toBe(0);
  });

  it('finds its ACME account again by its key, as a restarted master does', async () => {
    const accountKeyPem = await createAccountKeyPem();
    const options = { directoryUrl: acme!.directoryUrl, caBundlePem: acme!.caBundlePem, accountKeyPem };
    // The second finds the account and adds the contact address the first did not give.
    const restarted = new AcmeIssuer({ ...options, contactEmail: 'certificates@berth.test' });
    for (const issuing of [new AcmeIssuer(options), restarted]) {
      const { csrPem } = await makeSiteCsr(['again.site.test']);
      const issued = await issuing.issue({ csrPem, names: ['again.site.test'], challenge: site.responder });
      expect(issued.names).toEqual(['again.site.test']);
    }
  });

  it('refuses a CSR that names a name not asked for, before ordering anything', async () => {
    const { csrPem } = await makeSiteCsr(['site.test', 'evil.test']);
    const progress: string[] = [];

    const error = await issueError(
      issuer.issue({
        csrPem,
        names: ['site.test'],
        challenge: site.responder,
        onProgress: (line) => progress.push(line),
      }),
    );

    expect(error.code).toBe(AcmeIssueErrorCode.CsrNamesMismatch);
    expect(error.message).toContain('evil.test');
    expect(progress).toEqual([]);
    expect(site.puts).toBe(0);
    expect(site.asked).toEqual([]);
  });

  it('fails with the CA’s reason, naming the domain, when the challenge is not served', async () => {
    site.broken = true;
    const { csrPem } = await makeSiteCsr(['broken.site.test']);

    const error = await issueError(
      issuer.issue({ csrPem, names: ['broken.site.test'], challenge: site.responder }),
    );

    expect(error.code).toBe(AcmeIssueErrorCode.ChallengeFailed);
    expect(error.message).toMatch(/^the CA refused the HTTP-01 challenge for broken\.site\.test: \S/);
    expect(error.message).not.toContain('\n');
    expect(site.asked.length).toBeGreaterThan(0);
    expect(site.puts).toBe(1);
    expect(site.removes).toBe(1);
    expect(site.served.size).toBe(0);
  });

  it('runs openOrder, validate and finish on three issuers of one account, as across master restarts', async () => {
    const accountKeyPem = await createAccountKeyPem();
    const options = { directoryUrl: acme!.directoryUrl, caBundlePem: acme!.caBundlePem, accountKeyPem };
    const names = ['phases.site.test', 'www.phases.site.test'];
    const { csrPem, privateKeyPem } = await makeSiteCsr(names);
    const progress: string[] = [];
    const onProgress = (line: string) => progress.push(line);

    const ticket = recorded(await new AcmeIssuer(options).openOrder(names, { onProgress }));

    expect(ticket.names).toEqual(names);
    expect(ticket.orderUrl).toMatch(/^https:\/\//);
    expect(ticket.order).toMatchObject({ url: ticket.orderUrl, status: 'pending' });
    expect(ticket.challenges.map((challenge) => challenge.name).sort()).toEqual(names);
    for (const challenge of ticket.challenges) {
      expect(challenge.keyAuthorization.startsWith(`${challenge.token}.`)).toBe(true);
    }
    expect(site.asked).toEqual([]);

    // The agent steps between the effects: serve the files, then withdraw them.
    for (const challenge of ticket.challenges) site.served.set(challenge.token, challenge.keyAuthorization);
    await new AcmeIssuer(options).validate(ticket, { onProgress });
    expect(new Set(site.asked.map((request) => request.host?.replace(/:\d+$/, '')))).toEqual(new Set(names));
    site.served.clear();

    const issued = await new AcmeIssuer(options).finish(ticket, csrPem, { onProgress });

    expect([...issued.names].sort()).toEqual(names);
    const root = await acme!.rootPem();
    for (const servername of names) {
      const handshake = await tlsHandshake(
        { privateKeyPem, certificatePem: issued.certificatePem },
        root,
        servername,
      );
      expect(handshake).toEqual({ authorized: true, authorizationError: undefined });
    }
    expect(progress.some((line) => line.includes('validated'))).toBe(true);
    expect(progress).toContain('downloaded the certificate chain');
  });

  it('validates and finishes a replayed ticket again, giving the same certificate', async () => {
    const accountKeyPem = await createAccountKeyPem();
    const options = { directoryUrl: acme!.directoryUrl, caBundlePem: acme!.caBundlePem, accountKeyPem };
    const first = new AcmeIssuer(options);
    const restarted = new AcmeIssuer(options);
    const names = ['replay.site.test'];
    const { csrPem } = await makeSiteCsr(names);
    const ticket: AcmeOrderTicket = recorded(await first.openOrder(names));

    for (const challenge of ticket.challenges) site.served.set(challenge.token, challenge.keyAuthorization);
    await first.validate(ticket);
    site.served.clear();
    const asked = site.asked.length;
    // Replayed after the files are gone: the CA is not asked to validate again.
    await first.validate(ticket);
    await restarted.validate(ticket);
    expect(site.asked.length).toBe(asked);

    // A CSR for other names is refused before anything reaches the CA.
    const { csrPem: otherNamesCsr } = await makeSiteCsr(['replay.site.test', 'other.site.test']);
    const mismatch = await issueError(restarted.finish(ticket, otherNamesCsr));
    expect(mismatch.code).toBe(AcmeIssueErrorCode.CsrNamesMismatch);

    const issued = await first.finish(ticket, csrPem);
    const again = await restarted.finish(ticket, csrPem);
    expect(again.serial).toBe(issued.serial);
    expect(again.certificatePem).toBe(issued.certificatePem);
    expect(fromJsonCertificate(recorded(toJsonCertificate(issued)))).toEqual(issued);

    // Finalized already: a CSR for another key cannot get this order's certificate.
    const { csrPem: otherKeyCsr } = await makeSiteCsr(names);
    const otherKey = await issueError(restarted.finish(ticket, otherKeyCsr));
    expect(otherKey.code).toBe(AcmeIssueErrorCode.CertificateInvalid);
    expect(otherKey.message).toContain('already finalized with another CSR');
  });
});
