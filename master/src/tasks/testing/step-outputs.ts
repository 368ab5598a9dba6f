import type { StepName, StepOutput, StepParams } from '../../../../shared/src/steps.js';

/** A stand-in agent's answer per step: its output, made from its parameters. */
export type StepOutputs = { [S in StepName]?: (params: StepParams<S>) => StepOutput<S> };

const SHA = 'ab'.repeat(32);

/**
 * Plausible outputs for every step, shaped as StepDefinitions says, for workflows under test (the
 * fixture agent's real outputs come from the e2e tests).
 */
export const DEFAULT_STEP_OUTPUTS: Required<StepOutputs> = {
  'site.absent': ({ domain }) => ({ domain }),
  // A site repository at commit a...a, whose ref names b...b.
  'site.code-fetch': () => ({ commit: 'b'.repeat(40), current: 'a'.repeat(40) }),
  'site.code-checkout': ({ commit }) => ({ commit, previous: 'a'.repeat(40) }),
  'site.code-init': ({ domain }) => ({ url: `/var/berth/repositories/${domain}.git`, created: true }),
  'sites.marker': ({ token }) => ({ dir: '/var/berth/sites', token: token ?? null }),
  'server.probe': () => ({
    hostname: 'web1',
    address: '127.0.0.1',
    roles: ['http', 'db'],
    services: [],
    agentVersion: 'test',
    os: 'Debian',
  }),
  'probe.tcp': () => ({ ms: 1 }),
  'db.drop-user': ({ user, host }) => ({ user, host }),
  'link.transfer-check': ({ bytes }) => ({ sha256: SHA, bytes, uploadMs: 1, downloadMs: 1 }),
  'debug.noop': () => ({ at: 0 }),
  'debug.sleep': ({ ms }) => ({ sleptMs: ms }),
  'db.create': ({ database, user }) => ({ database, user }),
  'db.drop': ({ database, user }) => ({ database, user }),
  'db.dump': () => ({ sha256: SHA, bytes: 1024 }),
  'db.import': () => ({ sha256: SHA, bytes: 1024 }),
  'db.copy': () => ({ bytes: 4096, method: 'tablespaces' }),
  'db.drop-database': ({ database }) => ({ database, dropped: true }),
  'db.set-aside': () => ({ tables: 12 }),
  'db.put-back': () => ({ tables: 12 }),
  'db.binlog-mark': () => ({ file: 'binlog.000001', position: 4096 }),
  'db.rewind': () => ({ sha256: SHA, bytes: 1024, replayedBytes: 2048 }),
  'db.schema-versions': () => ({ versions: { system: 10300, node: 10201 }, postUpdates: [] }),
  'site.write-settings': ({ domain }) => ({
    settingsPath: `/var/berth/sites/${domain}/settings.php`,
    credentialsPath: `/var/berth/config/sites/${domain}/credentials.php`,
    hashSaltSource: 'kept',
  }),
  'site.link': ({ domain, platform }) => ({
    link: `/var/berth/platforms/${platform}/web/sites/${domain}`,
    target: `/var/berth/sites/${domain}`,
  }),
  'site.unlink': ({ domain, platform }) => ({
    link: `/var/berth/platforms/${platform}/web/sites/${domain}`,
    removed: true,
  }),
  'site.archive': ({ domain, includeDatabase }) => ({
    startedAt: '2026-12-01T00:00:00.000Z',
    sha256: SHA,
    bytes: 4096,
    manifest: {
      format: 'berth-site-archive/1',
      domain,
      createdAt: '2026-12-01T00:00:00.000Z',
      files: { entries: 3, bytes: 100, sha256: SHA },
      database: includeDatabase ? { database: includeDatabase.database, bytes: 2048, sha256: SHA } : null,
    },
  }),
  'site.copy': () => ({ bytes: 4096 }),
  'site.put-back': () => ({ putBack: true }),
  'site.drop-aside': () => ({ removed: true }),
  'site.extract': ({ domain, importDatabase }) => ({
    files: 3,
    bytes: 100,
    databaseImported: importDatabase !== null,
    manifest: {
      format: 'berth-site-archive/1',
      domain,
      createdAt: '2026-12-01T00:00:00.000Z',
      files: { entries: 3, bytes: 100, sha256: SHA },
      database: null,
    },
  }),
  'site.remove': ({ domain }) => ({ removed: [`/var/berth/sites/${domain}`] }),
  'platform.build': ({ platform, source }) => ({
    path: `/var/berth/platforms/${platform}`,
    commit: source.kind === 'git' ? 'c0'.repeat(20) : null,
    composer: true,
  }),
  'platform.pull': () => ({ commit: 'c1'.repeat(20), previous: 'c0'.repeat(20), composer: true }),
  'platform.commits': () => ({
    commits: [{ sha: 'c1'.repeat(20), subject: 'Update the fixture module' }],
    truncated: false,
  }),
  'platform.remove': () => ({ removed: true }),
  'platform.scan': () => ({
    coreVersion: '10.3.0',
    packages: [
      {
        name: 'drupal',
        type: 'core',
        version: '10.3.0',
        schemaVersion: 0,
        lastRemovedSchema: 0,
        postUpdates: [],
        removedPostUpdates: [],
        path: 'core',
      },
    ],
  }),
  'http.write-vhost': ({ domain }) => ({
    path: `/var/berth/config/nginx/${domain}.conf`,
    changed: true,
    port: 80,
  }),
  'tls.request': () => ({
    csrPem: '-----BEGIN CERTIFICATE REQUEST-----\n-----END CERTIFICATE REQUEST-----\n',
  }),
  'tls.put-challenge': ({ domain, token }) => ({
    path: `/var/berth/config/acme/${domain}/.well-known/acme-challenge/${token}`,
  }),
  'tls.remove-challenge': () => ({ removed: true }),
  'tls.install': ({ domain }) => ({
    names: [domain],
    notBefore: '2026-01-01T00:00:00.000Z',
    notAfter: '2026-04-01T00:00:00.000Z',
    serial: '01',
    issuer: 'CN=Test CA',
  }),
  'tls.remove': () => ({ removed: true }),
  'http.remove-vhost': ({ domain }) => ({ path: `/var/berth/config/nginx/${domain}.conf`, removed: true }),
  'http.prepare-vhost': ({ domain }) => ({ path: `/var/berth/config/nginx/${domain}.conf.next`, port: 80 }),
  'http.commit-vhost': ({ domain }) => ({
    path: `/var/berth/config/nginx/${domain}.conf`,
    reloadedAt: '2026-01-01T00:00:00.000Z',
  }),
  'http.discard-vhost': () => ({ discarded: true }),
  'http.list-vhosts': () => ({ domains: [] }),
  'php.write-pool': ({ domain, user }) => ({
    path: `/var/berth/config/php-fpm/${domain}.conf`,
    socket: `/var/berth/run/php-fpm/${user}.sock`,
    changed: true,
    user,
  }),
  'php.remove-pool': () => ({ removed: true }),
  'platform.archive': () => ({ sha256: 'f'.repeat(64), bytes: 1000, files: 10 }),
  'platform.extract': ({ platform }) => ({
    files: 10,
    bytes: 4000,
    path: `/var/berth/platforms/${platform}`,
  }),
  'probe.http': ({ expectStatus }) => ({ status: expectStatus?.[0] ?? 200, ms: 5, bodyExcerpt: '' }),
  'app.install': ({ profile }) => ({ profile }),
  'app.update': () => ({ pendingBefore: [] }),
  'app.maintenance': ({ on }) => ({ on }),
  'app.readonly': ({ on }) => ({ on }),
  'app.login-link': ({ domain }) => ({ url: `http://${domain}/user/reset/1/1/abc/login` }),
  'app.status': () => ({
    drupalVersion: '10.3.0',
    dbStatus: 'Connected',
    bootstrap: 'Successful',
    sitePath: 'sites/default',
    raw: {},
  }),
  'app.cron': () => ({ ran: true }),
  'app.hook': (params) => ({ hook: params.hook, durationMs: 1 }),
  'app.sanitize': ({ command }) => ({ command, durationMs: 1 }),
  'app.update-status': () => ({ pending: [] }),
  'app.packages': () => ({
    packages: [
      { name: 'system', type: 'module', version: '10.3.0', status: 'enabled' },
      { name: 'node', type: 'module', version: '10.3.0', status: 'enabled' },
    ],
  }),
};
