import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packageRoot } from '../../shared/src/package-root.js';
import type { ServiceInfo } from '../../shared/src/steps.js';
import {
  startAgent,
  startMaster,
  waitForTask,
  type AgentHandle,
  type MasterHandle,
  type TaskSummary,
} from '../support/processes.js';
import { createTestDatabase, TEST_DATABASE_KINDS, type TestDatabase } from '../support/test-database.js';

const run = promisify(execFile);

interface ServerView {
  name: string;
  connected: boolean;
  services: ServiceInfo[];
  verifiedAt: string | null;
  slotsBusy: number;
}

/** A master and two agents as separate processes on loopback, talking mTLS, on each database. */
describe.each(TEST_DATABASE_KINDS)('control plane on %s', (kind) => {
  let database: TestDatabase;
  let master: MasterHandle;
  const agents: AgentHandle[] = [];

  beforeAll(async () => {
    database = await createTestDatabase(kind);
    master = await startMaster(database, { label: `control-plane-${kind}-master` });
    agents.push(await startAgent(master, { name: 'web1', slots: 1, label: `control-plane-${kind}-web1` }));
    agents.push(await startAgent(master, { name: 'web2', slots: 3, label: `control-plane-${kind}-web2` }));
  });

  afterAll(async () => {
    for (const agent of agents) await agent.stop();
    await master?.stop();
    await database?.drop();
  });

  it('verifies both servers over mTLS and records the services each agent found', async () => {
    // One through the CLI, as an operator would; one through the API.
    const cli = await run(
      process.execPath,
      [join(packageRoot(), 'bin', 'berth.js'), 'server', 'verify', 'web1', '--json'],
      {
        env: { ...process.env, BERTH_URL: master.url, BERTH_TOKEN: master.token },
      },
    );
    const viaCli = JSON.parse(cli.stdout) as TaskSummary;
    expect(viaCli.state).toBe('succeeded');

    const queued = await master.api.post<TaskSummary>('/api/servers/web2/verify');
    const viaApi = await waitForTask(master, queued.id);
    expect(viaApi.state).toBe('succeeded');

    for (const [name, task] of [
      ['web1', viaCli],
      ['web2', viaApi],
    ] as const) {
      const server = await master.api.get<ServerView>(`/api/servers/${name}`);
      expect(server.connected).toBe(true);
      expect(server.verifiedAt).not.toBeNull();
      const probed = (task.result as { services: ServiceInfo[] }).services;
      expect(server.services).toEqual(probed);
      // This machine (and CI's) runs MariaDB: the probe must find it.
      expect(server.services.some((service) => service.kind === 'db' && service.running)).toBe(true);
    }
  });

  it('runs ten tasks on a one-slot server one at a time while a three-slot server runs several at once', async () => {
    const onWeb1 = await Promise.all(
      Array.from({ length: 10 }, () =>
        master.api.post<TaskSummary>('/api/tasks', {
          type: 'debug.sleep',
          server: 'web1',
          params: { ms: 300 },
        }),
      ),
    );
    const onWeb2 = await Promise.all(
      Array.from({ length: 6 }, () =>
        master.api.post<TaskSummary>('/api/tasks', {
          type: 'debug.sleep',
          server: 'web2',
          params: { ms: 600 },
        }),
      ),
    );
    const spans = async (tasks: TaskSummary[]) => {
      const finished = await Promise.all(tasks.map((task) => waitForTask(master, task.id)));
      for (const task of finished) expect(task).toMatchObject({ state: 'succeeded' });
      const detailed = await Promise.all(
        finished.map((task) => master.api.get<TaskSummary>(`/api/tasks/${task.id}`)),
      );
      return detailed
        .flatMap((task) => task.steps!.flatMap((step) => step.attempts))
        .map((attempt) => ({ start: Date.parse(attempt.startedAt!), end: Date.parse(attempt.finishedAt!) }))
        .sort((a, b) => a.start - b.start);
    };
    const web1 = await spans(onWeb1);
    const web2 = await spans(onWeb2);

    expect(web1).toHaveLength(10);
    for (let i = 1; i < web1.length; i++) expect(web1[i]!.start).toBeGreaterThanOrEqual(web1[i - 1]!.end);

    const concurrency = (list: Array<{ start: number; end: number }>) =>
      Math.max(
        ...list.map(
          (span) => list.filter((other) => other.start <= span.start && other.end > span.start).length,
        ),
      );
    expect(concurrency(web2)).toBeGreaterThanOrEqual(2);
    expect(concurrency(web2)).toBeLessThanOrEqual(3);
  });

  it('adds clients through the CLI and refuses a duplicate or a bad name with exit code 2', async () => {
    const berth = (...args: string[]) =>
      run(process.execPath, [join(packageRoot(), 'bin', 'berth.js'), ...args], {
        env: { ...process.env, BERTH_URL: master.url, BERTH_TOKEN: master.token },
      });
    await berth('client', 'add', 'acme', '--email', 'ops@acme.example');
    const listed = JSON.parse((await berth('client', 'list', '--json')).stdout) as Array<{ name: string }>;
    expect(listed.map((client) => client.name)).toEqual(['acme']);
    const duplicate = await berth('client', 'add', 'acme').then(
      () => undefined,
      (error: unknown) => error as { code: number; stderr: string },
    );
    expect(duplicate?.code).toBe(2);
    expect(duplicate?.stderr).toMatch(/already exists/);
    await expect(berth('client', 'add', 'Bad Name')).rejects.toMatchObject({ code: 2 });
  });
});
