import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import type { Site } from '../api-types.js';
import { type CommandNode, describeCommandTree } from '../completion.js';
import { CliContext } from '../context.js';
import { buildProgram } from '../main.js';
import { useCliHarness } from '../testing/cli-harness.js';
import { aLogLine, aTask } from '../testing/factories.js';
import { type FakeRoutes, memoryIo } from '../testing/fake-master.js';
import { structuredErrorsWanted } from './output-options.js';

const TASK_ID = '6f1c2d3e-0000-4000-8000-0000000000a7';

const site = (domain: string, overrides: Partial<Site> = {}): Site => ({
  id: `id-${domain}`,
  domain,
  status: 'enabled',
  platform: 'p1',
  client: null,
  dbServer: 'db1',
  profile: 'standard',
  url: `http://${domain}/`,
  verifiedAt: null,
  createdAt: '2026-12-01T00:00:00.000Z',
  actions: ['verify'],
  code: null,
  ...overrides,
});

const routes: FakeRoutes = {
  'GET /api/sites': () => ({
    body: { items: [site('a.example'), site('b.example', { client: 'acme' })], next: null },
  }),
  [`GET /api/tasks/${TASK_ID}`]: () => ({
    body: aTask({ id: TASK_ID, state: 'succeeded', result: { backupId: 'b1' } }),
  }),
  [`GET /api/tasks/${TASK_ID}/log`]: () => ({
    body: {
      lines: [aLogLine(1, 'first'), aLogLine(2, 'second', { stream: 'stderr' })],
      next: '2',
      taskState: 'succeeded',
    },
  }),
  'POST /api/sites/a.example/backups': () => ({ status: 202, body: aTask({ id: TASK_ID }) }),
};

function leaves(node: CommandNode): CommandNode[] {
  return node.subcommands.length === 0 ? [node] : node.subcommands.flatMap(leaves);
}

describe('--format and --fields', () => {
  const cli = useCliHarness('output');
  const run = (...argv: string[]) => cli.run(routes, argv);

  it('are options of every command that has --json', () => {
    const tree = describeCommandTree(
      buildProgram(new CliContext(memoryIo({}), new AbortController().signal)),
    );
    const flags = (node: CommandNode) => node.options.flatMap((option) => option.flags);
    const missing = leaves(tree)
      .filter((node) => flags(node).includes('--json'))
      .filter((node) => !flags(node).includes('--format') || !flags(node).includes('--fields'))
      .map((node) => node.path.join(' '));
    expect(missing).toEqual([]);
  });

  it('--format json is --json', async () => {
    const viaJson = await run('site', 'list', '--json');
    const viaFormat = await run('site', 'list', '--format', 'json');
    expect(viaFormat.code).toBe(0);
    expect(viaFormat.stdout).toBe(viaJson.stdout);
    expect(JSON.parse(viaFormat.stdout)).toHaveLength(2);
  });

  it('--format yaml prints the same data as YAML', async () => {
    const { code, stdout, stderr } = await run('site', 'list', '--format', 'yaml');
    expect(code).toBe(0);
    expect(stderr).toBe('');
    expect(parse(stdout)).toEqual([site('a.example'), site('b.example', { client: 'acme' })]);
  });

  it('--format table shows a list under its JSON keys, the default columns of the list', async () => {
    const { code, stdout } = await run('site', 'list', '--format', 'table');
    expect(code).toBe(0);
    expect(stdout).toBe(
      [
        'domain     status   platform  client  verifiedAt',
        'a.example  enabled  p1        -       -',
        'b.example  enabled  p1        acme    -',
        '',
      ].join('\n'),
    );
  });

  it('the default stays what the command printed before', async () => {
    const { stdout } = await run('site', 'list');
    expect(stdout.split('\n')[0]).toBe('DOMAIN     STATUS   PLATFORM  CLIENT  VERIFIED');
  });

  it('--fields chooses the keys of JSON and YAML, and the columns of a table (alone: a table)', async () => {
    const json = await run('site', 'list', '--json', '--fields', 'domain,client');
    expect(JSON.parse(json.stdout)).toEqual([
      { domain: 'a.example', client: null },
      { domain: 'b.example', client: 'acme' },
    ]);
    const yaml = await run('site', 'list', '--format', 'yaml', '--fields', 'url');
    expect(parse(yaml.stdout)).toEqual([{ url: 'http://a.example/' }, { url: 'http://b.example/' }]);
    const table = await run('site', 'list', '--fields', 'client', '--fields', 'domain');
    expect(table.stdout).toBe('client  domain\n-       a.example\nacme    b.example\n');
  });

  it('--fields on one object: its keys, and a FIELD/VALUE table', async () => {
    const json = await run('task', 'show', TASK_ID, '--json', '--fields', 'id,state,result');
    expect(JSON.parse(json.stdout)).toEqual({ id: TASK_ID, state: 'succeeded', result: { backupId: 'b1' } });
    const table = await run('task', 'show', TASK_ID, '--fields', 'state,result');
    expect(table.stdout).toBe('FIELD   VALUE\nstate   succeeded\nresult  {"backupId":"b1"}\n');
  });

  it('applies to a command that starts a task: the task as YAML, nothing else on stdout', async () => {
    const { code, stdout } = await run(
      'site',
      'backup',
      'a.example',
      '--no-wait',
      '--format',
      'yaml',
      '--fields',
      'id',
    );
    expect(code).toBe(0);
    expect(parse(stdout)).toEqual({ id: TASK_ID });
  });

  it('refuses an unknown field of a list before asking the master: exit 2, the fields listed, no stack', async () => {
    const { code, stdout, stderr, requests } = await run('site', 'list', '--fields', 'domain,colour');
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(requests).toHaveLength(0);
    expect(stderr).toBe(
      'berth: --fields: no field "colour" here\n' +
        '  The fields are: id, domain, status, platform, client, dbServer, profile, url, verifiedAt, createdAt, actions, code\n',
    );
  });

  it('refuses an unknown field of a task before the task is started', async () => {
    const { code, stderr, requests } = await run('site', 'backup', 'a.example', '--fields', 'id,colour');
    expect(code).toBe(2);
    expect(stderr).toContain('--fields: no field "colour" here');
    expect(stderr).toContain('The fields are: id, type, state,');
    expect(requests).toHaveLength(0);
  });

  it('refuses an unknown field of one object once it has it, with the keys it has', async () => {
    const { code, stderr } = await run('task', 'show', TASK_ID, '--format', 'yaml', '--fields', 'nope');
    expect(code).toBe(2);
    // --format yaml reports errors as JSON, as --json does.
    expect(JSON.parse(stderr.trim())).toMatchObject({
      error: { message: '--fields: no field "nope" here', exitCode: 2 },
    });
    expect(stderr).toContain('The fields are: id, type, state');
    expect(stderr).not.toMatch(/\n\s+at /);
  });

  it('refuses --json with another format, and a format it does not know', async () => {
    const both = await run('site', 'list', '--json', '--format', 'yaml');
    expect(both.code).toBe(2);
    expect(both.stderr).toContain('--json is --format json');
    expect(both.requests).toHaveLength(0);
    const unknown = await run('site', 'list', '--format', 'xml');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("argument 'xml' is invalid. Allowed choices are json, yaml, table.");
  });

  it('documents the fields of a list in its --help', async () => {
    const { code, stdout } = await run('site', 'list', '--help');
    expect(code).toBe(0);
    expect(stdout).toContain('--format <format>');
    expect(stdout).toContain('--fields <keys>');
    expect(stdout).toContain(
      "Fields (each item's JSON keys, for --fields and the columns of --format table):",
    );
    expect(stdout).toContain('id, domain, status, platform, client, dbServer, profile, url, verifiedAt,');
    expect(stdout).toContain(
      '--format table shows domain, status, platform, client, verifiedAt unless --fields says.',
    );
  });

  describe('task log', () => {
    it('streams a YAML document per line, or NDJSON, cut to --fields', async () => {
      const yaml = await run('task', 'log', TASK_ID, '--format', 'yaml', '--fields', 'text');
      expect(yaml.stdout).toBe('---\ntext: "first"\n---\ntext: "second"\n');
      const json = await run('task', 'log', TASK_ID, '--json', '--fields', 'stream,text');
      expect(json.stdout).toBe('{"stream":"stdout","text":"first"}\n{"stream":"stderr","text":"second"}\n');
    });

    it('prints one table of the whole log, and refuses a table with --follow', async () => {
      const table = await run('task', 'log', TASK_ID, '--format', 'table');
      expect(table.stdout.split('\n')).toEqual([
        'at                        stream  text',
        '2025-01-01T10:00:01.000Z  stdout  first',
        '2025-01-01T10:00:01.000Z  stderr  second',
        '',
      ]);
      const follow = await run('task', 'log', TASK_ID, '--follow', '--format', 'table');
      expect(follow.code).toBe(2);
      expect(follow.stderr).toContain('--follow prints lines as they come');
      expect(follow.requests).toHaveLength(0);
    });
  });

  it('reports errors as JSON for --json, --format json and --format yaml, not for table', () => {
    expect(structuredErrorsWanted(['site', 'list', '--json'])).toBe(true);
    expect(structuredErrorsWanted(['site', 'list', '--format', 'yaml'])).toBe(true);
    expect(structuredErrorsWanted(['site', 'list', '--format=json'])).toBe(true);
    expect(structuredErrorsWanted(['site', 'list', '--format', 'table'])).toBe(false);
    expect(structuredErrorsWanted(['task', 'list', '--', '--json'])).toBe(false);
  });
});
