/**
 * The base of every feature's error: a code a program can branch on, the HTTP status it maps to,
 * and a message that tells a person what happened and what to do. The exception filter turns it
 * into `{ statusCode, code, message, details }`.
 */
export abstract class AppError extends Error {
  abstract readonly status: number;
  constructor(
    readonly code: string,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = new.target.name;
  }
}
