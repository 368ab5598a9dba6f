import { InitialRegistry1763769600000 } from './1763769600000-initial-registry.js';
import { SiteDatabaseAddress1763856000000 } from './1763856000000-site-database-address.js';
import { TaskLayer1796256000000 } from './1796256000000-task-layer.js';
import { PostUpdates1796342400000 } from './1796342400000-post-updates.js';
import { SeveralServers1796428800000 } from './1796428800000-several-servers.js';
import { ClusterSharedSites1796515200000 } from './1796515200000-cluster-shared-sites.js';
import { StaleHeads1796601600000 } from './1796601600000-stale-heads.js';
import { BackupSchedules1796688000000 } from './1796688000000-backup-schedules.js';
import { AuditLog1796774400000 } from './1796774400000-audit-log.js';
import { CronAndRetries1796860800000 } from './1796860800000-cron-and-retries.js';
import { Notifications1796947200000 } from './1796947200000-notifications.js';
import { BackupVerification1797033600000 } from './1797033600000-backup-verification.js';
import { OffsiteCopies1797120000000 } from './1797120000000-offsite-copies.js';
import { PlatformBuilds1797206400000 } from './1797206400000-platform-builds.js';
import { DeployHooks1797292800000 } from './1797292800000-deploy-hooks.js';
import { SiteRepositories1797379200000 } from './1797379200000-site-repositories.js';
import { Projects1797465600000 } from './1797465600000-projects.js';
import { WebEdge1797638400000 } from './1797638400000-web-edge.js';
import { SeveralMasters1797552000000 } from './1797552000000-several-masters.js';
import { TaskList1797724800000 } from './1797724800000-task-list.js';
import { LogPages1797811200000 } from './1797811200000-log-pages.js';

/** The committed migrations, oldest first. */
// eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
export const MIGRATIONS: Function[] = [
  InitialRegistry1763769600000,
  SiteDatabaseAddress1763856000000,
  TaskLayer1796256000000,
  PostUpdates1796342400000,
  SeveralServers1796428800000,
  ClusterSharedSites1796515200000,
  StaleHeads1796601600000,
  BackupSchedules1796688000000,
  AuditLog1796774400000,
  CronAndRetries1796860800000,
  Notifications1796947200000,
  BackupVerification1797033600000,
  OffsiteCopies1797120000000,
  PlatformBuilds1797206400000,
  DeployHooks1797292800000,
  SiteRepositories1797379200000,
  Projects1797465600000,
  SeveralMasters1797552000000,
  WebEdge1797638400000,
  TaskList1797724800000,
  LogPages1797811200000,
];
