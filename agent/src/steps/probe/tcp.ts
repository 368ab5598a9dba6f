import { connect, isIP } from 'node:net';
import { StepError, StepErrorCode } from '../../../../shared/src/errors.js';
import { must, validateHostname, ValidationError } from '../../../../shared/src/validation.js';
import { integerValue, parseWith } from '../params.js';
import type { StepHandler } from '../step.js';

function hostValue(field: string, value: unknown): string {
  if (typeof value === 'string' && isIP(value) !== 0) return value;
  if (typeof value !== 'string')
    throw new ValidationError({ field, message: `${field} must be an IP address or a host name` });
  return must(validateHostname(field, value));
}

/**
 * Opens a TCP connection to host:port from this server and closes it at once: can a web server
 * reach its database server before a task depends on it (a firewall, a MariaDB bound to
 * 127.0.0.1, a wrong address all fail here, with nothing changed yet).
 */
export const probeTcp: StepHandler<'probe.tcp'> = {
  name: 'probe.tcp',
  parseParams: (input) =>
    parseWith(input, ['host', 'port'], ['timeoutMs'], (params) => ({
      host: hostValue('host', params.host),
      port: integerValue('port', params.port, 1, 65535),
      ...(params.timeoutMs !== undefined
        ? { timeoutMs: integerValue('timeoutMs', params.timeoutMs, 100, 60_000) }
        : {}),
    })),
  async run({ host, port, timeoutMs = 5_000 }, context) {
    const started = Date.now();
    await new Promise<void>((resolve, reject) => {
      const socket = connect({ host, port, timeout: timeoutMs });
      const fail = (why: string) => {
        socket.destroy();
        reject(
          new StepError({
            code: StepErrorCode.ProbeFailed,
            message: `this server cannot reach ${host}:${port}: ${why}`,
            retryable: true,
          }),
        );
      };
      socket.once('connect', () => {
        socket.destroy();
        resolve();
      });
      socket.once('timeout', () => fail(`no answer in ${timeoutMs} ms`));
      socket.once('error', (error: NodeJS.ErrnoException) => fail(error.code ?? error.message));
      context.signal.addEventListener('abort', () => fail('cancelled'), { once: true });
    });
    const ms = Date.now() - started;
    context.note(`reached ${host}:${port} in ${ms} ms`);
    return { ms };
  },
};
