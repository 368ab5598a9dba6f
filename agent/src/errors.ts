/**
 * Why the agent could not start or keep its identity. Step failures are not here: they are
 * StepErrors (shared/src/errors.ts) and travel to the master as results.
 */
export const AgentErrorCode = {
  /** The options given to startAgent are not usable (bad address, data directory, name ...). */
  ConfigInvalid: 'CONFIG_INVALID',
  /** The enrollment token is not of the form printed by `berth server add`. */
  TokenInvalid: 'TOKEN_INVALID',
  /** The master presented a CA other than the one pinned in the token. */
  CaMismatch: 'CA_MISMATCH',
  /** The master refused the token (unknown, expired or used). Final: a new token is needed. */
  EnrollmentRefused: 'ENROLLMENT_REFUSED',
  /** No identity in the data directory and no token to get one. */
  NotEnrolled: 'NOT_ENROLLED',
  /** The identity files in the data directory are unreadable or do not belong together. */
  IdentityCorrupt: 'IDENTITY_CORRUPT',
  /** The master could not be reached for enrollment. */
  MasterUnreachable: 'MASTER_UNREACHABLE',
} as const;
export type AgentErrorCode = (typeof AgentErrorCode)[keyof typeof AgentErrorCode];

/**
 * An error that stops the agent from starting. Its message is written for the operator (what
 * happened and what to do); the CLI prints it and exits with status 2.
 */
export class AgentError extends Error {
  readonly code: AgentErrorCode;

  constructor(code: AgentErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'AgentError';
    this.code = code;
  }
}
