import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Backup, CreatedNotificationTarget, Task } from '../../shared/src/api.js';
import { signatureValid, startWebhookReceiver } from '../../master/src/notifications/testing/receivers.js';
import { startHostingStack, type HostingStack } from '../support/hosting-stack.js';
import { eventually } from '../support/processes.js';

/**
 * Backups that are known to restore, against a real master, agent, nginx, PHP-FPM and MariaDB:
 * `berth backup verify` restores a backup into a scratch site beside the live one, probes it over
 * HTTP and removes it; a backup whose archive changed in the store fails its test before anything
 * is deployed, and a signed webhook says so.
 */
describe('backups that restore', () => {
  let stack: HostingStack;
  let hooks: Awaited<ReturnType<typeof startWebhookReceiver>>;
  const domain = 'safe-one.example';

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
    stack = await startHostingStack({
      label: 'safety',
      platforms: { 'fixture-10-2': 'fixture-10.2' },
      masterEnv: { BERTH_NOTIFY_POLL_MS: '300' },
    });
    await stack.berth('site', 'install', domain, '--platform', 'fixture-10-2');
  });

  afterAll(async () => {
    await stack?.stop();
    await hooks?.close();
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
});
