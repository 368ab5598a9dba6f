import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TaskWithSteps } from '../../shared/src/api.js';
import { eventually, waitForTask } from '../support/processes.js';
import { loudCli, startSeveralHosts, type SeveralHosts } from '../support/several-hosts.js';

const OLD = 'fixture-10-2';
const FAILS_ON_LIVE = 'fixture-10-3-fails-on-live';
const SITES = { writes: 'writes.example', killed: 'killed.example' } as const;

/**
 * The rollback point of a migrate as the backup plus the db server's binary log (db.binlog-mark,
 * db.rewind), on a db host whose MariaDB keeps a row-based log: writes are held only for the window,
 * never for a dump, and an update that fails on the live site puts the database back with every
 * write acknowledged before read-only — also when the db agent is killed in the middle of it.
 */
describe('rollback by the binary log', () => {
  let hosts: SeveralHosts;
  const web1 = () => hosts.webs.web1!.web;
  const db1 = () => hosts.dbs.db1!;
  const berth = (...args: string[]) => loudCli(hosts.berth)(...args);

  beforeAll(async () => {
    hosts = await startSeveralHosts({
      label: 'binlog-rollback',
      webs: { web1: { [OLD]: 'fixture-10.2', [FAILS_ON_LIVE]: 'fixture-10.3-fails-on-live' } },
      dbs: ['db1'],
      binaryLog: true,
    });
    for (const domain of Object.values(SITES))
      await berth('site', 'install', domain, '--platform', OLD, '--db-server', 'db1');
  }, 300_000);

  afterAll(async () => {
    await hosts?.stop();
  });

  const databaseOf = (domain: string) => {
    const php = readFileSync(
      join(hosts.webs.web1!.root, 'config', 'sites', domain, 'credentials.php'),
      'utf8',
    );
    return /'database' => '([a-z0-9_]+)'/.exec(php)![1]!;
  };
  const titles = async (domain: string) =>
    (await db1().db.sql(`SELECT title FROM \`${databaseOf(domain)}\`.node ORDER BY nid`)).split('\n');
  const startMigrate = async (domain: string) => {
    const { stdout } = await berth(
      'site',
      'migrate',
      domain,
      '--platform',
      FAILS_ON_LIVE,
      '--no-wait',
      '--json',
    );
    return (JSON.parse(stdout) as { id: string }).id;
  };
  const task = (id: string) => hosts.master.api.get<TaskWithSteps>(`/api/tasks/${id}`);
  const phase = (found: TaskWithSteps, name: string) => {
    const item = found.phases.find((entry) => entry.name === name)!;
    return { start: Date.parse(item.startedAt), end: Date.parse(item.endedAt!) };
  };

  it('holds writes for no dump, and puts back every write acknowledged before read-only when the live update fails', async () => {
    const domain = SITES.writes;
    const acknowledged: Array<{ title: string; at: number }> = [];
    let writing = true;
    const writer = (async () => {
      for (let n = 0; writing; n++) {
        const title = `online write ${n}`;
        const answer = await web1().request(domain, '/node', { method: 'POST', form: { title } });
        if (answer.status === 303) acknowledged.push({ title, at: Date.now() });
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    })();
    let found: TaskWithSteps;
    try {
      const id = await startMigrate(domain);
      await waitForTask(hosts.master, id);
      found = await task(id);
    } finally {
      writing = false;
      await writer;
    }

    expect(found.state).toBe('failed');
    expect(found.error).toMatch(/app\.update/);
    expect(found.rollbackCompleted).toBe(true);
    // One dump, the backup's: the rollback point is a mark in the log, and the rollback a rewind.
    const names = found.steps.map((step) => step.name);
    expect(names.filter((name) => name === 'db.dump')).toHaveLength(1);
    expect(found.steps.find((step) => step.name === 'db.binlog-mark')?.state).toBe('done');
    expect(found.steps.find((step) => step.name === 'db.rewind')?.state).toBe('done');

    // Writes acknowledged after the backup's snapshot (only the log has them) and before read-only.
    const backup = phase(found, 'backup');
    expect(acknowledged.filter((write) => write.at > backup.end).length).toBeGreaterThan(0);
    const stored = await titles(domain);
    for (const { title } of acknowledged) expect(stored).toContain(title);
    // The failed update rewrote every title; none of that is left.
    expect(stored.filter((title) => title.includes('[pathauto_update_'))).toEqual([]);
    const page = await web1().request(domain, '/');
    expect(page.status, hosts.logs()).toBe(200);
    expect(page.body).toContain('Drupal 10.2.0 (Berth fixture)');

    const held = phase(found, 'read-only window');
    const point = phase(found, 'rollback point');
    console.info(
      `binlog rollback: writes held ${held.end - held.start} ms (rollback point ${point.end - point.start} ms), ` +
        `${acknowledged.length} writes acknowledged, ${acknowledged.filter((write) => write.at > backup.end).length} of them after the backup`,
    );
  });

  it('kill -9 of the db agent during the rewind: it rewinds again once the agent is back, nothing lost', async () => {
    const domain = SITES.killed;
    const database = databaseOf(domain);
    for (const title of ['kept: before the migrate', 'kept: second']) {
      expect((await web1().request(domain, '/node', { method: 'POST', form: { title } })).status).toBe(303);
    }
    await db1().db.sql(`CREATE TABLE \`${database}\`.test_ballast (id INT PRIMARY KEY)`);
    const before = await titles(domain);
    const id = await startMigrate(domain);
    // After the backup's dump (which a lock would stop): a lock that the rewind's DROP TABLE waits
    // for, from a session on no database (the rewind stops the admin's sessions on the site's).
    await eventually(
      'the rehearsal',
      async () => (await task(id)).phases.some((item) => item.name === 'rehearsal'),
      60_000,
      20,
    );
    const lock = holdTable(db1().db.socket, `\`${database}\`.test_ballast`);
    await lock.locked;
    let found: TaskWithSteps;
    try {
      await eventually(
        'the rewind to run',
        async () => {
          const running = await task(id);
          if (running.state !== 'running')
            throw new Error(`the task ended (${running.state}: ${running.error})`);
          return (
            running.steps.find((step) => step.name === 'db.rewind')?.attempts.at(-1)?.state === 'running'
          );
        },
        60_000,
        20,
      );
      await db1().agent.process.kill9();
      await lock.release();
      await db1().agent.restart();
      await waitForTask(hosts.master, id);
      found = await task(id);
    } finally {
      await lock.release();
    }

    expect(found.state).toBe('failed');
    expect(
      found.rollbackCompleted,
      JSON.stringify(found.steps.filter((step) => step.name === 'db.rewind')),
    ).toBe(true);
    const rewind = found.steps.find((step) => step.name === 'db.rewind')!;
    expect(rewind.state).toBe('done');
    expect(rewind.attempts.map((attempt) => attempt.state)).toEqual(['lost', 'done']);
    expect(await titles(domain)).toEqual(before);
    const page = await web1().request(domain, '/');
    expect(page.status, hosts.logs()).toBe(200);
    for (const title of before) expect(page.body).toContain(title);
  });
});

/** `LOCK TABLES <table> WRITE` held by a root session over the socket until release(). */
function holdTable(socket: string, table: string) {
  const client = spawn('mariadb', ['--no-defaults', '-S', socket, '-uroot', '-N', '-B', '--unbuffered'], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  let output = '';
  client.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  client.stdin.write(`LOCK TABLES ${table} WRITE; SELECT 'locked';\n`);
  const exited = once(client, 'exit');
  let released: Promise<unknown> | undefined;
  return {
    locked: eventually(
      'the table to be locked',
      () => Promise.resolve(output.includes('locked')),
      10_000,
      10,
    ),
    release: () => {
      if (!released) {
        client.stdin.end('UNLOCK TABLES;\n');
        released = exited;
      }
      return released;
    },
  };
}
