import { AppError } from '../infra/http/app-error.js';

export enum ProjectsErrorCode {
  NotFound = 'PROJECT_NOT_FOUND',
  NameTaken = 'PROJECT_NAME_TAKEN',
  InvalidInput = 'PROJECT_INVALID_INPUT',
  WrongState = 'PROJECT_WRONG_STATE',
}

const STATUS: Record<ProjectsErrorCode, number> = {
  [ProjectsErrorCode.NotFound]: 404,
  [ProjectsErrorCode.NameTaken]: 409,
  [ProjectsErrorCode.InvalidInput]: 400,
  [ProjectsErrorCode.WrongState]: 409,
};

export class ProjectsError extends AppError<ProjectsErrorCode> {
  constructor(code: ProjectsErrorCode, message: string) {
    super(code, STATUS[code], message);
  }

  static notFound(name: string): ProjectsError {
    return new ProjectsError(
      ProjectsErrorCode.NotFound,
      `no project "${name}"; \`berth project list\` shows them`,
    );
  }
}
