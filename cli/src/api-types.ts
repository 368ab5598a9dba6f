/**
 * The REST API's shapes as the CLI reads them. The answers are shared/src/api.ts, the contract the
 * master is compiled against (types only: the CLI never loads NestJS or TypeORM just to list
 * tasks); what is declared here is the CLI's own side: its queries, and the health and error bodies.
 */
export type {
  ApiToken,
  AuditEvent,
  Backup,
  BackupPolicy,
  BackupPolicyInput,
  SiteBackupSchedule,
  SiteCron,
  SiteDeployHooks,
  Project,
  Environment,
  StoreUsage,
  OffsiteTarget,
  OffsiteTargetInput,
  Client,
  Cluster,
  CreatedServer,
  Enrollment,
  LogLine,
  LogPage,
  MigrateCheck,
  Package,
  Platform,
  Server,
  Site,
  SiteCertificate,
  SiteEdgeView,
  Task,
  TaskProgress,
  TaskStep,
} from '../../shared/src/api.js';
export type { TaskState } from '../../shared/src/tasks.js';

export interface Health {
  status: 'ok';
  version: string;
  database: string;
  /** Which master answered (BERTH_MASTER_ID); absent from an older master. */
  master?: string;
}

export type {
  ApiTokenListQuery,
  AuditListQuery,
  BackupListQuery,
  BackupPage,
  ClientListQuery,
  Page,
  PageQuery,
  NotificationDeliveryListQuery,
  PlatformListQuery,
  ProjectListQuery,
  ServerListQuery,
  SiteListQuery as SiteQuery,
  TaskListQuery,
} from '../../shared/src/api.js';

export interface ApiErrorBody {
  statusCode: number;
  code: string;
  message: string | string[];
  details?: unknown;
}
