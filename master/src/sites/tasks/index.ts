import { registerWorkflow, type WorkflowRegistration } from '../../tasks/workflow.js';
import {
  backupDeleteWorkflow,
  backupVerifyWorkflow,
  backupWorkflow,
  RESTORE_CHECKS_ARCHIVES,
  RESTORE_SETS_ASIDE,
  restoreWorkflow,
} from './backup.workflows.js';
import { cloneWorkflow } from './clone.workflow.js';
import { deleteWorkflow } from './delete.workflow.js';
import { headSyncWorkflow } from './head-sync.workflow.js';
import { installWorkflow } from './install.workflow.js';
import {
  MIGRATE_CHECKS_TARGET,
  MIGRATE_REMOVES_ROLLBACK_POINT,
  MIGRATE_FILLS_REHEARSAL,
  MIGRATE_COPIES_REHEARSAL_FILES,
  MIGRATE_REWINDS,
  MIGRATE_RUNS_HOOKS,
  migrateWorkflow,
} from './migrate/migrate.workflow.js';
import {
  platformUpdateWorkflow,
  platformUpgradeWorkflow,
  serverDrainWorkflow,
  type PlatformUpdateDependencies,
} from './migrate/platform-upgrade.workflow.js';
import { renameWorkflow } from './rename.workflow.js';
import {
  SITE_POOLS,
  SITE_WORKFLOW_VERSION,
  VERIFY_MAKES_POOL,
  type SiteTaskDependencies,
} from './site-steps.js';
import {
  disableWorkflow,
  enableWorkflow,
  loginResetWorkflow,
  cronWorkflow,
  releaseOldWorkflow,
  verifyWorkflow,
} from './site.workflows.js';
import { DEPLOY_REWINDS, deployWorkflow } from './migrate/deploy.workflow.js';

export interface SiteWorkflowDependencies extends SiteTaskDependencies {
  /** A platform upgrade's, a drain's and a leap-frog's: migrates queued as children, a build, a lock. */
  platformUpgrade: PlatformUpdateDependencies;
}

/**
 * Every workflow of the sites feature: the site tasks, and the platform upgrade, which is a migrate
 * of each site of a platform. A change to a workflow's steps is a new version here (see
 * WorkflowRegistration), the old one kept while tasks in flight use it.
 */
export function siteWorkflows(deps: SiteWorkflowDependencies): WorkflowRegistration[] {
  return [
    // Version 2: database steps on the db server's agent, dumps as archives of their own (SiteSteps);
    // version 1 stays for the tasks a master from before started.
    ...[1, SITE_WORKFLOW_VERSION].flatMap((version) => [
      registerWorkflow('site.install', version, installWorkflow(deps)),
      registerWorkflow('site.backup', version, backupWorkflow(deps)),
      registerWorkflow('site.restore', version, restoreWorkflow(deps)),
      registerWorkflow('site.migrate', version, migrateWorkflow(deps)),
      registerWorkflow('site.clone', version, cloneWorkflow(deps)),
      registerWorkflow('site.delete', version, deleteWorkflow(deps)),
    ]),
    // Version 3: a move checks first that the new server has nothing of the site (site.absent).
    registerWorkflow('site.migrate', MIGRATE_CHECKS_TARGET, migrateWorkflow(deps)),
    // Version 4: the rollback point leaves the store when the migrate ends.
    registerWorkflow('site.migrate', MIGRATE_REMOVES_ROLLBACK_POINT, migrateWorkflow(deps)),
    // Version 5: the deploy hooks after the updates (params.hooks), in the rehearsal and the window.
    registerWorkflow('site.migrate', MIGRATE_RUNS_HOOKS, migrateWorkflow(deps)),
    // Version 6: the rollback point is the backup and the binary log where the db server keeps one.
    registerWorkflow('site.migrate', MIGRATE_REWINDS, migrateWorkflow(deps)),
    // Version 7: the backup's dump fills the rehearsal copy's database as it is read.
    registerWorkflow('site.migrate', MIGRATE_FILLS_REHEARSAL, migrateWorkflow(deps)),
    // Version 8: a rehearsal on the live site's web server copies its files there (site.copy).
    registerWorkflow('site.migrate', MIGRATE_COPIES_REHEARSAL_FILES, migrateWorkflow(deps)),
    // Version 3: the backup's archives checked (and put back from off-site) before anything changes.
    registerWorkflow('site.restore', RESTORE_CHECKS_ARCHIVES, restoreWorkflow(deps)),
    // Version 4: the site set aside (renamed) instead of archived first; archived once restored.
    registerWorkflow('site.restore', RESTORE_SETS_ASIDE, restoreWorkflow(deps)),
    registerWorkflow('site.deploy', SITE_WORKFLOW_VERSION, deployWorkflow(deps)),
    // Version 3: the rollback point as the migrate's (version 6).
    registerWorkflow('site.deploy', DEPLOY_REWINDS, deployWorkflow(deps)),
    registerWorkflow('site.verify', 1, verifyWorkflow(deps)),
    // Version 2: the site's pool, settings and vhost written again, a pool made when it had none.
    registerWorkflow('site.verify', VERIFY_MAKES_POOL, verifyWorkflow(deps)),
    // Version 3: a new site gets a PHP-FPM pool and a Unix user of its own.
    registerWorkflow('site.install', SITE_POOLS, installWorkflow(deps)),
    registerWorkflow('site.clone', SITE_POOLS, cloneWorkflow(deps)),
    registerWorkflow('site.login-reset', 1, loginResetWorkflow(deps)),
    registerWorkflow('site.cron', 1, cronWorkflow(deps)),
    registerWorkflow('site.rename', 1, renameWorkflow(deps)),
    registerWorkflow('site.disable', 1, disableWorkflow(deps)),
    registerWorkflow('site.enable', 1, enableWorkflow(deps)),
    registerWorkflow('site.release-old', 1, releaseOldWorkflow(deps)),
    registerWorkflow('site.backup-delete', 1, backupDeleteWorkflow(deps)),
    // Born after version 2: its restore puts the dump back through the db server (SiteSteps).
    registerWorkflow('site.backup-verify', SITE_WORKFLOW_VERSION, backupVerifyWorkflow(deps)),
    registerWorkflow('platform.migrate-sites', 1, platformUpgradeWorkflow(deps.platformUpgrade)),
    registerWorkflow('server.drain', 1, serverDrainWorkflow(deps.platformUpgrade)),
    registerWorkflow('platform.update', 1, platformUpdateWorkflow(deps.platformUpgrade)),
    registerWorkflow('cluster.sync-head', 1, headSyncWorkflow(deps)),
  ];
}
