/**
 * Issues certificates from an ACME CA (RFC 8555: Let's Encrypt, or pebble in tests) with HTTP-01
 * challenges. The private key of a site never reaches the master: the agent generates it and sends
 * a CSR, and this class turns the CSR into a certificate chain. It knows nothing of NestJS or tasks,
 * so that a test can run it against pebble. A task runs it in three phases (openOrder, validate,
 * finish), each one self-contained call whose result is plain JSON, so that the task can record
 * each and let agent steps serve the challenges between them; issue() runs the three in one call.
 */
// @peculiar/x509 resolves its ASN.1 helpers through tsyringe, which needs the Reflect polyfill.
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { Client, axios as acmeAxios, type Authorization, type Order } from 'acme-client';
import { AsyncLocalStorage } from 'node:async_hooks';
import { createPrivateKey, generateKeyPair, webcrypto } from 'node:crypto';
import { Agent as HttpsAgent } from 'node:https';
import { isIP } from 'node:net';
import { rootCertificates } from 'node:tls';
import { promisify } from 'node:util';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

export interface AcmeIssuerOptions {
  /** The CA's ACME directory, e.g. https://acme-v02.api.letsencrypt.org/directory. */
  directoryUrl: string;
  /** An extra CA the directory's HTTPS is checked against (pebble's); absent: Node's default roots. */
  caBundlePem?: string;
  /** The ACME account's private key (createAccountKeyPem); the account is found again by this key. */
  accountKeyPem: string;
  /** Where the CA sends expiry and policy notices. */
  contactEmail?: string;
}

/** Serves and withdraws HTTP-01 key authorizations at /.well-known/acme-challenge/<token>. */
export interface Http01ChallengeResponder {
  put(token: string, keyAuthorization: string): Promise<void>;
  remove(token: string): Promise<void>;
}

export interface IssueRequest {
  /** PKCS#10, PEM, made where the private key lives (the agent). */
  csrPem: string;
  /** Every DNS name of the certificate; the CSR must name exactly these. */
  names: string[];
  challenge: Http01ChallengeResponder;
  /** One line per stage, for the task's log. */
  onProgress?: (line: string) => void;
  signal?: AbortSignal;
}

export interface IssuedCertificate {
  /** Full chain, leaf first, as the CA sent it. */
  certificatePem: string;
  notBefore: Date;
  notAfter: Date;
  /** The leaf's serial number, lowercase hex. */
  serial: string;
  /** The leaf's DNS names. */
  names: string[];
  /** The leaf's issuer distinguished name. */
  issuer: string;
}

/** What every phase of an issuance accepts. */
export interface AcmePhaseOptions {
  /** One line per stage, for the task's log. */
  onProgress?: (line: string) => void;
  signal?: AbortSignal;
}

/**
 * An open order as a task records it: plain JSON, enough for any issuer with the same account key
 * (another master, or this one after a restart) to validate and finish it.
 */
export interface AcmeOrderTicket {
  orderUrl: string;
  /** acme-client's Order as the CA last described it (url, finalize, authorizations, status...). */
  order: Record<string, unknown>;
  /** The names ordered, normalized (lowercase, without duplicates). */
  names: string[];
  /** What to serve before validate: one per authorization still to prove (valid ones omitted). */
  challenges: Array<{
    /** The DNS name the challenge proves. */
    name: string;
    /** The challenge's URL at the CA. */
    url: string;
    /** Serve at http://<name>/.well-known/acme-challenge/<token>... */
    token: string;
    /** ...this body. */
    keyAuthorization: string;
  }>;
}

/** An IssuedCertificate as plain JSON (toJsonCertificate), dates in ISO 8601. */
export interface IssuedCertificateJson {
  certificatePem: string;
  notBefore: string;
  notAfter: string;
  serial: string;
  names: string[];
  issuer: string;
}

export const AcmeIssueErrorCode = {
  /** The names asked for are empty, a wildcard (HTTP-01 cannot prove those) or an IP address. */
  NamesInvalid: 'NAMES_INVALID',
  /** The CSR cannot be read, or is not signed by its own key. */
  CsrInvalid: 'CSR_INVALID',
  /** The CSR names other names than the ones asked for. */
  CsrNamesMismatch: 'CSR_NAMES_MISMATCH',
  /** No answer, or no trusted HTTPS, from the CA's directory. */
  CaUnreachable: 'CA_UNREACHABLE',
  /** The CA answered with an ACME problem (account, order or finalization). */
  CaRefused: 'CA_REFUSED',
  /** The CA could not validate an HTTP-01 challenge. */
  ChallengeFailed: 'CHALLENGE_FAILED',
  /** The CA took longer than we wait for a validation or for the certificate. */
  TimedOut: 'TIMED_OUT',
  /** The caller's signal aborted the issuance. */
  Aborted: 'ABORTED',
  /** The CA sent a certificate that does not match the request. */
  CertificateInvalid: 'CERTIFICATE_INVALID',
  /** An order ticket that is malformed, or no longer matches its order at the CA. */
  TicketInvalid: 'TICKET_INVALID',
} as const;
export type AcmeIssueErrorCode = (typeof AcmeIssueErrorCode)[keyof typeof AcmeIssueErrorCode];

export class AcmeIssueError extends Error {
  readonly code: AcmeIssueErrorCode;

  constructor(code: AcmeIssueErrorCode, message: string, options?: { cause?: unknown }) {
    super(oneLine(message), options);
    this.name = 'AcmeIssueError';
    this.code = code;
  }
}

/** A new ECDSA P-256 key for an ACME account, PKCS#8 PEM. */
export async function createAccountKeyPem(): Promise<string> {
  const { privateKey } = await promisify(generateKeyPair)('ec', {
    namedCurve: 'P-256',
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  });
  return privateKey;
}

/** Each ACME request; acme-client sets none, and a CA that stops answering must not hold a task forever. */
const REQUEST_TIMEOUT_MS = 30_000;
/** Validation and finalization usually take seconds at Let's Encrypt; a minute or two is unusual. */
const POLL_TIMEOUT_MS = 180_000;
const POLL_FIRST_DELAY_MS = 500;
const POLL_MAX_DELAY_MS = 8_000;

/**
 * What this issuer's requests need from acme-client's HTTP client. acme-client sends every request
 * through one axios instance shared by all its clients and has no per-client agent option, so a
 * CA set on that instance's defaults would apply to every issuer in the process. Instead one
 * interceptor reads the scope of the issuance it runs under (AsyncLocalStorage follows the promise
 * chain of that call only), and requests outside any scope are left untouched.
 */
interface RequestScope {
  httpsAgent: HttpsAgent | undefined;
  signal: AbortSignal | undefined;
}

type HttpChallenge = Extract<Authorization['challenges'][number], { type: 'http-01' }>;

const requestScope = new AsyncLocalStorage<RequestScope>();

acmeAxios.interceptors.request.use((config) => {
  const scope = requestScope.getStore();
  if (!scope) return config;
  // Thrown here, the error skips acme-client's retries (it retries only errors carrying a config).
  scope.signal?.throwIfAborted();
  if (scope.httpsAgent) config.httpsAgent = scope.httpsAgent;
  if (scope.signal) config.signal = scope.signal;
  config.timeout = REQUEST_TIMEOUT_MS;
  return config;
});

export class AcmeIssuer {
  private readonly client: Client;
  private readonly httpsAgent: HttpsAgent | undefined;
  /**
   * Registered once per issuer. Registering is idempotent at the CA (the account is found again by
   * its key), so two first calls at once may both register, and a failure is retried next time.
   * It also gives acme-client the account URL, which every request after it is signed with: an
   * issuer resuming another's ticket finds it here, by the shared account key.
   */
  private accountRegistered = false;

  constructor(private readonly options: AcmeIssuerOptions) {
    try {
      createPrivateKey(options.accountKeyPem);
    } catch (error) {
      throw new Error('accountKeyPem is not a PEM private key: create one with createAccountKeyPem()', {
        cause: error,
      });
    }
    this.httpsAgent =
      options.caBundlePem === undefined
        ? undefined
        : new HttpsAgent({ ca: [...rootCertificates, options.caBundlePem] });
    // Polling is done here (pollOrder) so that it can be aborted; acme-client's own backoff is unused.
    this.client = new Client({ directoryUrl: options.directoryUrl, accountKey: options.accountKeyPem });
  }

  /**
   * The whole issuance in one call, for a caller that can publish challenges itself: the three
   * phases below, with the challenges published between openOrder and validate and withdrawn
   * whatever validate did.
   */
  async issue(request: IssueRequest): Promise<IssuedCertificate> {
    const names = normalizeNames(request.names);
    const csrPublicKey = await checkCsrNames(request.csrPem, names);
    const phase: AcmePhaseOptions = { signal: request.signal, onProgress: request.onProgress };
    const ticket = await this.openOrder(names, phase);

    const published: AcmeOrderTicket['challenges'] = [];
    try {
      for (const challenge of ticket.challenges) {
        if (request.signal?.aborted) throw abortedError(names, request.signal.reason);
        // Recorded before the call: a put that fails halfway may still have written something.
        published.push(challenge);
        try {
          await request.challenge.put(challenge.token, challenge.keyAuthorization);
        } catch (error) {
          throw new AcmeIssueError(
            AcmeIssueErrorCode.ChallengeFailed,
            `could not publish the HTTP-01 challenge for ${challenge.name}: ${messageOf(error)}`,
            { cause: error },
          );
        }
        request.onProgress?.(`serving the HTTP-01 challenge for ${challenge.name}`);
      }
      await this.validate(ticket, phase);
    } finally {
      // A failure here is reported, not thrown, so that it cannot mask the outcome.
      for (const challenge of published) {
        try {
          await request.challenge.remove(challenge.token);
        } catch (error) {
          request.onProgress?.(
            `could not withdraw the HTTP-01 challenge for ${challenge.name}: ${messageOf(error)}`,
          );
        }
      }
    }
    return this.inScope(names, phase, (exchange) =>
      exchange.finish(readTicket(ticket).order, request.csrPem, csrPublicKey),
    );
  }

  /**
   * Registers (or finds) the account, creates the order and lists the HTTP-01 challenges to serve:
   * serve each `keyAuthorization` at /.well-known/acme-challenge/<token> of its name, then validate.
   */
  async openOrder(names: string[], options: AcmePhaseOptions = {}): Promise<AcmeOrderTicket> {
    const normalized = normalizeNames(names);
    return this.inScope(normalized, options, (exchange) => exchange.open());
  }

  /**
   * Asks the CA to validate every challenge of the ticket (they must be served by now) and waits
   * until the order is ready; throws the CA's reason, naming the domain, when it refuses one. Safe
   * to call again for the same ticket: challenges already validated are not asked for again.
   */
  async validate(ticket: AcmeOrderTicket, options: AcmePhaseOptions = {}): Promise<void> {
    const resumed = readTicket(ticket);
    return this.inScope(resumed.names, options, (exchange) =>
      exchange.validate(resumed.order, resumed.challenges),
    );
  }

  /**
   * Finalizes the validated order with the CSR (which must name exactly the ticket's names; checked
   * before anything is sent), waits for the certificate, downloads it and checks it against the
   * CSR's key and the names. Safe to call again after the CA issued: an order already `valid` is
   * only downloaded again, and gives the same certificate.
   */
  async finish(
    ticket: AcmeOrderTicket,
    csrPem: string,
    options: AcmePhaseOptions = {},
  ): Promise<IssuedCertificate> {
    const resumed = readTicket(ticket);
    const csrPublicKey = await checkCsrNames(csrPem, resumed.names);
    return this.inScope(resumed.names, options, (exchange) =>
      exchange.finish(resumed.order, csrPem, csrPublicKey),
    );
  }

  /** Runs a phase under this issuer's request scope (CA bundle, signal), with the account ensured. */
  private inScope<T>(
    names: string[],
    options: AcmePhaseOptions,
    phase: (exchange: Exchange) => Promise<T>,
  ): Promise<T> {
    const exchange = new Exchange(this.client, this.options.directoryUrl, names, options);
    return requestScope.run({ httpsAgent: this.httpsAgent, signal: options.signal }, async () => {
      await exchange.step('register the ACME account', () => this.ensureAccount());
      return phase(exchange);
    });
  }

  /**
   * Looks the account up by its key first, and creates it only when the CA knows no such account.
   * acme-client's createAccount alone does not do for an existing account: on the CA's "exists"
   * answer it repeats the request's fields as an update, and an update that carries only
   * termsOfServiceAgreed is refused as empty by pebble (RFC 8555 wants POST-as-GET there).
   */
  private async ensureAccount(): Promise<void> {
    if (this.accountRegistered) return;
    const contact = this.options.contactEmail ? [`mailto:${this.options.contactEmail}`] : undefined;
    let existing: { contact?: string[] } | undefined;
    try {
      existing = await this.client.createAccount({ onlyReturnExisting: true });
    } catch (error) {
      // The CA's accountDoesNotExist reaches us as a bare Error (acme-client keeps only the
      // detail), so any refusal means "create"; a transport failure is not a refusal.
      if (isAxiosError(error)) throw error;
    }
    if (!existing) {
      await this.client.createAccount({ termsOfServiceAgreed: true, ...(contact ? { contact } : {}) });
    } else if (contact && contact.some((address) => !existing.contact?.includes(address))) {
      await this.client.updateAccount({ contact });
    }
    this.accountRegistered = true;
  }
}

/** A ticket read back from storage, checked, with acme-client's order rebuilt from it. */
interface ResumedTicket {
  order: Order;
  names: string[];
  challenges: AcmeOrderTicket['challenges'];
}

/**
 * Checks a ticket that may come from a task's stored record (another process, another version)
 * before anything is sent on its behalf, and rebuilds the Order acme-client wants from it.
 */
function readTicket(ticket: AcmeOrderTicket): ResumedTicket {
  const invalid = (what: string) =>
    new AcmeIssueError(AcmeIssueErrorCode.TicketInvalid, `the order ticket ${what}: open the order again`);
  if (typeof ticket !== 'object' || ticket === null) throw invalid('is not an object');
  const { orderUrl, order, names, challenges } = ticket;
  if (typeof orderUrl !== 'string' || !/^https?:\/\//.test(orderUrl)) throw invalid('has no order URL');
  if (typeof order !== 'object' || order === null) throw invalid('has no order');
  if (typeof order.finalize !== 'string') throw invalid('has no finalize URL');
  const authorizations: unknown = order.authorizations;
  if (!Array.isArray(authorizations) || !authorizations.every((url) => typeof url === 'string')) {
    throw invalid('has no authorization URLs');
  }
  if (!Array.isArray(names) || !names.every((name) => typeof name === 'string')) {
    throw invalid('has no names');
  }
  if (
    !Array.isArray(challenges) ||
    !challenges.every(
      (challenge) =>
        typeof challenge === 'object' &&
        challenge !== null &&
        ['name', 'url', 'token', 'keyAuthorization'].every(
          (field) => typeof (challenge as Record<string, unknown>)[field] === 'string',
        ),
    )
  ) {
    throw invalid('has malformed challenges');
  }
  return {
    // The CA's answer is the truth: every phase reads the order again before acting on its status.
    order: { ...order, url: orderUrl } as unknown as Order,
    names: normalizeNames(names),
    challenges,
  };
}

/** One phase's exchanges with the CA: its names (for messages), signal and progress lines. */
class Exchange {
  constructor(
    private readonly client: Client,
    private readonly directoryUrl: string,
    private readonly names: string[],
    private readonly options: AcmePhaseOptions,
  ) {}

  async open(): Promise<AcmeOrderTicket> {
    const listed = this.names.join(', ');
    this.progress(`ordering a certificate for ${listed}`);
    const order = await this.step(`order a certificate for ${listed}`, () =>
      this.client.createOrder({ identifiers: this.names.map((value) => ({ type: 'dns', value })) }),
    );
    const authorizations = await this.step('list the authorizations of the order', () =>
      this.client.getAuthorizations(order),
    );
    const challenges: AcmeOrderTicket['challenges'] = [];
    for (const authorization of authorizations) {
      const name = authorization.identifier.value;
      if (authorization.status === 'valid') {
        this.progress(`the CA still holds a valid authorization for ${name}`);
        continue;
      }
      if (authorization.status !== 'pending') {
        throw new AcmeIssueError(
          AcmeIssueErrorCode.ChallengeFailed,
          `the CA's authorization for ${name} is ${authorization.status}: order again`,
        );
      }
      const challenge = httpChallengeOf(authorization);
      if (!challenge) {
        throw new AcmeIssueError(
          AcmeIssueErrorCode.ChallengeFailed,
          `the CA offers no HTTP-01 challenge for ${name} (only ${authorization.challenges.map((c) => c.type).join(', ')})`,
        );
      }
      // Computed locally, from the token and the account key's thumbprint.
      const keyAuthorization = await this.client.getChallengeKeyAuthorization(challenge);
      challenges.push({ name, url: challenge.url, token: challenge.token, keyAuthorization });
    }
    return {
      orderUrl: order.url,
      order: JSON.parse(JSON.stringify(order)) as Record<string, unknown>,
      names: [...this.names],
      challenges,
    };
  }

  async validate(order: Order, challenges: AcmeOrderTicket['challenges']): Promise<void> {
    let current = await this.step('read the order', () => this.client.getOrder(order));
    if (current.status === 'invalid') await this.explainFailedValidation(current);
    // ready, processing or valid: validated already (this is a replay).
    if (current.status !== 'pending') return;

    const authorizations = await this.step('list the authorizations of the order', () =>
      this.client.getAuthorizations(current),
    );
    const started: string[] = [];
    for (const authorization of authorizations) {
      const name = authorization.identifier.value;
      if (authorization.status !== 'pending') continue;
      const offered = httpChallengeOf(authorization);
      const ticketed = challenges.find((challenge) => challenge.url === offered?.url);
      if (!offered || !ticketed) {
        throw new AcmeIssueError(
          AcmeIssueErrorCode.TicketInvalid,
          `the order ticket has no challenge for ${name}, which the CA still wants proven: open the order again`,
        );
      }
      // Already asked for (a replay): the CA is validating it or has, and refuses to be asked twice.
      if (offered.status !== 'pending') continue;
      this.progress(`asking the CA to validate ${name}`);
      await this.step(`start the validation of ${name}`, () => this.client.completeChallenge(offered));
      started.push(name);
    }
    current = await this.pollOrder(current, 'the CA to validate the challenges', ['pending']);
    if (current.status === 'invalid') await this.explainFailedValidation(current);
    this.progress(`the CA validated ${(started.length > 0 ? started : this.names).join(', ')}`);
  }

  async finish(order: Order, csrPem: string, csrPublicKey: ArrayBuffer): Promise<IssuedCertificate> {
    const listed = this.names.join(', ');
    let current = await this.step('read the order', () => this.client.getOrder(order));
    // Finalized by an earlier call (this is a replay): its certificate is for that call's CSR.
    const finalizedBefore = current.status === 'processing' || current.status === 'valid';
    if (current.status === 'pending') {
      throw new AcmeIssueError(
        AcmeIssueErrorCode.CaRefused,
        `the order for ${listed} cannot be finalized: the CA has not validated its challenges yet`,
      );
    }
    if (current.status === 'ready') {
      this.progress('finalizing the order with the CSR');
      const ready = current;
      current = await this.step('finalize the order', () => this.client.finalizeOrder(ready, csrPem));
    }
    current = await this.pollOrder(current, 'the certificate to be issued', ['pending', 'processing']);
    if (current.status !== 'valid') {
      throw new AcmeIssueError(
        AcmeIssueErrorCode.CaRefused,
        `the CA did not issue the certificate for ${listed}: ${problemDetail(current.error) ?? `order ${current.status}`}`,
      );
    }
    const validOrder = current;
    const chainPem = await this.step('download the certificate', () =>
      this.client.getCertificate(validOrder),
    );
    this.progress('downloaded the certificate chain');
    return readIssuedCertificate(chainPem, this.names, csrPublicKey, finalizedBefore);
  }

  /** Throws the CA's own reason for the first authorization it could not validate. */
  private async explainFailedValidation(order: Order): Promise<never> {
    const authorizations = await this.step('read why the validation failed', () =>
      this.client.getAuthorizations(order),
    );
    // An authorization still pending only waited for the one that failed: name the failed one.
    const failed = [...authorizations].sort(
      (a, b) => Number(b.status === 'invalid') - Number(a.status === 'invalid'),
    );
    for (const authorization of failed) {
      if (authorization.status === 'valid') continue;
      const challenge = httpChallengeOf(authorization);
      const detail = problemDetail(challenge?.error) ?? `the authorization is ${authorization.status}`;
      throw new AcmeIssueError(
        AcmeIssueErrorCode.ChallengeFailed,
        `the CA refused the HTTP-01 challenge for ${authorization.identifier.value}: ${detail}`,
      );
    }
    throw new AcmeIssueError(
      AcmeIssueErrorCode.ChallengeFailed,
      `the CA marked the order for ${this.names.join(', ')} invalid: ${problemDetail(order.error) ?? 'no reason given'}`,
    );
  }

  /** Polls the order while its status is one of `waitWhile`, backing off up to 8 s between polls. */
  private async pollOrder(order: Order, what: string, waitWhile: Array<Order['status']>): Promise<Order> {
    const deadline = Date.now() + POLL_TIMEOUT_MS;
    let delay = POLL_FIRST_DELAY_MS;
    let current = order;
    while (waitWhile.includes(current.status)) {
      if (Date.now() > deadline) {
        throw new AcmeIssueError(
          AcmeIssueErrorCode.TimedOut,
          `gave up waiting for ${what} after ${POLL_TIMEOUT_MS / 1000} s (order ${current.status})`,
        );
      }
      await this.sleep(delay);
      delay = Math.min(delay * 2, POLL_MAX_DELAY_MS);
      const polled = current;
      current = await this.step(`poll the order while waiting for ${what}`, () =>
        this.client.getOrder(polled),
      );
    }
    return current;
  }

  /** Runs one ACME exchange and turns whatever it throws into a one-line AcmeIssueError. */
  async step<T>(action: string, exchange: () => Promise<T>): Promise<T> {
    this.throwIfAborted();
    try {
      return await this.unlessAborted(exchange());
    } catch (error) {
      if (error instanceof AcmeIssueError) throw error;
      if (this.options.signal?.aborted) throw abortedError(this.names, error);
      if (isAxiosError(error)) {
        const status = error.response?.status;
        throw new AcmeIssueError(
          AcmeIssueErrorCode.CaUnreachable,
          status === undefined
            ? `could not ${action}: the ACME CA at ${this.directoryUrl} could not be reached (${error.message})`
            : `could not ${action}: the ACME CA at ${this.directoryUrl} answered HTTP ${status}`,
          { cause: error },
        );
      }
      // acme-client throws the CA's problem document as a plain Error carrying its `detail`.
      throw new AcmeIssueError(
        AcmeIssueErrorCode.CaRefused,
        `the CA refused to ${action}: ${messageOf(error)}`,
        { cause: error },
      );
    }
  }

  /**
   * Settles as soon as the signal aborts. The abandoned exchange runs on only until its next
   * request, which the interceptor refuses; acme-client would otherwise first sleep through its
   * retry delay (5 s and more) after the cancelled request. Challenges issue() published are still
   * withdrawn before it settles.
   */
  private unlessAborted<T>(exchange: Promise<T>): Promise<T> {
    const signal = this.options.signal;
    if (!signal) return exchange;
    return new Promise<T>((resolve, reject) => {
      const onAbort = () => reject(abortedError(this.names, signal.reason));
      signal.addEventListener('abort', onAbort, { once: true });
      void exchange.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
    });
  }

  private progress(line: string): void {
    this.options.onProgress?.(line);
  }

  private throwIfAborted(): void {
    if (this.options.signal?.aborted) throw abortedError(this.names, this.options.signal.reason);
  }

  private sleep(ms: number): Promise<void> {
    const signal = this.options.signal;
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        clearTimeout(timer);
        reject(abortedError(this.names, signal?.reason));
      };
      const timer = setTimeout(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      }, ms);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }
}

function abortedError(names: string[], cause: unknown): AcmeIssueError {
  return new AcmeIssueError(
    AcmeIssueErrorCode.Aborted,
    `the certificate for ${names.join(', ')} was not issued: cancelled`,
    { cause },
  );
}

function httpChallengeOf(authorization: Authorization): HttpChallenge | undefined {
  return authorization.challenges.find(
    (candidate): candidate is HttpChallenge => candidate.type === 'http-01',
  );
}

/** An IssuedCertificate as plain JSON, dates as ISO 8601: what a task records. */
export function toJsonCertificate(issued: IssuedCertificate): IssuedCertificateJson {
  return {
    certificatePem: issued.certificatePem,
    notBefore: issued.notBefore.toISOString(),
    notAfter: issued.notAfter.toISOString(),
    serial: issued.serial,
    names: [...issued.names],
    issuer: issued.issuer,
  };
}

/** The inverse of toJsonCertificate. */
export function fromJsonCertificate(json: IssuedCertificateJson): IssuedCertificate {
  return {
    ...json,
    names: [...json.names],
    notBefore: new Date(json.notBefore),
    notAfter: new Date(json.notAfter),
  };
}

function normalizeNames(input: string[]): string[] {
  const names = [...new Set(input.map((name) => name.trim().toLowerCase()))];
  if (names.length === 0 || names.some((name) => name === '')) {
    throw new AcmeIssueError(AcmeIssueErrorCode.NamesInvalid, 'a certificate needs at least one DNS name');
  }
  for (const name of names) {
    if (name.includes('*')) {
      throw new AcmeIssueError(
        AcmeIssueErrorCode.NamesInvalid,
        `${name} is a wildcard: HTTP-01 cannot prove control of a wildcard name (that needs DNS-01)`,
      );
    }
    if (isIP(name) !== 0) {
      throw new AcmeIssueError(
        AcmeIssueErrorCode.NamesInvalid,
        `${name} is an IP address: only DNS names are issued`,
      );
    }
  }
  return names;
}

/**
 * Refuses a CSR that would ask the CA for other names than the ones ordered, before any order
 * exists: the CA would refuse it at finalization, after the challenges, with a vaguer message.
 * Returns the CSR's public key, to check that the certificate the CA sends is for it.
 */
async function checkCsrNames(csrPem: string, names: string[]): Promise<ArrayBuffer> {
  let csr: x509.Pkcs10CertificateRequest;
  try {
    csr = new x509.Pkcs10CertificateRequest(csrPem);
  } catch (error) {
    throw new AcmeIssueError(
      AcmeIssueErrorCode.CsrInvalid,
      'the CSR is not a PEM PKCS#10 certificate signing request',
      { cause: error },
    );
  }
  let signed: boolean;
  try {
    signed = await csr.verify();
  } catch (error) {
    throw new AcmeIssueError(
      AcmeIssueErrorCode.CsrInvalid,
      'the CSR uses an unsupported key or signature algorithm',
      { cause: error },
    );
  }
  if (!signed) {
    throw new AcmeIssueError(
      AcmeIssueErrorCode.CsrInvalid,
      'the CSR is not signed by its own key: generate it again on the agent',
    );
  }

  const inCsr = new Set<string>();
  const commonNames = csr.subjectName.getField('CN');
  for (const commonName of commonNames) inCsr.add(commonName.toLowerCase());
  // A CSR's getExtension takes an OID only (a certificate's also takes the class): filter by class.
  const alternativeNames = csr.extensions
    .filter((extension) => extension instanceof x509.SubjectAlternativeNameExtension)
    .flatMap((extension) => extension.names.toJSON());
  for (const name of alternativeNames) {
    if (name.type !== 'dns') {
      throw new AcmeIssueError(
        AcmeIssueErrorCode.CsrNamesMismatch,
        `the CSR names ${name.type} ${name.value}: only DNS names are issued; generate it again for ${names.join(', ')}`,
      );
    }
    inCsr.add(name.value.toLowerCase());
  }
  const extra = [...inCsr].filter((name) => !names.includes(name));
  const missing = names.filter((name) => !inCsr.has(name));
  if (extra.length > 0 || missing.length > 0) {
    const differences = [
      ...(extra.length > 0 ? [`it also names ${extra.join(', ')}`] : []),
      ...(missing.length > 0 ? [`it lacks ${missing.join(', ')}`] : []),
    ];
    throw new AcmeIssueError(
      AcmeIssueErrorCode.CsrNamesMismatch,
      `the CSR does not match the names asked for (${differences.join('; ')}): generate it again for exactly ${names.join(', ')}`,
    );
  }
  return csr.publicKey.rawData;
}

/** `finalizedBefore`: the order was finalized by an earlier call, perhaps with another CSR. */
function readIssuedCertificate(
  chainPem: string,
  names: string[],
  csrPublicKey: ArrayBuffer,
  finalizedBefore = false,
): IssuedCertificate {
  let leaf: x509.X509Certificate;
  try {
    const first = x509.PemConverter.decode(chainPem)[0];
    if (!first) throw new Error('no certificate in the PEM');
    leaf = new x509.X509Certificate(first);
  } catch (error) {
    throw new AcmeIssueError(
      AcmeIssueErrorCode.CertificateInvalid,
      `the CA sent a certificate chain that cannot be read: ${messageOf(error)}`,
      { cause: error },
    );
  }
  if (!Buffer.from(leaf.publicKey.rawData).equals(Buffer.from(csrPublicKey))) {
    throw new AcmeIssueError(
      AcmeIssueErrorCode.CertificateInvalid,
      finalizedBefore
        ? 'the order was already finalized with another CSR (another key): finish it with that CSR, or order again'
        : "the CA sent a certificate for another key than the CSR's",
    );
  }
  const leafNames = (leaf.getExtension(x509.SubjectAlternativeNameExtension)?.names.toJSON() ?? [])
    .filter((name) => name.type === 'dns')
    .map((name) => name.value.toLowerCase());
  const missing = names.filter((name) => !leafNames.includes(name));
  if (missing.length > 0) {
    throw new AcmeIssueError(
      AcmeIssueErrorCode.CertificateInvalid,
      `the CA sent a certificate that does not name ${missing.join(', ')}`,
    );
  }
  return {
    certificatePem: chainPem.endsWith('\n') ? chainPem : `${chainPem}\n`,
    notBefore: leaf.notBefore,
    notAfter: leaf.notAfter,
    serial: leaf.serialNumber.toLowerCase(),
    names: leafNames,
    issuer: leaf.issuer,
  };
}

/** The `detail` of an RFC 7807 problem document, as the CA wrote it. */
function problemDetail(problem: object | undefined): string | undefined {
  if (!problem) return undefined;
  const { detail, type } = problem as { detail?: unknown; type?: unknown };
  if (typeof detail === 'string' && detail !== '') return detail;
  return typeof type === 'string' ? type : undefined;
}

function isAxiosError(
  error: unknown,
): error is Error & { isAxiosError: true; response?: { status: number } } {
  return error instanceof Error && (error as { isAxiosError?: unknown }).isAxiosError === true;
}

function messageOf(error: unknown): string {
  return oneLine(error instanceof Error ? error.message : String(error));
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').trim();
}
