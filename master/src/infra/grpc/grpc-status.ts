import { status as GrpcStatus, type ServiceError } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { ArchiveError, ArchiveErrorCode } from '../../backups/archive-store.js';
import { PkiError, PkiErrorCode } from '../../pki/pki.errors.js';

export type GrpcFailure = Pick<ServiceError, 'code' | 'details'> & Error;

function pkiStatus(code: PkiErrorCode): GrpcStatus {
  switch (code) {
    case PkiErrorCode.EnrollmentTokenInvalid:
    case PkiErrorCode.ClientCertificateMissing:
    case PkiErrorCode.ClientCertificateInvalid:
    case PkiErrorCode.ClientCertificateRevoked:
      return GrpcStatus.UNAUTHENTICATED;
    case PkiErrorCode.CsrInvalid:
      return GrpcStatus.INVALID_ARGUMENT;
    case PkiErrorCode.ServerNotFound:
      return GrpcStatus.NOT_FOUND;
  }
}

function archiveStatus(code: ArchiveErrorCode): GrpcStatus {
  switch (code) {
    case ArchiveErrorCode.BadHeader:
    case ArchiveErrorCode.BadSequence:
    case ArchiveErrorCode.TooLarge:
      return GrpcStatus.INVALID_ARGUMENT;
    case ArchiveErrorCode.NotAuthorized:
      return GrpcStatus.PERMISSION_DENIED;
    case ArchiveErrorCode.Truncated:
    case ArchiveErrorCode.ChecksumMismatch:
    case ArchiveErrorCode.FileMissing:
      return GrpcStatus.DATA_LOSS;
    case ArchiveErrorCode.Conflict:
      return GrpcStatus.ABORTED;
  }
}

/**
 * The one translation from the master's errors to gRPC statuses. Errors the master did not expect
 * are logged in full and reach the agent as INTERNAL without their details.
 */
export function toGrpcFailure(error: unknown, logger: Logger, method: string): GrpcFailure {
  let code: GrpcStatus;
  let details: string;
  if (error instanceof PkiError) {
    code = pkiStatus(error.code);
    details = error.message;
  } else if (error instanceof ArchiveError) {
    code = archiveStatus(error.code);
    details = error.message;
  } else if (isAbort(error)) {
    code = GrpcStatus.CANCELLED;
    details = 'the call was cancelled';
  } else {
    logger.error({ err: error, method }, 'a gRPC call failed unexpectedly');
    code = GrpcStatus.INTERNAL;
    details = `the master failed to handle ${method}; its log has the details`;
  }
  return Object.assign(new Error(details), { code, details });
}

function isAbort(error: unknown): boolean {
  const { name, code } = (error ?? {}) as { name?: string; code?: string };
  return name === 'AbortError' || code === 'ERR_STREAM_PREMATURE_CLOSE' || code === 'ABORT_ERR';
}
