import { Registry } from 'prom-client';

/**
 * What a route answers when it succeeds: the name of a type of shared/src/api.ts (JSON), another
 * content type (a stream, a file, text), or no body at all (204). The status is not written here: it
 * is the one the controller answers with (its @HttpCode, else 201 for a POST and 200 otherwise).
 */
export type RouteAnswer = string | OtherContent | typeof NO_CONTENT;

/** A body that is not JSON: text (described as a string) or bytes (the media type says it all). */
export interface OtherContent {
  readonly contentType: string;
  readonly body: 'text' | 'bytes';
  readonly description: string;
}

/** A 204: nothing follows the status. */
export const NO_CONTENT = Object.freeze({ noContent: true as const });

const text = (contentType: string, description: string): OtherContent => ({
  contentType,
  body: 'text',
  description,
});
const bytes = (contentType: string, description: string): OtherContent => ({
  contentType,
  body: 'bytes',
  description,
});

/**
 * Every route of the REST API ('METHOD /path' as in the OpenAPI document) and its success answer,
 * read from its controller method's return type. The OpenAPI document (/api/docs) is built from this
 * table and the JSON Schemas generated from shared/src/api.ts; openapi.int-spec.ts fails on a route
 * without a row, a row without a route, a name without a schema, and a real answer that does not
 * match its schema.
 */
export const ROUTE_ANSWERS: Readonly<Record<string, RouteAnswer>> = {
  'GET /api/health': 'Health',
  'GET /api/masters': 'MasterList',
  'GET /api/overview': 'Overview',
  'GET /api/auth/me': 'WhoAmI',
  'GET /api/tokens': 'ApiTokenPage',
  'POST /api/tokens/{id}/revoke': 'ApiToken',
  'GET /api/audit': 'AuditEventPage',

  'POST /api/servers': 'CreatedServer',
  'GET /api/servers': 'ServerPage',
  'GET /api/servers/{server}': 'Server',
  'POST /api/servers/{server}/enrollment-tokens': 'Enrollment',
  'POST /api/servers/{server}/verify': 'Task',
  'POST /api/servers/{server}/drain': 'Task',

  'POST /api/clients': 'Client',
  'GET /api/clients': 'ClientPage',
  'POST /api/clients/{client}/tokens': 'ClientToken',

  'POST /api/clusters': 'ClusterAndTask',
  'GET /api/clusters': 'ClusterList',
  'GET /api/clusters/{cluster}': 'Cluster',
  'POST /api/clusters/{cluster}/verify': 'Task',
  'POST /api/clusters/{cluster}/add-server': 'Cluster',
  'POST /api/clusters/{cluster}/remove-server': 'Cluster',
  'POST /api/clusters/{cluster}/sync-head': 'Task',

  'POST /api/platforms': 'PlatformAndTask',
  'GET /api/platforms': 'PlatformPage',
  'POST /api/platforms/build': 'PlatformAndTask',
  'GET /api/platforms/{platform}': 'PlatformWithPackages',
  'POST /api/platforms/{platform}/verify': 'Task',
  'POST /api/platforms/{platform}/pull': 'Task',
  'POST /api/platforms/{platform}/update': 'PlatformAndTask',
  'POST /api/platforms/{platform}/diff': 'Task',
  'POST /api/platforms/{platform}/lock': 'Platform',
  'PUT /api/platforms/{platform}/hooks': 'Platform',
  'POST /api/platforms/{platform}/unlock': 'Platform',
  'POST /api/platforms/{platform}/migrate-sites': 'Task',
  'POST /api/platforms/{platform}/delete': 'DeletedPlatform',

  'POST /api/sites': 'SiteAndTask',
  'GET /api/sites': 'SitePage',
  'POST /api/sites/new': 'NewSite',
  'GET /api/sites/{domain}': 'SiteWithPackages',
  'POST /api/sites/{domain}/verify': 'Task',
  'POST /api/sites/{domain}/cron': 'Task',
  'PUT /api/sites/{domain}/cron': 'SiteCron',
  'POST /api/sites/{domain}/deploy': 'Task',
  'PUT /api/sites/{domain}/hooks': 'SiteDeployHooks',
  'POST /api/sites/{domain}/backups': 'Task',
  'GET /api/sites/{domain}/backups': 'BackupPage',
  'GET /api/sites/{domain}/backups/{backup}/archive': bytes(
    'application/octet-stream',
    "The archive (the site's files as a .tar.gz, or the gzipped database dump); X-Berth-Sha256 is the " +
      'sha256 the store recorded',
  ),
  'POST /api/sites/{domain}/backups/{backup}/delete': 'Task',
  'POST /api/sites/{domain}/backup-verify': 'Task',
  'POST /api/sites/{domain}/restore': 'Task',
  'GET /api/sites/{domain}/migrate-candidates': 'MigrateCandidateList',
  'GET /api/sites/{domain}/migrate-check': 'MigrateCheck',
  'POST /api/sites/{domain}/migrate': 'Task',
  'POST /api/sites/{domain}/clone': 'SiteAndTask',
  'POST /api/sites/{domain}/rename': 'Task',
  'POST /api/sites/{domain}/disable': 'Task',
  'POST /api/sites/{domain}/enable': 'Task',
  'POST /api/sites/{domain}/delete': 'Task',
  'POST /api/sites/{domain}/release-old': 'Task',
  'POST /api/sites/{domain}/login-reset': 'Task',
  'GET /api/sites/{domain}/edge': 'SiteEdgeView',
  'POST /api/sites/{domain}/aliases': 'Task',
  'POST /api/sites/{domain}/aliases/{name}/delete': 'Task',
  'PUT /api/sites/{domain}/https': 'Task',
  'POST /api/sites/{domain}/https/renew': 'Task',
  'PUT /api/sites/{domain}/php': 'Task',

  'GET /api/projects': 'ProjectPage',
  'POST /api/projects': 'Project',
  'GET /api/projects/{project}': 'Project',
  'PUT /api/projects/{project}/sanitize': 'Project',
  'POST /api/projects/{project}/delete': 'RemovedProject',
  'POST /api/projects/{project}/environments': 'Project',
  'POST /api/projects/{project}/environments/{env}/delete': 'Project',
  'POST /api/projects/{project}/sync': 'Task',
  'POST /api/projects/{project}/deploy': 'Task',

  'GET /api/backup-policies': 'BackupPolicyList',
  'PUT /api/backup-policies/global': 'BackupPolicy',
  'GET /api/backup-policies/global': 'BackupPolicy',
  'DELETE /api/backup-policies/global': NO_CONTENT,
  'PUT /api/backup-policies/clients/{client}': 'BackupPolicy',
  'GET /api/backup-policies/clients/{client}': 'BackupPolicy',
  'DELETE /api/backup-policies/clients/{client}': NO_CONTENT,
  'PUT /api/backup-policies/sites/{domain}': 'BackupPolicy',
  'GET /api/backup-policies/sites/{domain}': 'SiteBackupSchedule',
  'DELETE /api/backup-policies/sites/{domain}': NO_CONTENT,

  'GET /api/store': 'StoreUsage',
  'POST /api/store/gc': 'Task',
  'GET /api/store/offsite': 'OffsiteTargetList',
  'POST /api/store/offsite': 'OffsiteTarget',
  'DELETE /api/store/offsite/{name}': NO_CONTENT,

  'GET /api/notifications/targets': 'NotificationTargetList',
  'POST /api/notifications/targets': 'CreatedNotificationTarget',
  'DELETE /api/notifications/targets/{id}': NO_CONTENT,
  'GET /api/notifications/deliveries': 'NotificationDeliveryPage',

  'POST /api/tasks': 'Task',
  'GET /api/tasks': 'TaskPage',
  'GET /api/tasks/{id}': 'TaskWithSteps',
  'GET /api/tasks/{id}/log': 'LogPage',
  'GET /api/tasks/{id}/events': text(
    'text/event-stream',
    'Server-sent events until the task finishes: "log" (an array of LogLine), "progress" (a ' +
      'TaskProgress), "state" ({ state }), then "end"; each "log" carries an id to resume from (Last-Event-ID)',
  ),
  'POST /api/tasks/{id}/retry': 'Task',
  'POST /api/tasks/{id}/cancel': 'Task',

  'GET /metrics': text(Registry.PROMETHEUS_CONTENT_TYPE, 'The metrics, in the Prometheus text format'),
};
