import * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { StepError, StepErrorCode } from '../../../shared/src/errors.js';
import { berthVersion } from '../../../shared/src/package-root.js';
import type { StepName } from '../../../shared/src/steps.js';
import { loadAgentConfig } from '../config.js';
import { stepControlHandlers } from '../control-handlers.js';
import { ControlConnection } from '../link/connection.js';
import { enroll } from '../link/enroll.js';
import { MasterRing } from '../link/master-ring.js';
import { agentServiceClient } from '../link/grpc-client.js';
import { StepRegistry } from '../steps/registry.js';
import { type FrameSink, type StepRuntime, StepSupervisor } from '../steps/step-supervisor.js';

/**
 * A LIGHT agent, for the control-plane benchmarks only: one server identity that does everything a
 * real agent does on the wire — its own enrollment (token, key pair and CSR), its own mTLS channel,
 * the one Connect stream with hello, heartbeats and reconnects (the agent's ControlConnection), and
 * the agent's StepSupervisor answering assignments with the same frames — but offers only
 * `debug.noop` and has no step runners, service detection or archive transfers behind it. Many of
 * them share one process, so that 500 connected agents fit a small machine; a real agent process
 * costs about 50 MB.
 */

/** The only steps a light agent offers: it has nothing behind the others. */
export const LIGHT_AGENT_STEPS: readonly StepName[] = ['debug.noop'];

/** A light agent never touches a host; its settings point nowhere on purpose. */
const NOWHERE = '/nonexistent/berth-light-agent';

export interface LightAgentSpec {
  /** The server's name on the master (and the hostname it reports). */
  name: string;
  /** Its enrollment token from `POST /api/servers`; a secret, never logged. */
  token: string;
}

export interface LightAgent {
  readonly name: string;
  readonly serverId: string;
  readonly connected: boolean;
  stop(): Promise<void>;
}

/**
 * Enrolls one light agent with its token and starts its control stream; resolves once enrolled and
 * dialling (like the real agent, it does not wait for the welcome). `onWelcome` is called on each
 * welcome. Rejects with the real agent's errors (token refused, CA mismatch, master unreachable).
 */
export async function startLightAgent(
  master: string,
  spec: LightAgentSpec,
  logger: Logger,
  onWelcome: () => void = () => undefined,
): Promise<LightAgent> {
  const config = loadAgentConfig(
    {
      master,
      token: spec.token,
      name: spec.name,
      dataDir: NOWHERE,
      debugSteps: true,
      root: NOWHERE,
      nginxConf: `${NOWHERE}/nginx.conf`,
      phpFpmSocket: `${NOWHERE}/php-fpm.sock`,
      httpPort: 80,
    },
    {},
  );
  // Kept in memory only: a light agent is never restarted. Enrolled with the first master (any
  // would do: they share one CA).
  const identity = await enroll(config, config.token!);
  const log = logger.child({ lightAgent: spec.name, serverId: identity.serverId });
  const credentials = grpc.credentials.createSsl(
    Buffer.from(identity.caCertificatePem),
    Buffer.from(identity.privateKeyPem),
    Buffer.from(identity.certificatePem),
  );
  // A connection of its own, as a separate agent process has: agents sharing one HTTP/2 connection
  // would understate the master's per-connection cost.
  // Several masters: one stream to one of them, picked at random, moved on as a real agent does.
  const masters = new MasterRing(config.masterAddresses, (address) => {
    const client = agentServiceClient(address, credentials, { 'grpc.use_local_subchannel_pool': 1 });
    return { control: client, transfer: client };
  });

  const agentVersion = berthVersion();
  const allSteps = new StepRegistry({ debugSteps: true });
  const registry = {
    get: (name: string) => (LIGHT_AGENT_STEPS.includes(name as StepName) ? allSteps.get(name) : undefined),
  };
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
    runtime: lightRuntime(spec.name, agentVersion, config.host),
  });
  const handlers = stepControlHandlers({
    supervisor,
    serverId: identity.serverId,
    logger: log,
    describe: () =>
      Promise.resolve({
        agentVersion,
        hostname: config.hostname,
        services: [],
        slots: 1,
        steps: [...LIGHT_AGENT_STEPS],
      }),
    onServerName: () => undefined,
  });
  const connection = new ControlConnection({
    open: () => masters.current().control.Connect(),
    moveOn: (welcomed) => masters.moveOn(welcomed),
    logger: log,
    handlers: {
      ...handlers,
      welcome: (welcome) => {
        handlers.welcome(welcome);
        onWelcome();
      },
    },
  });
  connection.start();

  let stopping: Promise<void> | undefined;
  return {
    name: spec.name,
    serverId: identity.serverId,
    get connected() {
      return connection.connected;
    },
    stop: () => {
      stopping ??= (async () => {
        await supervisor.stop('the light agent is stopping');
        await connection.stop();
        masters.close();
      })();
      return stopping;
    },
  };
}

/** What steps would work with: nothing. Only debug.noop is offered, and it uses none of it. */
function lightRuntime(hostname: string, agentVersion: string, host: StepRuntime['host']): StepRuntime {
  const refuse = () =>
    Promise.reject(
      new StepError({
        code: StepErrorCode.Refused,
        message: 'a light agent (benchmarks) runs no commands and transfers no archives',
        retryable: false,
      }),
    );
  return {
    hostname,
    agentVersion,
    runner: { run: refuse },
    services: { cached: () => Promise.resolve([]), detect: () => Promise.resolve([]) },
    archives: { putArchive: refuse, getArchive: refuse },
    host,
  };
}

/** What the benchmark sends a light-agent process over its IPC channel (tokens never go in argv). */
export type LightAgentCommand =
  { kind: 'start'; master: string; agents: LightAgentSpec[]; enrollConcurrency: number } | { kind: 'stop' };

/** What a light-agent process answers. */
export type LightAgentReport =
  | { kind: 'welcomed'; name: string }
  | { kind: 'started'; count: number }
  | { kind: 'failed'; name: string; message: string }
  | { kind: 'stopped' };
