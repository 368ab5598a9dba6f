import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, it } from 'vitest';
import type { TaskWithSteps } from '../shared/src/api.js';
import { startClusterHosts, type ClusterHosts } from '../test/support/cluster-hosts.js';
import { waitForTask } from '../test/support/processes.js';
import { recordResult, round, type Figures } from './support/results.js';

const SWITCHES = 20;
const DOMAIN = 'switch.bench.example';

/**
 * The skew of a cluster's switch: between the first head's nginx serving a site's new vhost and the
 * last's, for 2, 3 and 4 heads (test hosts, each head its own nginx and agent), over 20 switches
 * (disable and enable in turn: Berth's two-phase switch, the same commit as a migrate's). Beside
 * it, in the same run, the same change made one head after the other as a deploy script does it
 * (write the file, nginx -t, reload, next head). The times are the heads' own (one machine, one
 * clock): when each nginx had new workers and its old ones no longer took requests.
 */
describe('switch skew across the heads of a cluster', () => {
  let hosts: ClusterHosts | undefined;
  const table: Figures[] = [];

  afterEach(async () => {
    await hosts?.stop();
    hosts = undefined;
  });

  for (const heads of [2, 3, 4]) {
    it(`${heads} heads: two-phase vs one after the other`, async () => {
      hosts = await startClusterHosts({
        label: `bench-switch-${heads}`,
        heads,
        platforms: { 'c-bench': 'fixture-10.3' },
      });
      await run(hosts, 'site', 'install', DOMAIN, '--platform', 'c-bench', '--db-server', 'db1');
      const vhost = (head: string) => join(hosts!.webs[head]!.root, 'config', 'nginx', `${DOMAIN}.conf`);
      const enabled = Object.fromEntries(
        hosts.heads.map((head) => [head, readFileSync(vhost(head), 'utf8')]),
      );

      const twoPhase: number[] = [];
      for (let index = 0; index < SWITCHES; index += 1) {
        const task = await run(hosts, 'site', index % 2 === 0 ? 'disable' : 'enable', DOMAIN);
        const reloads = task.steps
          .filter((step) => step.name === 'http.commit-vhost')
          .map((step) => Date.parse((step.output as { reloadedAt: string }).reloadedAt));
        if (reloads.length !== heads) throw new Error(`${reloads.length} commits for ${heads} heads`);
        twoPhase.push(Math.max(...reloads) - Math.min(...reloads));
      }
      const disabled = Object.fromEntries(
        hosts.heads.map((head) => [head, readFileSync(vhost(head), 'utf8')]),
      );

      // A deploy script: each head in turn gets the file, its nginx -t and its reload.
      const sequential: number[] = [];
      for (let index = 0; index < SWITCHES; index += 1) {
        const contents = index % 2 === 0 ? enabled : disabled;
        const done: number[] = [];
        for (const head of hosts.heads) {
          writeFileSync(`${vhost(head)}.deploy`, contents[head]!);
          renameSync(`${vhost(head)}.deploy`, vhost(head));
          await hosts.webs[head]!.web.reload();
          done.push(Date.now());
        }
        sequential.push(Math.max(...done) - Math.min(...done));
      }
      table.push(row(heads, 'two-phase (Berth)', twoPhase), row(heads, 'one after the other', sequential));
    }, 600_000);
  }

  it('records the table', () => {
    const at = (heads: number, how: string, figure: string) =>
      table.find((entry) => entry.heads === heads && entry.switch === how)?.[figure] ?? null;
    recordResult(
      'cluster-switch',
      {
        switches: SWITCHES,
        'max skew ms, 4 heads, two-phase': at(4, 'two-phase (Berth)', 'max skew ms'),
        'max skew ms, 4 heads, one after the other': at(4, 'one after the other', 'max skew ms'),
        goal: 'max skew < 50 ms with 4 heads',
        hosts:
          'network namespaces on one machine: each head its own nginx, PHP-FPM and agent; db1; 2 cores for all',
        skew: "between the first and the last head's reload (new workers in, old ones no longer accepting)",
      },
      table,
    );
  });
});

async function run(hosts: ClusterHosts, ...args: string[]): Promise<TaskWithSteps> {
  const { stdout } = await hosts.berth(...args, '--no-wait', '--json');
  const { id } = JSON.parse(stdout) as { id: string };
  await waitForTask(hosts.master, id, 120_000);
  const task = await hosts.master.api.get<TaskWithSteps>(`/api/tasks/${id}`);
  if (task.state !== 'succeeded') throw new Error(`berth ${args.join(' ')}: ${task.state}: ${task.error}`);
  return task;
}

function row(heads: number, how: string, skews: number[]): Figures {
  const sorted = [...skews].sort((a, b) => a - b);
  return {
    heads,
    switch: how,
    'p50 skew ms': round(sorted[Math.floor(sorted.length / 2)]!),
    'max skew ms': round(sorted.at(-1)!),
  };
}
