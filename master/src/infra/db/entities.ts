import { ApiTokenEntity } from '../../auth/api-token.entity.js';
import { ArchiveEntity } from '../../backups/archive.entity.js';
import { AuditEventEntity } from '../../audit/audit-event.entity.js';
import { BackupPolicyEntity } from '../../schedules/backup-policy.entity.js';
import { BackupEntity } from '../../backups/backup.entity.js';
import { ClientEntity } from '../../clients/client.entity.js';
import { ClusterEntity } from '../../clusters/cluster.entity.js';
import { AgentConnectionEntity, MasterEntity, MasterLeaseEntity } from '../../masters/master.entity.js';
import { NotificationDeliveryEntity } from '../../notifications/notification-delivery.entity.js';
import { OffsiteCopyEntity } from '../../offsite/offsite-copy.entity.js';
import { OffsiteTargetEntity } from '../../offsite/offsite-target.entity.js';
import { NotificationTargetEntity } from '../../notifications/notification-target.entity.js';
import { PackageInstanceEntity } from '../../packages/package-instance.entity.js';
import { PackageEntity } from '../../packages/package.entity.js';
import { PlatformEntity } from '../../platforms/platform.entity.js';
import { EnvironmentEntity, ProjectEntity } from '../../projects/project.entity.js';
import { EnrollmentTokenEntity } from '../../servers/enrollment-token.entity.js';
import { ServerSlotEntity } from '../../servers/server-slot.entity.js';
import { ServerEntity } from '../../servers/server.entity.js';
import { ScheduleFiringEntity } from '../../schedules/schedule-firing.entity.js';
import {
  AcmeAccountEntity,
  CertificateEntity,
  SiteAliasEntity,
  SiteEdgeEntity,
} from '../../sites/edge/site-edge.entity.js';
import { SiteEntity } from '../../sites/site.entity.js';
import { StepAttemptEntity } from '../../tasks/step-attempt.entity.js';
import { TaskLogEntity } from '../../tasks/task-log.entity.js';
import { TaskRecordEntity } from '../../tasks/task-record.entity.js';
import { TaskStepEntity } from '../../tasks/task-step.entity.js';
import { TaskEntity } from '../../tasks/task.entity.js';

/** Every persistent type of the registry, in one list for the data source and the schema check. */
export const ENTITIES = [
  ServerEntity,
  ServerSlotEntity,
  EnrollmentTokenEntity,
  ClusterEntity,
  ClientEntity,
  PlatformEntity,
  ProjectEntity,
  EnvironmentEntity,
  SiteEntity,
  SiteAliasEntity,
  SiteEdgeEntity,
  CertificateEntity,
  AcmeAccountEntity,
  PackageEntity,
  PackageInstanceEntity,
  TaskEntity,
  TaskStepEntity,
  TaskRecordEntity,
  StepAttemptEntity,
  TaskLogEntity,
  ArchiveEntity,
  BackupEntity,
  BackupPolicyEntity,
  ScheduleFiringEntity,
  ApiTokenEntity,
  AuditEventEntity,
  NotificationTargetEntity,
  NotificationDeliveryEntity,
  OffsiteTargetEntity,
  OffsiteCopyEntity,
  MasterEntity,
  MasterLeaseEntity,
  AgentConnectionEntity,
];
