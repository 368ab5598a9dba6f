import type { Command } from 'commander';
import { validateName } from '../../../shared/src/validation.js';
import type { Cluster } from '../api-types.js';
import type { CliContext } from '../context.js';
import { usageError } from '../errors.js';
import { renderFields, renderTable } from '../output/table.js';
import { runTaskCommand, VERBOSE_HELP } from '../task-wait.js';

export function registerClusterCommands(program: Command, ctx: CliContext): void {
  const cluster = program
    .command('cluster')
    .description('Web clusters: web servers (heads) that serve the same platforms behind a load balancer');

  cluster
    .command('add')
    .description(
      'Add a cluster of web servers, then check that they share one site directory (starts a task: cluster verify)',
    )
    .argument('<name>', 'short name: lowercase letters, digits, "-" or "_", starting with a letter')
    .requiredOption('--servers <names>', 'its heads, comma-separated: web servers in no other cluster')
    .option('--no-wait', 'print the task id and return at once instead of following the task')
    .option('--verbose', VERBOSE_HELP)
    .option('--json', 'print the task as JSON (the final task unless --no-wait)')
    .action(
      async (name: string, options: { servers: string; wait: boolean; json?: boolean }, command: Command) => {
        const checked = validateName('cluster name', name);
        if (!checked.ok) throw usageError(checked.failure.message);
        const servers = options.servers
          .split(',')
          .map((server) => server.trim())
          .filter(Boolean);
        if (servers.length === 0) throw usageError('--servers names no server');
        await runTaskCommand(ctx, await ctx.client(command), options, async (client) => {
          const { cluster: created, task } = await client.createCluster({ name, servers });
          if (!options.json) {
            ctx.out(
              `Cluster ${created.name} added with ${created.heads.map((head) => head.name).join(', ')}.`,
            );
          }
          return task;
        });
      },
    );

  cluster
    .command('verify')
    .description(
      'Check that every head sees one shared site directory: a marker written through the first head, read through the others (starts a task)',
    )
    .argument('<name>', 'cluster name or id')
    .option('--no-wait', 'print the task id and return at once instead of following the task')
    .option('--verbose', VERBOSE_HELP)
    .option('--json', 'print the task as JSON (the final task unless --no-wait)')
    .action(async (name: string, options: { wait: boolean; json?: boolean }, command: Command) => {
      await runTaskCommand(ctx, await ctx.client(command), options, (client) => client.verifyCluster(name));
    });

  cluster
    .command('sync')
    .description(
      "Bring a head up to date after tasks went on without it (--without-head): its codebases checked, every site's grant, settings, link and vhost written on it, vhosts of sites gone removed; it is no longer stale (starts a task)",
    )
    .argument('<name>', 'cluster name or id')
    .argument('<server>', 'the head; its agent must be connected')
    .option('--no-wait', 'print the task id and return at once instead of following the task')
    .option('--verbose', VERBOSE_HELP)
    .option('--json', 'print the task as JSON (the final task unless --no-wait)')
    .action(
      async (name: string, server: string, options: { wait: boolean; json?: boolean }, command: Command) => {
        await runTaskCommand(ctx, await ctx.client(command), options, (client) =>
          client.syncClusterHead(name, server),
        );
      },
    );

  cluster
    .command('list')
    .description('List clusters with their heads, platforms and sites')
    .option('--json', 'print the clusters as JSON')
    .action(async (options: { json?: boolean }, command: Command) => {
      const clusters = await (await ctx.client(command)).listClusters();
      if (options.json) return ctx.printData(clusters);
      if (clusters.length === 0) {
        ctx.out('No clusters yet. Add one with: berth cluster add NAME --servers web1,web2');
        return;
      }
      ctx.out(
        renderTable(
          [
            { header: 'NAME' },
            { header: 'HEADS' },
            { header: 'PLATFORMS' },
            { header: 'SITES', align: 'right' },
          ],
          clusters.map((item) => [
            item.name,
            item.heads.map((head) => head.name).join(',') || '-',
            item.platforms.join(',') || '-',
            String(item.sites),
          ]),
        ),
      );
    });

  cluster
    .command('show')
    .description('A cluster: its heads (address, agent connected), platforms and sites')
    .argument('<name>', 'cluster name or id')
    .option('--json', 'print the cluster as JSON')
    .action(async (name: string, options: { json?: boolean }, command: Command) => {
      const found = await (await ctx.client(command)).getCluster(name);
      if (options.json) return ctx.printData(found);
      printCluster(ctx, found);
    });

  cluster
    .command('add-server')
    .description(
      'Make a web server a head of the cluster; when the cluster has platforms it joins stale, taking no part in site tasks until `berth cluster verify` and `berth cluster sync` gave it the platforms and sites',
    )
    .argument('<cluster>', 'cluster name or id')
    .argument('<server>', 'the web server')
    .option('--json', 'print the cluster as JSON')
    .action(async (name: string, server: string, options: { json?: boolean }, command: Command) => {
      const changed = await (await ctx.client(command)).addClusterServer(name, server);
      if (options.json) return ctx.printData(changed);
      printCluster(ctx, changed);
    });

  cluster
    .command('remove-server')
    .description("Remove a head (refused when it is the last and the cluster's platforms have sites)")
    .argument('<cluster>', 'cluster name or id')
    .argument('<server>', 'the head')
    .option('--json', 'print the cluster as JSON')
    .action(async (name: string, server: string, options: { json?: boolean }, command: Command) => {
      const changed = await (await ctx.client(command)).removeClusterServer(name, server);
      if (options.json) return ctx.printData(changed);
      printCluster(ctx, changed);
    });
}

function printCluster(ctx: CliContext, cluster: Cluster): void {
  ctx.out(
    renderFields([
      ['name', cluster.name],
      ['id', cluster.id],
      ['platforms', cluster.platforms.join(', ') || '-'],
      ['sites', String(cluster.sites)],
      [
        'site directory',
        cluster.sitesSharedAt
          ? `shared by every head (seen ${cluster.sitesSharedAt})`
          : `not seen shared yet: berth cluster verify ${cluster.name}`,
      ],
    ]),
  );
  ctx.out();
  ctx.out(
    renderTable(
      [{ header: 'HEAD' }, { header: 'ADDRESS' }, { header: 'ROLES' }, { header: 'AGENT' }],
      cluster.heads.map((head) => [
        head.name,
        head.address ?? '-',
        head.roles.join(',') || '-',
        (head.connected ? 'connected' : 'disconnected') +
          (head.staleSince
            ? `, stale since ${head.staleSince}: berth cluster sync ${cluster.name} ${head.name}`
            : ''),
      ]),
    ),
  );
}
