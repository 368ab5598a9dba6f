import { type ArgumentsHost, Catch, type ExceptionFilter, HttpException } from '@nestjs/common';
import type { Response } from 'express';
import type { Logger } from 'pino';
import { ValidationError } from '../../../../shared/src/validation.js';
import { AppError } from './app-error.js';

interface ErrorBody {
  statusCode: number;
  code: string;
  message: string;
  details?: unknown;
}

/** The one place where errors become HTTP responses: never a stack trace, always a message. */
@Catch()
export class AppExceptionFilter implements ExceptionFilter {
  constructor(private readonly logger: Logger) {}

  catch(error: unknown, host: ArgumentsHost): void {
    const response = host.switchToHttp().getResponse<Response>();
    const body = this.toBody(error);
    if (body.statusCode >= 500) this.logger.error({ err: error }, 'request failed');
    response.status(body.statusCode).json(body);
  }

  private toBody(error: unknown): ErrorBody {
    if (error instanceof AppError) {
      const known = error as AppError;
      return { statusCode: known.status, code: known.code, message: known.message, details: known.details };
    }
    if (error instanceof ValidationError) {
      return {
        statusCode: 400,
        code: 'VALIDATION_FAILED',
        message: error.message,
        details: { field: error.field },
      };
    }
    if (error instanceof HttpException) {
      const status = error.getStatus();
      const payload = error.getResponse();
      const messages =
        typeof payload === 'object' && payload !== null
          ? (payload as { message?: unknown }).message
          : payload;
      const message = Array.isArray(messages)
        ? messages.join('; ')
        : typeof messages === 'string'
          ? messages
          : error.message;
      return {
        statusCode: status,
        code: status === 404 ? 'NOT_FOUND' : status === 400 ? 'BAD_REQUEST' : `HTTP_${status}`,
        message,
      };
    }
    return {
      statusCode: 500,
      code: 'INTERNAL',
      message: 'the master hit an internal error; its log has the details',
    };
  }
}
