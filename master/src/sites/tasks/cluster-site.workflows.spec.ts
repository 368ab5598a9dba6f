import { describe, expect, it } from 'vitest';
import type { MigrateParams } from '../../../../shared/src/tasks.js';
import {
  stepFailure,
  WorkflowHarness,
  type HarnessOptions,
  type StepCall,
} from '../../tasks/testing/workflow-harness.js';
import { shown } from './testing/calls.js';
import { addressOf, MemorySiteRegistry, sitePlace } from './testing/memory-site-registry.js';
import { installWorkflow } from './install.workflow.js';
import { migrateWorkflow } from './migrate/migrate.workflow.js';
import { disableWorkflow } from './site.workflows.js';
import { SITE_WORKFLOW_VERSION, type HeadPlace, type PlatformPlace } from './site-steps.js';
import { deleteWorkflow } from './delete.workflow.js';
import { headSyncWorkflow } from './head-sync.workflow.js';

/** Three heads of one cluster, each with both platforms at the same path; the database on db1. */
const HEADS: HeadPlace[] = ['web1', 'web2', 'web3'].map((id) => ({ id, name: id, address: addressOf(id) }));
const onCluster = (name: string, coreVersion: string): PlatformPlace => ({
  id: `platform-${name}`,
  name,
  path: `/var/berth/platforms/${name}`,
  serverId: 'web1',
  serverName: 'web1',
  serverAddress: addressOf('web1'),
  coreVersion,
  heads: HEADS,
});
const C102 = onCluster('c102', '10.2.0');
const C103 = onCluster('c103', '10.3.0');
const LIVE = 'a.example';
const site = sitePlace({ domain: LIVE, db: 'db1', platform: C102 });
const each = (step: string) => HEADS.map((head) => step.replace('HEAD', head.id));

function harnessFor<T extends 'site.install' | 'site.migrate' | 'site.disable' | 'site.delete'>(
  type: T,
  workflow: (registry: MemorySiteRegistry) => ConstructorParameters<typeof WorkflowHarness<T>>[0],
  params: ConstructorParameters<typeof WorkflowHarness<T>>[1]['params'],
  fail?: (call: StepCall) => ReturnType<typeof stepFailure> | undefined,
) {
  const registry = new MemorySiteRegistry({ platforms: [C102, C103], sites: [site] });
  const harness = new WorkflowHarness(workflow(registry), {
    version: SITE_WORKFLOW_VERSION,
    type,
    params,
    targetId: site.siteId,
    targetName: LIVE,
    ...(fail ? { fail } : {}),
  });
  return { registry, harness };
}

/** The sync of head `head` of cluster front, its steps' outputs and failures as `options` say. */
function syncOf(
  registry: MemorySiteRegistry,
  head: string,
  options: Pick<HarnessOptions<'cluster.sync-head'>, 'outputs' | 'fail'>,
) {
  return new WorkflowHarness(headSyncWorkflow(registry), {
    version: 1,
    type: 'cluster.sync-head',
    params: { serverId: head, serverName: head },
    targetId: 'cluster-front',
    targetName: 'front',
    ...options,
  });
}

describe('site tasks on a cluster', () => {
  it('installs once from the first head, with settings, link, vhost and probe on every head', async () => {
    const { harness } = harnessFor('site.install', installWorkflow, { profile: 'standard' });
    const trace = await harness.run();
    expect(trace.state).toBe('succeeded');
    expect(shown(trace.calls)).toEqual([
      ...each('probe.tcp HEAD'),
      `db.create db1 database=${site.database.name}`,
      `db.create db1 database=${site.database.name}`,
      `db.create db1 database=${site.database.name}`,
      ...each(`site.write-settings HEAD domain=${LIVE} platform=c102 database=${site.database.name}`),
      ...each(`site.link HEAD domain=${LIVE} platform=c102`),
      `app.install web1 domain=${LIVE} platform=c102`,
      ...each(`http.prepare-vhost HEAD domain=${LIVE} platform=c102`),
      ...each(`http.commit-vhost HEAD domain=${LIVE}`),
      ...each(`probe.http HEAD domain=${LIVE}`),
      `app.packages web1 domain=${LIVE} platform=c102`,
      `db.schema-versions db1 database=${site.database.name}`,
    ]);
    // The user is granted from each head's address, and from nowhere else.
    const grants = trace.calls.filter((call) => call.step === 'db.create').map((call) => call.params.host);
    expect(grants).toEqual(HEADS.map((head) => head.address));
  });

  it('installs nothing anywhere when one head refuses the vhost: prepared ones discarded, none committed', async () => {
    const { harness, registry } = harnessFor(
      'site.install',
      installWorkflow,
      { profile: 'standard' },
      (call) =>
        call.step === 'http.prepare-vhost' && call.server === 'web2'
          ? stepFailure('nginx refused the configuration', 'CONFIG_REJECTED')
          : undefined,
    );
    const trace = await harness.run();
    expect(trace.state).toBe('failed');
    const steps = shown(trace.calls);
    expect(steps.filter((step) => step.startsWith('http.commit-vhost'))).toEqual([]);
    const prepared = steps.indexOf(`http.prepare-vhost web3 domain=${LIVE} platform=c102`);
    expect(steps.slice(prepared + 1)).toEqual([
      ...each(`http.discard-vhost HEAD domain=${LIVE}`),
      ...each(`http.remove-vhost HEAD domain=${LIVE}`),
      ...each(`site.unlink HEAD domain=${LIVE} platform=c102`),
      ...each(`site.remove HEAD domain=${LIVE}`),
      `db.drop-user db1`,
      `db.drop-user db1`,
      `db.drop db1 database=${site.database.name}`,
    ]);
    expect(registry.writes).toContain(`sites.remove ${site.siteId}`);
  });

  it('disables on every head at once, and puts every head back when one fails to commit', async () => {
    const ok = await harnessFor('site.disable', disableWorkflow, {}).harness.run();
    expect(ok.state).toBe('succeeded');
    expect(shown(ok.calls)).toEqual([
      ...each(`http.prepare-vhost HEAD domain=${LIVE} platform=c102 disabled=true`),
      ...each(`http.commit-vhost HEAD domain=${LIVE}`),
    ]);

    const failed = await harnessFor('site.disable', disableWorkflow, {}, (call) =>
      call.step === 'http.commit-vhost' && call.server === 'web3'
        ? stepFailure('nginx refused the configuration', 'CONFIG_REJECTED')
        : undefined,
    ).harness.run();
    expect(failed.state).toBe('failed');
    expect(shown(failed.calls).slice(6)).toEqual([
      ...each(`http.write-vhost HEAD domain=${LIVE} platform=c102`),
      ...each(`http.discard-vhost HEAD domain=${LIVE}`),
    ]);
  });

  it('refuses to commit while a head is not connected: no head switched', async () => {
    const { harness, registry } = harnessFor('site.disable', disableWorkflow, {});
    registry.downServers.add('web3');
    const trace = await harness.run();
    expect(trace.state).toBe('failed');
    expect(trace.outcome.error).toBe(`web3 is not connected: no head of ${LIVE} was switched`);
    expect(shown(trace.calls).filter((step) => step.startsWith('http.commit-vhost'))).toEqual([]);
    expect(shown(trace.calls).slice(3)).toEqual(each(`http.discard-vhost HEAD domain=${LIVE}`));
  });

  it('deletes the vhost and link on every head, the directory and every grant once each', async () => {
    const { harness } = harnessFor('site.delete', deleteWorkflow, { archiveId: 'last', force: false });
    const trace = await harness.run();
    expect(trace.state).toBe('succeeded');
    expect(shown(trace.calls).slice(2)).toEqual([
      ...each(`http.remove-vhost HEAD domain=${LIVE}`),
      ...each(`site.unlink HEAD domain=${LIVE} platform=c102`),
      ...each(`site.remove HEAD domain=${LIVE}`),
      'db.drop-user db1',
      'db.drop-user db1',
      `db.drop db1 database=${site.database.name}`,
    ]);
  });

  describe('migrate between two platforms of the cluster', () => {
    const COPY = 'rehearsal-0a0b0c0d.a.example';
    const params: MigrateParams = {
      targetPlatformId: C103.id,
      targetPlatform: C103.name,
      backupArchiveId: 'backup-archive',
      rollbackArchiveId: 'rollback-archive',
      rehearsal: {
        domain: COPY,
        database: 'rehearsal_0a0b0c0d_a_example_1111',
        user: 'rehearsal_0a0b0c0d_1111',
      },
    };
    const PREPARE = [
      ...each(`site.link HEAD domain=${LIVE} platform=c103`),
      ...each(`http.prepare-vhost HEAD domain=${LIVE} platform=c103`),
    ];
    const WINDOW = [
      `app.maintenance web1 domain=${LIVE} platform=c102 on=true`,
      `app.update web1 domain=${LIVE} platform=c103`,
      ...each(`http.commit-vhost HEAD domain=${LIVE}`),
      `app.maintenance web1 domain=${LIVE} platform=c103 on=false`,
    ];
    const afterRehearsal = (steps: string[]) =>
      steps.slice(steps.indexOf(`probe.http web1 domain=${COPY}`) + 5);

    it('prepares every head, runs the updates once, commits every head at once, and records the skew', async () => {
      const { harness, registry } = harnessFor('site.migrate', migrateWorkflow, params);
      const trace = await harness.run();
      expect(trace.state).toBe('succeeded');
      const steps = shown(trace.calls);
      // The rehearsal runs on the first head only.
      expect(steps.filter((step) => step.includes(COPY)).every((step) => / web1 /.test(step))).toBe(true);
      expect(afterRehearsal(steps)).toEqual([
        ...PREPARE,
        `app.readonly web1 domain=${LIVE} platform=c102 on=true`,
        `db.dump db1 database=${site.database.name} archiveId=rollback-archive`,
        ...WINDOW,
        `app.readonly web1 domain=${LIVE} platform=c103 on=false`,
        ...each(`probe.http HEAD domain=${LIVE}`),
        `app.packages web1 domain=${LIVE} platform=c103`,
        `db.schema-versions db1 database=${site.database.name}`,
      ]);
      expect(
        steps.filter((step) => step.startsWith('app.update ') && step.includes(`domain=${LIVE} `)),
      ).toHaveLength(1);
      expect(trace.outcome.result).toMatchObject({
        switched: { heads: ['web1', 'web2', 'web3'], skewMs: 0 },
      });
      expect(registry.siteRows.get(site.siteId)?.platform.id).toBe(C103.id);
    });

    it('switches no head when one fails to prepare: every head unlinked from the target, the site untouched', async () => {
      const { harness, registry } = harnessFor('site.migrate', migrateWorkflow, params, (call) =>
        call.step === 'http.prepare-vhost' && call.server === 'web3'
          ? stepFailure('nginx refused the configuration', 'CONFIG_REJECTED')
          : undefined,
      );
      const trace = await harness.run();
      expect(trace.state).toBe('failed');
      const steps = afterRehearsal(shown(trace.calls));
      expect(steps).toEqual([
        ...PREPARE,
        ...each(`http.discard-vhost HEAD domain=${LIVE}`),
        ...each(`site.unlink HEAD domain=${LIVE} platform=c103`),
      ]);
      expect(registry.siteRows.get(site.siteId)?.platform.id).toBe(C102.id);
    });

    it('puts every head back on the old platform when one fails to commit, the database restored', async () => {
      const { harness, registry } = harnessFor('site.migrate', migrateWorkflow, params, (call) =>
        call.step === 'http.commit-vhost' && call.server === 'web2'
          ? stepFailure('the agent was lost', 'AGENT_LOST')
          : undefined,
      );
      const trace = await harness.run();
      expect(trace.state).toBe('failed');
      const steps = shown(trace.calls);
      const commits = steps.lastIndexOf(`http.commit-vhost web3 domain=${LIVE}`);
      expect(steps.slice(commits + 1)).toEqual([
        ...each(`http.write-vhost HEAD domain=${LIVE} platform=c102 disabled=true`),
        `db.import db1 database=${site.database.name} archiveId=rollback-archive`,
        ...each(`http.write-vhost HEAD domain=${LIVE} platform=c102`),
        `app.maintenance web1 domain=${LIVE} platform=c102 on=false`,
        `app.readonly web1 domain=${LIVE} platform=c102 on=false`,
        ...each(`http.discard-vhost HEAD domain=${LIVE}`),
        ...each(`site.unlink HEAD domain=${LIVE} platform=c103`),
      ]);
      expect(registry.siteRows.get(site.siteId)?.platform.id).toBe(C102.id);
    });
  });

  it('migrates without a head that is down (--without-head): marked stale first, no step on it', async () => {
    const { harness, registry } = harnessFor('site.migrate', migrateWorkflow, {
      targetPlatformId: C103.id,
      targetPlatform: C103.name,
      backupArchiveId: 'backup-archive',
      rollbackArchiveId: 'rollback-archive',
      rehearsal: { domain: 'rehearsal-1.a.example', database: 'rehearsal_1_db', user: 'rehearsal_1' },
      withoutHeads: [{ serverId: 'web1', name: 'web1' }],
    });
    const trace = await harness.run();
    expect(trace.state, trace.outcome.error ?? '').toBe('succeeded');
    expect(registry.writes[0]).toBe('heads.markStale web1');
    expect(trace.calls.filter((call) => call.server === 'web1')).toEqual([]);
    // The app steps move to the first head left.
    expect(
      shown(trace.calls).filter((step) => step.startsWith(`app.update web2 domain=${LIVE} `)),
    ).toHaveLength(1);
    expect(shown(trace.calls).filter((step) => step.startsWith('http.commit-vhost'))).toEqual([
      `http.commit-vhost web2 domain=${LIVE}`,
      `http.commit-vhost web3 domain=${LIVE}`,
    ]);
    expect(trace.outcome.result).toMatchObject({ switched: { heads: ['web2', 'web3'] } });
  });

  it('syncs a head: codebases compared, then grant, settings, link and vhost of every site; vhosts of sites gone removed', async () => {
    const registry = new MemorySiteRegistry({ platforms: [C102, C103], sites: [site] });
    const outputs = {
      'http.list-vhosts': () => ({ domains: [LIVE, 'gone.example'] }),
      'platform.scan': () => ({
        coreVersion: '10.3.0',
        packages: [],
        content: { sha256: 'a'.repeat(64), files: 10, bytes: 100 },
      }),
    };
    const synced = syncOf(registry, 'web3', {
      outputs,
    });
    const trace = await synced.run();
    expect(trace.state, trace.outcome.error ?? '').toBe('succeeded');
    expect(shown(trace.calls)).toEqual([
      'platform.scan web3 platform=c102',
      'platform.scan web1 platform=c102',
      'platform.scan web3 platform=c103',
      'platform.scan web1 platform=c103',
      `db.create db1 database=${site.database.name}`,
      `site.write-settings web3 domain=${LIVE} platform=c102 database=${site.database.name}`,
      `site.link web3 domain=${LIVE} platform=c102`,
      `http.write-vhost web3 domain=${LIVE} platform=c102`,
      'http.list-vhosts web3',
      'http.remove-vhost web3 domain=gone.example',
    ]);
    expect(trace.calls.find((call) => call.step === 'db.create')?.params.host).toBe(addressOf('web3'));
    expect(registry.writes.at(-1)).toBe('heads.clearStale web3');
    expect(trace.outcome.result).toEqual({ head: 'web3', sites: 1, removedVhosts: ['gone.example'] });
  });

  it('refuses to sync a head whose codebase differs, before any site is touched', async () => {
    const registry = new MemorySiteRegistry({ platforms: [C102], sites: [site] });
    let scans = 0;
    const trace = await syncOf(registry, 'web3', {
      outputs: {
        'platform.scan': () => ({
          coreVersion: '10.2.0',
          packages: [],
          content: { sha256: String((scans += 1)).repeat(64), files: 1, bytes: 1 },
        }),
      },
    }).run();
    expect(trace.state).toBe('failed');
    expect(trace.outcome.error).toMatch(
      /the codebase of c102 on web3 \(1{12}\) differs from web1's \(2{12}\)/,
    );
    expect(trace.calls.map((call) => call.step)).toEqual(['platform.scan', 'platform.scan']);
    expect(registry.writes).not.toContain('heads.clearStale web3');
  });

  it('copies a platform a head lacks (one that joined later) from the first head, then checks it', async () => {
    const registry = new MemorySiteRegistry({ platforms: [C102], sites: [site] });
    const trace = await syncOf(registry, 'web4', {
      outputs: {
        'platform.scan': () => ({
          coreVersion: '10.2.0',
          packages: [],
          content: { sha256: 'c'.repeat(64), files: 10, bytes: 100 },
        }),
      },
      // The first scan on web4 finds no platform there.
      fail: (call) =>
        call.step === 'platform.scan' && call.server === 'web4' && call.seq === 1
          ? stepFailure('the platform /var/berth/platforms/c102 does not exist', 'NOT_FOUND')
          : undefined,
    }).run();
    expect(trace.state, trace.outcome.error ?? '').toBe('succeeded');
    expect(shown(trace.calls).slice(0, 5)).toEqual([
      'platform.scan web4 platform=c102',
      'platform.scan web1 platform=c102',
      'platform.archive web1 platform=c102 archiveId=transfer-on-web1-1',
      'platform.extract web4 platform=c102 archiveId=transfer-on-web1-1',
      'platform.scan web4 platform=c102',
    ]);
    // The copy does not stay in the store.
    expect(registry.removedArchives).toEqual(['transfer-on-web1-1']);
    expect(registry.writes.at(-1)).toBe('heads.clearStale web4');
  });
});
