import { AppError } from '../infra/http/app-error.js';

export enum ClustersErrorCode {
  NotFound = 'CLUSTER_NOT_FOUND',
  NameTaken = 'CLUSTER_NAME_TAKEN',
  InvalidInput = 'CLUSTER_INVALID_INPUT',
  /** The change would leave the registry wrong: a head in two clusters, sites without a head. */
  Refused = 'CLUSTER_REFUSED',
}

const STATUS: Record<ClustersErrorCode, number> = {
  [ClustersErrorCode.NotFound]: 404,
  [ClustersErrorCode.NameTaken]: 409,
  [ClustersErrorCode.InvalidInput]: 400,
  [ClustersErrorCode.Refused]: 409,
};

export class ClustersError extends AppError<ClustersErrorCode> {
  constructor(code: ClustersErrorCode, message: string) {
    super(code, STATUS[code], message);
  }

  static notFound(name: string): ClustersError {
    return new ClustersError(
      ClustersErrorCode.NotFound,
      `no cluster named "${name}"; \`berth cluster list\` shows them`,
    );
  }
}
