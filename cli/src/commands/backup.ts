import type { Command } from 'commander';
import type { PolicyScopeRef } from '../api-client.js';
import type { BackupPolicy, BackupPolicyInput } from '../api-types.js';
import type { CliContext } from '../context.js';
import { usageError } from '../errors.js';
import { formatBytes } from '../output/format.js';
import { renderFields, renderTable } from '../output/table.js';
import { wholeNumber } from '../parsers.js';
import { readSecretFile } from '../secret-file.js';
import { runTaskCommand, VERBOSE_HELP } from '../task-wait.js';

interface ScopeOptions {
  site?: string;
  client?: string;
}

interface SetOptions extends ScopeOptions {
  schedule?: string;
  window?: string;
  keepLast?: number;
  keepDaily?: number;
  keepWeekly?: number;
  keepMonthly?: number;
  verify?: string;
  offsite?: string;
  json?: boolean;
}

const SCOPE_HELP = {
  site: "the site's own policy (by domain)",
  client: "the client's policy: its sites without their own (by name)",
};

const RULE =
  "The most specific policy applies to a site: its own, else its client's, else the global default. " +
  "Schedules and windows are read in the time zone of the site's web server. Retention applies to " +
  "automatic backups (scheduled, pre-migrate, pre-restore), never to a person's own.";

/** berth backup policy ...: when sites are backed up on their own, and how many backups are kept. */
export function registerBackupCommands(program: Command, ctx: CliContext): void {
  const backup = program
    .command('backup')
    .description('Backups on a schedule: policies, retention and restore tests');
  const policy = backup
    .command('policy')
    .description(`Backup policies (global, per client, per site). ${RULE}`);

  policy
    .command('set')
    .description('Set a policy; what is left out stays as it was (a new one keeps the newest 7)')
    .option('--site <domain>', SCOPE_HELP.site)
    .option('--client <name>', SCOPE_HELP.client)
    .option(
      '--schedule <cron>',
      'a five-field cron expression, e.g. "0 2 * * *"; "none" for no scheduled backups',
    )
    .option(
      '--window <HH:MM-HH:MM>',
      'start scheduled backups only between these local times; "none" for any time',
    )
    .option('--keep-last <n>', 'keep the newest N automatic backups (at least 1)', wholeNumber)
    .option('--keep-daily <n>', 'and the newest of each of the last N days that have one', wholeNumber)
    .option('--keep-weekly <n>', 'and of each of the last N ISO weeks', wholeNumber)
    .option('--keep-monthly <n>', 'and of each of the last N months', wholeNumber)
    .option(
      '--verify <cron>',
      'restore-test each site\'s newest backup on this schedule (same window), e.g. "0 4 * * 0" weekly; "none" for never',
    )
    .option(
      '--offsite <target>',
      'copy each backup to this off-site target (berth store offsite list), read back and sha256-checked; "none" for none',
    )
    .option('--json', 'print the policy as JSON')
    .addHelpText('after', '\nWithout --site or --client it sets the global default.')
    .action(async (options: SetOptions, command: Command) => {
      const scope = scopeOf(options);
      const body: BackupPolicyInput = {
        ...(options.schedule !== undefined ? { schedule: noneToNull(options.schedule) } : {}),
        ...(options.window !== undefined ? { window: noneToNull(options.window) } : {}),
        ...(options.keepLast !== undefined ? { keepLast: options.keepLast } : {}),
        ...(options.keepDaily !== undefined ? { keepDaily: options.keepDaily } : {}),
        ...(options.keepWeekly !== undefined ? { keepWeekly: options.keepWeekly } : {}),
        ...(options.keepMonthly !== undefined ? { keepMonthly: options.keepMonthly } : {}),
        ...(options.verify !== undefined ? { verifySchedule: noneToNull(options.verify) } : {}),
        ...(options.offsite !== undefined ? { offsite: noneToNull(options.offsite) } : {}),
      };
      if (Object.keys(body).length === 0) {
        throw usageError('say what to set: --schedule, --window, --verify, --offsite or a --keep-* option');
      }
      const saved = await (await ctx.client(command)).putBackupPolicy(scope, body);
      if (options.json) return ctx.printData(saved);
      ctx.out(`Backup policy of ${describeScope(saved)} set: ${summary(saved)}.`);
    });

  policy
    .command('show')
    .description(
      "Show a policy; for a site, the one that applies and where it comes from, the server's time zone, the next due time and the last firing",
    )
    .option('--site <domain>', SCOPE_HELP.site)
    .option('--client <name>', SCOPE_HELP.client)
    .option('--json', 'print it as JSON')
    .action(async (options: ScopeOptions & { json?: boolean }, command: Command) => {
      const scope = scopeOf(options);
      const client = await ctx.client(command);
      if (scope.scope === 'site') {
        const schedule = await client.siteBackupSchedule(scope.target);
        if (options.json) return ctx.printData(schedule);
        const applied = schedule.policy;
        const last = schedule.lastFiring;
        ctx.out(
          renderFields([
            ['site', schedule.domain],
            ['policy', applied ? describeScope(applied) : 'none: no scheduled backups, every backup kept'],
            ...(applied ? policyFields(applied) : []),
            ['time zone', schedule.timeZone],
            ['next due', schedule.nextDueAt ?? '-'],
            [
              'last firing',
              last
                ? `${last.dueAt} ${last.state}${last.state === 'waiting' ? ` (window opens ${last.opensAt})` : ''}${last.taskId ? ` task ${last.taskId}` : ''}`
                : '-',
            ],
          ]),
        );
        return;
      }
      const shown = await client.getBackupPolicy(scope);
      if (options.json) return ctx.printData(shown);
      ctx.out(renderFields([['policy', describeScope(shown)], ...policyFields(shown)]));
    });

  policy
    .command('list')
    .description('List every policy')
    .option('--json', 'print the policies as JSON')
    .action(async (options: { json?: boolean }, command: Command) => {
      const policies = await (await ctx.client(command)).listBackupPolicies();
      if (options.json) return ctx.printData(policies);
      if (policies.length === 0) {
        ctx.out(
          'No backup policies: no scheduled backups, every backup kept. Set one with: berth backup policy set --schedule "0 2 * * *"',
        );
        return;
      }
      ctx.out(
        renderTable(
          [
            { header: 'SCOPE' },
            { header: 'SCHEDULE' },
            { header: 'WINDOW' },
            { header: 'KEEP' },
            { header: 'RESTORE TEST' },
            { header: 'OFF-SITE' },
          ],
          policies.map((item) => [
            describeScope(item),
            item.schedule ?? '-',
            item.window ? `${item.window.start}-${item.window.end}` : 'any time',
            keepText(item),
            item.verifySchedule ?? '-',
            item.offsite ?? '-',
          ]),
        ),
      );
    });

  backup
    .command('verify')
    .description(
      'Restore-test a backup: its archives checked against their sha256, restored into a scratch site beside the live one (its own directory, database and user), probed over HTTP, then removed; records when it passed (starts a task)',
    )
    .argument('<domain>', 'the site')
    .option('--backup <id>', 'the backup to test (berth site backups DOMAIN); default: the newest')
    .option('--no-wait', 'print the task id and return at once instead of following the task')
    .option('--verbose', VERBOSE_HELP)
    .option('--json', 'print the task as JSON (the final task unless --no-wait)')
    .action(
      async (
        domain: string,
        options: { backup?: string; wait: boolean; json?: boolean },
        command: Command,
      ) => {
        await runTaskCommand(
          ctx,
          await ctx.client(command),
          options,
          (client) =>
            client.siteAction(domain, 'backup-verify', {
              body: options.backup ? { backupId: options.backup } : {},
            }),
          (task) => {
            const result = task.result as { backupId?: string; verifiedAt?: string } | null;
            ctx.out(`backup ${result?.backupId ?? '?'} restores (verified ${result?.verifiedAt ?? '?'})`);
          },
        );
      },
    );

  policy
    .command('unset')
    .description("Remove a policy: a site falls back to its client's, a client's sites to the global one")
    .option('--site <domain>', SCOPE_HELP.site)
    .option('--client <name>', SCOPE_HELP.client)
    .option('--json', 'print { removed } as JSON')
    .addHelpText('after', '\nWithout --site or --client it removes the global default.')
    .action(async (options: ScopeOptions & { json?: boolean }, command: Command) => {
      const scope = scopeOf(options);
      await (await ctx.client(command)).removeBackupPolicy(scope);
      const removed = scope.scope === 'global' ? 'the global default' : `${scope.scope} ${scope.target}`;
      if (options.json) return ctx.printData({ removed });
      ctx.out(`Backup policy of ${removed} removed.`);
    });
}

/** berth store ...: the master's backup store. */
export function registerStoreCommands(program: Command, ctx: CliContext): void {
  const store = program.command('store').description("The master's backup store");

  store
    .command('usage')
    .description('What the store holds: in total, per client, the largest sites, and what no backup names')
    .option('--json', 'print it as JSON')
    .action(async (options: { json?: boolean }, command: Command) => {
      const usage = await (await ctx.client(command)).storeUsage();
      if (options.json) return ctx.printData(usage);
      ctx.out(
        renderFields([
          ['total', `${formatBytes(usage.totalBytes)} in ${usage.archives} archives`],
          ['backups', `${formatBytes(usage.backups.bytes)} in ${usage.backups.count} backups`],
          [
            'other',
            `${formatBytes(usage.otherBytes)} (rollback points, transfers of unfinished tasks, or garbage)`,
          ],
        ]),
      );
      if (usage.byClient.length > 0) {
        ctx.out('');
        ctx.out(
          renderTable(
            [
              { header: 'CLIENT' },
              { header: 'BACKUPS', align: 'right' },
              { header: 'BYTES', align: 'right' },
            ],
            usage.byClient.map((row) => [
              row.client ?? '(none)',
              String(row.backups),
              formatBytes(row.bytes),
            ]),
          ),
        );
      }
      if (usage.topSites.length > 0) {
        ctx.out('');
        ctx.out(
          renderTable(
            [
              { header: 'SITE' },
              { header: 'CLIENT' },
              { header: 'BACKUPS', align: 'right' },
              { header: 'BYTES', align: 'right' },
            ],
            usage.topSites.map((row) => [
              row.domain,
              row.client ?? '-',
              String(row.backups),
              formatBytes(row.bytes),
            ]),
          ),
        );
      }
    });

  const offsite = store
    .command('offsite')
    .description(
      'Off-site targets: S3-compatible buckets a backup policy copies its backups to (berth backup policy set --offsite NAME)',
    );

  offsite
    .command('add')
    .description(
      'Add an S3-compatible bucket (AWS, MinIO, Ceph RGW, Backblaze B2, Wasabi ...); added only once it took, ' +
        'returned and deleted a test object with these settings',
    )
    .argument('<name>', 'a name for it (lowercase letters, digits, "-", "_")')
    .requiredOption('--endpoint <url>', 'the S3 API, e.g. https://s3.eu-central-1.amazonaws.com')
    .requiredOption('--bucket <bucket>', 'the bucket (it must exist)')
    .requiredOption('--access-key-id <id>', 'the access key id')
    .option('--region <region>', 'the region (default us-east-1)')
    .option('--prefix <prefix>', 'prepended to every key, ending in "/", e.g. berth/')
    .option('--no-path-style', 'virtual-hosted URLs (bucket.endpoint) instead of endpoint/bucket')
    .option(
      '--secret-file <file>',
      'read the secret access key from this file (else from BERTH_S3_SECRET_ACCESS_KEY; never on the command line)',
    )
    .option('--json', 'print the target as JSON')
    .action(
      async (
        name: string,
        options: {
          endpoint: string;
          bucket: string;
          accessKeyId: string;
          region?: string;
          prefix?: string;
          pathStyle: boolean;
          secretFile?: string;
          json?: boolean;
        },
        command: Command,
      ) => {
        const secretAccessKey = await s3Secret(ctx, options.secretFile);
        const added = await (
          await ctx.client(command)
        ).addOffsiteTarget({
          name,
          endpoint: options.endpoint,
          bucket: options.bucket,
          accessKeyId: options.accessKeyId,
          secretAccessKey,
          pathStyle: options.pathStyle,
          ...(options.region !== undefined ? { region: options.region } : {}),
          ...(options.prefix !== undefined ? { prefix: options.prefix } : {}),
        });
        if (options.json) return ctx.printData(added);
        ctx.out(
          `Off-site target ${added.name} added: ${added.endpoint}, bucket ${added.bucket}${added.prefix ? `, prefix ${added.prefix}` : ''}.`,
        );
        ctx.out(`Copy backups there with: berth backup policy set --offsite ${added.name}`);
      },
    );

  offsite
    .command('list')
    .description(
      'The off-site targets, what each holds (copied, waiting, failed) and the policies that copy there',
    )
    .option('--json', 'print them as JSON')
    .action(async (options: { json?: boolean }, command: Command) => {
      const targets = await (await ctx.client(command)).listOffsiteTargets();
      if (options.json) return ctx.printData(targets);
      if (targets.length === 0) {
        ctx.out(
          'No off-site targets. Add one with: BERTH_S3_SECRET_ACCESS_KEY=... berth store offsite add NAME --endpoint URL --bucket B --access-key-id ID',
        );
        return;
      }
      ctx.out(
        renderTable(
          [
            { header: 'NAME' },
            { header: 'ENDPOINT' },
            { header: 'BUCKET' },
            { header: 'COPIED', align: 'right' },
            { header: 'WAITING', align: 'right' },
            { header: 'FAILED', align: 'right' },
            { header: 'BYTES', align: 'right' },
            { header: 'POLICIES' },
          ],
          targets.map((target) => [
            target.name,
            target.endpoint,
            `${target.bucket}${target.prefix ? `/${target.prefix}` : ''}`,
            String(target.copies.copied),
            String(target.copies.pending),
            String(target.copies.failed),
            formatBytes(target.copies.bytes),
            target.policies.join(', ') || '-',
          ]),
        ),
      );
    });

  offsite
    .command('remove')
    .description(
      'Remove an off-site target from the registry (refused while a policy names it; its objects stay in the bucket)',
    )
    .argument('<name>', 'the target')
    .option('--json', 'print { removed } as JSON')
    .action(async (name: string, options: { json?: boolean }, command: Command) => {
      await (await ctx.client(command)).removeOffsiteTarget(name);
      if (options.json) return ctx.printData({ removed: name });
      ctx.out(`Off-site target ${name} removed (its objects stay in the bucket).`);
    });

  store
    .command('gc')
    .description(
      "Run the store's garbage collector now: backups past their policy's retention, archives nothing names any more (finished tasks' rollback points, transfers), files without a row and rows without a file (starts a task)",
    )
    .option('--no-wait', 'print the task id and return at once instead of following the task')
    .option('--verbose', VERBOSE_HELP)
    .option('--json', 'print the task as JSON (the final task unless --no-wait)')
    .action(async (options: { wait: boolean; json?: boolean }, command: Command) => {
      await runTaskCommand(ctx, await ctx.client(command), options, (client) => client.collectStore());
    });
}

/** The secret access key: from a file, else BERTH_S3_SECRET_ACCESS_KEY; never an argument (ps shows those). */
async function s3Secret(ctx: CliContext, file: string | undefined): Promise<string> {
  if (file) return readSecretFile(file, 'secret');
  const secret = ctx.env.BERTH_S3_SECRET_ACCESS_KEY?.trim();
  if (!secret) {
    throw usageError(
      'give the secret access key in BERTH_S3_SECRET_ACCESS_KEY or with --secret-file FILE (never on the command line)',
    );
  }
  return secret;
}

function scopeOf(options: ScopeOptions): PolicyScopeRef {
  if (options.site !== undefined && options.client !== undefined) {
    throw usageError('name either --site or --client, not both');
  }
  if (options.site !== undefined) return { scope: 'site', target: options.site };
  if (options.client !== undefined) return { scope: 'client', target: options.client };
  return { scope: 'global' };
}

function noneToNull(value: string): string | null {
  return value.trim() === 'none' ? null : value;
}

function describeScope(policy: BackupPolicy): string {
  return policy.scope === 'global' ? 'the global default' : `${policy.scope} ${policy.target ?? '?'}`;
}

function keepText(policy: BackupPolicy): string {
  const { last, daily, weekly, monthly } = policy.keep;
  return [
    `last ${last}`,
    daily ? `${daily} daily` : '',
    weekly ? `${weekly} weekly` : '',
    monthly ? `${monthly} monthly` : '',
  ]
    .filter(Boolean)
    .join(', ');
}

function summary(policy: BackupPolicy): string {
  const when = policy.schedule ? `"${policy.schedule}"` : 'no schedule';
  const window = policy.window ? ` between ${policy.window.start} and ${policy.window.end}` : '';
  const verify = policy.verifySchedule ? `, restore test "${policy.verifySchedule}"` : '';
  const offsite = policy.offsite ? `, copied to ${policy.offsite}` : '';
  return `${when}${window}, keep ${keepText(policy)}${verify}${offsite}`;
}

function policyFields(policy: BackupPolicy): Array<[string, string]> {
  return [
    ['schedule', policy.schedule ?? 'none (retention only)'],
    ['window', policy.window ? `${policy.window.start}-${policy.window.end}` : 'any time'],
    ['keep', keepText(policy)],
    ['restore test', policy.verifySchedule ?? 'none on its own (berth backup verify DOMAIN)'],
    ['off-site', policy.offsite ?? 'none: backups stay on the master'],
  ];
}
