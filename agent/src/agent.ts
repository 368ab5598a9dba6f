import * as grpc from '@grpc/grpc-js';
import pino, { type Logger } from 'pino';
import { berthVersion } from '../../shared/src/package-root.js';
import { rolesOfServices } from '../../shared/src/server-roles.js';
import { join } from 'node:path';
import { ProcessLedger } from './adapters/process-ledger.js';
import { ProcessRunner } from './adapters/process-runner.js';
import { ServiceDetector } from './adapters/service-detector.js';
import { type AgentOptions, loadAgentConfig } from './config.js';
import { stepControlHandlers } from './control-handlers.js';
import { ArchiveClient } from './link/archive-client.js';
import { ControlConnection } from './link/connection.js';
import { ensureIdentity } from './link/enroll.js';
import { MasterRing } from './link/master-ring.js';
import { agentServiceClient } from './link/grpc-client.js';
import { StepRegistry } from './steps/registry.js';
import { type FrameSink, StepSupervisor } from './steps/step-supervisor.js';

export type { AgentOptions } from './config.js';
export { AgentError, AgentErrorCode } from './errors.js';

export interface RunningAgent {
  serverId: string;
  serverName: string;
  /** Cancels running steps (they report CANCELLED), ends the stream, closes the channels. */
  stop(): Promise<void>;
}

/**
 * Starts the agent: loads or obtains its identity (enrollment), then keeps the control stream to
 * the master up and runs the steps it assigns. Resolves once the agent is enrolled and dialling;
 * it does not wait for the master to answer (the agent reconnects on its own). Rejects with an
 * AgentError (bad options, token refused, not enrolled, master unreachable for enrollment).
 */
export async function startAgent(options: AgentOptions): Promise<RunningAgent> {
  const config = loadAgentConfig(options);
  const logger = options.log ?? defaultLogger();
  const identity = await ensureIdentity(config, logger);
  const log = logger.child({ serverId: identity.serverId });

  const credentials = grpc.credentials.createSsl(
    Buffer.from(identity.caCertificatePem),
    Buffer.from(identity.privateKeyPem),
    Buffer.from(identity.certificatePem),
  );
  const masters = new MasterRing(config.masterAddresses, (address) => ({
    control: agentServiceClient(address, credentials),
    // Bulk transfers on a connection of their own, so that heartbeats never queue behind archive bytes.
    transfer: agentServiceClient(address, credentials, { 'grpc.use_local_subchannel_pool': 1 }),
  }));

  // Step groups a killed predecessor left running are stopped before the master hears from us: the
  // master may have rolled back what they were changing.
  const ledger = new ProcessLedger(join(config.dataDir, 'running'));
  for (const orphan of ledger.reapLeftovers())
    log.warn({ orphan }, 'killed a step process left by a previous run');
  const runner = new ProcessRunner(ledger);
  const services = new ServiceDetector({ runner });
  const registry = new StepRegistry({ debugSteps: config.debugSteps });
  const agentVersion = berthVersion();
  let serverName = identity.serverName;

  // The supervisor sends through the connection, which is made just below.
  const sink: FrameSink = {
    send: (frame) => connection.send(frame),
    get connected() {
      return connection.connected;
    },
  };
  const supervisor = new StepSupervisor({
    registry,
    sink,
    logger: log,
    runtime: {
      hostname: config.hostname,
      agentVersion,
      runner,
      services,
      // Archives go to the master the control stream is on.
      archives: new ArchiveClient(() => masters.current().transfer),
      host: config.host,
    },
  });
  const connection = new ControlConnection({
    open: () => {
      const master = masters.current();
      log.info({ master: master.address }, 'dialling the master');
      return master.control.Connect();
    },
    moveOn: (welcomed) => masters.moveOn(welcomed),
    logger: log,
    handlers: stepControlHandlers({
      supervisor,
      serverId: identity.serverId,
      logger: log,
      describe: async () => {
        const found = await services.cached();
        return {
          agentVersion,
          hostname: config.hostname,
          address: config.host.address,
          roles: [...(config.host.roles ?? rolesOfServices(found))],
          services: found,
          slots: config.slots,
          steps: registry.names(),
          timeZone: config.timeZone,
        };
      },
      onServerName: (name) => {
        serverName = name;
      },
    }),
  });

  // Detect services while the first connection is being made; the hello waits for this.
  void services.cached();
  connection.start();
  log.info(
    {
      masters: config.masterAddresses,
      hostname: config.hostname,
      slots: config.slots,
      debugSteps: config.debugSteps,
      root: config.host.root,
      nginxConf: config.host.nginxConf,
      phpFpmSocket: config.host.phpFpmSocket ?? null,
      phpFpmConf: config.host.phpFpmConf ?? null,
      httpPort: config.host.httpPort,
      dbAdmin: config.host.dbAdminDefaults ?? 'local socket as root',
      webUser: config.host.webUser?.name ?? null,
      address: config.host.address,
      roles: config.host.roles ?? 'from the running services',
    },
    'agent started',
  );

  let stopping: Promise<void> | undefined;
  return {
    serverId: identity.serverId,
    get serverName() {
      return serverName;
    },
    stop: () => {
      stopping ??= (async () => {
        log.info('agent stopping');
        await supervisor.stop('the agent is stopping');
        await connection.stop();
        masters.close();
        log.info('agent stopped');
      })();
      return stopping;
    },
  };
}

function defaultLogger(): Logger {
  return pino(
    {
      name: 'berth-agent',
      level: 'info',
      // The agent never logs a token or a key; this is a second line of defence.
      redact: {
        paths: [
          'token',
          '*.token',
          'privateKeyPem',
          '*.privateKeyPem',
          'secrets',
          '*.secrets',
          'password',
          '*.password',
        ],
        censor: '[redacted]',
      },
    },
    pino.destination(2),
  );
}
