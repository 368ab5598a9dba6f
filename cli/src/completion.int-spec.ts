import { execFile } from 'node:child_process';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bashScript, describeCommandTree } from './completion.js';
import { CliContext } from './context.js';
import { buildProgram } from './main.js';
import { memoryIo } from './testing/fake-master.js';

const run = promisify(execFile);

/** The bash script, sourced in a real bash, asked as bash asks it: COMP_WORDS and COMP_CWORD set. */
describe('bash completion', () => {
  let dir: string;
  let script: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-completion-'));
    script = join(dir, 'berth.bash');
    const program = buildProgram(new CliContext(memoryIo({}), new AbortController().signal));
    await writeFile(script, bashScript(describeCommandTree(program)));
    // A stand-in for `berth` on PATH that answers the names query the script makes.
    await writeFile(
      join(dir, 'berth'),
      [
        '#!/bin/sh',
        'if [ "$1 $2 $3" = "completion --names site" ]; then printf "alpha.example.com\\nbeta.example.com\\n"; fi',
        'if [ "$1 $2 $3" = "completion --names platform" ]; then printf "d102\\nd103\\n"; fi',
      ].join('\n') + '\n',
    );
    await chmod(join(dir, 'berth'), 0o755);
    await writeFile(join(dir, 'somefile.txt'), '');
    await mkdir(join(dir, 'subdir'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  /** COMPREPLY for the words typed so far; the last word is the one being completed. */
  async function complete(...words: string[]): Promise<string[]> {
    const array = words.map((word) => `'${word}'`).join(' ');
    const { stdout } = await run(
      'bash',
      [
        '-c',
        `source '${script}'; COMP_WORDS=(${array}); COMP_CWORD=${words.length - 1}; _berth; printf '%s\\n' "\${COMPREPLY[@]}"`,
      ],
      { env: { PATH: `${dir}:/usr/bin:/bin`, HOME: dir }, cwd: dir },
    );
    return stdout.split('\n').filter(Boolean).sort();
  }

  it('passes bash -n', async () => {
    await run('bash', ['-n', script]);
  });

  it('completes the top-level commands', async () => {
    expect(await complete('berth', '')).toEqual(
      [
        'agent',
        'audit',
        'backup',
        'client',
        'cluster',
        'completion',
        'env',
        'master',
        'notify',
        'platform',
        'project',
        'server',
        'site',
        'store',
        'task',
        'token',
      ].sort(),
    );
    expect(await complete('berth', 'si')).toEqual(['site']);
  });

  it('completes subcommands after options of the parent', async () => {
    expect(await complete('berth', '--url', 'http://m:7600', 'site', 'cl')).toEqual(['clone']);
  });

  it("completes a command's options, with the global ones", async () => {
    const options = await complete('berth', 'site', 'install', 'example.com', '--');
    expect(options).toContain('--platform');
    expect(options).toContain('--db-server');
    expect(options).toContain('--no-wait');
    expect(options).toContain('--url');
    expect(options).not.toContain('--redirect');
  });

  it('completes existing sites from the master for <domain>, and nothing for a new domain', async () => {
    expect(await complete('berth', 'site', 'show', '')).toEqual(['alpha.example.com', 'beta.example.com']);
    expect(await complete('berth', 'site', 'backup', 'b')).toEqual(['beta.example.com']);
    expect(await complete('berth', 'site', 'clone', 'alpha.example.com', '')).toEqual([]);
    expect(await complete('berth', 'site', 'install', '')).toEqual([]);
  });

  it('completes option values: platforms, fixed choices, directories; skips values when counting arguments', async () => {
    expect(await complete('berth', 'site', 'install', 'x.example.com', '--platform', '')).toEqual([
      'd102',
      'd103',
    ]);
    expect(await complete('berth', 'site', 'migrate', '--platform', 'd102', '')).toEqual([
      'alpha.example.com',
      'beta.example.com',
    ]);
    expect(await complete('berth', 'completion', '')).toEqual(['bash', 'fish', 'zsh']);
    expect(await complete('berth', 'site', 'aliases', 'a.example.com', '--dir', '')).toEqual(['subdir']);
    expect(await complete('berth', 'site', 'list', '--format', '')).toEqual(['json', 'table', 'yaml']);
    expect(await complete('berth', 'server', 'list', '--role', '')).toEqual(['db', 'http']);
    expect(await complete('berth', 'site', 'aliases', '--all', '--format', 'y')).toEqual(['yaml']);
    expect(await complete('berth', 'agent', 'start', '--token-file', 'some')).toEqual(['somefile.txt']);
  });
});
