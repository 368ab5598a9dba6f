import type { LoggerService } from '@nestjs/common';
import { destination, pino, type Logger } from 'pino';

/** Keys whose values never reach a log line, wherever they are nested. */
const REDACTED_KEYS = [
  'token',
  'password',
  'secret',
  'authorization',
  'privateKey',
  'key',
  'csrPem',
  'dbPassword',
];

/**
 * The process's structured logger, secrets redacted. JSON lines on stderr: stdout is left to what
 * the command itself prints (where it listens, the first admin token).
 */
export function createLogger(level: string, name: string): Logger {
  return pino(
    {
      name,
      level,
      redact: {
        paths: [...REDACTED_KEYS, ...REDACTED_KEYS.map((key) => `*.${key}`), 'req.headers.authorization'],
        censor: '[redacted]',
      },
    },
    destination(2),
  );
}

/** NestJS's own messages (routes mapped, start-up errors) through the same logger. */
export class NestPinoLogger implements LoggerService {
  constructor(private readonly logger: Logger) {}
  log(message: unknown, context?: string) {
    this.logger.debug({ context }, String(message));
  }
  error(message: unknown, trace?: string, context?: string) {
    this.logger.error({ context, trace }, String(message));
  }
  warn(message: unknown, context?: string) {
    this.logger.warn({ context }, String(message));
  }
  debug(message: unknown, context?: string) {
    this.logger.debug({ context }, String(message));
  }
  verbose(message: unknown, context?: string) {
    this.logger.trace({ context }, String(message));
  }
}
