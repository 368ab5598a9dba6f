/**
 * The base of every feature's error: a code a program can branch on, the HTTP status it maps to,
 * and a message that tells a person what happened and what to do. The exception filter turns it
 * into `{ statusCode, code, message, details }`. Each feature maps every one of its codes to a
 * status in a Record, so a new code without a status does not compile.
 */
export abstract class AppError<Code extends string = string> extends Error {
  constructor(
    readonly code: Code,
    readonly status: number,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = new.target.name;
  }
}
