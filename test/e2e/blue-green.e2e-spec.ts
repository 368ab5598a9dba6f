import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TaskWithSteps } from '../../shared/src/api.js';
import { startHostingStack, type HostingStack } from '../support/hosting-stack.js';
import { startHttpProber, type ProbeSample } from '../support/http-prober.js';
import { waitForTask, type ApiError } from '../support/processes.js';

const OLD = 'fixture-10-2';
const NEW = 'fixture-10-3';
const FAILS_ON_LIVE = 'fixture-10-3-fails-on-live';
const SITES = { switched: 'bluegreen.example', failed: 'bluegreen-fails.example' } as const;

/**
 * The blue-green migrate on real MariaDB, nginx and PHP-FPM, watched from outside by a prober every
 * 20 ms while a writer posts a node every 20 ms: the site never answers anything but 200, every page
 * is served by one code on its own database (the page says which code and which schema), every
 * write acknowledged before read-only is on the copy it switches to, and a failure in the copy's
 * updates leaves the live site as it was.
 */
describe('blue-green migrate', () => {
  let stack: HostingStack;
  const berth = (...args: string[]) => stack.berth(...args);

  beforeAll(async () => {
    stack = await startHostingStack({
      label: 'blue-green',
      platforms: {
        [OLD]: 'fixture-10.2',
        [NEW]: 'fixture-10.3',
        [FAILS_ON_LIVE]: 'fixture-10.3-fails-on-live',
      },
    });
    for (const domain of Object.values(SITES)) await berth('site', 'install', domain, '--platform', OLD);
  }, 300_000);

  afterAll(async () => {
    if (stack) {
      for (const domain of Object.values(SITES))
        await berth('site', 'delete', domain, '--force', '--yes').catch(() => undefined);
    }
    await stack?.stop();
  });

  /** A writer posting a node every 20 ms; what was acknowledged (303), and when. */
  function startWriter(domain: string) {
    const acknowledged: Array<{ title: string; at: number }> = [];
    let writing = true;
    const loop = (async () => {
      for (let n = 0; writing; n++) {
        const title = `${domain} write ${n}`;
        const answer = await stack.web.request(domain, '/node', { method: 'POST', form: { title } });
        if (answer.status === 303) acknowledged.push({ title, at: Date.now() });
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    })();
    return {
      acknowledged,
      stop: async () => {
        writing = false;
        await loop;
      },
    };
  }

  async function migrate(
    domain: string,
    platform: string,
  ): Promise<{ task: TaskWithSteps; samples: ProbeSample[]; writes: Array<{ title: string; at: number }> }> {
    const prober = startHttpProber(stack.web, domain, { intervalMs: 20 });
    const writer = startWriter(domain);
    try {
      const { stdout } = await berth(
        'site',
        'migrate',
        domain,
        '--platform',
        platform,
        '--strategy',
        'blue-green',
        '--no-wait',
        '--json',
      );
      const { id } = JSON.parse(stdout) as { id: string };
      await waitForTask(stack.master, id);
      return {
        task: await stack.master.api.get<TaskWithSteps>(`/api/tasks/${id}`),
        samples: await prober.stop(),
        writes: writer.acknowledged,
      };
    } finally {
      await prober.stop();
      await writer.stop();
    }
  }

  const titles = async (domain: string) =>
    (await stack.mariadb(`SELECT title FROM \`${stack.siteDatabase(domain)}\`.node`)).split('\n');
  const databaseExists = async (name: string) =>
    (await stack.mariadb(
      `SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = '${name}'`,
    )) === '1';
  const twinsLeft = () =>
    [join(stack.root, 'sites'), join(stack.root, 'config', 'sites')].flatMap((dir) =>
      existsSync(dir) ? readdirSync(dir).filter((name) => name.startsWith('green-')) : [],
    );

  it('switches with no answer but 200, one code on its own database at every moment, and every acknowledged write on the copy', async () => {
    const domain = SITES.switched;
    const oldDatabase = stack.siteDatabase(domain);
    const { task, samples, writes } = await migrate(domain, NEW);

    expect(task.state, `${task.error ?? ''}\n${stack.web.logs()}`).toBe('succeeded');
    expect(task.phases.map((phase) => phase.name)).not.toContain('offline window');
    // The fixture's tables are InnoDB: copied as tablespace files, not re-inserted.
    expect(task.steps.find((step) => step.name === 'db.copy')?.output).toMatchObject({
      method: 'tablespaces',
    });
    expect(samples.length).toBeGreaterThan(50);
    expect(samples.filter((sample) => sample.status !== 200)).toEqual([]);
    // Each code served with its own schema only: the switch moved both in one reload.
    const schemasBy = new Map<string, Set<number | null>>();
    for (const sample of samples) {
      const seen = schemasBy.get(sample.generator ?? '?') ?? new Set();
      seen.add(sample.schema);
      schemasBy.set(sample.generator ?? '?', seen);
    }
    expect([...schemasBy.keys()].sort()).toEqual([
      'Drupal 10.2.0 (Berth fixture)',
      'Drupal 10.3.0 (Berth fixture)',
    ]);
    for (const [generator, schemas] of schemasBy) expect(schemas.size, generator).toBe(1);
    // Read-only while the copy was made and updated (pages served, the form gone), then writable.
    expect(samples.some((sample) => sample.state === 'read-only')).toBe(true);
    expect(samples.at(-1)?.state).toBe('up');

    const newDatabase = stack.siteDatabase(domain);
    expect(newDatabase).not.toBe(oldDatabase);
    expect(await databaseExists(oldDatabase)).toBe(false);
    const stored = await titles(domain);
    expect(writes.length).toBeGreaterThan(0);
    for (const { title } of writes) expect(stored).toContain(title);
    expect(twinsLeft()).toEqual([]);
    const shown = JSON.parse((await berth('site', 'show', domain, '--json')).stdout) as { platform: string };
    expect(shown.platform).toBe(NEW);
    // Writable on the copy.
    const written = await stack.web.request(domain, '/node', {
      method: 'POST',
      form: { title: 'after the switch' },
    });
    expect(written.status, `${written.body}\n${stack.web.logs()}`).toBe(303);
    const held = task.phases.find((phase) => phase.name === 'read-only window')!;
    console.info(
      `blue-green: offline 0 s, writes held ${Date.parse(held.endedAt!) - Date.parse(held.startedAt)} ms, ` +
        `${samples.length} probes all 200, ${writes.length} writes acknowledged`,
    );
  });

  it("leaves the live site as it was when the copy's updates fail: never offline, same code and database, writable again", async () => {
    const domain = SITES.failed;
    const database = stack.siteDatabase(domain);
    const { task, samples, writes } = await migrate(domain, FAILS_ON_LIVE);

    expect(task.state).toBe('failed');
    expect(task.error).toMatch(/app\.update/);
    expect(task.rollbackCompleted).toBe(true);
    expect(samples.filter((sample) => sample.status !== 200)).toEqual([]);
    expect(new Set(samples.map((sample) => sample.generator))).toEqual(
      new Set(['Drupal 10.2.0 (Berth fixture)']),
    );
    expect(stack.siteDatabase(domain)).toBe(database);
    const copy = task.params as { blueGreen?: { database: string } };
    expect(await databaseExists(copy.blueGreen!.database)).toBe(false);
    const stored = await titles(domain);
    for (const { title } of writes) expect(stored).toContain(title);
    // The failed update rewrote titles on the copy only.
    expect(stored.filter((title) => title.includes('[pathauto_update_'))).toEqual([]);
    expect(twinsLeft()).toEqual([]);
    const shown = JSON.parse((await berth('site', 'show', domain, '--json')).stdout) as { platform: string };
    expect(shown.platform).toBe(OLD);
    expect(
      (await stack.web.request(domain, '/node', { method: 'POST', form: { title: 'after the failure' } }))
        .status,
    ).toBe(303);
  });

  it('refuses an unknown strategy with a 400 that names the two, before anything is queued', async () => {
    const error = await stack.master.api
      .post(`/api/sites/${SITES.switched}/migrate`, { platform: OLD, strategy: 'fast' })
      .then(
        () => undefined,
        (caught: unknown) => caught as ApiError,
      );
    expect(error?.status).toBe(400);
    expect(JSON.stringify(error?.body)).toContain('strategy must be one of in-place, blue-green');
  });
});
