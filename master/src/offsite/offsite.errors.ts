import { AppError } from '../infra/http/app-error.js';

export enum OffsiteErrorCode {
  InvalidInput = 'OFFSITE_INVALID_INPUT',
  NotFound = 'OFFSITE_TARGET_NOT_FOUND',
  NameTaken = 'OFFSITE_TARGET_NAME_TAKEN',
  /** A policy names the target: it cannot be removed. */
  InUse = 'OFFSITE_TARGET_IN_USE',
  /** The bucket did not take a test object with these settings. */
  BucketRefused = 'OFFSITE_BUCKET_REFUSED',
}

const STATUS: Record<OffsiteErrorCode, number> = {
  [OffsiteErrorCode.InvalidInput]: 400,
  [OffsiteErrorCode.NotFound]: 404,
  [OffsiteErrorCode.NameTaken]: 409,
  [OffsiteErrorCode.InUse]: 409,
  [OffsiteErrorCode.BucketRefused]: 400,
};

export class OffsiteError extends AppError<OffsiteErrorCode> {
  constructor(code: OffsiteErrorCode, message: string) {
    super(code, STATUS[code], message);
  }
}
