import pino from 'pino';
import {
  type LightAgent,
  type LightAgentCommand,
  type LightAgentReport,
  startLightAgent,
} from './light-agent.js';

/**
 * A process that holds many light agents (see light-agent.ts), forked by the benchmarks with an IPC
 * channel: `start` enrolls and connects a batch (more batches may follow), `stop` ends them all and
 * the process. It exits if the benchmark goes away.
 */

const logger = pino({ name: 'berth-light-agent', level: 'warn' }, pino.destination(2));
const agents: LightAgent[] = [];

function report(message: LightAgentReport): void {
  process.send?.(message);
}

async function start(command: Extract<LightAgentCommand, { kind: 'start' }>): Promise<void> {
  const queue = [...command.agents];
  let failed = false;
  // Enrollment makes a key pair and has the master sign a certificate: a few at a time.
  const worker = async () => {
    for (let spec = queue.shift(); spec && !failed; spec = queue.shift()) {
      const name = spec.name;
      try {
        agents.push(
          await startLightAgent(command.master, spec, logger, () => report({ kind: 'welcomed', name })),
        );
      } catch (error) {
        failed = true;
        report({ kind: 'failed', name, message: error instanceof Error ? error.message : String(error) });
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, command.enrollConcurrency) }, worker));
  if (!failed) report({ kind: 'started', count: command.agents.length });
}

async function stop(): Promise<void> {
  await Promise.all(agents.map((agent) => agent.stop()));
  const stopped: LightAgentReport = { kind: 'stopped' };
  process.send?.(stopped, () => process.disconnect());
}

if (!process.send) {
  console.error('light-agent-process is started by the benchmarks (child_process.fork), not by hand');
  process.exit(2);
}
process.on('message', (message: LightAgentCommand) => {
  if (message.kind === 'start') void start(message);
  else void stop();
});
// The benchmark is gone (crashed or killed): nothing is left to report to.
process.on('disconnect', () => process.exit(0));
