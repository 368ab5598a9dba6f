import { isIP } from 'node:net';
import type { Heartbeat__Output } from '../../../generated/proto/berth/agent/v1/Heartbeat.js';
import type { LogLine__Output } from '../../../generated/proto/berth/agent/v1/LogLine.js';
import type { StepProgress__Output } from '../../../generated/proto/berth/agent/v1/StepProgress.js';
import { StepErrorCode, type StepFailure } from '../../../shared/src/errors.js';
import type { AttemptRef__Output, Hello__Output, StepResult__Output } from '../../../shared/src/protocol.js';
import { rolesOfServices, SERVER_ROLES } from '../../../shared/src/server-roles.js';
import type { ServiceInfo } from '../../../shared/src/steps.js';
import { isTimeZone, isUuid } from '../../../shared/src/validation.js';
import type {
  AgentHello,
  AgentLogLine,
  AgentProgress,
  AttemptRef,
  AttemptResult,
  StepOutcome,
} from './agent-events.js';

/**
 * The agent's frames, decoded from the wire (generated/proto) into what the engine works with.
 * An id that is not a UUID or an epoch that is not a number cannot name an attempt: such a
 * reference decodes to undefined and its frame is dropped, so that one agent's malformed message
 * never reaches a statement that also serves every other agent.
 */
export function decodeRef(ref: AttemptRef__Output | null | undefined): AttemptRef | undefined {
  if (!ref || !isUuid(ref.stepId) || !isUuid(ref.attemptId) || !/^\d{1,19}$/.test(ref.epoch)) {
    return undefined;
  }
  return { stepId: ref.stepId, attemptId: ref.attemptId, epoch: ref.epoch };
}

const SERVICE_KINDS: ReadonlySet<string> = new Set(['http', 'db', 'php', 'tool']);

export function decodeHello(hello: Hello__Output): AgentHello {
  const services = hello.services
    .filter((service) => SERVICE_KINDS.has(service.kind))
    .map((service): ServiceInfo => ({
      kind: service.kind as ServiceInfo['kind'],
      name: service.name,
      version: service.version,
      running: service.running,
      path: service.path,
    }));
  const roles = SERVER_ROLES.filter((role) => hello.roles.includes(role));
  return {
    agentVersion: hello.agentVersion,
    hostname: hello.hostname || null,
    // Only an IP address is kept: it goes into database grants and sites' settings.
    address: isIP(hello.address) !== 0 ? hello.address : null,
    // An agent from before roles sends none: what its running services give.
    roles: roles.length > 0 ? roles : rolesOfServices(services),
    timeZone: isTimeZone(hello.timeZone) ? hello.timeZone : null,
    services,
    running: hello.running.map(decodeRef).filter((ref): ref is AttemptRef => ref !== undefined),
    finished: hello.finished
      .map(decodeResult)
      .filter((result): result is AttemptResult => result !== undefined),
  };
}

export function decodeHeartbeat(heartbeat: Heartbeat__Output): AttemptRef[] {
  return heartbeat.running.map(decodeRef).filter((ref): ref is AttemptRef => ref !== undefined);
}

export function decodeLogLines(lines: readonly LogLine__Output[]): AgentLogLine[] {
  return lines.map((line) => ({
    seq: /^\d{1,18}$/.test(line.seq) ? line.seq : '0',
    stream: line.stream === 'stdout' || line.stream === 'stderr' ? line.stream : 'agent',
    text: line.text,
    at: new Date(Number(line.atMs) || Date.now()),
  }));
}

export function decodeProgress(progress: StepProgress__Output): AgentProgress {
  return {
    phase: progress.phase,
    done: Number(progress.done) || 0,
    total: Number(progress.total) || 0,
    unit: progress.unit,
  };
}

export function decodeResult(result: StepResult__Output): AttemptResult | undefined {
  const ref = decodeRef(result.ref);
  return ref ? { ref, outcome: decodeOutcome(result) } : undefined;
}

function decodeOutcome(result: StepResult__Output): StepOutcome {
  if (result.ok) {
    try {
      return { ok: true, output: result.outputJson ? (JSON.parse(result.outputJson) as unknown) : null };
    } catch {
      return {
        ok: false,
        failure: {
          code: StepErrorCode.Internal,
          retryable: false,
          message: 'the agent sent output that is not JSON',
        },
      };
    }
  }
  const error = result.error;
  return {
    ok: false,
    failure: {
      code: (error?.code as StepFailure['code'] | undefined) || StepErrorCode.Internal,
      message: error?.message || 'the step failed without a message',
      retryable: error?.retryable ?? false,
      exitCode: error?.exitCode || undefined,
      stderrTail: error?.stderrTail || undefined,
    },
  };
}
