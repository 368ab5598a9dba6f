import { randomUUID } from 'node:crypto';
import { pino } from 'pino';
import type { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createTestDatabase,
  TEST_DATABASE_KINDS,
  type TestDatabase,
} from '../../../../../test/support/test-database.js';
import { isStepName } from '../../../../../shared/src/steps.js';
import type { MigrateParams } from '../../../../../shared/src/tasks.js';
import { BackupsRepository } from '../../../backups/backups.repository.js';
import { openDatabase } from '../../../infra/db/data-source.js';
import { sqlRows } from '../../../infra/db/sql.js';
import { PackagesRepository } from '../../../packages/packages.repository.js';
import { platformWorkflows } from '../../../platforms/tasks/platform.workflows.js';
import { ClustersRepository } from '../../../clusters/clusters.repository.js';
import { clusterWorkflows } from '../../../clusters/tasks/cluster.workflows.js';
import { storeWorkflows } from '../../../store/tasks/store-gc.workflow.js';
import { PlatformsRepository } from '../../../platforms/platforms.repository.js';
import { serverWorkflows } from '../../../servers/tasks/server.workflows.js';
import { ServersRepository } from '../../../servers/servers.repository.js';
import { AttemptsRepository } from '../../../tasks/attempts.repository.js';
import { TaskEngine } from '../../../tasks/engine/task-engine.js';
import { WorkflowRegistry } from '../../../tasks/engine/workflow-registry.js';
import { StepLogRepository } from '../../../tasks/step-log.repository.js';
import { TaskLogBus } from '../../../tasks/task-log-bus.js';
import { TaskLogsRepository } from '../../../tasks/task-logs.repository.js';
import { TasksRepository } from '../../../tasks/tasks.repository.js';
import { refOf, ScriptedAgents, waitFor } from '../../../tasks/testing/scripted-agents.js';
import { DEFAULT_STEP_OUTPUTS } from '../../../tasks/testing/step-outputs.js';
import { edgeWorkflows } from '../../edge/edge.workflows.js';
import { SiteEdgesRepository } from '../../edge/site-edges.repository.js';
import { SitePlaces } from '../../site-places.js';
import { SitesRepository } from '../../sites.repository.js';
import { siteWorkflows, type SiteWorkflowDependencies } from '../index.js';
import { projectWorkflows } from '../../../projects/tasks/sync.workflow.js';

/** What a fixture agent would answer, by step (every step succeeds). */
const answer = (step: string, params: Record<string, unknown>) => {
  if (!isStepName(step)) throw new Error(`unknown step ${step}`);
  return (DEFAULT_STEP_OUTPUTS[step] as (params: unknown) => unknown)(params);
};

/**
 * A migrate whose master stops right after the backup step, and a new master that replays it, on
 * the real registry with the real repositories and workflows (the agent is scripted): the backup is
 * recorded once — also when the master stopped before it could record that it had.
 */
describe.each(TEST_DATABASE_KINDS)('a migrate across a master restart on %s', (kind) => {
  let database: TestDatabase;
  let db: DataSource;

  beforeAll(async () => {
    database = await createTestDatabase(kind);
    db = await openDatabase({ url: database.url, dataDir: database.dataDir });
  });

  afterAll(async () => {
    await db?.destroy();
    await database?.drop();
  });

  function engine(link: ScriptedAgents) {
    const tasks = new TasksRepository(db);
    const sites = new SitesRepository(db);
    const platforms = new PlatformsRepository(db);
    const packages = new PackagesRepository(db);
    const archives = {
      reserve: () => Promise.resolve(randomUUID()),
      remove: () => Promise.resolve(),
      check: () => Promise.reject(new Error('no restore tests here')),
      putBack: () => Promise.reject(new Error('no off-site copies here')),
    };
    const siteDeps: SiteWorkflowDependencies = {
      places: new SitePlaces(
        sites,
        platforms,
        new ServersRepository(db),
        new ClustersRepository(db),
        new SiteEdgesRepository(db),
      ),
      edges: Object.assign(new SiteEdgesRepository(db), {
        queueCertificate: () => Promise.reject(new Error('no HTTPS here')),
      }),
      agents: { disconnected: () => Promise.resolve([]) },
      heads: new ClustersRepository(db),
      sites,
      packages,
      backups: new BackupsRepository(db),
      archives,
      platformUpgrade: {
        queueMigrate: () => Promise.reject(new Error('no platform upgrade here')),
        queuedMigrate: () => Promise.resolve(null),
        task: () => Promise.resolve(null),
        build: { platforms, packages, archives },
        platforms,
      },
    };
    const workflows = new WorkflowRegistry([
      ...serverWorkflows({ servers: new ServersRepository(db), archives }),
      ...platformWorkflows({ platforms, packages, archives }),
      ...clusterWorkflows({ clusters: new ClustersRepository(db) }),
      // The store's collector is not part of this test: a workflow that says so if it runs.
      ...storeWorkflows({
        collector: {
          plan: () => Promise.reject(new Error('no store collector here')),
          collect: () => Promise.reject(new Error('no store collector here')),
        },
      }),
      ...siteWorkflows(siteDeps),
      // HTTPS is not part of this test: a CA that says so if it is asked.
      ...edgeWorkflows({
        ...siteDeps,
        acme: {
          openOrder: () => Promise.reject(new Error('no CA here')),
          validate: () => Promise.reject(new Error('no CA here')),
          finish: () => Promise.reject(new Error('no CA here')),
        },
        certificates: {
          of: () => Promise.resolve([]),
          record: () => Promise.reject(new Error('no certificates here')),
          forget: () => Promise.resolve(),
          upload: () => Promise.resolve(null),
        },
      }),
      ...projectWorkflows(siteDeps),
    ]);
    return new TaskEngine({
      tasks,
      stepLog: new StepLogRepository(db),
      attempts: new AttemptsRepository(db),
      logs: new TaskLogsRepository(db),
      link,
      bus: new TaskLogBus(),
      workflows,
      config: { leaseMs: 10_000, agentWaitMs: 60_000 },
      logger: pino({ level: 'silent' }),
      runnerId: `restart-${Math.random()}`,
    });
  }

  async function seed(name: string) {
    const server = await new ServersRepository(db).create({ name: `${name}-${kind}`, slots: 1 });
    const platforms = new PlatformsRepository(db);
    const [from, to] = await Promise.all(
      ['d102', 'd103'].map(async (platform) => {
        const created = await platforms.create({
          name: `${name}-${platform}`,
          serverId: server.id,
          path: `/var/berth/platforms/${name}-${platform}`,
          docroot: 'web',
        });
        await platforms.recordVerified(created.id, platform === 'd102' ? '10.2.0' : '10.3.0');
        return created;
      }),
    );
    const site = await new SitesRepository(db).create({
      domain: `${name}.example`,
      platformId: from!.id,
      clientId: null,
      dbServerId: server.id,
      dbHost: '127.0.0.1',
      dbPort: 3306,
      dbName: `${name}_0001`,
      dbUser: `${name}_0001`,
      dbPasswordEncrypted: 'not used by a scripted agent',
      hashSaltEncrypted: null,
      profile: 'standard',
      status: 'enabled',
    });
    const params: MigrateParams = {
      targetPlatformId: to!.id,
      targetPlatform: to!.name,
      backupArchiveId: crypto.randomUUID(),
      rollbackArchiveId: crypto.randomUUID(),
      rehearsal: {
        domain: `rehearsal-0a0b0c0d.${name}.example`,
        database: 'rehearsal_db',
        user: 'rehearsal_u',
      },
    };
    const task = await new TasksRepository(db).insertTask({
      type: 'site.migrate',
      targetId: site.id,
      targetName: site.domain,
      lockKey: `site:${site.id}`,
      params,
    });
    return { server, site, to: to!, task };
  }

  const backupsOf = async (siteId: string) =>
    sqlRows<{ id: string }>(db, `SELECT id FROM backups WHERE site_id = $1`, [siteId]);

  /** Runs the migrate on a first master until its backup is done, then stops that master. */
  async function firstMasterStopsAfterTheBackup(serverId: string) {
    const link = new ScriptedAgents(answer);
    const first = engine(link);
    await first.start();
    const session = await link.connect(serverId, 'silent');
    first.wake();
    // The rehearsal copy's database, then the backup's two steps: the files (site.archive) and the
    // dump (db.dump, which fills that database too as it goes), asked for side by side: on this one
    // server with one slot they come one after the other, in either order.
    const expected = [['db.create'], ['site.archive', 'db.dump'], ['site.archive', 'db.dump']];
    const answered: string[] = [];
    for (const [index, steps] of expected.entries()) {
      const assigned = await waitFor(`step ${index + 1} of the backup`, () => session.assigned()[index]);
      const step = assigned.assign!.step!;
      expect(steps.filter((name) => !answered.includes(name))).toContain(step);
      answered.push(step);
      const params = JSON.parse(assigned.assign!.paramsJson!) as Record<string, unknown>;
      await link.events.stepResult(session, {
        ref: refOf(assigned),
        outcome: { ok: true, output: answer(step, params) },
      });
    }
    expect(answered.sort()).toEqual(['db.create', 'db.dump', 'site.archive']);
    // The rehearsal's first step is sent: the backup is behind the task.
    const next = await waitFor('the rehearsal', () => session.assigned()[3]);
    await link.events.stepAccepted(session, refOf(next));
    await first.stop();
    const params = JSON.parse(next.assign!.paramsJson!) as Record<string, unknown>;
    return { ref: refOf(next), output: answer(next.assign!.step!, params) };
  }

  async function secondMasterFinishes(
    serverId: string,
    inFlight: { ref: ReturnType<typeof refOf>; output: unknown },
    taskId: string,
  ) {
    const link = new ScriptedAgents(answer);
    const second = engine(link);
    await second.start();
    try {
      const session = await link.connect(serverId, 'complete', { running: [inFlight.ref] });
      await link.events.stepResult(session, {
        ref: inFlight.ref,
        outcome: { ok: true, output: inFlight.output },
      });
      return await waitFor(
        'the migrate to finish',
        async () => {
          const task = await new TasksRepository(db).findTask(taskId);
          return task && task.state !== 'running' ? task : undefined;
        },
        30_000,
      );
    } finally {
      await second.stop();
    }
  }

  it('records the backup once when a master restarted after the backup step replays the migrate', async () => {
    const { server, site, to, task } = await seed('restart');
    const inFlight = await firstMasterStopsAfterTheBackup(server.id);
    expect(await backupsOf(site.id)).toHaveLength(1);

    const done = await secondMasterFinishes(server.id, inFlight, task.id);
    expect(done.state).toBe('succeeded');
    expect(await backupsOf(site.id)).toHaveLength(1);
    expect((await new SitesRepository(db).findById(site.id))?.platformId).toBe(to.id);
    // site.archive ran once: the replay took its recorded output.
    const archives = await sqlRows(
      db,
      `SELECT 1 FROM step_attempts a JOIN task_steps s ON s.id = a.step_id
        WHERE s.task_id = $1 AND s.name = 'site.archive'`,
      [task.id],
    );
    expect(archives).toHaveLength(1);
  });

  it('records it once too when the master stopped before it could record that it had', async () => {
    const { server, site, task } = await seed('unrecorded');
    const inFlight = await firstMasterStopsAfterTheBackup(server.id);
    // As if the master had died between the backup's row and its record in the step log.
    await sqlRows(
      db,
      `DELETE FROM task_records WHERE task_id = $1 AND name = 'backups.record' RETURNING seq`,
      [task.id],
    );

    const done = await secondMasterFinishes(server.id, inFlight, task.id);
    expect(done.state).toBe('succeeded');
    expect(await backupsOf(site.id)).toHaveLength(1);
  });
});
