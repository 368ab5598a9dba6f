import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Backup, CreatedNotificationTarget, OffsiteTarget, Task } from '../../shared/src/api.js';
import {
  S3_TEST_CREDENTIALS,
  startS3Server,
  type S3TestServer,
} from '../../master/src/offsite/testing/s3-server.js';
import { signatureValid, startWebhookReceiver } from '../../master/src/notifications/testing/receivers.js';
import { startHostingStack, type HostingStack } from '../support/hosting-stack.js';
import { eventually } from '../support/processes.js';

/**
 * Backups that are known to restore, against a real master, agent, nginx, PHP-FPM and MariaDB:
 * `berth backup verify` restores a backup into a scratch site beside the live one, probes it over
 * HTTP and removes it; a backup whose archive changed in the store fails its test before anything
 * is deployed, and a signed webhook says so. Backups copied off-site to a real S3-compatible server
 * (s3rver), read back with their sha256; a restore of a backup whose files the master's store lost
 * puts them back from there first; a deleted backup leaves the bucket.
 */
describe('backups that restore', () => {
  let stack: HostingStack;
  let hooks: Awaited<ReturnType<typeof startWebhookReceiver>>;
  let s3: S3TestServer;
  let secretDir: string;
  const domain = 'safe-one.example';
  const BUCKET = 'berth-e2e';

  const json = async <T>(...args: string[]): Promise<T> =>
    JSON.parse((await stack.berth(...args, '--json')).stdout) as T;
  const failure = (...args: string[]) =>
    stack.berth(...args).then(
      () => undefined,
      (error: { code: number; stdout: string; stderr: string }) => error,
    );
  const backups = () => json<Backup[]>('site', 'backups', domain);
  /** What a scratch site beside the live one would leave: directories, vhosts, databases. */
  const scratchLeft = async () => [
    ...readdirSync(join(stack.root, 'sites')).filter((name) => name.startsWith('verify-')),
    ...readdirSync(join(stack.root, 'config', 'nginx')).filter((name) => name.startsWith('verify-')),
    ...(await stack.mariadb(`SHOW DATABASES LIKE 'verify\\_%'`)).split('\n').filter(Boolean),
  ];

  beforeAll(async () => {
    hooks = await startWebhookReceiver();
    s3 = await startS3Server([BUCKET]);
    secretDir = mkdtempSync(join(tmpdir(), 'berth-s3-secret-'));
    stack = await startHostingStack({
      label: 'safety',
      platforms: { 'fixture-10-2': 'fixture-10.2' },
      masterEnv: { BERTH_NOTIFY_POLL_MS: '300', BERTH_OFFSITE_POLL_MS: '300' },
    });
    await stack.berth('site', 'install', domain, '--platform', 'fixture-10-2');
  });

  afterAll(async () => {
    await stack?.stop();
    await hooks?.close();
    await s3?.stop();
    if (secretDir) rmSync(secretDir, { recursive: true, force: true });
  });

  it('refuses a restore test of a site without backups, with the command that makes one', async () => {
    const refused = await failure('backup', 'verify', domain);
    expect(refused?.code).toBe(2);
    expect(refused?.stderr).toContain(`${domain} has no backup to test yet`);
    expect(refused?.stderr).toContain(`berth site backup ${domain}`);
  });

  it('restores the newest backup into a scratch site that answers, removes it, and records verifiedAt', async () => {
    await stack.berth('site', 'backup', domain);
    const [backup] = await backups();
    expect(backup?.verifiedAt).toBeNull();
    const shown = await stack.berth('backup', 'verify', domain);
    expect(shown.stdout).toContain(`backup ${backup!.id} restores`);

    const [tested] = await backups();
    expect(tested!.verifiedAt).not.toBeNull();
    expect(tested!.verifyFailedAt).toBeNull();
    const task = (await json<Task[]>('task', 'list', '--type', 'site.backup-verify'))[0]!;
    expect(task).toMatchObject({ state: 'succeeded', result: { backupId: backup!.id, probe: 200 } });
    const archives = (task.result as { archives: Array<{ archiveId: string; sha256: string }> }).archives;
    expect(archives.map((archive) => archive.archiveId)).toEqual([
      backup!.archiveId,
      backup!.databaseArchiveId,
    ]);
    expect(archives[0]!.sha256).toBe(backup!.manifest.archive?.sha256);
    // Deployed, probed and removed: nothing of the scratch site is left, the live site still answers.
    const log = (await stack.berth('task', 'log', task.id)).stdout;
    expect(log).toMatch(/answered 200/);
    expect(await scratchLeft()).toEqual([]);
    expect((await stack.web.request(domain, '/')).status).toBe(200);
    expect((await stack.berth('site', 'backups', domain)).stdout).toMatch(/passed (just now|\d+s ago)/);
  });

  it('fails the test of a backup whose archive changed in the store, deploys nothing, and notifies', async () => {
    const hook = await json<CreatedNotificationTarget>(
      'notify',
      'add-webhook',
      hooks.url,
      '--events',
      'backup.verify-failed',
    );
    const [backup] = await backups();
    const dump = join(stack.master.dataDir, 'store', 'archives', backup!.databaseArchiveId!);
    const bytes = readFileSync(dump);
    const middle = bytes.length >> 1;
    bytes[middle] = (bytes[middle] ?? 0) ^ 0xff;
    writeFileSync(dump, bytes);

    const failed = await failure('backup', 'verify', domain, '--backup', backup!.id, '--json');
    expect(failed?.code).toBe(1);
    const task = JSON.parse(failed!.stdout) as Task;
    expect(task.error).toContain(
      `backup ${backup!.id} cannot be restored: its database archive ${backup!.databaseArchiveId} no longer matches its sha256`,
    );
    expect(await scratchLeft()).toEqual([]);
    const [after] = await backups();
    expect(after!.verifyFailedAt).not.toBeNull();
    expect((await stack.berth('site', 'backups', domain)).stdout).toContain('FAILED');

    const hit = await eventually(
      'the backup.verify-failed webhook',
      () => Promise.resolve(hooks.received.find((received) => received.event === 'backup.verify-failed')),
      30_000,
      300,
    );
    expect(signatureValid(hook.secret!, hit)).toBe(true);
    expect(JSON.parse(hit.body)).toMatchObject({
      event: 'backup.verify-failed',
      task: { id: task.id, type: 'site.backup-verify', targetName: domain },
    });
    // Only the event it asked for: not the task.failed of the same task.
    expect(hooks.received.every((received) => received.event === 'backup.verify-failed')).toBe(true);
    expect(existsSync(dump)).toBe(true);
  });

  it('lists the restore test in the OpenAPI document', async () => {
    const document = (await (await fetch(`${stack.master.url}/api/docs/openapi.json`)).json()) as {
      paths: Record<string, Record<string, { tags?: string[] }>>;
    };
    expect(document.paths['/api/sites/{domain}/backup-verify']?.post?.tags).toEqual(['sites']);
  });

  describe('off-site copies', () => {
    const store = (archiveId: string) => join(stack.master.dataDir, 'store', 'archives', archiveId);
    const sha256 = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

    it('adds a bucket with its secret from a file, never the command line, and refuses a policy naming none', async () => {
      const secretFile = join(secretDir, 's3.secret');
      writeFileSync(secretFile, `${S3_TEST_CREDENTIALS.secretAccessKey}\n`, { mode: 0o600 });
      const unknownKey = await failure(
        'store',
        'offsite',
        'add',
        'offsite-bad',
        '--endpoint',
        s3.endpoint,
        '--bucket',
        BUCKET,
        '--access-key-id',
        'NOBODY',
        '--secret-file',
        secretFile,
      );
      expect(unknownKey?.code).toBe(2);
      expect(unknownKey?.stderr).toContain('did not take a test object');
      const noSecret = await failure(
        'store',
        'offsite',
        'add',
        'offsite-eu',
        '--endpoint',
        s3.endpoint,
        '--bucket',
        BUCKET,
        '--access-key-id',
        S3_TEST_CREDENTIALS.accessKeyId,
      );
      expect(noSecret?.code).toBe(2);
      expect(noSecret?.stderr).toContain('BERTH_S3_SECRET_ACCESS_KEY or with --secret-file');

      await stack.berth(
        'store',
        'offsite',
        'add',
        'offsite-eu',
        '--endpoint',
        s3.endpoint,
        '--bucket',
        BUCKET,
        '--prefix',
        'berth/',
        '--access-key-id',
        S3_TEST_CREDENTIALS.accessKeyId,
        '--secret-file',
        secretFile,
      );
      const refused = await failure('backup', 'policy', 'set', '--site', domain, '--offsite', 'nowhere');
      expect(refused?.code).toBe(2);
      expect(refused?.stderr).toContain('no off-site target "nowhere"');
      await stack.berth('backup', 'policy', 'set', '--site', domain, '--offsite', 'offsite-eu');
      const [target] = await json<OffsiteTarget[]>('store', 'offsite', 'list');
      expect(target).toMatchObject({ name: 'offsite-eu', policies: [`site ${domain}`] });
      expect(JSON.stringify(target)).not.toContain('secretAccessKey');
    });

    it("copies a new backup's files and dump to the bucket, read back with their sha256", async () => {
      await stack.berth('site', 'backup', domain);
      const copied = await eventually(
        'the backup copied off-site',
        async () => {
          const [newest] = await backups();
          return newest?.offsite[0]?.state === 'copied' ? newest : undefined;
        },
        60_000,
        300,
      );
      expect(copied.offsite).toEqual([
        { target: 'offsite-eu', state: 'copied', copiedAt: expect.any(String) as string, lastError: null },
      ]);
      for (const archiveId of [copied.archiveId, copied.databaseArchiveId!]) {
        const object = s3.objectFile(BUCKET, `berth/${domain}/${copied.id}/${archiveId}`);
        expect(sha256(object)).toBe(sha256(store(archiveId)));
      }
      const [target] = await json<OffsiteTarget[]>('store', 'offsite', 'list');
      expect(target!.copies).toMatchObject({ copied: 2, pending: 0, failed: 0 });
      expect((await stack.berth('site', 'backups', domain)).stdout).toContain('offsite-eu: copied');
    });

    it('restores a backup whose files the store lost: put back from the bucket first, checked, then restored', async () => {
      const [copied] = await backups();
      const files = [copied!.archiveId, copied!.databaseArchiveId!];
      const stored = files.map((archiveId) => sha256(store(archiveId)));
      for (const archiveId of files) rmSync(store(archiveId));

      const restored = await json<Task>('site', 'restore', domain, '--backup', copied!.id, '--yes');
      expect(restored.state).toBe('succeeded');
      const log = (await stack.berth('task', 'log', restored.id)).stdout;
      expect(log).toContain(
        `files archive ${copied!.archiveId} was missing from the store: put back from off-site target offsite-eu`,
      );
      expect(log).toContain('put back from off-site target offsite-eu');
      expect(files.map((archiveId) => sha256(store(archiveId)))).toEqual(stored);
      expect((await stack.web.request(domain, '/')).status).toBe(200);
    });

    it('removes the copies of a deleted backup from the bucket, and refuses to remove a target a policy names', async () => {
      const [copied] = await backups();
      const keys = [copied!.archiveId, copied!.databaseArchiveId!].map(
        (archiveId) => `berth/${domain}/${copied!.id}/${archiveId}`,
      );
      await stack.berth('site', 'backup-delete', domain, '--backup', copied!.id, '--yes');
      await eventually(
        'the copies removed from the bucket',
        () => Promise.resolve(keys.every((key) => !existsSync(s3.objectFile(BUCKET, key)))),
        30_000,
        300,
      );
      const inUse = await failure('store', 'offsite', 'remove', 'offsite-eu');
      expect(inUse?.code).toBe(2);
      expect(inUse?.stderr).toContain(`named by the backup policy of site ${domain}`);
    });
  });
});
