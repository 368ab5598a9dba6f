/**
 * The shapes of the master's REST API as the CLI reads them. They are declared here rather than
 * imported from master/ so that the CLI never loads NestJS or TypeORM just to list tasks.
 */
import type { TaskState } from '../../shared/src/tasks.js';

export type { TaskState };

export interface Health {
  status: 'ok';
  version: string;
  database: string;
}

export interface ServerService {
  kind: string;
  name: string;
  version: string | null;
  running: boolean;
  path: string | null;
}

export interface Server {
  id: string;
  name: string;
  slots: number;
  slotsBusy: number;
  services: ServerService[];
  connected: boolean;
  agentVersion: string | null;
  hostname: string | null;
  enrolledAt: string | null;
  lastSeenAt: string | null;
  verifiedAt: string | null;
  createdAt: string;
}

export interface Enrollment {
  token: string;
  expiresAt: string;
  agentCommand: string;
}

export interface CreatedServer {
  server: Server;
  enrollment: Enrollment;
}

export interface TaskProgress {
  stepName: string | null;
  phase: string | null;
  done: number;
  total: number | null;
  unit: string | null;
}

export interface TaskPhase {
  name: string;
  startedAt: string | null;
  endedAt: string | null;
}

export interface StepAttempt {
  id: string;
  attemptNo: number;
  epoch: number | string;
  state: string;
  assignedAt: string | null;
  startedAt: string | null;
  finishedAt: string | null;
  error: unknown;
}

export interface StepFailureView {
  code?: string;
  message?: string;
  retryable?: boolean;
  exitCode?: number;
  stderrTail?: string;
}

export interface TaskStep {
  id: string;
  seq: number;
  name: string;
  serverId: string | null;
  serverName: string | null;
  state: string;
  output: unknown;
  failure: StepFailureView | string | null;
  createdAt: string;
  finishedAt: string | null;
  attempts: StepAttempt[];
}

export interface Task {
  id: string;
  type: string;
  state: TaskState;
  targetKind: string | null;
  targetId: string | null;
  targetName: string | null;
  params: unknown;
  result: unknown;
  error: string | null;
  errorCode: string | null;
  rollbackCompleted: boolean | null;
  phases: TaskPhase[];
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  cancelRequestedAt: string | null;
  progress: TaskProgress | null;
  steps?: TaskStep[];
}

export interface LogLine {
  id: string;
  at: string;
  stream: string;
  text: string;
  stepId: string | null;
}

export interface LogPage {
  lines: LogLine[];
  /** The cursor to pass as `after` for the next page. */
  next: string;
  taskState: TaskState;
}

export interface TaskQuery {
  state?: string;
  type?: string;
  server?: string;
  limit?: number;
}

export interface ApiErrorBody {
  statusCode: number;
  code: string;
  message: string | string[];
  details?: unknown;
}

export interface Client {
  id: string;
  name: string;
  email: string | null;
  createdAt: string;
}

export interface Platform {
  id: string;
  name: string;
  serverId: string;
  serverName: string;
  path: string;
  docroot: string;
  coreVersion: string | null;
  status: string;
  locked: boolean;
  verifiedAt: string | null;
  createdAt: string;
}

export interface PackageRelease {
  name: string;
  type: string;
  title: string | null;
  version: string | null;
  schemaVersion: number;
  path: string | null;
  enabled: boolean;
}

export interface Site {
  id: string;
  domain: string;
  status: string;
  platform: string;
  client: string | null;
  dbServer: string;
  profile: string;
  url: string;
  verifiedAt: string | null;
  createdAt: string;
}

export interface Backup {
  id: string;
  domain: string;
  reason: string;
  createdAt: string;
  manifest: Record<string, unknown>;
}

export interface MigrateCheck {
  platform: string;
  rows: Array<{
    name: string;
    type: string;
    siteVersion: string | null;
    targetVersion: string | null;
    siteSchema: number;
    targetSchema: number | null;
    status: string;
    severity: 'ok' | 'warning' | 'error';
    message: string;
  }>;
  errors: number;
  warnings: number;
  upgrades: number;
}
