// @peculiar/x509 resolves its services through tsyringe, which needs the Reflect polyfill first.
import 'reflect-metadata';
import * as grpc from '@grpc/grpc-js';
import * as x509 from '@peculiar/x509';
import { webcrypto } from 'node:crypto';
import type { Logger } from 'pino';
import type { AgentConfig } from '../config.js';
import { AgentError, AgentErrorCode } from '../errors.js';
import { isServiceError } from './archive-client.js';
import { Backoff, RECONNECT_BACKOFF } from './backoff.js';
import { type EnrollmentToken, assertCaMatchesToken } from './enrollment-token.js';
import { agentServiceClient, unary } from './grpc-client.js';
import { type AgentIdentity, IdentityStore, checkIdentity } from './identity-store.js';

const EC_P256 = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const CALL_TIMEOUT_MS = 15_000;

export interface EnrollOptions {
  /** How long to keep trying while the master cannot be reached. */
  unreachableForMs?: number;
  sleep?: (ms: number) => Promise<void>;
}

/**
 * The identity saved in the data directory; without one, enrolls with the token (and saves it).
 * Throws an AgentError the operator can act on when neither works.
 */
export async function ensureIdentity(
  config: AgentConfig,
  logger: Logger,
  options: EnrollOptions = {},
): Promise<AgentIdentity> {
  const store = new IdentityStore(config.dataDir);
  const saved = await store.load();
  if (saved) {
    if (config.token) logger.info('already enrolled: the enrollment token is not needed and was not used');
    if (!config.masterAddresses.includes(saved.master)) {
      logger.warn(
        { enrolledWith: saved.master, masters: config.masterAddresses },
        'dialling another master address than at enrollment',
      );
    }
    return saved;
  }
  if (!config.token) {
    throw new AgentError(
      AgentErrorCode.NotEnrolled,
      `this agent is not enrolled yet (nothing in ${config.dataDir}): run \`berth server add <name>\` on the ` +
        'master and start the agent with the token it prints (--token, --token-file or BERTH_AGENT_TOKEN)',
    );
  }
  const identity = await enrollWithRetry(config, config.token, logger, options);
  await store.save(identity);
  logger.info({ serverId: identity.serverId, serverName: identity.serverName }, 'enrolled with the master');
  return identity;
}

async function enrollWithRetry(
  config: AgentConfig,
  token: EnrollmentToken,
  logger: Logger,
  options: EnrollOptions,
): Promise<AgentIdentity> {
  const backoff = new Backoff(RECONNECT_BACKOFF);
  const giveUpAt = Date.now() + (options.unreachableForMs ?? 60_000);
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  // With several masters, each try goes to the next: any of them enrolls (they share one CA).
  for (let tries = 0; ; tries++) {
    const masterAddress =
      config.masterAddresses[tries % config.masterAddresses.length] ?? config.masterAddress;
    try {
      return await enroll({ ...config, masterAddress }, token);
    } catch (error) {
      if (!isServiceError(error) || !TRANSIENT.has(error.code)) throw error;
      const reason = `${grpc.status[error.code]}: ${error.details}`;
      if (Date.now() >= giveUpAt) {
        throw new AgentError(
          AgentErrorCode.MasterUnreachable,
          `cannot reach the master at ${config.masterAddresses.join(' or ')} to enroll (${reason}): check the address and ` +
            'that the master is running and reachable from this server',
          { cause: error },
        );
      }
      const delayMs = backoff.nextDelayMs();
      logger.warn({ master: masterAddress, reason, retryInMs: delayMs }, 'cannot reach the master to enroll');
      await sleep(delayMs);
    }
  }
}

const TRANSIENT = new Set<grpc.status>([grpc.status.UNAVAILABLE, grpc.status.DEADLINE_EXCEEDED]);
const REFUSED = new Set<grpc.status>([grpc.status.UNAUTHENTICATED, grpc.status.PERMISSION_DENIED]);

/** One enrollment: check the CA against the pin, then trade the token and a CSR for a certificate. */
export async function enroll(config: AgentConfig, token: EnrollmentToken): Promise<AgentIdentity> {
  // (a) The CA, over TLS that verifies nothing yet: the pin in the token is the check.
  const untrusted = agentServiceClient(
    config.masterAddress,
    grpc.credentials.createSsl(null, null, null, { rejectUnauthorized: false }),
  );
  let caCertificatePem: string;
  try {
    const answer = await unary<{ caCertificatePem: string }>(
      (callOptions, callback) => untrusted.GetCaCertificate({}, callOptions, callback),
      CALL_TIMEOUT_MS,
    );
    caCertificatePem = answer.caCertificatePem;
  } finally {
    untrusted.close();
  }
  assertCaMatchesToken(token, caCertificatePem);

  // (b) A key pair made here, and a CSR for it, over a channel that trusts only that CA.
  const keys = await webcrypto.subtle.generateKey(EC_P256, true, ['sign', 'verify']);
  const csr = await x509.Pkcs10CertificateRequestGenerator.create(
    { name: `CN=${config.hostname}`, keys, signingAlgorithm: EC_P256 },
    webcrypto,
  );
  const privateKeyPem = x509.PemConverter.encode(
    await webcrypto.subtle.exportKey('pkcs8', keys.privateKey),
    'PRIVATE KEY',
  );
  const trusted = agentServiceClient(
    config.masterAddress,
    grpc.credentials.createSsl(Buffer.from(caCertificatePem)),
  );
  let response: { serverId: string; serverName: string; certificatePem: string; caCertificatePem: string };
  try {
    response = await unary(
      (callOptions, callback) =>
        trusted.Enroll(
          { token: token.value, csrPem: csr.toString('pem'), hostname: config.hostname },
          callOptions,
          callback,
        ),
      CALL_TIMEOUT_MS,
    );
  } catch (error) {
    if (isServiceError(error) && REFUSED.has(error.code)) {
      throw new AgentError(
        AgentErrorCode.EnrollmentRefused,
        `the master refused the enrollment token (${error.details || grpc.status[error.code]}): it is unknown, ` +
          'expired or already used. Run `berth server add <name>` on the master for a new token and start the ' +
          'agent again with it',
        { cause: error },
      );
    }
    throw error;
  } finally {
    trusted.close();
  }

  // (c) What came back must be ours and the pinned CA's before it is saved.
  if (response.caCertificatePem && response.caCertificatePem.trim() !== caCertificatePem.trim()) {
    assertCaMatchesToken(token, response.caCertificatePem);
  }
  const identity: AgentIdentity = {
    serverId: response.serverId,
    serverName: response.serverName,
    master: config.masterAddress,
    privateKeyPem,
    certificatePem: response.certificatePem,
    caCertificatePem,
  };
  if (!identity.serverId) {
    throw new AgentError(
      AgentErrorCode.IdentityCorrupt,
      'the master accepted the enrollment but sent no server id',
    );
  }
  try {
    checkIdentity(identity);
  } catch (error) {
    throw new AgentError(
      AgentErrorCode.IdentityCorrupt,
      `the certificate the master issued is unusable: ${(error as Error).message}`,
      { cause: error },
    );
  }
  return identity;
}
