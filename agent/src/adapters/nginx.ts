import { StepError, StepErrorCode } from '../../../shared/src/errors.js';
import type { HostSettings } from '../config.js';
import type { RunOptions, RunResult } from './process-runner.js';

export interface NginxContext {
  readonly host: Pick<HostSettings, 'nginxConf'>;
  exec(options: Omit<RunOptions, 'signal' | 'onLine'>): Promise<RunResult>;
}

/** The server's nginx, through its own binary, always with the agent's main configuration (-c). */
export class Nginx {
  constructor(private readonly context: NginxContext) {}

  /** `nginx -t`: fails with CONFIG_REJECTED and nginx's own words when the configuration is invalid. */
  async test(): Promise<void> {
    try {
      await this.context.exec({
        file: 'nginx',
        args: ['-t', '-q', '-c', this.context.host.nginxConf],
        timeoutMs: 60_000,
      });
    } catch (error) {
      if (error instanceof StepError && error.code === StepErrorCode.CommandFailed) {
        throw new StepError({
          ...error.toFailure(),
          code: StepErrorCode.ConfigRejected,
          message: `nginx refused the configuration: ${lastLines(error.stderrTail)}`,
        });
      }
      throw error;
    }
  }

  /** `nginx -s reload`: a graceful reload (old workers finish their requests). */
  async reload(): Promise<void> {
    await this.context.exec({
      file: 'nginx',
      args: ['-s', 'reload', '-c', this.context.host.nginxConf],
      timeoutMs: 60_000,
    });
  }
}

function lastLines(tail: string | undefined): string {
  const lines = (tail ?? '').trim().split('\n').filter(Boolean);
  return (lines.slice(-2).join(' / ') || 'no message').slice(0, 500);
}
